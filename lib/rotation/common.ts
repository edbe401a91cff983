import { timingSafeEqual } from 'node:crypto';
import type { RotationConfig } from '../config.js';
import {
  EnvironmentNotAllowedError,
  OwnerBoundElsewhereError,
  OwnerNotRotatableError,
  PingOneApiError,
  SecretFormatError,
} from '../errors.js';
import type { LedgerBinding, LedgerRecord } from '../ledger/record.js';
import type { CallOptions, PingOneApplication, PingOneClient, SecretOwner } from '../pingone/types.js';
import { parseSecretValue, type SecretValue } from '../secret-value.js';
import { AWSCURRENT, AWSPENDING } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';

/** Compares two secrets in constant time (for equal lengths). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

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
    region: value.region ?? config.defaultRegion,
  };
}

/** Same kind, environment, id and region. */
export function sameOwner(a: SecretOwner, b: SecretOwner): boolean {
  return a.kind === b.kind && a.environmentId === b.environmentId && a.id === b.id && a.region === b.region;
}

/** AWSCURRENT's value, parsed. */
export async function readCurrent(deps: RotationDeps, event: RotationEvent): Promise<SecretValue> {
  const raw = await deps.secrets.getValue(event.secretId, { stage: AWSCURRENT });
  if (raw === undefined) {
    throw new SecretFormatError(`Secret ${event.secretId} has no AWSCURRENT value to rotate from`);
  }
  return parseSecretValue(raw, 'AWSCURRENT');
}

/** The token's AWSPENDING value, parsed, or undefined while it is RotateSecret's empty placeholder. */
export async function readPending(
  deps: RotationDeps,
  event: RotationEvent,
): Promise<SecretValue | undefined> {
  const raw = await deps.secrets.getValue(event.secretId, { versionId: event.token, stage: AWSPENDING });
  return raw === undefined ? undefined : parseSecretValue(raw, `AWSPENDING (version ${event.token})`);
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
export async function readOwnerSecret(deps: RotationDeps, owner: SecretOwner) {
  try {
    return await deps.pingone.readSecret(owner, { deadline: deps.deadline });
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

/** The ledger call options for a step: its deadline and clock. */
export function ledgerOptions(deps: RotationDeps, consequence?: string) {
  return { deadline: deps.deadline, now: deps.now, ...(consequence ? { consequence } : {}) };
}

/**
 * The owner's ledger record, refusing (before any PingOne call) when the owner is bound to another secret.
 * An unbound owner is fine here: a rotation claims it only with proof of possession (createSecret).
 */
export async function readOwnLedgerRecord(
  deps: RotationDeps,
  owner: SecretOwner,
  secretArn: string,
): Promise<LedgerRecord | undefined> {
  const record = await deps.ledger.read(owner, ledgerOptions(deps));
  if (record?.binding && record.binding.secretArn !== secretArn) {
    deps.metrics.count('OwnerBoundElsewhere');
    throw boundElsewhere(owner, record.binding, secretArn);
  }
  return record;
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
