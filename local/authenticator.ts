/**
 * Proving a secret the way testSecret does, from outside the function: token introspection as the secret's
 * owner, by its own auth method (an application's CLIENT_SECRET_JWT assertion included), with no worker and
 * no fault injection. `npm start` tells with it whether consumers still authenticate; the tests assert with it.
 */
import { PingOneHttpClient } from '../lib/pingone/http-client.js';
import type { PingOneSimulator } from './pingone-simulator/index.js';
import { type OwnedSecret, ownerOfSecret } from './world.js';

/** `authenticates(secret, clientSecret)`: whether PingOne accepts `clientSecret` for `secret`'s owner. */
export function ownerAuthenticator(sim: PingOneSimulator) {
  const client = new PingOneHttpClient({
    apiUrlTemplate: sim.apiUrlTemplate,
    authUrlTemplate: sim.authUrlTemplate,
    workerCredentials: async () => {
      throw new Error('introspection needs no worker');
    },
    now: () => sim.clock.now().getTime(),
  });
  return (secret: OwnedSecret, clientSecret: string): Promise<boolean> => {
    const method = secret.kind === 'application' ? secret.tokenEndpointAuthMethod : 'CLIENT_SECRET_BASIC';
    if (
      method !== 'CLIENT_SECRET_BASIC' &&
      method !== 'CLIENT_SECRET_POST' &&
      method !== 'CLIENT_SECRET_JWT'
    ) {
      throw new Error(`${method}: the secret authenticates nothing at PingOne`);
    }
    return client.introspectWithSecret(ownerOfSecret(secret), clientSecret, method, {
      deadline: sim.clock.now().getTime() + 10_000,
    });
  };
}
