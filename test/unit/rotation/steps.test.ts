import { PutSecretValueCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.js';
import {
  ConfigurationError,
  DeadlineExceededError,
  DriftError,
  EnvironmentNotAllowedError,
  LedgerUnavailableError,
  OwnerBoundElsewhereError,
  OwnerRegionMismatchError,
  PendingMismatchError,
  PingOneApiError,
  RegenerateInFlightError,
  RegenerateOutcomeUnknownError,
  RetirementInProgressError,
  RotationStateError,
  SecretFormatError,
  SecretTestFailedError,
  TagOutOfBoundsError,
  UnexplainedRegenerateError,
} from '../../../lib/errors.js';
import {
  EMPTY_RECORD,
  HISTORY_LIMIT,
  ledgerKey,
  MAX_POST_WINDOW_MS,
  SETTLE_MARGIN_MS,
  withRegenerateIntent,
} from '../../../lib/ledger/record.js';
import type { SecretOwner } from '../../../lib/pingone/types.js';
import type { RotationDeps, RotationMetric } from '../../../lib/rotation/deps.js';
import type { RotationEvent, RotationStep } from '../../../lib/rotation/event.js';
import { runRotationStep } from '../../../lib/rotation/rotate.js';
import { SecretsStore } from '../../../lib/secrets/secrets-store.js';
import { FakePingOne } from '../../support/fake-pingone.js';
import { describeLeaks } from '../../support/leaks.js';
import { MemoryLedger } from '../../support/memory-ledger.js';
import { SecretsManagerModel } from '../../support/secrets-manager-model.js';

const ENV_ID = '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const RES_ID = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const DAY = 86_400_000;
const TOKEN = '11111111-2222-4333-8444-555555555555';
const ROTATION_TOKEN = 'rotation-token-abcdef0123456789abcdef0123456789';
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/app-AbCdEf';
const OWNER: SecretOwner = { kind: 'resource', environmentId: ENV_ID, id: RES_ID, region: 'EU' };
const ISO_NOW = new Date(NOW).toISOString();

let sm: SecretsManagerModel;
let pingone: FakePingOne;
let ledger: MemoryLedger;
let initialSecret: string;
let metrics: RotationMetric[];
let sleeps: number[];
let clockMs: number;
let warnings: string[];

function makeDeps(env: Record<string, string> = {}, deadline = NOW + 60_000): RotationDeps {
  return {
    secrets: new SecretsStore(sm.client),
    pingone,
    ledger,
    config: loadConfig({
      PINGONE_WORKER_PARAMETER: '/pingone/worker',
      ROTATION_LEDGER_TABLE: 'ledger',
      ...env,
    }),
    logger: { info: () => {}, warn: (message) => warnings.push(message) },
    metrics: { count: (metric) => metrics.push(metric) },
    now: () => clockMs,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    deadline,
  };
}

function event(step: RotationStep, token = TOKEN): RotationEvent {
  return { step, secretId: 'pingone/app', token, rotationToken: ROTATION_TOKEN };
}

function secretJson(clientSecret: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ environmentId: ENV_ID, resourceId: RES_ID, clientSecret, region: 'EU', ...extra });
}

function pendingValue(token = TOKEN): Record<string, unknown> {
  const raw = sm.versions[token]?.value;
  if (raw === undefined) throw new Error('no pending value');
  return JSON.parse(raw);
}

async function rotateFully(deps: RotationDeps, token = TOKEN): Promise<void> {
  for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
    await runRotationStep(deps, event(step, token));
  }
}

beforeEach(() => {
  sm = new SecretsManagerModel();
  initialSecret = FakePingOne.newSecret();
  sm.versions.v1 = { stages: ['AWSCURRENT'], value: secretJson(initialSecret, { owner: 'team-payments' }) };
  sm.startRotation(TOKEN);
  pingone = new FakePingOne(initialSecret);
  ledger = new MemoryLedger();
  clockMs = NOW;
  metrics = [];
  sleeps = [];
  warnings = [];
});

afterEach(() => sm.restore());

describe('preamble', () => {
  it('fails when rotation is not enabled, changing nothing', async () => {
    sm.rotationEnabled = false;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toThrow(
      new RotationStateError('Secret pingone/app is not enabled for rotation'),
    );
    expect(sm.writes()).toBe(0);
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
  });

  it('fails when the token is not a version of the secret', async () => {
    const error = await runRotationStep(makeDeps(), event('createSecret', 'not-a-version')).catch((e) => e);
    expect(error).toBeInstanceOf(RotationStateError);
    expect(error.message).toMatch(/has no version not-a-version/);
    expect(sm.writes()).toBe(0);
    expect(pingone.regenerateRequests).toBe(0);
  });

  it('succeeds without doing anything when the token is already AWSCURRENT', async () => {
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await expect(runRotationStep(makeDeps(), event(step, 'v1'))).resolves.toBe('already-current');
    }
    expect(sm.writes()).toBe(0);
    expect(pingone.reads + pingone.regenerateRequests + pingone.introspections.length).toBe(0);
  });

  it('fails when the token is a version but not AWSPENDING', async () => {
    sm.versions.old = { stages: ['AWSPREVIOUS'], value: secretJson('x') };
    await expect(runRotationStep(makeDeps(), event('setSecret', 'old'))).rejects.toThrow(/is not AWSPENDING/);
    expect(sm.writes()).toBe(0);
  });
});

