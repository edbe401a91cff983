import { withFinished } from '../ledger/record.js';
import { ownerOf } from '../owner.js';
import { AWSCURRENT, type SecretDescription, versionWithStage } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { ledgerOptions, readCurrent, readOwnLedgerRecord } from './reads.js';

/**
 * finishSecret: moves AWSCURRENT to the token's version (AWSPREVIOUS follows by itself), then records the
 * rotation's outcome in the ledger. It does not touch PingOne, which already uses the new secret.
 * Once the version is AWSCURRENT the preamble (rotate.ts) only records the outcome (recordFinished), so a
 * crash between the promotion and the record heals on the retry.
 */
export async function finishSecret(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<'promoted'> {
  const current = versionWithStage(description, AWSCURRENT);
  if (current === undefined) {
    deps.logger.warn('no version carried AWSCURRENT');
  }
  await deps.secrets.promote(event.secretId, event.token, current);
  deps.logger.info('AWSCURRENT moved to the new version', { previousVersionId: current });
  await recordFinished(deps, event, description);
  return 'promoted';
}

/**
 * Closes the token's run in the ledger and clears its intent (the version is AWSCURRENT by now, so its value
 * names the owner). Nothing to record (a version this function did not create) → nothing written.
 */
export async function recordFinished(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<void> {
  const owner = ownerOf(await readCurrent(deps, event), deps.config);
  const consequence = 'AWSCURRENT is already the new version; the retry of finishSecret records the outcome';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const record = await readOwnLedgerRecord(deps, owner, description.arn);
    const next = record
      ? withFinished(record, { secretArn: description.arn, token: event.token, now: deps.now() })
      : undefined;
    if (!next) return;
    if ((await deps.ledger.write(owner, next, ledgerOptions(deps, consequence))) === 'written') {
      deps.logger.info('rotation recorded as finished in the ledger');
      return;
    }
  }
  deps.logger.warn('rotation not recorded as finished: the ledger record kept changing');
}
