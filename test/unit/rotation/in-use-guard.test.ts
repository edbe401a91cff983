import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, parseInUseWindow } from '../../../lib/config.js';
import { ConfigurationError, PreviousSecretInUseError, TagOutOfBoundsError } from '../../../lib/errors.js';
import { EMPTY_RECORD, ledgerKey, withRegenerateIntent } from '../../../lib/ledger/record.js';
import type { RotationDeps, RotationMetric } from '../../../lib/rotation/deps.js';
import type { RotationEvent } from '../../../lib/rotation/event.js';
import { previousInUse } from '../../../lib/rotation/in-use-guard.js';
import { runRotationStep } from '../../../lib/rotation/rotate.js';
import { SecretsStore } from '../../../lib/secrets/secrets-store.js';
import { FakePingOne } from '../../support/fake-pingone.js';
import { describeLeaks } from '../../support/leaks.js';
import { MemoryLedger } from '../../support/memory-ledger.js';
import { SecretsManagerModel } from '../../support/secrets-manager-model.js';

const ENV_ID = '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const RES_ID = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const TOKEN = '11111111-2222-4333-8444-555555555555';
const CREATE: RotationEvent = {
  step: 'createSecret',
  secretId: 'pingone/app',
  token: TOKEN,
  rotationToken: undefined,
};

let sm: SecretsManagerModel;
let pingone: FakePingOne;
let ledger: MemoryLedger;
let currentSecret: string;
let previousSecret: string;
let metrics: RotationMetric[];
let warnings: { message: string; extra?: Record<string, unknown> }[];

function deps(env: Record<string, string> = {}): RotationDeps {
  return {
    secrets: new SecretsStore(sm.client),
    pingone,
    ledger,
    config: loadConfig({
      PINGONE_WORKER_PARAMETER: '/pingone/worker',
      ROTATION_LEDGER_TABLE: 'ledger',
      ...env,
    }),
    logger: {
      info: () => {},
      warn: (message, extra) => warnings.push({ message, ...(extra ? { extra } : {}) }),
    },
    metrics: { count: (metric) => metrics.push(metric) },
    now: () => NOW,
    sleep: async () => {},
    deadline: NOW + 60_000,
  };
}

/** PingOne holds a previous secret (from an earlier rotation) expiring in `expiresIn`, last used `usedAgo` ago. */
function previousUsed(usedAgo: number | undefined, expiresIn = 5 * DAY): void {
  pingone.state = {
    secret: currentSecret,
    previous: {
      secret: previousSecret,
      expiresAt: new Date(NOW + expiresIn).toISOString(),
      ...(usedAgo === undefined ? {} : { lastUsed: new Date(NOW - usedAgo).toISOString() }),
    },
  };
}

async function expectRefused(env: Record<string, string> = {}): Promise<PreviousSecretInUseError> {
  const before = structuredClone(pingone.state);
  const error = await runRotationStep(deps(env), CREATE).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(PreviousSecretInUseError);
  expect(pingone.regenerateRequests).toBe(0);
  expect(pingone.state).toEqual(before);
  expect(sm.writes()).toBe(0);
  expect(metrics).toEqual(['PreviousSecretInUse']);
  return error as PreviousSecretInUseError;
}

async function expectRegenerated(env: Record<string, string> = {}): Promise<void> {
  await expect(runRotationStep(deps(env), CREATE)).resolves.toBe('regenerated');
  expect(pingone.regenerateRequests).toBe(1);
  expect(pingone.state.previous?.secret).toBe(currentSecret);
  expect(metrics).not.toContain('PreviousSecretInUse');
}

beforeEach(() => {
  sm = new SecretsManagerModel();
  currentSecret = FakePingOne.newSecret();
  previousSecret = FakePingOne.newSecret();
  sm.versions.v1 = {
    stages: ['AWSCURRENT'],
    value: JSON.stringify({ environmentId: ENV_ID, resourceId: RES_ID, clientSecret: currentSecret }),
  };
  sm.startRotation(TOKEN);
  pingone = new FakePingOne(currentSecret);
  ledger = new MemoryLedger();
  metrics = [];
  warnings = [];
});

afterEach(() => sm.restore());

