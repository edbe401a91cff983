import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import {
  intentSettlesAt,
  type LedgerIntent,
  MAX_POST_WINDOW_MS,
  SETTLE_MARGIN_MS,
} from '../../lib/ledger/record.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import { functionSettingHint, inspectStatus } from '../../lib/status/index.js';
import type { RotatableSecret } from '../../local/world.js';
import { committedRegenerates, rotationHarness } from '../support/harness.js';
import { ownerOfSecret, useWorld } from '../support/world.js';

/**
 * A gateway between the function and PingOne, over HTTP against the simulator and moto: its answers are
 * not PingOne's word, and a request it answered may still land at PingOne after the function re-read.
 */
const { world, authenticates, sensitive, remember, storedSecret, logLeaks } = useWorld({ captureLogs: true });
let counter = 0;

async function newSecret(): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name: `pingone/gw-${++counter}`, region: 'EU' });
  sensitive.add(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);
  return secret;
}

const stage = (secret: RotatableSecret, name = 'AWSCURRENT') => storedSecret(secret.arn, name);
const ownerOf = ownerOfSecret;

describe('a gateway in front of PingOne', () => {
  it('answers the regenerate with a plain-text 503 and PingOne commits it a second later: one regenerate, AWSCURRENT keeps working', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret)) as string;
    world.sim.faults.lateCommit({
      route: 'secret',
      method: 'POST',
      resourceId: secret.resourceId,
      status: 503,
      afterMs: 1_000,
    });
    const harness = rotationHarness(world, {
      maxAttempts: 4,
      // Secrets Manager retries later: the gateway's request has landed by then, and the intent has settled.
      beforeRetry: async () => {
        await world.sim.lateCommitsDone();
        world.sim.clock.advance(MAX_POST_WINDOW_MS + SETTLE_MARGIN_MS);
      },
    });

    const report = await harness.driver.rotate(secret.arn);
    await world.sim.lateCommitsDone();

    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    // The replaced secret is still PingOne's previous one: consumers on it were not locked out.
    const pingone = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(pingone.previous?.secret).toBe(initial);
    expect(await authenticates(secret, initial)).toBe(true);
    expect(report, report.error).toMatchObject({ ok: true, attempts: 2 });
    const failed = report.steps.find((s) => !s.ok);
    expect(failed?.step).toBe('createSecret');
    expect(failed?.error).toMatch(/RegenerateOutcomeUnknown|outcome is unknown/);
    expect(await stage(secret)).toBe(pingone.secret);
    expect(await stage(secret, 'AWSPREVIOUS')).toBe(initial);
    // One POST from the function; the second record is PingOne performing the gateway's request.
    const posts = world.sim.requests.filter(
      (r) => r.method === 'POST' && r.route === 'secret' && r.resourceId === secret.resourceId,
    );
    expect(posts.map((r) => r.fault)).toEqual(['lateCommit:503', 'lateCommit:committed']);
    remember(harness);
  });

  it('a retry whose PingOne read began inside the intent window sends nothing, even when the window ends before it decides', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret)) as string;
    // The gateway hands the request on 2 s later, after the retry has read PingOne.
    world.sim.faults.lateCommit({ route: 'secret', resourceId: secret.resourceId, afterMs: 2_000 });
    const harness = rotationHarness(world, {
      maxAttempts: 2,
      beforeRetry: async () => {
        // The retry reads PingOne 600 ms before the intent settles (by the clock); the read's answer takes
        // 1.5 s to come back, so the intent has settled by the time the retry decides.
        const record = await world.ledger.read(ownerOf(secret), {
          deadline: Date.now() + 10_000,
          now: Date.now,
        });
        const settles = intentSettlesAt(record?.intent as LedgerIntent).getTime();
        world.sim.clock.advance(settles - world.sim.clock.now().getTime() - 600);
        world.sim.faults.delay({ route: 'secret', method: 'GET', resourceId: secret.resourceId, ms: 1_500 });
      },
    });

    const report = await harness.driver.rotate(secret.arn);
    await world.sim.lateCommitsDone();

    expect(report.ok).toBe(false);
    expect(report.steps.at(-1)?.error).toMatch(/may still be in flight/);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous?.secret).toBe(initial);
    expect(await authenticates(secret, initial)).toBe(true);
    remember(harness);
  });

  it("retries within the invocation after PingOne's own 503, re-reading first: one regenerate", async () => {
    const secret = await newSecret();
    const initial = (await stage(secret)) as string;
    world.sim.faults.failNext({
      route: 'secret',
      method: 'POST',
      resourceId: secret.resourceId,
      status: 503,
    });
    const harness = rotationHarness(world);

    const report = await harness.driver.rotate(secret.arn);

    expect(report, report.error).toMatchObject({ ok: true, attempts: 1 });
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    const requests = world.sim.requests.filter(
      (r) => r.route === 'secret' && r.resourceId === secret.resourceId,
    );
    // GET (decide), POST → PingOne's 503, GET (re-read), POST → 200.
    expect(requests.slice(0, 4).map((r) => `${r.method} ${r.status}`)).toEqual([
      'GET 200',
      'POST 503',
      'GET 200',
      'POST 200',
    ]);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous?.secret).toBe(initial);
    expect(await stage(secret, 'AWSPREVIOUS')).toBe(initial);
    remember(harness);
  });
});

