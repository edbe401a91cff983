import type { RotationConfig } from './config.js';
import {
  EnvironmentNotAllowedError,
  OwnerBoundElsewhereError,
  OwnerNotRotatableError,
  OwnerRegionMismatchError,
  PingOneApiError,
} from './errors.js';
import type { LedgerBinding } from './ledger/record.js';
import type {
  CallOptions,
  PingOneApplication,
  PingOneClient,
  PingOneSecretState,
  SecretOwner,
} from './pingone/types.js';
import { workersForEnvironment } from './pingone/workers.js';
import type { SecretValue } from './secret-value.js';

/*
 * What the rotation function, `status`, the auditor and the CLI know about a PingOne owner (the resource or
 * application whose secret a secret rotates): which owner a secret value names, how it is described in
 * messages, whether it can be rotated, and the refusal when the ledger binds it to another secret.
 */

/** The PingOne resource or application a secret value names, refused unless its environment is allowed. */
export function ownerOf(value: SecretValue, config: RotationConfig): SecretOwner {
  if (config.allowedEnvironments && !config.allowedEnvironments.has(value.environmentId)) {
    throw new EnvironmentNotAllowedError(
      `The secret names PingOne environment ${value.environmentId}, which is not in PINGONE_ALLOWED_ENVIRONMENTS; ` +
        'add it there if this function should rotate it',
    );
  }
  return {
    kind: value.kind,
    environmentId: value.environmentId,
    id: value.ownerId,
    // The region of the worker that covers the environment (refused here, before any call, when none does).
    region: workersForEnvironment(config, value.environmentId, value.region).region,
  };
}

/** Same kind, environment, id and region. */
export function sameOwner(a: SecretOwner, b: SecretOwner): boolean {
  return a.kind === b.kind && a.environmentId === b.environmentId && a.id === b.id && a.region === b.region;
}

export function describeOwner(owner: SecretOwner): string {
  return `PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId} (${owner.region})`;
}

/**
 * Why an application cannot have its secret rotated here, or undefined when it can: only OpenID Connect
 * applications have a client secret (PingOne answers 404 for a SAML application's secret).
 */
export function applicationRefusal(owner: SecretOwner, application: PingOneApplication): string | undefined {
  if (application.protocol !== 'OPENID_CONNECT') {
    return (
      `${describeOwner(owner)}${application.name ? ` ("${application.name}")` : ''} is a ${application.protocol} ` +
      `application (${application.type}); only OPENID_CONNECT applications have a client secret to rotate`
    );
  }
  return undefined;
}

/**
 * Reads the application a secret names and refuses it unless it is an OIDC application with a secret.
 * Called before anything changes, so a SAML application (or one PingOne has no secret for) is refused
 * with nothing regenerated. The function's own worker application never gets this far: the PingOne client
 * refuses every call about it (see PingOneHttpClient).
 */
export async function readRotatableApplication(
  pingone: PingOneClient,
  owner: SecretOwner,
  options: CallOptions,
): Promise<PingOneApplication> {
  const application = await pingone.readApplication(owner, options);
  const refusal = applicationRefusal(owner, application);
  if (refusal) throw new OwnerNotRotatableError(refusal);
  return application;
}

/**
 * A read of an application's secret that says what a 404 means: PingOne has no secret for it (not an
 * OIDC application with a client secret), rather than an unexplained "not found".
 */
export async function readOwnerSecret(
  pingone: PingOneClient,
  owner: SecretOwner,
  options: CallOptions,
): Promise<PingOneSecretState> {
  try {
    return await pingone.readSecret(owner, options);
  } catch (error) {
    if (owner.kind === 'application' && error instanceof PingOneApiError && error.status === 404) {
      throw new OwnerNotRotatableError(
        `PingOne returns no client secret for ${describeOwner(owner)} (404): it has no secret to rotate`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The secret's region field disagrees with the region its binding was proven in. The region is written by
 * whoever writes the secret; with region-free PingOne URLs (a proxy, one host for every region) every
 * region reaches the same PingOne, so it must not be allowed to name the owner differently from the proof.
 */
export function regionMismatch(
  owner: SecretOwner,
  binding: LedgerBinding,
  secretArn: string,
): OwnerRegionMismatchError {
  return new OwnerRegionMismatchError(
    `Secret ${secretArn} names PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId} in ` +
      `region ${owner.region}, but the rotation ledger bound it in region ${binding.region} (since ` +
      `${binding.boundAt}, by ${binding.how}); nothing was sent to PingOne. Set the secret's region back to ` +
      `${binding.region}; if the owner really is in ${owner.region}, prove it with \`pingone-rotation rebind ` +
      `--secret-id ${secretArn}\` (it reads PingOne's current secret in that region and asks first)`,
  );
}

export function boundElsewhere(
  owner: SecretOwner,
  binding: LedgerBinding,
  secretArn: string,
): OwnerBoundElsewhereError {
  return new OwnerBoundElsewhereError(
    `${describeOwner(owner)} belongs to secret ${binding.secretArn} (rotation ledger binding since ` +
      `${binding.boundAt}, by ${binding.how}); secret ${secretArn} names it too and is refused, nothing was ` +
      'sent to PingOne. If this secret should own it, move the binding with ' +
      `\`pingone-rotation rebind --secret-id ${secretArn}\` (it asks for confirmation and proves that this ` +
      "secret holds PingOne's current secret); otherwise fix this secret's environmentId and owner id, or " +
      'turn its rotation off',
    binding.secretArn,
  );
}
