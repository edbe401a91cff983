import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../lib/ledger/record.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import { ALL_STEPS, lambdaContext, type RotationEventPayload } from '../../local/driver.js';
import { freePort } from '../../local/moto.js';
import type { RotatableApplicationSecret, RotatableSecret } from '../../local/world.js';
import { committedRegenerates, rotationHarness } from '../support/harness.js';
import { describeLeaks } from '../support/leaks.js';
import { ownerOfSecret, useWorld } from '../support/world.js';

/**
 * The rotation ledger against moto's DynamoDB and the PingOne simulator over HTTP, with the real handler:
 * who may rotate a PingOne owner, which regenerates may be adopted, and that two containers at once
 * regenerate once.
 */
const { world, authenticates, sensitive, remember, storedSecret, output, logLeaks } = useWorld({
  captureLogs: true,
});
let counter = 0;

async function newSecret(name = `pingone/ledger-${++counter}`): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name, region: 'EU' });
  sensitive.add(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);
  return secret;
}

const ownerOf = ownerOfSecret;

async function ledgerRecord(secret: RotatableSecret): Promise<LedgerRecord | undefined> {
  return world.ledger.read(ownerOf(secret), { deadline: Date.now() + 10_000, now: Date.now });
}

const stage = storedSecret;

/** Every clientSecret any version of the secret has held. */
async function everyValue(secretId: string): Promise<string[]> {
  const out = await world.secretsManager.send(
    new ListSecretVersionIdsCommand({ SecretId: secretId, IncludeDeprecated: true }),
  );
  const values: string[] = [];
  for (const version of out.Versions ?? []) {
    const value = await world.secretsManager
      .send(new GetSecretValueCommand({ SecretId: secretId, VersionId: version.VersionId }))
      .then((v) => JSON.parse(v.SecretString ?? '{}').clientSecret as string | undefined)
      .catch(() => undefined);
    if (value) values.push(value);
  }
  return values;
}

/** PingOne requests of any kind so far (the worker's token requests included). */
function pingoneCalls(): number {
  return world.sim.requests.length;
}

/** A second secret naming `victim`'s PingOne owner, holding `clientSecret`. */
async function impostor(victim: RotatableSecret, clientSecret: string, name: string): Promise<string> {
  const out = await world.secretsManager.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify({
        environmentId: victim.environmentId,
        // Upper case: the same owner however the UUID is spelt.
        resourceId: victim.resourceId.toUpperCase(),
        clientSecret,
        region: victim.region,
      }),
    }),
  );
  return out.ARN as string;
}

/** Removes AWSPENDING from `token`'s version: what unstick (or Secrets Manager's RotationAbandoned) does. */
async function abandon(secretId: string, token: string): Promise<void> {
  await world.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: secretId,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: token,
    }),
  );
}

/** Holds callers at `wait()` until `parties` of them have arrived. */
function barrier(parties: number) {
  let arrived = 0;
  let release!: () => void;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    wait: async () => {
      arrived++;
      if (arrived >= parties) release();
      await all;
    },
    get arrived() {
      return arrived;
    },
  };
}

function createEvent(secretId: string, token: string): RotationEventPayload {
  return {
    Step: 'createSecret',
    SecretId: secretId,
    ClientRequestToken: token,
    RotationToken: `rt-${token}`,
  };
}

const POST_SECRET = 'pingone:POST /resource/secret';
/**
 * createSecret's calls (asserted by the crash matrix) for an owner the ledger has no item for yet (its
 * pre-issue-17 keys are read too, in one BatchGetItem): the regenerate POST is the tenth.
 */
const POST_INDEX = 9;

