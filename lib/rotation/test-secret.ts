import { SecretTestFailedError } from '../errors.js';
import { describeOwner, ownerOf, readOwnerSecret, readRotatableApplication } from '../owner.js';
import type { CallOptions, SecretAuthMethod, SecretOwner } from '../pingone/types.js';
import { type SecretValue, sameSecret } from '../secret-value.js';
import type { SecretDescription } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { readCurrent, readOwnLedgerRecord, readPending } from './reads.js';

/**
 * How testSecret proves a secret, given the owner's auth method: by introspection with the secret, or —
 * when the secret authenticates nothing at PingOne — only by comparing it with PingOne's current secret.
 */
export type SecretProof =
  | { readonly kind: 'introspection'; readonly method: SecretAuthMethod }
  | { readonly kind: 'comparison'; readonly method: string };

const INTROSPECTION_METHODS: readonly string[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
  'CLIENT_SECRET_JWT',
];

/**
 * The proof for an owner's auth method: a resource's `introspectEndpointAuthMethod` (default
 * CLIENT_SECRET_BASIC) or an application's `tokenEndpointAuthMethod`. CLIENT_SECRET_JWT is an
 * application method (resources introspect with Basic, POST or NONE). `PRIVATE_KEY_JWT`, `NONE` and
 * anything unknown authenticate without the secret, so only a comparison is possible.
 */
export function proofFor(kind: SecretOwner['kind'], method: string | undefined): SecretProof {
  const effective = method ?? (kind === 'resource' ? 'CLIENT_SECRET_BASIC' : 'NONE');
  if (
    INTROSPECTION_METHODS.includes(effective) &&
    (kind === 'application' || effective !== 'CLIENT_SECRET_JWT')
  ) {
    return { kind: 'introspection', method: effective as SecretAuthMethod };
  }
  return { kind: 'comparison', method: effective };
}

/**
 * testSecret: proves the pending secret at PingOne without side effects, by authenticating as its owner at
 * the owner's environment's token-introspection endpoint with a dummy token (200 = accepted, 401 = rejected):
 * - a CUSTOM resource by its `introspectEndpointAuthMethod` (Basic or POST);
 * - an OIDC application by its `tokenEndpointAuthMethod`: Basic, POST, or (CLIENT_SECRET_JWT) an RFC 7523
 *   client assertion signed with the candidate secret. No token is issued, so no grant type is needed.
 * With `NONE` or `PRIVATE_KEY_JWT` the secret authenticates nothing at PingOne: it warns and falls back to
 * comparing with PingOne's current secret.
 *
 * Read-only, and it works when it is the only step called (RotateImmediately=false): if the AWSPENDING
 * version holds no value, the AWSCURRENT secret is tested instead. An owner the ledger binds to another
 * secret is refused before PingOne is called.
 */
export async function testSecret(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<void> {
  const { logger } = deps;
  let candidate = await readPending(deps, event);
  let label = 'AWSPENDING';
  if (candidate === undefined) {
    logger.warn('AWSPENDING holds no value (a test-only rotation); testing AWSCURRENT instead');
    candidate = await readCurrent(deps, event);
    label = 'AWSCURRENT';
  }
  const owner = ownerOf(candidate, deps.config);
  // A secret naming an owner bound to another secret is refused before PingOne is called.
  await readOwnLedgerRecord(deps, owner, description.arn);
  const options = { deadline: deps.deadline };
  const proof = await proofForOwner(deps, owner, options);
  await proveSecret(deps, owner, candidate, label, proof);
}

/** Reads the owner and decides the proof; refuses a non-CUSTOM resource or a non-OIDC application. */
async function proofForOwner(
  deps: RotationDeps,
  owner: SecretOwner,
  options: CallOptions,
): Promise<SecretProof> {
  if (owner.kind === 'application') {
    const application = await readRotatableApplication(deps.pingone, owner, options);
    return proofFor('application', application.tokenEndpointAuthMethod);
  }
  const resource = await deps.pingone.readResource(owner, options);
  if (resource.type !== 'CUSTOM') {
    throw new SecretTestFailedError(
      `${describeOwner(owner)} is a ${resource.type} resource; only CUSTOM resources have a secret to rotate`,
    );
  }
  return proofFor('resource', resource.introspectEndpointAuthMethod);
}

async function proveSecret(
  deps: RotationDeps,
  owner: SecretOwner,
  candidate: SecretValue,
  label: string,
  proof: SecretProof,
): Promise<void> {
  const { pingone, logger } = deps;
  const options = { deadline: deps.deadline };
  if (proof.kind === 'introspection') {
    if (!(await pingone.introspectWithSecret(owner, candidate.clientSecret, proof.method, options))) {
      throw new SecretTestFailedError(
        `PingOne rejected the ${label} secret for ${describeOwner(owner)} at token introspection (${proof.method})`,
      );
    }
    logger.info('PingOne accepted the secret at token introspection', {
      tested: label,
      method: proof.method,
      owner: owner.kind,
    });
    return;
  }

  logger.warn(
    "the owner's auth method does not use the secret, so introspection cannot prove it; comparing with PingOne's current secret instead",
    { method: proof.method, owner: owner.kind },
  );
  const state = await readOwnerSecret(deps.pingone, owner, { deadline: deps.deadline });
  if (!sameSecret(state.secret, candidate.clientSecret)) {
    throw new SecretTestFailedError(
      `The ${label} secret is not the current secret of ${describeOwner(owner)}`,
    );
  }
  logger.info("the secret is PingOne's current secret", { tested: label, method: proof.method });
}
