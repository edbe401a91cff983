/**
 * Worker credentials are rotated secrets (issue 19): two workers of one PingOne organization, each credential a
 * Secrets Manager secret (an application secret's JSON), named in PINGONE_WORKERS. The function rotates each
 * worker's secret through the other with the same four steps, ledger, in-use guard and grace; a warm container
 * that still holds the replaced worker secret keeps rotating other secrets until the grace ends, and when PingOne
 * then refuses it, reads the worker secret again once.
 */
import { expect, it } from 'vitest';
import { TTL_TAG } from '../../lib/config.js';
import type { RotatableApplicationSecret } from '../../local/world.js';
import { rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

const fx = useWorld({ workerRegions: ['EU'], captureLogs: true });
const { world } = fx;
const MINUTE = 60_000;

/** Two workers of EU's organization, their credentials in Secrets Manager (replaced secrets kept 2 minutes). */
async function workerPair() {
  const home = world.sim.createEnvironment({ region: 'EU', name: 'Workers' });
  const made = [world.sim.createWorker(home.id), world.sim.createWorker(home.id)] as const;
  const secrets: RotatableApplicationSecret[] = [];
  for (const [i, worker] of made.entries()) {
    const name = fx.unique(`pingone/workers/${i === 0 ? 'a' : 'b'}`);
    const { arn } = await world.secrets.create({
      name,
      secretString: JSON.stringify({
        environmentId: home.id,
        applicationId: worker.clientId,
        clientSecret: worker.clientSecret,
        region: 'EU',
      }),
      tags: { [TTL_TAG]: '2m' },
    });
    fx.sensitive.add(worker.clientSecret);
    secrets.push({
      arn,
      name,
      kind: 'application',
      environmentId: home.id,
      applicationId: worker.clientId,
      ownerId: worker.clientId,
      region: 'EU',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
    });
  }
  const env = {
    PINGONE_WORKERS: JSON.stringify([
      { name: 'a', region: 'EU', secret: secrets[0]!.arn, environments: '*' },
      { name: 'b', region: 'EU', secret: secrets[1]!.arn, environments: '*' },
    ]),
    // The container keeps its worker credential for an hour: only PingOne's refusal makes it read again.
    PINGONE_WORKER_CACHE_SECONDS: '3600',
  };
  return { home, made, secrets, env };
}

it("a worker pair rotates each other's secrets; a warm container on a replaced worker secret works until the grace ends", async () => {
  const { home, made, secrets, env } = await workerPair();
  const [a, b] = secrets as [RotatableApplicationSecret, RotatableApplicationSecret];
  const harness = rotationHarness(world, { env });
  const rotate = async (arn: string) => {
    const report = await harness.driver.rotate(arn);
    expect(report.ok, report.error).toBe(true);
  };
  const resource = () => world.createRotatableSecret({ name: fx.unique('pingone/pair-api'), region: 'EU' });

  // The warm container starts on worker a (the first that covers the environment).
  await rotate((await resource()).arn);
  // a's own secret goes through b (a worker may not touch its own secret: the simulator answers 403), and b's
  // through a — whose cached credential is now the replaced secret, still valid for the 2-minute grace.
  await rotate(a.arn);
  await rotate(b.arn);
  for (const [i, secret] of [a, b].entries()) {
    const pingone = world.pingOneSecret(secret);
    expect(await fx.storedSecret(secret.arn)).toBe(pingone.secret);
    expect(pingone.secret).not.toBe(made[i]!.clientSecret);
    expect(pingone.previous?.secret).toBe(made[i]!.clientSecret);
    expect(await fx.authenticates(secret, pingone.secret)).toBe(true);
  }

  // Within the grace: a new token from the cached, replaced secret of a (PingOne's previous) still works.
  world.sim.revokeTokens();
  await rotate((await resource()).arn);
  expect(world.sim.readSecret(home.id, a.ownerId, 'application').previous?.lastUsed).toBeDefined();

  // After it: PingOne refuses the cached secret (401); the container reads a's secret once more and goes on.
  world.sim.clock.advance(3 * MINUTE);
  world.sim.revokeTokens();
  const before = world.sim.requests.length;
  await rotate((await resource()).arn);
  const tokens = world.sim.requests.slice(before).filter((r) => r.route === 'token');
  expect(tokens.map((r) => r.status)).toEqual([401, 200]);
  expect(world.sim.crossRegionTokenUses()).toEqual([]);
  fx.remember(harness);
});

it('the captured logs hold no worker credential, secret, bearer token or RotationToken', () => {
  expect(fx.logLeaks()).toEqual([]);
});