describe('binding', () => {
  it('the first rotation binds the owner to its secret and records the rotation', async () => {
    const secret = await newSecret();
    expect(await ledgerRecord(secret)).toBeUndefined();
    const harness = rotationHarness(world);

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok, report.error).toBe(true);
    const record = await ledgerRecord(secret);
    expect(record?.binding).toMatchObject({ secretArn: secret.arn, how: 'rotation' });
    expect(record?.intent).toBeUndefined();
    expect(record?.history).toEqual([
      expect.objectContaining({
        token: report.token,
        secretArn: secret.arn,
        regeneratedAt: expect.any(String),
        finishedAt: expect.any(String),
        outcome: 'rotated',
      }),
    ]);
    // Only ARNs, version ids and times: no secret value, in any encoding.
    const raw = JSON.stringify(record);
    const secrets = [await stage(secret.arn), await stage(secret.arn, 'AWSPREVIOUS')] as string[];
    expect(describeLeaks(raw, [...secrets, ...harness.rotationTokens])).toEqual([]);
    remember(harness);
  });

  it("refuses a second secret for a bound owner before any PingOne call, even one holding PingOne's current secret", async () => {
    const victim = await newSecret();
    const harness = rotationHarness(world, { maxAttempts: 2 });
    expect((await harness.driver.rotate(victim.arn)).ok).toBe(true);
    const victimCurrent = (await stage(victim.arn)) as string;
    const copy = await impostor(victim, victimCurrent, `pingone/copy-${++counter}`);
    const callsBefore = pingoneCalls();

    const report = await harness.driver.rotate(copy);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`createSecret: PingOne resource ${victim.resourceId}`);
    expect(report.error).toContain(`belongs to secret ${victim.arn}`);
    expect(report.error).toContain(`pingone-rotation rebind --secret-id ${copy}`);
    expect(pingoneCalls()).toBe(callsBefore);
    expect(await stage(copy, 'AWSPENDING')).toBeUndefined();
    expect((await ledgerRecord(victim))?.binding?.secretArn).toBe(victim.arn);
    remember(harness);
  });
});

describe('the escalation through adopt', () => {
  it("fails: a secret holding only the replaced secret never receives the victim's current secret", async () => {
    const victim = await newSecret();
    const victimHarness = rotationHarness(world);
    expect((await victimHarness.driver.rotate(victim.arn)).ok).toBe(true);
    // The replaced secret stays valid at PingOne for days: all the attacker knows.
    const replaced = (await stage(victim.arn, 'AWSPREVIOUS')) as string;
    expect(world.sim.readSecret(victim.environmentId, victim.resourceId).previous?.secret).toBe(replaced);
    const attacker = await impostor(victim, replaced, `pingone/attacker-${++counter}`);
    const callsBefore = pingoneCalls();
    const regeneratesBefore = committedRegenerates(world.sim, victim.resourceId);
    const harness = rotationHarness(world, { maxAttempts: 2 });

    const report = await harness.driver.rotate(attacker);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`belongs to secret ${victim.arn}`);
    expect(pingoneCalls()).toBe(callsBefore);
    expect(committedRegenerates(world.sim, victim.resourceId)).toBe(regeneratesBefore);

    // The attacker fills AWSPENDING itself so createSecret has nothing to do: setSecret refuses, still
    // before any PingOne call, and the rotation goes no further.
    const token = await harness.driver.startRotation(attacker).catch(async () => {
      const pending = (await harness.driver.pendingVersion(attacker)) as string;
      return pending;
    });
    await world.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: attacker,
        ClientRequestToken: token,
        SecretString: JSON.stringify({
          environmentId: victim.environmentId,
          resourceId: victim.resourceId,
          clientSecret: 'attacker-chosen',
          region: victim.region,
        }),
        VersionStages: ['AWSPENDING'],
      }),
    );
    const second = await harness.driver.run(attacker, token, ALL_STEPS, 1);
    expect(second.ok).toBe(false);
    expect(second.error).toMatch(/^setSecret: .*belongs to secret/);
    expect(pingoneCalls()).toBe(callsBefore);

    const victimCurrent = world.sim.readSecret(victim.environmentId, victim.resourceId).secret;
    expect(await everyValue(attacker)).not.toContain(victimCurrent);
    expect(await stage(victim.arn)).toBe(victimCurrent);
    expect(await authenticates(victim, victimCurrent)).toBe(true);
    remember(victimHarness, harness);
  });

  it('fails on an owner not yet bound: a regenerate the ledger does not record is not adopted', async () => {
    // The owner has never been rotated by this function; someone regenerated it keeping a grace period.
    const victim = await newSecret();
    const known = (await stage(victim.arn)) as string;
    const outOfBand = world.sim.regenerateOutOfBand(victim.environmentId, victim.resourceId, {
      previousExpiresAt: new Date(world.sim.clock.now().getTime() + 86_400_000),
    });
    sensitive.add(outOfBand.secret);
    const attacker = await impostor(victim, known, `pingone/attacker-${++counter}`);
    const harness = rotationHarness(world, { maxAttempts: 2 });

    const report = await harness.driver.rotate(attacker);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/^createSecret: AWSCURRENT's clientSecret is the previous secret/);
    expect(report.error).toContain('records no regenerate by this function');
    expect(await everyValue(attacker)).not.toContain(outOfBand.secret);
    expect(committedRegenerates(world.sim, victim.resourceId)).toBe(0);
    expect(await ledgerRecord(victim)).toBeUndefined();
    remember(harness);
  });
});

