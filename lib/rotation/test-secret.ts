import { SecretTestFailedError } from '../errors.js';
import type { IntrospectAuthMethod } from '../pingone/types.js';
import { describeOwner, ownerOf, readCurrent, readPending, sameSecret } from './common.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';

/**
 * testSecret: proves the pending secret at PingOne without side effects, by authenticating as the resource
 * at its environment's token-introspection endpoint with a dummy token (200 = accepted, 401 = rejected),
 * using the resource's own `introspectEndpointAuthMethod`. With `NONE` introspection checks no secret, so
 * it falls back to comparing with PingOne's current secret.
 *
 * Read-only, and it works when it is the only step called (RotateImmediately=false): if the AWSPENDING
 * version holds no value, the AWSCURRENT secret is tested instead.
 */
export async function testSecret(deps: RotationDeps, event: RotationEvent): Promise<void> {
  const { pingone, logger } = deps;
  let candidate = await readPending(deps, event);
  let label = 'AWSPENDING';
  if (candidate === undefined) {
    logger.warn('AWSPENDING holds no value (a test-only rotation); testing AWSCURRENT instead');
    candidate = await readCurrent(deps, event);
    label = 'AWSCURRENT';
  }
  const owner = ownerOf(candidate, deps.config);
  const options = { deadline: deps.deadline };

  const resource = await pingone.readResource(owner, options);
  if (resource.type !== 'CUSTOM') {
    throw new SecretTestFailedError(
      `${describeOwner(owner)} is a ${resource.type} resource; only CUSTOM resources have a secret to rotate`,
    );
  }
  const method = (resource.introspectEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC') as
    | IntrospectAuthMethod
    | string;

  if (method === 'CLIENT_SECRET_BASIC' || method === 'CLIENT_SECRET_POST') {
    if (!(await pingone.introspectWithSecret(owner, candidate.clientSecret, method, options))) {
      throw new SecretTestFailedError(
        `PingOne rejected the ${label} secret for ${describeOwner(owner)} at token introspection (${method})`,
      );
    }
    logger.info('PingOne accepted the secret at token introspection', { tested: label, method });
    return;
  }

  logger.warn('introspection cannot prove this secret; comparing with PingOne instead', { method });
  const state = await pingone.readSecret(owner, options);
  if (!sameSecret(state.secret, candidate.clientSecret)) {
    throw new SecretTestFailedError(
      `The ${label} secret is not the current secret of ${describeOwner(owner)}`,
    );
  }
  logger.info("the secret is PingOne's current secret", { tested: label, method });
}
