/** Who the owner is at PingOne, and which secrets already carry its tag: shared by onboard and the fleet engine. */

import { APPLICATION_TAG, RESOURCE_TAG } from '../../lib/config.js';
import { applicationRefusal, describeOwner } from '../../lib/owner.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import { proofFor } from '../../lib/rotation/test-secret.js';
import { withArticle } from '../../lib/status/text.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT, explainPingOneError } from '../errors.js';
import { callOptions, type PingOneAccess } from '../pingone-access.js';

/**
 * Reads the owner and its current secret from PingOne as the worker app (never regenerates): a resource must
 * be CUSTOM, an application OIDC and not the worker itself. `described` names it for messages ("CUSTOM
 * resource "Orders API""). PingOne's refusals become a CliError saying nothing was created or changed.
 */
export async function readOwnerAtPingOne(
  deps: CliDeps,
  owner: SecretOwner,
  say: (text: string) => void,
  access: PingOneAccess = deps.pingone(),
): Promise<{ described: string; secret: string; tokenEndpointAuthMethod?: string }> {
  const pingoneCall = async <T>(call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const explained = explainPingOneError(error, owner);
      if (explained === undefined) throw error;
      // The explanation already says what failed (and carries PingOne's own message once).
      throw new CliError(explained, 'nothing was created or changed', EXIT.error, {
        cause: error,
      });
    }
  };
  let described: string;
  let tokenEndpointAuthMethod: string | undefined;
  if (owner.kind === 'application') {
    const application = await pingoneCall(() => access.client.readApplication(owner, callOptions(deps.now)));
    const refusal = applicationRefusal(owner, application);
    if (refusal) throw new CliError(refusal, 'nothing was created or changed; check --application-id');
    described =
      `OIDC application${application.name ? ` "${application.name}"` : ''} (${application.type}, ` +
      `${application.tokenEndpointAuthMethod ?? 'no tokenEndpointAuthMethod'})`;
    tokenEndpointAuthMethod = application.tokenEndpointAuthMethod;
    const proof = proofFor('application', application.tokenEndpointAuthMethod);
    if (proof.kind === 'comparison') {
      say(
        `Note: its tokenEndpointAuthMethod is ${proof.method}, which does not use the client secret: testSecret ` +
          "can only compare a new secret with PingOne's current one, not prove it (pingone-rotation status says so).",
      );
    }
  } else {
    const resource = await pingoneCall(() => access.client.readResource(owner, callOptions(deps.now)));
    if (resource.type !== 'CUSTOM') {
      throw new CliError(
        `${describeOwner(owner)}${resource.name ? ` ("${resource.name}")` : ''} is ${withArticle(resource.type)} resource, not CUSTOM`,
        'only CUSTOM resources have a client secret to rotate; check --resource-id',
      );
    }
    described = `CUSTOM resource${resource.name ? ` "${resource.name}"` : ''}`;
  }
  const state = await pingoneCall(() => access.client.readSecret(owner, callOptions(deps.now)));
  return { described, secret: state.secret, ...(tokenEndpointAuthMethod ? { tokenEndpointAuthMethod } : {}) };
}

/** The tag onboard gives a secret naming `owner`: pingone:resource-id or pingone:application-id. */
export function ownerTag(owner: SecretOwner): string {
  return owner.kind === 'application' ? APPLICATION_TAG : RESOURCE_TAG;
}

/** Secrets carrying the owner's tag with its id (pingone:resource-id=<id> / pingone:application-id=<id>), as ARNs. */
export async function taggedHolders(deps: CliDeps, owner: SecretOwner): Promise<string[]> {
  const key = ownerTag(owner);
  const id = owner.id.toLowerCase();
  const arns: string[] = [];
  const pages = secretsOf(deps).listSecrets([
    { Key: 'tag-key', Values: [key] },
    { Key: 'tag-value', Values: [owner.id] },
  ]);
  for await (const page of pages) {
    for (const secret of page) {
      const tagged = (secret.Tags ?? []).some((tag) => tag.Key === key && tag.Value?.toLowerCase() === id);
      if (tagged && secret.ARN) arns.push(secret.ARN);
    }
  }
  return arns;
}
