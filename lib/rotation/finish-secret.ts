import { AWSCURRENT, type SecretDescription, versionWithStage } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';

/**
 * finishSecret: moves AWSCURRENT to the token's version (AWSPREVIOUS follows by itself). Already done:
 * succeeds without a call. It does not touch PingOne, which already uses the new secret.
 */
export async function finishSecret(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<'promoted' | 'already-current'> {
  const current = versionWithStage(description, AWSCURRENT);
  if (current === event.token) return 'already-current';
  if (current === undefined) {
    deps.logger.warn('no version carried AWSCURRENT');
  }
  await deps.secrets.promote(event.secretId, event.token, current);
  deps.logger.info('AWSCURRENT moved to the new version', { previousVersionId: current });
  return 'promoted';
}