describe('regenerates this function did not record', () => {
  it('an out-of-band regenerate (with a grace period) is not adopted; nothing is stored', async () => {
    const secret = await newSecret();
    const harness = rotationHarness(world, { maxAttempts: 2 });
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
    const stored = (await stage(secret.arn)) as string;
    const outOfBand = world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(world.sim.clock.now().getTime() + 86_400_000),
    });
    sensitive.add(outOfBand.secret);
    const regenerates = committedRegenerates(world.sim, secret.resourceId);

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`records no regenerate by this function for secret ${secret.arn}`);
    expect(report.error).toContain(`pingone-rotation onboard --force --secret-name ${secret.name}`);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(regenerates);
    expect(await stage(secret.arn)).toBe(stored);
    expect(await stage(secret.arn, 'AWSPENDING')).toBeUndefined();
    expect(await everyValue(secret.arn)).not.toContain(outOfBand.secret);
    remember(harness);
  });

  it('a stale unfinished record cannot justify adopting a later out-of-band regenerate', async () => {
    const secret = await newSecret();
    // Rotation A records its intent and dies before the POST; it is abandoned.
    const crashed = rotationHarness(world, { maxAttempts: 1, instantRetries: true });
    crashed.boundaries.plan = { step: 'createSecret', index: POST_INDEX, when: 'before' };
    const first = await crashed.driver.rotate(secret.arn);
    expect(first.ok).toBe(false);
    expect(crashed.boundaries.calls.at(-1)).toBe(POST_SECRET);
    await abandon(secret.arn, first.token);
    // Rotation B, once A's window has passed, regenerates and finishes: A's run is superseded.
    world.sim.clock.advance(2 * 60_000);
    const harness = rotationHarness(world, { maxAttempts: 1 });
    const second = await harness.driver.rotate(secret.arn);
    expect(second.ok, second.error).toBe(true);
    expect((await ledgerRecord(secret))?.history.map((run) => [run.token, run.outcome])).toEqual([
      [second.token, 'rotated'],
      [first.token, 'superseded'],
    ]);
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(world.sim.clock.now().getTime() + 86_400_000),
    });
    sensitive.add(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);

    const third = await harness.driver.rotate(secret.arn);

    expect(third.ok).toBe(false);
    expect(third.error).toContain('records no regenerate by this function');
    expect(await stage(secret.arn, 'AWSPENDING')).toBeUndefined();
    remember(crashed, harness);
  });
});

describe('an abandoned rotation', () => {
  it('is adopted by the next rotation when its regenerate landed: one regenerate, consumers never fail', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret.arn)) as string;
    const crashed = rotationHarness(world, { maxAttempts: 1, instantRetries: true });
    crashed.boundaries.plan = { step: 'createSecret', index: POST_INDEX, when: 'after' };
    const first = await crashed.driver.rotate(secret.arn);
    expect(first.ok).toBe(false);
    expect(crashed.boundaries.calls.at(-1)).toBe(POST_SECRET);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    await abandon(secret.arn, first.token);
    expect(await authenticates(secret, initial)).toBe(true);

    const harness = rotationHarness(world, { maxAttempts: 1 });
    const second = await harness.driver.rotate(secret.arn);

    expect(second.ok, second.error).toBe(true);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    const pingone = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(await stage(secret.arn)).toBe(pingone.secret);
    expect(await stage(secret.arn, 'AWSPREVIOUS')).toBe(initial);
    expect(pingone.previous?.secret).toBe(initial);
    const record = await ledgerRecord(secret);
    expect(record?.history.map((run) => [run.token, run.outcome])).toEqual([
      [second.token, 'rotated'],
      [first.token, 'superseded'],
    ]);
    expect(record?.intent).toBeUndefined();
    remember(crashed, harness);
  });
});