describe('createSecret', () => {
  it('regenerates when PingOne still uses AWSCURRENT and stores the new secret as AWSPENDING', async () => {
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');

    expect(pingone.regenerates).toBe(1);
    expect(pingone.lastExpiresAt?.getTime()).toBe(NOW + 7 * DAY);
    expect(pendingValue()).toEqual({
      environmentId: ENV_ID,
      resourceId: RES_ID,
      clientSecret: pingone.state.secret,
      region: 'EU',
      owner: 'team-payments',
    });
    const put = sm.mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      ClientRequestToken: TOKEN,
      VersionStages: ['AWSPENDING'],
      RotationToken: ROTATION_TOKEN,
    });
    expect(metrics).toEqual(['SecretRegenerated']);
  });

  it('omits RotationToken from PutSecretValue when the event has none', async () => {
    await runRotationStep(makeDeps(), { ...event('createSecret'), rotationToken: undefined });
    const put = sm.mock.commandCalls(PutSecretValueCommand)[0]?.args[0].input;
    expect(put).not.toHaveProperty('RotationToken');
  });

  it('adopts the secret PingOne already generated when a retry finds AWSCURRENT in the previous slot', async () => {
    // An earlier attempt recorded its intent, regenerated, and died before storing the new secret.
    ledger.items.set(
      ledgerKey(OWNER),
      withRegenerateIntent(EMPTY_RECORD, { secretArn: ARN, token: TOKEN, now: NOW, postUntil: NOW + 30_000 }),
    );
    ledger.items.set(ledgerKey(OWNER), { ...ledger.get(OWNER)!, rev: 1 });
    pingone.state = { secret: FakePingOne.newSecret(), previous: { secret: initialSecret, expiresAt: 'x' } };
    const generated = pingone.state.secret;

    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');

    expect(pingone.regenerateRequests).toBe(0);
    expect(pendingValue().clientSecret).toBe(generated);
    expect(metrics).toEqual(['SecretAdopted']);
    expect(ledger.get(OWNER)?.history[0]).toMatchObject({ token: TOKEN, regeneratedAt: ISO_NOW });
  });

  it.each([
    ['a value out of range', '45d', ConfigurationError],
    ["a TTL below the stack's bound for tags", '2m', TagOutOfBoundsError],
  ])(
    'adopts on a retry although a tag written since the regenerate is %s (AWSCURRENT must not run out its TTL)',
    async (_what, value, refused) => {
      // An earlier attempt regenerated and died before storing; then someone wrote a bad tag.
      ledger.items.set(
        ledgerKey(OWNER),
        withRegenerateIntent(EMPTY_RECORD, {
          secretArn: ARN,
          token: TOKEN,
          now: NOW,
          postUntil: NOW + 30_000,
        }),
      );
      ledger.items.set(ledgerKey(OWNER), { ...ledger.get(OWNER)!, rev: 1 });
      sm.tags['pingone:previous-secret-ttl'] = value;

      // While PingOne shows no regenerate, the tag refuses one, before anything changes.
      const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
      expect(error).toBeInstanceOf(refused);
      expect(pingone.regenerateRequests).toBe(0);
      expect(sm.writes()).toBe(0);

      // The earlier attempt's regenerate is in PingOne: the retry adopts it despite the tag.
      pingone.state = {
        secret: FakePingOne.newSecret(),
        previous: { secret: initialSecret, expiresAt: 'x' },
      };
      const generated = pingone.state.secret;
      await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');
      expect(pingone.regenerateRequests).toBe(0);
      expect(pendingValue().clientSecret).toBe(generated);
    },
  );

  it('does not adopt a regenerate the ledger does not record as its own, storing nothing', async () => {
    pingone.state = { secret: FakePingOne.newSecret(), previous: { secret: initialSecret, expiresAt: 'x' } };

    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(UnexplainedRegenerateError);
    expect(error.message).toMatch(/records no regenerate by this function for secret arn:aws:secretsmanager/);
    expect(error.message).toContain(
      `pingone-rotation onboard --force --secret-name pingone/app --environment-id ${ENV_ID} --resource-id ${RES_ID}`,
    );
    expect(describeLeaks(error.message, [pingone.state.secret])).toEqual([]);
    expect(sm.writes()).toBe(0);
    expect(pingone.regenerateRequests).toBe(0);
    expect(metrics).toEqual(['UnexplainedRegenerate']);
    expect(ledger.writes).toBe(0);
  });

  it('fails with a drift error and changes nothing when AWSCURRENT matches neither PingOne secret', async () => {
    pingone.state = { secret: FakePingOne.newSecret() };
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(DriftError);
    expect(error.message).toMatch(/PingOne holds no previous secret/);
    expect(error.message).toMatch(/To recover/);
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
    expect(metrics).toEqual(['DriftDetected']);
  });

  it('does nothing when the pending version already holds a value', async () => {
    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('already-there') };
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('already-stored');
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('reads the version back on ResourceExistsException and never regenerates again', async () => {
    sm.beforePut = () => {
      sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('stored-by-another-invocation') };
    };
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('already-stored');
    expect(pingone.regenerateRequests).toBe(1);
    expect(pendingValue().clientSecret).toBe('stored-by-another-invocation');

    // Secrets Manager's retry of the whole rotation finds the version and does not touch PingOne.
    await runRotationStep(makeDeps(), event('createSecret'));
    expect(pingone.regenerateRequests).toBe(1);
  });

  it('adopts in the same invocation when the POST committed but its response was lost', async () => {
    pingone.regenerateFaults.push({ kind: 'commit-then-network-error' });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');
    expect(pingone.regenerates).toBe(1);
    expect(pingone.regenerateRequests).toBe(1);
    expect(pendingValue().clientSecret).toBe(pingone.state.secret);
    expect(pingone.state.previous?.secret).toBe(initialSecret);
  });

  it('does not send a second POST when a lost response left PingOne unchanged; the retry regenerates once', async () => {
    pingone.regenerateFaults.push({ kind: 'network-error' });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(
      RegenerateOutcomeUnknownError,
    );
    expect(pingone.regenerateRequests).toBe(1);
    expect(sm.writes()).toBe(0);

    // A retry while the first POST may still be settling sends nothing…
    clockMs = NOW + 5_000;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(
      RegenerateInFlightError,
    );
    expect(pingone.regenerateRequests).toBe(1);
    // …and once it has settled, with PingOne still unchanged, regenerates once.
    clockMs = NOW + MAX_POST_WINDOW_MS + SETTLE_MARGIN_MS;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    expect(pingone.regenerates).toBe(1);
    expect(pingone.regenerateRequests).toBe(2);
    expect(pingone.state.previous?.secret).toBe(initialSecret);
  });

  it('adopts after a 500 whose regenerate had committed', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 500, commit: true });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');
    expect(pingone.regenerates).toBe(1);
  });

  it('asks again after a 503 that changed nothing, pausing first', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 503 });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    expect(pingone.regenerateRequests).toBe(2);
    expect(pingone.regenerates).toBe(1);
    // Jittered backoff over [250, 500] ms; random() = 0.5 → the middle.
    expect(sleeps).toEqual([375]);
  });

  it('stores the pending value before the ledger notes the regenerate (the intent stays before the POST)', async () => {
    // What Secrets Manager and PingOne held at each ledger write.
    const atWrites: Array<{ smWrites: number; regenerates: number; regenerated: boolean }> = [];
    const deps = makeDeps();
    const observed: RotationDeps = {
      ...deps,
      ledger: {
        table: ledger.table,
        read: (owner, options) => ledger.read(owner, options),
        write: (owner, record, options) => {
          atWrites.push({
            smWrites: sm.writes(),
            regenerates: pingone.regenerates,
            regenerated: record.history.some((run) => run.regeneratedAt !== undefined),
          });
          return ledger.write(owner, record, options);
        },
      },
    };
    await expect(runRotationStep(observed, event('createSecret'))).resolves.toBe('regenerated');
    expect(atWrites).toEqual([
      // The intent: before PingOne regenerates, nothing stored yet.
      { smWrites: 0, regenerates: 0, regenerated: false },
      // The note: AWSPENDING already holds the new secret.
      { smWrites: 1, regenerates: 1, regenerated: true },
    ]);
  });

  it('reads AWSPENDING and AWSCURRENT at once in createSecret and setSecret (one round trip, not two)', async () => {
    const deps = makeDeps();
    let inFlight = 0;
    const peaks: number[] = [];
    class ObservedStore extends SecretsStore {
      override async getValue(...args: Parameters<SecretsStore['getValue']>) {
        inFlight++;
        peaks.push(inFlight);
        await new Promise((resolve) => setTimeout(resolve, 5));
        try {
          return await super.getValue(...args);
        } finally {
          inFlight--;
        }
      }
    }
    const secrets = new ObservedStore(sm.client);
    await expect(runRotationStep({ ...deps, secrets }, event('createSecret'))).resolves.toBe('regenerated');
    expect(peaks).toEqual([1, 2]);
    peaks.length = 0;
    await runRotationStep({ ...deps, secrets }, event('setSecret'));
    expect(peaks).toEqual([1, 2]);
  });

  it('honours Retry-After on a 429 from the regenerate', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 2_000 });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    // Never earlier than Retry-After, plus jitter over a window as long as it: random() = 0.5 → 2 s + 1 s.
    expect(sleeps).toEqual([3_000]);
    expect(pingone.regenerates).toBe(1);
  });

  it('two containers refused the regenerate with the same Retry-After do not ask again at the same instant', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 1_000 });
    await expect(runRotationStep({ ...makeDeps(), random: () => 0.1 }, event('createSecret'))).resolves.toBe(
      'regenerated',
    );
    // The second container: another secret's rotation against the same PingOne, refused the same way.
    pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 1_000 });
    const other = new FakePingOne(initialSecret);
    other.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 1_000 });
    sm.restore();
    sm = new SecretsManagerModel();
    sm.versions.v1 = { stages: ['AWSCURRENT'], value: secretJson(initialSecret) };
    sm.startRotation(TOKEN);
    ledger = new MemoryLedger();
    await expect(
      runRotationStep({ ...makeDeps(), pingone: other, random: () => 0.8 }, event('createSecret')),
    ).resolves.toBe('regenerated');
    expect(sleeps).toHaveLength(2);
    const [a, b] = sleeps as [number, number];
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(1_000);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(500);
  });

  it('reads PingOne again after the pause, before asking again', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 503 });
    let readsBeforePause = -1;
    const deps = {
      ...makeDeps(),
      sleep: async (ms: number) => {
        sleeps.push(ms);
        readsBeforePause = pingone.reads;
      },
    };
    await expect(runRotationStep(deps, event('createSecret'))).resolves.toBe('regenerated');
    // One read before the first POST, then the pause, then the fresh read the second POST rests on.
    expect(readsBeforePause).toBe(1);
    expect(pingone.reads).toBe(2);
  });

  it("keeps asking through PingOne's 429s (rate limited, not processed) while the intent's window lasts", async () => {
    for (let i = 0; i < 5; i++) {
      pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 1_000 });
    }
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    expect(pingone.regenerateRequests).toBe(6);
    expect(pingone.regenerates).toBe(1);
    // Other refusals still stop after three.
    expect(sleeps).toHaveLength(5);
  });

  /**
   * After a released intent: Secrets Manager's retry a moment later is not refused as "in flight" (nothing of the
   * first invocation can land); it re-reads PingOne and regenerates once.
   */
  async function expectRetryRegeneratesAtOnce(): Promise<void> {
    clockMs += 1_000;
    await expect(runRotationStep(makeDeps({}, clockMs + 60_000), event('createSecret'))).resolves.toBe(
      'regenerated',
    );
    expect(pingone.regenerates).toBe(1);
  }

  it('releases the intent when every regenerate it sent was rate limited, so the retry regenerates at once', async () => {
    for (let i = 0; i < 2; i++) {
      pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 6_000 });
    }
    // 16 s left: two rate-limited POSTs and the wait after the first, then no time to ask again.
    const deps = {
      ...makeDeps({}, NOW + 16_000),
      sleep: async (ms: number) => {
        clockMs += ms;
      },
    };
    const error = await runRotationStep(deps, event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(pingone.regenerates).toBe(0);
    const record = ledger.get(OWNER);
    expect(record?.intent).toBeUndefined();
    expect(record?.history.map((run) => [run.token, run.outcome])).toEqual([[TOKEN, 'failed']]);
    await expectRetryRegeneratesAtOnce();
  });

  it("releases the intent when PingOne's own 503s refused every regenerate, so the retry regenerates at once", async () => {
    // Three of PingOne's own 503 error documents (not processed): the invocation stops asking after three.
    for (let i = 0; i < 3; i++) pingone.regenerateFaults.push({ kind: 'status', status: 503 });
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RegenerateOutcomeUnknownError);
    expect(pingone.regenerateRequests).toBe(3);
    expect(pingone.regenerates).toBe(0);
    const record = ledger.get(OWNER);
    expect(record?.intent).toBeUndefined();
    expect(record?.history.map((run) => [run.token, run.outcome])).toEqual([[TOKEN, 'failed']]);
    await expectRetryRegeneratesAtOnce();
  });

  it('releases the intent when its regenerate was never sent (a shared rate budget had no turn for it)', async () => {
    pingone.regenerateFaults.push({ kind: 'not-sent' });
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(pingone.regenerates).toBe(0);
    expect(ledger.get(OWNER)?.intent).toBeUndefined();
    await expectRetryRegeneratesAtOnce();
  });

  it('keeps the intent when a regenerate of the invocation was not provably refused', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 1_000 });
    pingone.regenerateFaults.push({ kind: 'status', status: 503, fromPingOne: false });
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RegenerateOutcomeUnknownError);
    expect(ledger.get(OWNER)?.intent).toMatchObject({ token: TOKEN });
  });

  it('gives up cleanly when there is no time left to ask again', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 429, retryAfterMs: 30_000 });
    const error = await runRotationStep(makeDeps({}, NOW + 20_000), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.message).toMatch(/nothing changed/);
    expect(pingone.regenerates).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('does not retry a 400 and stores nothing', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 400 });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(PingOneApiError);
    expect(pingone.regenerateRequests).toBe(1);
    expect(sm.writes()).toBe(0);
  });

  it("sends no second POST after a gateway's 503 that is not PingOne's answer (the outcome is unknown)", async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 503, fromPingOne: false });
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RegenerateOutcomeUnknownError);
    expect(error.message).toMatch(/nothing will be sent again until/);
    expect(pingone.regenerateRequests).toBe(1);
    expect(sleeps).toEqual([]);
    expect(sm.writes()).toBe(0);
    expect(metrics).toContain('RegenerateOutcomeUnknown');
  });

  it('closes the run as failed when PingOne itself refuses the regenerate; a later console regenerate is not adopted', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 403 });
    const refused = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(refused).toBeInstanceOf(PingOneApiError);
    expect(refused.status).toBe(403);
    expect(pingone.regenerates).toBe(0);
    const record = ledger.get(OWNER);
    expect(record?.history.map((run) => [run.token, run.outcome])).toEqual([[TOKEN, 'failed']]);
    expect(record?.intent).toBeUndefined();

    // Someone regenerates in the PingOne console; the rotation's retry must not take it for its own.
    pingone.state = {
      secret: FakePingOne.newSecret(),
      previous: { secret: initialSecret, expiresAt: ISO_NOW },
    };
    clockMs = NOW + 1_000;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(
      UnexplainedRegenerateError,
    );
    expect(sm.writes()).toBe(0);
  });

  it('a rotation whose regenerate PingOne refused can try again later, and then adopts what it sent', async () => {
    pingone.regenerateFaults.push({ kind: 'status', status: 403 });
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(PingOneApiError);
    // The permission is fixed; the retry's POST commits but the answer is lost.
    pingone.regenerateFaults.push({ kind: 'commit-then-network-error' });
    clockMs = NOW + 1_000;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');
    expect(pingone.regenerates).toBe(1);
    expect(ledger.get(OWNER)?.history.map((run) => [run.token, run.outcome])).toEqual([
      [TOKEN, undefined],
      [TOKEN, 'failed'],
    ]);
  });

  it('is safe to call again after a crash right after PutSecretValue', async () => {
    sm.failAfterPut = new Error('Lambda timed out');
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toThrow('Lambda timed out');
    const stored = pendingValue().clientSecret;

    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('already-stored');
    expect(pingone.regenerates).toBe(1);
    expect(pendingValue().clientSecret).toBe(stored);
  });

  describe('previous-secret TTL', () => {
    it('uses PREVIOUS_SECRET_TTL', async () => {
      await runRotationStep(makeDeps({ PREVIOUS_SECRET_TTL: '12d' }), event('createSecret'));
      expect(pingone.lastExpiresAt?.getTime()).toBe(NOW + 12 * DAY);
    });

    it.each([
      ['30d', 30 * DAY - 5 * 60_000],
      ['720h', 30 * DAY - 5 * 60_000],
      ['1m', 90_000],
      ['2m', 120_000],
    ])('keeps %s inside PingOne’s 1 minute..30 days window despite latency and skew', async (ttl, offset) => {
      await runRotationStep(makeDeps({ PREVIOUS_SECRET_TTL: ttl }), event('createSecret'));
      expect(pingone.lastExpiresAt?.getTime()).toBe(NOW + offset);
    });

    it('lets the pingone:previous-secret-ttl tag override it, within the stack’s bound for tags', async () => {
      sm.tags['pingone:previous-secret-ttl'] = '90m';
      await runRotationStep(
        makeDeps({ PREVIOUS_SECRET_TTL: '30d', TAG_MIN_PREVIOUS_SECRET_TTL: '1h' }),
        event('createSecret'),
      );
      expect(pingone.lastExpiresAt?.getTime()).toBe(NOW + 90 * 60_000);
    });

    it('refuses a TTL tag shorter than the stack lets tags set (default: PREVIOUS_SECRET_TTL), before any PingOne call', async () => {
      sm.tags['pingone:previous-secret-ttl'] = '90m';
      const error = await runRotationStep(
        makeDeps({ PREVIOUS_SECRET_TTL: '30d' }),
        event('createSecret'),
      ).catch((e) => e);
      expect(error).toBeInstanceOf(TagOutOfBoundsError);
      expect(error.message).toBe(
        "Tag 'pingone:previous-secret-ttl' is '90m', shorter than the stack allows a tag to set: at least 30d " +
          '(TAG_MIN_PREVIOUS_SECRET_TTL, stack parameter TagMinPreviousSecretTtl). Nothing was changed at ' +
          'PingOne; remove the tag or set it to 30d or more',
      );
      expect(pingone.reads + pingone.regenerateRequests).toBe(0);
      expect(sm.writes()).toBe(0);
      // A longer TTL is always allowed.
      sm.tags['pingone:previous-secret-ttl'] = '30d';
      await runRotationStep(makeDeps({ PREVIOUS_SECRET_TTL: '7d' }), event('createSecret'));
      expect(pingone.lastExpiresAt?.getTime()).toBe(NOW + 30 * DAY - 5 * 60_000);
    });

    it.each(['0m', '31d', 'soon', '7w'])(
      'refuses the tag value %s before anything changes',
      async (value) => {
        sm.tags['pingone:previous-secret-ttl'] = value;
        const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
        expect(error).toBeInstanceOf(ConfigurationError);
        expect(error.message).toContain("Tag 'pingone:previous-secret-ttl'");
        expect(error.message).toContain('from 1m to 30d');
        expect(pingone.regenerateRequests).toBe(0);
        expect(sm.writes()).toBe(0);
      },
    );
  });

  it('refuses a secret naming an environment that is not allowed, before any PingOne call', async () => {
    const deps = makeDeps({ PINGONE_ALLOWED_ENVIRONMENTS: '7a1b2c3d-0000-4000-8000-000000000001' });
    const error = await runRotationStep(deps, event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(EnvironmentNotAllowedError);
    expect(error.message).toContain(ENV_ID);
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it.each([
    ['not JSON', 'not-json{', /AWSCURRENT is not valid JSON/],
    ['a JSON array', '[]', /must be a JSON object/],
    [
      'a bad environmentId',
      JSON.stringify({ environmentId: 'env', resourceId: RES_ID, clientSecret: 's' }),
      /environmentId must be a UUID/,
    ],
    [
      'an empty clientSecret',
      JSON.stringify({ environmentId: ENV_ID, resourceId: RES_ID, clientSecret: '' }),
      /clientSecret must be a non-empty string/,
    ],
    [
      'an unknown region',
      JSON.stringify({ environmentId: ENV_ID, resourceId: RES_ID, clientSecret: 's', region: 'US' }),
      /region must be one of NA, EU, CA, AU, SG, AP/,
    ],
  ])('refuses an AWSCURRENT that is %s, changing nothing', async (_name, value, message) => {
    sm.versions.v1 = { stages: ['AWSCURRENT'], value };
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(SecretFormatError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(value.length > 3 ? value : '\u0000');
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });
});

describe('setSecret', () => {
  it('passes when PingOne uses the pending secret', async () => {
    await runRotationStep(makeDeps(), event('createSecret'));
    await expect(runRotationStep(makeDeps(), event('setSecret'))).resolves.toBe('verified');
    expect(pingone.regenerates).toBe(1);
    expect(sm.mock.commandCalls(PutSecretValueCommand)).toHaveLength(1);
  });

  it('fails when createSecret has not stored a value', async () => {
    await expect(runRotationStep(makeDeps(), event('setSecret'))).rejects.toThrow(/holds no value/);
  });

  it('fails when AWSPENDING names another resource', async () => {
    sm.versions[TOKEN] = {
      stages: ['AWSPENDING'],
      value: JSON.stringify({ environmentId: ENV_ID, resourceId: ENV_ID, clientSecret: 'x', region: 'EU' }),
    };
    const error = await runRotationStep(makeDeps(), event('setSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(PendingMismatchError);
    expect(error.message).toMatch(/must not move a secret to another resource/);
  });

  it('fails when PingOne does not use the pending secret', async () => {
    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson(FakePingOne.newSecret()) };
    const error = await runRotationStep(makeDeps(), event('setSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(PendingMismatchError);
    expect(error.message).toMatch(/AWSCURRENT is PingOne's current secret/);
  });
});

describe('testSecret', () => {
  it('proves the pending secret by introspection with the resource auth method', async () => {
    pingone.resource = { ...pingone.resource, introspectEndpointAuthMethod: 'CLIENT_SECRET_POST' };
    await runRotationStep(makeDeps(), event('createSecret'));
    await expect(runRotationStep(makeDeps(), event('testSecret'))).resolves.toBe('tested');
    expect(pingone.introspections).toEqual([{ secret: pingone.state.secret, method: 'CLIENT_SECRET_POST' }]);
  });

  it('fails when PingOne rejects the pending secret', async () => {
    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('wrong-secret') };
    await expect(runRotationStep(makeDeps(), event('testSecret'))).rejects.toBeInstanceOf(
      SecretTestFailedError,
    );
    expect(pingone.regenerateRequests).toBe(0);
  });

  it('falls back to comparing with PingOne, with a warning, when the resource uses NONE', async () => {
    pingone.resource = { ...pingone.resource, introspectEndpointAuthMethod: 'NONE' };
    await runRotationStep(makeDeps(), event('createSecret'));
    await expect(runRotationStep(makeDeps(), event('testSecret'))).resolves.toBe('tested');
    expect(pingone.introspections).toHaveLength(0);
    expect(warnings.some((w) => /comparing with PingOne/.test(w))).toBe(true);

    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson(initialSecret) };
    await expect(runRotationStep(makeDeps(), event('testSecret'))).rejects.toBeInstanceOf(
      SecretTestFailedError,
    );
  });

  it('works alone (RotateImmediately=false) on an empty placeholder, read-only', async () => {
    await expect(runRotationStep(makeDeps(), event('testSecret'))).resolves.toBe('tested');
    expect(pingone.introspections).toEqual([{ secret: initialSecret, method: 'CLIENT_SECRET_BASIC' }]);
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('refuses a resource that is not CUSTOM', async () => {
    pingone.resource = { ...pingone.resource, type: 'OPENID_CONNECT' };
    await expect(runRotationStep(makeDeps(), event('testSecret'))).rejects.toThrow(/only CUSTOM resources/);
  });
});

describe('finishSecret', () => {
  it('moves AWSCURRENT to the new version; AWSPREVIOUS follows', async () => {
    await rotateFully(makeDeps());
    expect(sm.versions[TOKEN]?.stages).toContain('AWSCURRENT');
    expect(sm.versions.v1?.stages).toEqual(['AWSPREVIOUS']);
    const update = sm.mock.commandCalls(UpdateSecretVersionStageCommand)[0]?.args[0].input;
    expect(update).toEqual({
      SecretId: 'pingone/app',
      VersionStage: 'AWSCURRENT',
      MoveToVersionId: TOKEN,
      RemoveFromVersionId: 'v1',
    });
  });

  it('succeeds without a call when already done', async () => {
    await rotateFully(makeDeps());
    await expect(runRotationStep(makeDeps(), event('finishSecret'))).resolves.toBe('already-current');
    expect(sm.mock.commandCalls(UpdateSecretVersionStageCommand)).toHaveLength(1);
  });
});

describe('whole rotations', () => {
  it('rotates twice in a row, each time keeping the replaced secret as PingOne previous', async () => {
    await rotateFully(makeDeps());
    const first = pingone.state.secret;
    const second = '22222222-2222-4333-8444-555555555555';
    sm.startRotation(second);
    await rotateFully(makeDeps(), second);
    expect(pingone.regenerates).toBe(2);
    expect(JSON.parse(sm.current().value).clientSecret).toBe(pingone.state.secret);
    expect(pingone.state.previous?.secret).toBe(first);
  });

  it('converges when Secrets Manager retries the whole rotation after every step', async () => {
    const deps = makeDeps();
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const) {
      await runRotationStep(deps, event('createSecret'));
      await runRotationStep(deps, event(step));
    }
    expect(pingone.regenerates).toBe(1);
    expect(JSON.parse(sm.current().value).clientSecret).toBe(pingone.state.secret);
    expect(pingone.state.previous?.secret).toBe(initialSecret);
  });
});

describe('the rotation ledger', () => {
  const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/other-XyZ123';

  function seed(record: Parameters<typeof withRegenerateIntent>[0]): void {
    ledger.items.set(ledgerKey(OWNER), { ...record, rev: Math.max(1, record.rev) });
  }

  it.each(['createSecret', 'setSecret', 'testSecret'] as const)(
    '%s refuses an owner bound to another secret before any PingOne call',
    async (step) => {
      seed({ ...EMPTY_RECORD, binding: { secretArn: OTHER_ARN, boundAt: ISO_NOW, how: 'onboard' } });
      if (step !== 'createSecret') sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('x') };

      const error = await runRotationStep(makeDeps(), event(step)).catch((e) => e);

      expect(error).toBeInstanceOf(OwnerBoundElsewhereError);
      expect(error.message).toContain(`belongs to secret ${OTHER_ARN}`);
      expect(error.message).toContain(`pingone-rotation rebind --secret-id ${ARN}`);
      expect(pingone.reads + pingone.regenerateRequests + pingone.introspections.length).toBe(0);
      expect(sm.writes()).toBe(0);
      expect(ledger.writes).toBe(0);
    },
  );

  it.each(['createSecret', 'setSecret', 'testSecret'] as const)(
    '%s refuses a secret naming its owner under another region than the binding, before any PingOne call',
    async (step) => {
      seed({ ...EMPTY_RECORD, binding: { secretArn: ARN, boundAt: ISO_NOW, how: 'rotation', region: 'NA' } });
      if (step !== 'createSecret') sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('x') };

      const error = await runRotationStep(makeDeps(), event(step)).catch((e) => e);

      expect(error).toBeInstanceOf(OwnerRegionMismatchError);
      expect(error.code).toBe('OwnerRegionMismatch');
      expect(error.message).toContain(`in region EU, but the rotation ledger bound it in region NA`);
      expect(error.message).toContain(`pingone-rotation rebind --secret-id ${ARN}`);
      expect(pingone.reads + pingone.regenerateRequests + pingone.introspections.length).toBe(0);
      expect(sm.writes()).toBe(0);
      expect(ledger.writes).toBe(0);
    },
  );

  it('claims an unbound owner and records the intent before the regenerate POST', async () => {
    const atPost: unknown[] = [];
    const regenerate = pingone.regenerateSecret.bind(pingone);
    pingone.regenerateSecret = async (...args) => {
      atPost.push(structuredClone(ledger.get(OWNER)));
      return regenerate(...args);
    };

    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');

    expect(atPost).toEqual([
      expect.objectContaining({
        binding: { secretArn: ARN, boundAt: ISO_NOW, how: 'rotation', region: 'EU' },
        intent: {
          token: TOKEN,
          secretArn: ARN,
          startedAt: ISO_NOW,
          postUntil: new Date(NOW + 60_000).toISOString(),
        },
        history: [{ token: TOKEN, secretArn: ARN, startedAt: ISO_NOW }],
      }),
    ]);
    expect(ledger.get(OWNER)?.history[0]?.regeneratedAt).toBe(ISO_NOW);
    // Nothing in the ledger is a secret or a RotationToken.
    const raw = JSON.stringify(ledger.get(OWNER));
    for (const value of [initialSecret, pingone.state.secret, ROTATION_TOKEN])
      expect(raw).not.toContain(value);
  });

  it("does not regenerate while another rotation's regenerate may be in flight; supersedes it once settled", async () => {
    seed(
      withRegenerateIntent(EMPTY_RECORD, {
        secretArn: ARN,
        token: 'old-token',
        now: NOW,
        postUntil: NOW + 30_000,
      }),
    );
    clockMs = NOW + 30_000 + SETTLE_MARGIN_MS - 1_000;
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RegenerateInFlightError);
    expect(error.message).toContain(`rotation version old-token of secret ${ARN}`);
    expect(pingone.regenerateRequests).toBe(0);

    clockMs = NOW + 30_000 + SETTLE_MARGIN_MS;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    expect(ledger.get(OWNER)?.history.map((run) => [run.token, run.outcome])).toEqual([
      [TOKEN, undefined],
      ['old-token', 'superseded'],
    ]);
  });

  it('sends nothing when another invocation wrote the record between the read and the intent', async () => {
    ledger.beforeWrite = () => {
      seed(
        withRegenerateIntent(EMPTY_RECORD, { secretArn: ARN, token: TOKEN, now: NOW, postUntil: NOW + 1 }),
      );
    };
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RegenerateInFlightError);
    expect(error.message).toMatch(/ledger record changed while this rotation/);
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it("sends nothing while the fleet auditor's retirement intent is live; regenerates once it has settled", async () => {
    const retirement = {
      token: 'retire-1',
      secretArn: ARN,
      startedAt: ISO_NOW,
      deleteUntil: new Date(NOW + 20_000).toISOString(),
    };
    seed({
      ...EMPTY_RECORD,
      binding: { secretArn: ARN, boundAt: ISO_NOW, how: 'rotation' },
      retirement,
    });
    clockMs = NOW + 20_000 + SETTLE_MARGIN_MS - 1;
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RetirementInProgressError);
    expect(error.retryable).toBe(true);
    expect(error.message).toContain("the fleet auditor began retiring PingOne's previous secret early");
    expect(error.message).toContain(new Date(NOW + 20_000 + SETTLE_MARGIN_MS).toISOString());
    expect(pingone.regenerateRequests).toBe(0);
    expect(ledger.writes).toBe(0);
    expect(sm.writes()).toBe(0);

    clockMs = NOW + 20_000 + SETTLE_MARGIN_MS;
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');
    // The auditor's attribute is its own: the rotation's writes leave it as it was.
    expect(ledger.get(OWNER)?.retirement).toEqual(retirement);
  });

  it('sends nothing when the auditor took its retirement intent between the read and the intent write', async () => {
    seed({ ...EMPTY_RECORD, binding: { secretArn: ARN, boundAt: ISO_NOW, how: 'rotation' } });
    ledger.beforeWrite = () => {
      const item = ledger.get(OWNER);
      if (!item) throw new Error('no item');
      // The auditor's write names only its own attribute: the revision stays.
      ledger.items.set(ledgerKey(OWNER), {
        ...item,
        retirement: {
          token: 'retire-2',
          secretArn: ARN,
          startedAt: ISO_NOW,
          deleteUntil: new Date(NOW + 20_000).toISOString(),
        },
      });
    };
    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);
    expect(error).toBeInstanceOf(RetirementInProgressError);
    expect(pingone.regenerateRequests).toBe(0);
    expect(ledger.get(OWNER)?.intent).toBeUndefined();
  });

  it('changes nothing when the ledger cannot be read', async () => {
    ledger.failures.push(
      new LedgerUnavailableError('The rotation ledger (DynamoDB table t) could not be read'),
    );
    await expect(runRotationStep(makeDeps(), event('createSecret'))).rejects.toBeInstanceOf(
      LedgerUnavailableError,
    );
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('needs no ledger call when the pending version already holds a value', async () => {
    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: secretJson('already-there') };
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('already-stored');
    expect(ledger.reads + ledger.writes).toBe(0);
  });

  it('finishSecret records the outcome and clears the intent; after a crash its retry records it', async () => {
    await runRotationStep(makeDeps(), event('createSecret'));
    await runRotationStep(makeDeps(), event('setSecret'));
    await runRotationStep(makeDeps(), event('testSecret'));
    // The promotion happens, then the ledger write fails (a crash between the two).
    const write = ledger.write.bind(ledger);
    ledger.write = async () => {
      ledger.write = write;
      throw new LedgerUnavailableError('down');
    };
    await expect(runRotationStep(makeDeps(), event('finishSecret'))).rejects.toBeInstanceOf(
      LedgerUnavailableError,
    );
    expect(sm.current().id).toBe(TOKEN);
    expect(ledger.get(OWNER)?.intent).toBeDefined();

    clockMs = NOW + 1_000;
    await expect(runRotationStep(makeDeps(), event('finishSecret'))).resolves.toBe('already-current');

    expect(ledger.get(OWNER)?.intent).toBeUndefined();
    expect(ledger.get(OWNER)?.history[0]).toMatchObject({
      token: TOKEN,
      outcome: 'rotated',
      finishedAt: new Date(NOW + 1_000).toISOString(),
    });
    // Once recorded, a further retry writes nothing.
    const writes = ledger.writes;
    await runRotationStep(makeDeps(), event('finishSecret'));
    expect(ledger.writes).toBe(writes);
  });

  it('keys one owner however the secret spells its UUIDs, and keeps the last HISTORY_LIMIT rotations', () => {
    expect(ledgerKey({ ...OWNER, environmentId: ENV_ID.toUpperCase(), id: RES_ID.toUpperCase() })).toBe(
      `resource#${ENV_ID}#${RES_ID}`,
    );
    // The region is the secret's writer's choice: it never makes another key.
    const elsewhere: SecretOwner = { ...OWNER, region: 'NA' };
    expect(ledgerKey(elsewhere)).toBe(ledgerKey(OWNER));
    let record = { ...EMPTY_RECORD };
    for (let i = 0; i < HISTORY_LIMIT + 2; i++) {
      record = withRegenerateIntent(record, {
        secretArn: ARN,
        token: `t${i}`,
        now: NOW + i,
        postUntil: NOW + i,
      });
    }
    expect(record.history.map((run) => run.token)).toEqual(
      Array.from({ length: HISTORY_LIMIT }, (_, i) => `t${HISTORY_LIMIT + 1 - i}`),
    );
    expect(record.history.slice(1).every((run) => run.outcome === 'superseded')).toBe(true);
  });
});