describe('in-use guard (createSecret)', () => {
  it('refuses to regenerate while the previous secret was used within the default 1h window, changing nothing', async () => {
    previousUsed(10 * MINUTE, 2 * DAY);
    const error = await expectRefused();
    expect(error.code).toBe('PreviousSecretInUse');
    expect(error.message).toContain('PreviousSecretInUse');
    expect(error.message).toContain('last used at 2026-11-26T11:50:00Z (10m ago)');
    expect(error.message).toContain('PREVIOUS_SECRET_IN_USE_WINDOW=1h');
    expect(error.message).toContain('valid until 2026-11-28T12:00:00Z (in 2d)');
    expect(error.message).toContain('no earlier than 2026-11-26T12:50:00.000Z');
    expect(error.message).toContain('pingone:previous-secret-in-use-window=0');
    expect(describeLeaks(error.message, [previousSecret])).toEqual([]);
    expect(describeLeaks(error.message, [currentSecret])).toEqual([]);
    expect(error.lastUsed).toBe('2026-11-26T11:50:00.000Z');
    expect(warnings.map((w) => w.message)).toEqual(['previous secret still in use; not regenerating']);
    expect(describeLeaks(JSON.stringify(warnings), [previousSecret])).toEqual([]);
  });

  it('proceeds once the previous secret has been quiet for the window', async () => {
    previousUsed(HOUR);
    await expectRegenerated();
  });

  it('proceeds when the previous secret was never used', async () => {
    previousUsed(undefined);
    await expectRegenerated();
  });

  it('proceeds when there is no previous secret', async () => {
    await expectRegenerated();
  });

  it('proceeds when the previous secret has expired, however recently it was used', async () => {
    previousUsed(MINUTE, -1);
    await expectRegenerated();
  });

  it('is off with PREVIOUS_SECRET_IN_USE_WINDOW=0', async () => {
    previousUsed(MINUTE);
    await expectRegenerated({ PREVIOUS_SECRET_IN_USE_WINDOW: '0' });
  });

  it('uses PREVIOUS_SECRET_IN_USE_WINDOW', async () => {
    previousUsed(3 * HOUR);
    await expectRegenerated({ PREVIOUS_SECRET_IN_USE_WINDOW: '2h' });
  });

  it('refuses with a longer window set in PREVIOUS_SECRET_IN_USE_WINDOW', async () => {
    previousUsed(3 * HOUR);
    const error = await expectRefused({ PREVIOUS_SECRET_IN_USE_WINDOW: '1d' });
    expect(error.message).toContain('PREVIOUS_SECRET_IN_USE_WINDOW=1d');
  });

  it('lets the pingone:previous-secret-in-use-window tag override the function setting', async () => {
    previousUsed(3 * HOUR);
    sm.tags['pingone:previous-secret-in-use-window'] = '6h';
    const error = await expectRefused({ PREVIOUS_SECRET_IN_USE_WINDOW: '1h' });
    expect(error.message).toContain("the secret's tag pingone:previous-secret-in-use-window=6h");
  });

  it('lets the tag turn the guard off for one secret, where the stack allows tags to (TAG_IN_USE_WINDOW_MAY)', async () => {
    previousUsed(MINUTE);
    sm.tags['pingone:previous-secret-in-use-window'] = '0';
    await expectRegenerated({ TAG_IN_USE_WINDOW_MAY: 'switch-off' });
  });

  // Issue 17, finding 6: whoever may tag a secret switched its safety off. By default a tag may only lengthen.
  it.each([
    ['0', {}, "is '0', which switches the in-use guard off: the stack does not allow a tag to switch it off"],
    [
      '10m',
      {},
      "is '10m', shorter than the function's window 1h: the stack allows a tag only to lengthen it",
    ],
    ['0', { TAG_IN_USE_WINDOW_MAY: 'shorten' }, "is '0', which switches the in-use guard off"],
  ] as const)(
    'refuses the window tag %s outside the stack’s bounds (%j) before any PingOne call',
    async (value, env, message) => {
      previousUsed(MINUTE);
      sm.tags['pingone:previous-secret-in-use-window'] = value;
      const error = await runRotationStep(deps(env), CREATE).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TagOutOfBoundsError);
      expect((error as TagOutOfBoundsError).code).toBe('TagOutOfBounds');
      expect((error as Error).message).toContain(`Tag 'pingone:previous-secret-in-use-window' ${message}`);
      expect((error as Error).message).toContain('TagInUseWindowMay');
      expect(pingone.reads).toBe(0);
      expect(pingone.regenerateRequests).toBe(0);
      expect(sm.writes()).toBe(0);
    },
  );

  it('lets a tag shorten the window where the stack allows it, not below what it asks', async () => {
    previousUsed(20 * MINUTE);
    sm.tags['pingone:previous-secret-in-use-window'] = '10m';
    await expectRegenerated({ TAG_IN_USE_WINDOW_MAY: 'shorten' });
  });

  it('the finding: window 0 plus a 1m TTL by tags is refused with the defaults, and nothing changes', async () => {
    previousUsed(MINUTE);
    sm.tags['pingone:previous-secret-in-use-window'] = '0';
    sm.tags['pingone:previous-secret-ttl'] = '1m';
    const error = await runRotationStep(deps(), CREATE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TagOutOfBoundsError);
    expect((error as Error).message).toMatch(
      /^Tag 'pingone:previous-secret-ttl' is '1m', shorter than the stack allows a tag to set: at least 7d \(TAG_MIN_PREVIOUS_SECRET_TTL, stack parameter TagMinPreviousSecretTtl\)/,
    );
    expect(pingone.reads).toBe(0);
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('refuses a malformed tag before anything changes', async () => {
    previousUsed(MINUTE);
    sm.tags['pingone:previous-secret-in-use-window'] = 'soon';
    const error = await runRotationStep(deps(), CREATE).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toContain("Tag 'pingone:previous-secret-in-use-window' is 'soon'");
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('still adopts a secret an earlier attempt regenerated (no regenerate, so no guard)', async () => {
    // The earlier attempt's intent, as the ledger recorded it before its regenerate.
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/app-AbCdEf';
    const owner = { kind: 'resource', environmentId: ENV_ID, id: RES_ID, region: 'NA' } as const;
    ledger.items.set(ledgerKey(owner), {
      ...withRegenerateIntent(EMPTY_RECORD, { secretArn: arn, token: TOKEN, now: NOW, postUntil: NOW }),
      rev: 1,
    });
    pingone.state = {
      secret: FakePingOne.newSecret(),
      previous: {
        secret: currentSecret,
        expiresAt: new Date(NOW + DAY).toISOString(),
        lastUsed: new Date(NOW - MINUTE).toISOString(),
      },
    };
    await expect(runRotationStep(deps(), CREATE)).resolves.toBe('adopted');
    expect(pingone.regenerateRequests).toBe(0);
  });

  it('fails closed on a lastUsed PingOne sends in a form it cannot read', async () => {
    previousUsed(MINUTE);
    pingone.state.previous!.lastUsed = 'yesterday-ish';
    const error = await expectRefused();
    expect(error.message).toContain("cannot be read ('yesterday-ish')");
  });
});

describe('previousInUse', () => {
  const window = parseInUseWindow('1h', 'test');
  const state = (lastUsed: string | undefined, expiresAt = new Date(NOW + DAY).toISOString()) => ({
    secret: 'a',
    previous: { secret: 'b', expiresAt, ...(lastUsed ? { lastUsed } : {}) },
  });

  it('counts a lastUsed in the future (clock skew) as in use', () => {
    expect(previousInUse(state(new Date(NOW + MINUTE).toISOString()), window, NOW).inUse).toBe(true);
  });

  it('treats the window as half-open: used exactly one window ago is quiet', () => {
    expect(previousInUse(state(new Date(NOW - HOUR).toISOString()), window, NOW).inUse).toBe(false);
    expect(previousInUse(state(new Date(NOW - HOUR + 1).toISOString()), window, NOW).inUse).toBe(true);
  });

  it('treats an unreadable expiresAt as unexpired', () => {
    expect(previousInUse(state(new Date(NOW - MINUTE).toISOString(), ''), window, NOW).inUse).toBe(true);
  });
});

describe('PREVIOUS_SECRET_IN_USE_WINDOW', () => {
  it('defaults to 1h', () => {
    expect(
      loadConfig({ PINGONE_WORKER_PARAMETER: '/w', ROTATION_LEDGER_TABLE: 'ledger' })
        .previousSecretInUseWindow,
    ).toEqual({
      ms: HOUR,
      text: '1h',
    });
  });

  it.each([
    ['0', 0],
    ['0m', 0],
    ['30m', 30 * MINUTE],
    ['12h', 12 * HOUR],
    ['30d', 30 * DAY],
  ])('accepts %s', (text, ms) => {
    expect(
      loadConfig({
        PINGONE_WORKER_PARAMETER: '/w',
        ROTATION_LEDGER_TABLE: 'ledger',
        PREVIOUS_SECRET_IN_USE_WINDOW: text,
      }).previousSecretInUseWindow.ms,
    ).toBe(ms);
  });

  it.each(['31d', '1w', 'off', '-1h', '1.5h'])(
    'refuses %s, naming the variable and the accepted forms',
    (text) => {
      expect(() =>
        loadConfig({
          PINGONE_WORKER_PARAMETER: '/w',
          ROTATION_LEDGER_TABLE: 'ledger',
          PREVIOUS_SECRET_IN_USE_WINDOW: text,
        }),
      ).toThrow(
        new RegExp(
          `PREVIOUS_SECRET_IN_USE_WINDOW is '${text.replace('.', '\\.')}'.*'0' to turn the guard off`,
        ),
      );
    },
  );
});