describe('two containers at once', () => {
  /** Runs createSecret for `token` in two fresh containers and returns what each did. */
  async function converge(secret: RotatableSecret, initial: string): Promise<void> {
    const harness = rotationHarness(world, { retryAfterMs: 2 * 60_000 });
    const pending = (await harness.driver.pendingVersion(secret.arn)) as string;
    const report = await harness.driver.run(secret.arn, pending, ALL_STEPS);
    expect(report.ok, report.error).toBe(true);
    const pingone = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(await stage(secret.arn)).toBe(pingone.secret);
    expect(await stage(secret.arn, 'AWSPREVIOUS')).toBe(initial);
    expect(pingone.previous?.secret).toBe(initial);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    remember(harness);
  }

  it('same token, overlapping while the regenerate POST is slow: PingOne regenerates once', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret.arn)) as string;
    const [a, b] = [rotationHarness(world), rotationHarness(world)];
    const token = await a.driver.startRotation(secret.arn);
    world.sim.faults.delay({ route: 'secret', method: 'POST', resourceId: secret.resourceId, ms: 1_500 });

    const results = await Promise.allSettled([
      a.invoke(createEvent(secret.arn, token), lambdaContext(Date.now(), 30_000)),
      b.invoke(createEvent(secret.arn, token), lambdaContext(Date.now(), 30_000)),
    ]);

    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
    for (const result of results) {
      if (result.status === 'rejected') expect((result.reason as Error).name).toBe('RegenerateInFlightError');
    }
    expect(await authenticates(secret, initial)).toBe(true);
    await converge(secret, initial);
    remember(a, b);
  });

  it('same token, both past their reads before either writes: one wins the conditional write', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret.arn)) as string;
    const [a, b] = [rotationHarness(world), rotationHarness(world)];
    const token = await a.driver.startRotation(secret.arn);
    // Each container has read the ledger and PingOne (unchanged) when it reaches its first ledger write.
    const gate = barrier(2);
    for (const harness of [a, b]) {
      let held = false;
      harness.boundaries.beforeCall = async (name) => {
        if (name === 'ddb:UpdateItem' && !held) {
          held = true;
          await gate.wait();
        }
      };
    }

    const results = await Promise.allSettled([
      a.invoke(createEvent(secret.arn, token), lambdaContext(Date.now(), 30_000)),
      b.invoke(createEvent(secret.arn, token), lambdaContext(Date.now(), 30_000)),
    ]);

    expect(gate.arrived).toBe(2);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect((refused.reason as Error).message).toMatch(
      /ledger record changed while this rotation .* nothing was sent/,
    );
    await converge(secret, initial);
    remember(a, b);
  });

  it("different tokens: a rotation that finds another's regenerate in flight sends nothing", async () => {
    const secret = await newSecret();
    const initial = (await stage(secret.arn)) as string;
    const [a, b] = [rotationHarness(world), rotationHarness(world)];
    const tokenA = await a.driver.startRotation(secret.arn);
    // A has recorded its intent and is about to POST when an operator abandons it and starts rotation B.
    const atPost = barrier(2);
    let releaseA!: () => void;
    const aMayPost = new Promise<void>((resolve) => {
      releaseA = resolve;
    });
    a.boundaries.beforeCall = async (name) => {
      if (name === POST_SECRET) {
        void atPost.wait();
        await aMayPost;
      }
    };
    const runA = a.invoke(createEvent(secret.arn, tokenA), lambdaContext(Date.now(), 30_000));
    while (atPost.arrived < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await abandon(secret.arn, tokenA);
    const tokenB = await b.driver.startRotation(secret.arn);

    const refusedB = await b
      .invoke(createEvent(secret.arn, tokenB), lambdaContext(Date.now(), 30_000))
      .catch((error: Error) => error);

    expect(refusedB).toBeInstanceOf(Error);
    expect((refusedB as Error).message).toContain(`rotation version ${tokenA} of secret ${secret.arn}`);
    expect((refusedB as Error).message).toContain('sent nothing to PingOne');
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(0);
    releaseA();
    // A regenerates; storing its result fails or not (its version is no longer AWSPENDING): either way…
    await runA.catch(() => undefined);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    // …B, retried later, adopts A's regenerate (A's unfinished run is this secret's own).
    await converge(secret, initial);
    remember(a, b);
  });

  it('different tokens, overlapping, both past their reads: one regenerate', async () => {
    const secret = await newSecret();
    const initial = (await stage(secret.arn)) as string;
    const [a, b] = [rotationHarness(world), rotationHarness(world)];
    const tokenA = await a.driver.startRotation(secret.arn);
    const gate = barrier(2);
    for (const harness of [a, b]) {
      let held = false;
      harness.boundaries.beforeCall = async (name) => {
        if (name === 'ddb:UpdateItem' && !held) {
          held = true;
          await gate.wait();
        }
      };
    }
    const runA = a.invoke(createEvent(secret.arn, tokenA), lambdaContext(Date.now(), 30_000));
    while (gate.arrived < 1) await new Promise((resolve) => setTimeout(resolve, 10));
    await abandon(secret.arn, tokenA);
    const tokenB = await b.driver.startRotation(secret.arn);
    const runB = b.invoke(createEvent(secret.arn, tokenB), lambdaContext(Date.now(), 30_000));

    const results = await Promise.allSettled([runA, runB]);

    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(1);
    // One lost the conditional write; the winner regenerated (and, if it was abandoned A, may have failed to
    // store its result: B's retry adopts it).
    const lost = results.filter(
      (r) => r.status === 'rejected' && /ledger record changed while/.test((r.reason as Error).message),
    );
    expect(lost).toHaveLength(1);
    expect(await authenticates(secret, initial)).toBe(true);
    await converge(secret, initial);
    remember(a, b);
  });
});

