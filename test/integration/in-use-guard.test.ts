import { CreateSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import type { RotatableSecret } from '../../local/world.js';
import { committedRegenerates, rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * The in-use guard end to end: the real handler, moto and the PingOne simulator, where a consumer's
 * introspection with the previous secret sets `previous.lastUsed`.
 */
const MINUTE = 60_000;
const { world, authenticates, sensitive, output, logLeaks } = useWorld({ captureLogs: true });
let counter = 0;

async function currentSecret(secret: RotatableSecret): Promise<string> {
  const value = (await world.readSecretJson(secret.arn)).clientSecret as string;
  sensitive.add(value);
  return value;
}

/** A secret rotated once, so PingOne holds its first secret as the previous one. */
async function rotatedOnce(harness: ReturnType<typeof rotationHarness>) {
  const secret = await world.createRotatableSecret({ name: `pingone/guard-${++counter}`, region: 'EU' });
  const first = await currentSecret(secret);
  expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
  return { secret, first };
}

describe('in-use guard', () => {
  it('guards an application secret the same way (owner-kind generic)', async () => {
    const harness = rotationHarness(world, { maxAttempts: 1 });
    const environmentId = world.createEnvironment('EU');
    const app = world.sim.createApplication(environmentId, { name: 'Guarded app' });
    const created = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: `pingone/guard-app-${++counter}`,
        SecretString: JSON.stringify({
          environmentId,
          applicationId: app.id,
          clientSecret: app.secret,
          region: 'EU',
        }),
      }),
    );
    const arn = created.ARN ?? '';
    sensitive.add(app.secret);
    expect((await harness.driver.rotate(arn)).ok).toBe(true);
    // A consumer still authenticates (introspection as the application) with the secret it had.
    const consumer = new PingOneHttpClient({
      apiUrlTemplate: world.sim.apiUrlTemplate,
      authUrlTemplate: world.sim.authUrlTemplate,
      workerCredentials: async () => {
        throw new Error('a consumer needs no worker');
      },
    });
    const owner = { kind: 'application' as const, environmentId, id: app.id, region: 'EU' as const };
    expect(
      await consumer.introspectWithSecret(owner, app.secret, 'CLIENT_SECRET_BASIC', {
        deadline: Date.now() + 10_000,
      }),
    ).toBe(true);
    const before = world.sim.readSecret(environmentId, app.id, 'application');
    sensitive.add(before.secret);

    const refused = await harness.driver.rotate(arn);

    expect(refused.ok).toBe(false);
    expect(refused.error).toContain(
      `PreviousSecretInUse: PingOne's previous secret of PingOne application ${app.id}`,
    );
    expect(world.sim.readSecret(environmentId, app.id, 'application')).toEqual(before);
    for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
  });

  it('refuses a second rotation while a consumer still uses the previous secret, then proceeds once it is quiet', async () => {
    const harness = rotationHarness(world, { maxAttempts: 1 });
    const { secret, first } = await rotatedOnce(harness);
    const second = await currentSecret(secret);
    // A lagging consumer (a cache, a long-lived pod) still authenticates with the first secret.
    expect(await authenticates(secret, first)).toBe(true);
    const pingOneBefore = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(pingOneBefore.previous?.lastUsed).toBeDefined();

    const refused = await harness.driver.rotate(secret.arn);

    expect(refused.ok).toBe(false);
    expect(refused.error).toContain('PreviousSecretInUse');
    expect(refused.error).toMatch(
      /was last used at \S+ \(\d+s ago\), within PREVIOUS_SECRET_IN_USE_WINDOW=1h/,
    );
    expect(refused.error).toContain('it stays valid until');
    // Nothing changed: PingOne still has both secrets, AWSCURRENT is unchanged and the consumer still works.
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId)).toEqual(pingOneBefore);
    expect(await currentSecret(secret)).toBe(second);
    expect(await authenticates(secret, first)).toBe(true);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);

    // Secrets Manager retries the outstanding rotation: still refused while the consumer keeps using it.
    world.sim.clock.advance(30 * MINUTE);
    expect(await authenticates(secret, first)).toBe(true);
    expect((await harness.driver.resume(secret.arn))?.ok).toBe(false);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);

    // An hour after the last use, the retry goes through (the consumer has moved on).
    world.sim.clock.advance(61 * MINUTE);
    const retried = await harness.driver.resume(secret.arn);
    expect(retried?.ok, retried?.error).toBe(true);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(2);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous?.secret).toBe(second);
    for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
  });

  it('rotates at once with PREVIOUS_SECRET_IN_USE_WINDOW=0', async () => {
    const harness = rotationHarness(world, { maxAttempts: 1, env: { PREVIOUS_SECRET_IN_USE_WINDOW: '0' } });
    const { secret, first } = await rotatedOnce(harness);
    expect(await authenticates(secret, first)).toBe(true);

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok, report.error).toBe(true);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(2);
    expect(await authenticates(secret, first)).toBe(false);
    for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
  });

  it('follows the pingone:previous-secret-in-use-window tag over the function setting', async () => {
    const harness = rotationHarness(world, { maxAttempts: 1 });
    const { secret, first } = await rotatedOnce(harness);
    expect(await authenticates(secret, first)).toBe(true);
    world.sim.clock.advance(2 * 60 * MINUTE);
    await world.secretsManager.send(
      new TagResourceCommand({
        SecretId: secret.arn,
        Tags: [{ Key: 'pingone:previous-secret-in-use-window', Value: '1d' }],
      }),
    );

    const refused = await harness.driver.rotate(secret.arn);

    expect(refused.ok).toBe(false);
    expect(refused.error).toContain("the secret's tag pingone:previous-secret-in-use-window=1d");
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  const text = output.captured;
  expect(text).toContain('"errorCode":"PreviousSecretInUse"');
  expect(logLeaks()).toEqual([]);
});
