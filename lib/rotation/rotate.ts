import { RotationStateError } from '../errors.js';
import { AWSCURRENT, AWSPENDING, type SecretDescription } from '../secrets/secrets-store.js';
import { createSecret } from './create-secret.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { finishSecret, recordFinished } from './finish-secret.js';
import { setSecret } from './set-secret.js';
import { testSecret } from './test-secret.js';

export type StepOutcome =
  | 'already-current'
  | 'already-stored'
  | 'regenerated'
  | 'adopted'
  | 'verified'
  | 'tested'
  | 'promoted';

/**
 * The preamble of every step, as in the AWS rotation template: rotation must be enabled; the token must be
 * a version of the secret; already AWSCURRENT → nothing to do; otherwise it must be AWSPENDING.
 */
function assertVersionStaged(
  description: SecretDescription,
  event: RotationEvent,
): 'already-current' | 'pending' {
  if (!description.rotationEnabled) {
    throw new RotationStateError(`Secret ${description.name} is not enabled for rotation`);
  }
  const stages = description.versions[event.token];
  if (stages === undefined) {
    throw new RotationStateError(
      `Secret ${description.name} has no version ${event.token} with a staging label: this token is not a ` +
        'rotation of this secret (or its AWSPENDING label was removed); start a new rotation',
    );
  }
  if (stages.includes(AWSCURRENT)) return 'already-current';
  if (!stages.includes(AWSPENDING)) {
    throw new RotationStateError(
      `Version ${event.token} of secret ${description.name} is not AWSPENDING (labels: ${stages.join(', ') || 'none'})`,
    );
  }
  return 'pending';
}

/** Runs one rotation step after the preamble. */
export async function runRotationStep(deps: RotationDeps, event: RotationEvent): Promise<StepOutcome> {
  const description = await deps.secrets.describe(event.secretId);
  if (assertVersionStaged(description, event) === 'already-current') {
    deps.logger.info('version is already AWSCURRENT; nothing to do');
    // A crash between finishSecret's promotion and its ledger record heals here.
    if (event.step === 'finishSecret') await recordFinished(deps, event, description);
    return 'already-current';
  }
  switch (event.step) {
    case 'createSecret':
      return createSecret(deps, event, description);
    case 'setSecret':
      await setSecret(deps, event, description);
      return 'verified';
    case 'testSecret':
      await testSecret(deps, event, description);
      return 'tested';
    case 'finishSecret':
      return finishSecret(deps, event, description);
    default: {
      const unreachable: never = event.step;
      throw new RotationStateError(`Unknown step ${String(unreachable)}`);
    }
  }
}