describe('without a usable ledger nothing changes', () => {
  async function expectUntouched(
    secret: RotatableSecret,
    run: () => Promise<{ ok: boolean; error?: string }>,
  ): Promise<string> {
    const before = world.sim.readSecret(secret.environmentId, secret.resourceId);
    const current = await stage(secret.arn);
    const callsBefore = pingoneCalls();

    const report = await run();

    expect(report.ok).toBe(false);
    expect(pingoneCalls()).toBe(callsBefore);
    expect(committedRegenerates(world.sim, secret.resourceId)).toBe(0);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId)).toEqual(before);
    expect(await stage(secret.arn)).toBe(current);
    expect(await stage(secret.arn, 'AWSPENDING')).toBeUndefined();
    expect(await everyValue(secret.arn)).toEqual([current]);
    return report.error ?? '';
  }

  it('a missing table', async () => {
    const secret = await newSecret();
    const harness = rotationHarness(world, {
      maxAttempts: 2,
      env: { ROTATION_LEDGER_TABLE: 'no-such-ledger' },
    });
    const error = await expectUntouched(secret, () => harness.driver.rotate(secret.arn));
    expect(error).toBe(
      'createSecret: The rotation ledger (DynamoDB table no-such-ledger) could not be read: the table does not ' +
        'exist (check ROTATION_LEDGER_TABLE and the stack). Nothing was changed at PingOne; Secrets Manager ' +
        'retries the rotation',
    );
    remember(harness);
  });

  it('an unreachable table (after the SDK retries)', async () => {
    const secret = await newSecret();
    const harness = rotationHarness(world, {
      maxAttempts: 2,
      dynamodbEndpoint: `http://127.0.0.1:${await freePort()}`,
    });
    const error = await expectUntouched(secret, () => harness.driver.rotate(secret.arn));
    expect(error).toMatch(
      /^createSecret: The rotation ledger \(DynamoDB table pingone-rotation-ledger\) could not be read: ECONNREFUSED\. Nothing was changed at PingOne/,
    );
    remember(harness);
  });

  it('ROTATION_LEDGER_TABLE not set', async () => {
    const secret = await newSecret();
    const harness = rotationHarness(world, { maxAttempts: 1, env: { ROTATION_LEDGER_TABLE: '' } });
    const error = await expectUntouched(secret, () => harness.driver.rotate(secret.arn));
    expect(error).toMatch(
      /^createSecret: ROTATION_LEDGER_TABLE is not set: it must name the rotation ledger/,
    );
    remember(harness);
  });
});