describe('a regenerate PingOne itself refused', () => {
  it('closes the run as failed: a later console regenerate shows as drift and is not adopted', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret)) as string;
    // PingOne's own 403 document (ACCESS_FAILED / INSUFFICIENT_PERMISSIONS): the worker may not regenerate.
    world.sim.faults.failNext({
      route: 'secret',
      method: 'POST',
      resourceId: secret.resourceId,
      status: 403,
    });
    const harness = rotationHarness(world, { maxAttempts: 1 });
    const refused = await harness.driver.rotate(secret.arn);
    expect(refused.ok).toBe(false);
    expect(refused.error).toMatch(/HTTP 403 ACCESS_FAILED/);
    const record = await world.ledger.read(ownerOf(secret), { deadline: Date.now() + 10_000, now: Date.now });
    expect(record?.history.map((run) => run.outcome)).toEqual(['failed']);
    expect(record?.intent).toBeUndefined();
    // The operator gives up on that rotation (its AWSPENDING label goes).
    const token = (await harness.driver.pendingVersion(secret.arn)) as string;
    await world.secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secret.arn,
        VersionStage: 'AWSPENDING',
        RemoveFromVersionId: token,
      }),
    );

    // Someone regenerates in the PingOne console, keeping the old secret valid for a day.
    const outOfBand = world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(world.sim.clock.now().getTime() + 86_400_000),
    });
    sensitive.add(outOfBand.secret);
    const config = loadConfig(world.functionEnv);
    const report = await inspectStatus(
      {
        secretsManager: world.secretsManager,
        pingone: {
          config,
          client: new PingOneHttpClient({
            apiUrlTemplate: config.apiUrlTemplate,
            authUrlTemplate: config.authUrlTemplate,
            workers: world.workerRouter(),
          }),
        },
        ledger: world.ledger,
        now: () => world.sim.clock.now().getTime(),
        hint: functionSettingHint,
      },
      { secretId: secret.arn },
    );
    expect(report.verdict).toBe('drift');

    // A new rotation refuses to adopt what this function did not send.
    const retry = await harness.driver.rotate(secret.arn);
    expect(retry.ok).toBe(false);
    expect(retry.error).toMatch(/records no regenerate by this function/);
    expect(await stage(secret)).toBe(initial);
    remember(harness);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold no secret, bearer token, worker credential or RotationToken', () => {
  expect(logLeaks()).toEqual([]);
});
