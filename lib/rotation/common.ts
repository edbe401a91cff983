import { timingSafeEqual } from 'node:crypto';
import type { RotationConfig } from '../config.js';
import { EnvironmentNotAllowedError, SecretFormatError } from '../errors.js';
import type { SecretOwner } from '../pingone/types.js';
import { parseSecretValue, type ResourceSecretValue } from '../secret-value.js';
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

/** The PingOne resource a secret value names, refused unless its environment is allowed. */
export function ownerOf(value: ResourceSecretValue, config: RotationConfig): SecretOwner {
  if (config.allowedEnvironments && !config.allowedEnvironments.has(value.environmentId)) {
    throw new EnvironmentNotAllowedError(
      `The secret names PingOne environment ${value.environmentId}, which is not in PINGONE_ALLOWED_ENVIRONMENTS; ` +
        'add it there if this function should rotate it',
    );
  }
  return {
    kind: 'resource',
    environmentId: value.environmentId,
    id: value.resourceId,
    region: value.region ?? config.defaultRegion,
  };
}

/** AWSCURRENT's value, parsed. */
export async function readCurrent(deps: RotationDeps, event: RotationEvent): Promise<ResourceSecretValue> {
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
): Promise<ResourceSecretValue | undefined> {
  const raw = await deps.secrets.getValue(event.secretId, { versionId: event.token, stage: AWSPENDING });
  return raw === undefined ? undefined : parseSecretValue(raw, `AWSPENDING (version ${event.token})`);
}

export function describeOwner(owner: SecretOwner): string {
  return `PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId} (${owner.region})`;
}
