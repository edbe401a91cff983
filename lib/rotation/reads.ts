import { SecretFormatError } from '../errors.js';
import type { LedgerRecord } from '../ledger/record.js';
import { boundElsewhere, regionMismatch } from '../owner.js';
import type { SecretOwner } from '../pingone/types.js';
import { parseSecretValue, type SecretValue } from '../secret-value.js';
import { AWSCURRENT, AWSPENDING } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';

/* The small reads every step starts with: the secret's staged values and the owner's ledger record. */

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
  if (record?.binding?.region !== undefined && record.binding.region !== owner.region) {
    deps.metrics.count('OwnerRegionMismatch');
    throw regionMismatch(owner, record.binding, secretArn);
  }
  return record;
}
