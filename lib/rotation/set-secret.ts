import { PendingMismatchError } from '../errors.js';
import { describeOwner, ownerOf, sameOwner } from '../owner.js';
import { sameSecret } from '../secret-value.js';
import type { SecretDescription } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { readCurrent, readOwnLedgerRecord, readPending } from './reads.js';

/**
 * setSecret: PingOne generated the secret in createSecret, so it already uses the new one. This step only
 * verifies (the confused-deputy checks): AWSPENDING and AWSCURRENT name the same environment and owner,
 * PingOne's current secret is the pending one, and the ledger does not bind the owner to another secret
 * (checked before PingOne is called). Read-only; safe to call any number of times.
 */
export async function setSecret(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<void> {
  // Both values at once: two Secrets Manager reads, which change nothing. AWSCURRENT's outcome is taken first,
  // so a failure reads as it did when they ran one after the other.
  const currentRead = readCurrent(deps, event);
  const pendingRead = readPending(deps, event);
  pendingRead.catch(() => {}); // awaited just below, once AWSCURRENT's read has settled
  const current = await currentRead;
  const pending = await pendingRead;
  if (pending === undefined) {
    throw new PendingMismatchError(
      `AWSPENDING version ${event.token} holds no value: createSecret has not completed for this rotation`,
    );
  }
  const currentOwner = ownerOf(current, deps.config);
  const pendingOwner = ownerOf(pending, deps.config);
  if (!sameOwner(currentOwner, pendingOwner)) {
    throw new PendingMismatchError(
      `AWSPENDING names ${describeOwner(pendingOwner)} but AWSCURRENT names ${describeOwner(currentOwner)}; ` +
        'a rotation must not move a secret to another resource or application',
    );
  }

  await readOwnLedgerRecord(deps, pendingOwner, description.arn);
  const state = await deps.pingone.readSecret(pendingOwner, { deadline: deps.deadline });
  if (!sameSecret(state.secret, pending.clientSecret)) {
    throw new PendingMismatchError(
      `${describeOwner(pendingOwner)} does not use the AWSPENDING secret as its current secret ` +
        `(AWSCURRENT is PingOne's ${sameSecret(state.secret, current.clientSecret) ? 'current' : sameSecret(state.previous?.secret, current.clientSecret) ? 'previous' : 'neither current nor previous'} secret). ` +
        'Run `pingone-rotation status` and `pingone-rotation unstick` to recover',
    );
  }
  if (!sameSecret(state.previous?.secret, current.clientSecret)) {
    deps.logger.warn(
      "AWSCURRENT is not PingOne's previous secret; consumers on it cannot authenticate until finishSecret",
    );
  }
  deps.logger.info('PingOne uses the pending secret');
}