describe('an OIDC application secret goes through the binding and the intent like a resource', () => {
  async function newAppSecret(): Promise<RotatableApplicationSecret> {
    const secret = await world.createRotatableApplicationSecret({
      name: `pingone/ledger-app-${++counter}`,
      region: 'EU',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_POST',
    });
    sensitive.add(world.pingOneSecret(secret).secret);
    return secret;
  }
  const appOwner = (secret: RotatableApplicationSecret): SecretOwner => ({
    kind: 'application',
    environmentId: secret.environmentId,
    id: secret.applicationId,
    region: secret.region,
  });
  const appRecord = (secret: RotatableApplicationSecret) =>
    world.ledger.read(appOwner(secret), { deadline: Date.now() + 10_000, now: Date.now });

  it('binds the application to its secret under the application kind; the intent is recorded before the POST and cleared after', async () => {
    const secret = await newAppSecret();
    const intents: unknown[] = [];
    const harness = rotationHarness(world, {
      afterStep: async (boundary) => {
        if (boundary.step === 'createSecret')
          intents.push((await appRecord(secret))?.history[0]?.regeneratedAt);
      },
    });

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok, report.error).toBe(true);
    const record = await appRecord(secret);
    expect(record?.binding).toMatchObject({ secretArn: secret.arn, how: 'rotation' });
    expect(record?.intent).toBeUndefined();
    expect(record?.history).toEqual([
      expect.objectContaining({ token: report.token, secretArn: secret.arn, outcome: 'rotated' }),
    ]);
    // After createSecret the ledger already recorded the regenerate (the intent turned into a run).
    expect(intents).toEqual([expect.any(String)]);
    // A resource with the same id is another owner: nothing is bound for it.
    expect(
      await world.ledger.read(
        { ...appOwner(secret), kind: 'resource' },
        { deadline: Date.now() + 10_000, now: Date.now },
      ),
    ).toBeUndefined();
    remember(harness);
  });

  it('records the intent before the regenerate POST: a crash just before it leaves the intent and no regenerate', async () => {
    const secret = await newAppSecret();
    const crashed = rotationHarness(world, { maxAttempts: 1, instantRetries: true });
    // The application's createSecret: …, GET /application, GET /application/secret, ddb:UpdateItem, POST.
    crashed.boundaries.plan = { step: 'createSecret', index: POST_INDEX + 1, when: 'before' };

    const first = await crashed.driver.rotate(secret.arn);

    expect(first.ok).toBe(false);
    expect(crashed.boundaries.calls.at(-1)).toBe('pingone:POST /application/secret');
    expect(committedRegenerates(world.sim, secret.applicationId)).toBe(0);
    const record = await appRecord(secret);
    expect(record?.intent).toMatchObject({ token: first.token, secretArn: secret.arn });
    remember(crashed);
  });

  it('refuses a second secret naming a bound application before any PingOne call', async () => {
    const victim = await newAppSecret();
    const harness = rotationHarness(world, { maxAttempts: 2 });
    expect((await harness.driver.rotate(victim.arn)).ok).toBe(true);
    const out = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: `pingone/app-copy-${++counter}`,
        SecretString: JSON.stringify({
          environmentId: victim.environmentId,
          applicationId: victim.applicationId.toUpperCase(),
          clientSecret: (await stage(victim.arn)) as string,
          region: victim.region,
        }),
      }),
    );
    const callsBefore = pingoneCalls();

    const report = await harness.driver.rotate(out.ARN as string);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`createSecret: PingOne application ${victim.applicationId}`);
    expect(report.error).toContain(`belongs to secret ${victim.arn}`);
    expect(pingoneCalls()).toBe(callsBefore);
    expect(await stage(out.ARN as string, 'AWSPENDING')).toBeUndefined();
    remember(harness);
  });

  it('does not adopt an out-of-band regenerate of the application; nothing is stored', async () => {
    const secret = await newAppSecret();
    const harness = rotationHarness(world, { maxAttempts: 2 });
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
    const stored = (await stage(secret.arn)) as string;
    const outOfBand = world.sim.regenerateOutOfBand(secret.environmentId, secret.applicationId, {
      previousExpiresAt: new Date(world.sim.clock.now().getTime() + 86_400_000),
      kind: 'application',
    });
    sensitive.add(outOfBand.secret);
    const regenerates = committedRegenerates(world.sim, secret.applicationId);

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok).toBe(false);
    expect(report.error).toContain(`records no regenerate by this function for secret ${secret.arn}`);
    expect(committedRegenerates(world.sim, secret.applicationId)).toBe(regenerates);
    expect(await stage(secret.arn)).toBe(stored);
    expect(await everyValue(secret.arn)).not.toContain(outOfBand.secret);
    remember(harness);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  const text = output.captured;
  expect(text).toContain('"message":"rotation step failed"');
  expect(text).toContain('"errorCode":"OwnerBoundElsewhere"');
  expect(logLeaks()).toEqual([]);
});
