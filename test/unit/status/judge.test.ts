/**
 * judge (lib/status/judge.ts) from hand-written facts: every verdict, every rule of the chain and every
 * branch that changes a reason, a note or an exit code. No Secrets Manager, PingOne, ledger or clock: the
 * facts are plain data, as gather.ts would have read them.
 */
import { describe, expect, it } from 'vitest';
import type { LedgerRecord, LedgerRun } from '../../../lib/ledger/record.js';
import type { PingOneSecretState } from '../../../lib/pingone/types.js';
import type { JudgePolicy, StatusFacts } from '../../../lib/status/facts.js';
import type { VersionValue } from '../../../lib/status/inspect.js';
import { judge, markDuplicates, RULE_ORDER, type RuleName } from '../../../lib/status/judge.js';
import { toReport } from '../../../lib/status/report.js';
import { reportText } from '../../../lib/status/report-text.js';
import { STATUS_EXIT, VERDICTS, type Verdict } from '../../../lib/status/verdicts.js';

const NOW = Date.parse('2026-06-01T12:00:00Z');
const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/orders-AbCdEf';
const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/copy-XyZ123';
const NAME = 'pingone/orders';
const ENV = '11111111-1111-4111-8111-111111111111';
const RES = '22222222-2222-4222-8222-222222222222';
const iso = (ms: number) => new Date(ms).toISOString();

function value(clientSecret: string, created?: number): VersionValue {
  return {
    kind: 'value',
    value: {
      environmentId: ENV,
      kind: 'resource',
      ownerId: RES,
      clientSecret,
      region: 'EU',
      document: {},
    },
    ...(created !== undefined ? { created: new Date(created) } : {}),
  };
}

const rotated: LedgerRun = {
  token: 'v-current',
  secretArn: ARN,
  startedAt: iso(NOW - 10 * DAY),
  regeneratedAt: iso(NOW - 10 * DAY),
  finishedAt: iso(NOW - 10 * DAY),
  outcome: 'rotated',
};
const boundHere: LedgerRecord = {
  rev: 3,
  binding: { secretArn: ARN, boundAt: iso(NOW - 30 * DAY), how: 'rotation' },
  intent: undefined,
  history: [rotated],
};

/** PingOne's state after this secret's last rotation: AWSCURRENT is current, AWSPREVIOUS previous (unused). */
const inSync: PingOneSecretState = {
  secret: 'S2',
  previous: { secret: 'S1', expiresAt: iso(NOW + 6 * DAY), lastUsed: iso(NOW - 3 * DAY) },
};

/** A healthy, rotated, bound secret; each case changes what it is about. */
function healthyFacts(): StatusFacts {
  return {
    now: NOW,
    view: {
      arn: ARN,
      name: NAME,
      rotation: {
        enabled: true,
        lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotate',
        scheduleExpression: 'rate(30 days)',
      },
      tags: {},
      versions: [
        { id: 'v-current', stages: ['AWSCURRENT'], created: new Date(NOW - 10 * DAY) },
        { id: 'v-previous', stages: ['AWSPREVIOUS'], created: new Date(NOW - 40 * DAY) },
      ],
      currentVersionId: 'v-current',
      previousVersionId: 'v-previous',
    },
    current: value('S2'),
    previous: value('S1'),
    pending: undefined,
    pingone: {
      owner: { kind: 'resource', environmentId: ENV, id: RES, region: 'EU' },
      resource: { id: RES, name: 'Orders API', type: 'CUSTOM' },
      state: inSync,
    },
    config: {
      previousSecretTtl: { ms: 7 * DAY, text: '7d' },
      previousSecretInUseWindow: { ms: HOUR, text: '1h' },
    },
    ledger: { table: 'rotation-ledger', record: boundHere },
    noRotationService: false,
  };
}

type Change = (f: StatusFacts) => StatusFacts;
const POLICY: JudgePolicy = { stuckAfterMs: 15 * MIN, nearExpiryMs: DAY, strict: false };

const withState =
  (state: PingOneSecretState): Change =>
  (f) => ({ ...f, pingone: { ...f.pingone!, state } });
const withTags =
  (tags: Record<string, string>): Change =>
  (f) => ({ ...f, view: { ...f.view, tags } });
const withRotation =
  (rotation: Partial<StatusFacts['view']['rotation']>): Change =>
  (f) => ({ ...f, view: { ...f.view, rotation: { ...f.view.rotation, ...rotation } } });
const withRecord =
  (record: LedgerRecord | undefined): Change =>
  (f) => ({
    ...f,
    ledger: { table: 'rotation-ledger', ...(record ? { record } : {}) },
  });
const withPending =
  (pending: VersionValue, created?: number): Change =>
  (f) => ({
    ...f,
    view: {
      ...f.view,
      versions: [
        ...f.view.versions,
        {
          id: 'v-pending',
          stages: ['AWSPENDING'],
          ...(created !== undefined ? { created: new Date(created) } : {}),
        },
      ],
      pendingVersionId: 'v-pending',
    },
    pending,
  });
const all =
  (...changes: Change[]): Change =>
  (f) =>
    changes.reduce((facts, change) => change(facts), f);
/** PingOne regenerated: S3 is current, AWSCURRENT's S2 previous (a grace period). */
const regenerated = withState({
  secret: 'S3',
  previous: { secret: 'S2', expiresAt: iso(NOW + 6 * DAY), lastUsed: iso(NOW - 3 * DAY) },
});
const unfinishedRun: LedgerRun = {
  token: 'v-pending',
  secretArn: ARN,
  startedAt: iso(NOW - 2 * HOUR),
  regeneratedAt: iso(NOW - 2 * HOUR),
};

interface Case {
  readonly name: string;
  readonly change: Change;
  readonly policy?: Partial<JudgePolicy>;
  readonly verdict: Verdict;
  readonly rule: RuleName;
  readonly exitCode?: number;
  /** Fragments the reason contains. */
  readonly reason?: readonly (string | RegExp)[];
  /** The notes, exactly (matchers allowed). */
  readonly notes?: readonly unknown[];
}

const CASES: readonly Case[] = [
  {
    name: 'no AWSCURRENT value and no onboard tags: the onboard command with placeholders',
    change: (f) => ({ ...f, current: { kind: 'placeholder' }, pingone: undefined, ledger: undefined }),
    verdict: 'misconfigured',
    rule: 'noCurrentValue',
    reason: [
      `${NAME} has no AWSCURRENT value. Verify where ${NAME} came from before forcing (the rotation ledger was not consulted)`,
      '--environment-id ENVIRONMENT_ID --resource-id RESOURCE_ID --force',
      '(put in the PingOne ids)',
    ],
  },
  {
    name: 'no AWSCURRENT value, onboard tags of an application: the ids come from the tags',
    change: all(
      (f) => ({ ...f, current: { kind: 'placeholder' }, pingone: undefined, ledger: undefined }),
      withTags({ 'pingone:environment-id': ENV, 'pingone:application-id': 'app-1' }),
    ),
    verdict: 'misconfigured',
    rule: 'noCurrentValue',
    reason: [`--environment-id ${ENV} --application-id app-1 --force`, 'the ids are from its pingone:* tags'],
  },
  {
    name: 'AWSCURRENT malformed: its problem, then the onboard command',
    change: (f) => ({
      ...f,
      current: { kind: 'malformed', problem: 'AWSCURRENT is not JSON' },
      pingone: undefined,
      ledger: undefined,
    }),
    verdict: 'misconfigured',
    rule: 'noCurrentValue',
    reason: [/^AWSCURRENT is not JSON\. Verify where /],
  },
  {
    name: 'the environment is not allowed: the refusal is the reason',
    change: (f) => ({
      ...f,
      ownerProblem: 'The secret names PingOne environment X, which is not in PINGONE_ALLOWED_ENVIRONMENTS',
      pingone: undefined,
      ledger: undefined,
    }),
    verdict: 'misconfigured',
    rule: 'ownerRefused',
    reason: [/^The secret names PingOne environment X/],
  },
  {
    name: 'the ledger binds the owner to another secret: duplicate-owner, with rebind',
    change: withRecord({
      ...boundHere,
      binding: { secretArn: OTHER_ARN, boundAt: iso(NOW - DAY), how: 'onboard' },
    }),
    verdict: 'duplicate-owner',
    rule: 'boundElsewhere',
    exitCode: 12,
    reason: [`to another secret, ${OTHER_ARN}`, 'by onboard', `pingone-rotation rebind --secret-id ${NAME}`],
  },
  {
    name: 'the secret names the owner under another region than the binding: misconfigured, with rebind',
    change: withRecord({
      ...boundHere,
      binding: { secretArn: ARN, boundAt: iso(NOW - DAY), how: 'rotation', region: 'NA' },
    }),
    verdict: 'misconfigured',
    rule: 'regionMismatch',
    exitCode: 8,
    reason: [
      `${NAME} names PingOne resource ${RES} in region EU, but the rotation ledger bound it in region NA`,
      '(OwnerRegionMismatch)',
      `pingone-rotation rebind --secret-id ${NAME}`,
    ],
  },
  {
    name: 'PingOne answered with a problem (not CUSTOM, not found, no access)',
    change: (f) => ({
      ...f,
      pingone: { owner: f.pingone!.owner, problem: 'the worker app may not read it' },
    }),
    verdict: 'pingone-error',
    rule: 'pingOneUnreadable',
    exitCode: 7,
    reason: [/^the worker app may not read it$/],
  },
  {
    name: 'PingOne read without a secret state and without a problem',
    change: (f) => ({ ...f, pingone: { owner: f.pingone!.owner } }),
    verdict: 'pingone-error',
    rule: 'pingOneUnreadable',
    reason: [/^PingOne could not be read$/],
  },
  {
    name: 'PingOne unreadable and a bad TTL tag: pingone-error stands, the tag problem is a note',
    change: all(
      (f) => ({ ...f, pingone: { owner: f.pingone!.owner, problem: 'unreachable' } }),
      withTags({ 'pingone:previous-secret-ttl': 'forever' }),
    ),
    verdict: 'pingone-error',
    rule: 'pingOneUnreadable',
    notes: [expect.stringContaining("Tag 'pingone:previous-secret-ttl' is 'forever'")],
  },
  {
    name: 'a bad TTL tag',
    change: withTags({ 'pingone:previous-secret-ttl': 'forever' }),
    verdict: 'misconfigured',
    rule: 'badTag',
    exitCode: 8,
    reason: ["Tag 'pingone:previous-secret-ttl' is 'forever'", 'every rotation fails until the tag is fixed'],
    notes: [],
  },
  {
    name: 'a bad in-use-window tag',
    change: withTags({ 'pingone:previous-secret-in-use-window': 'soon' }),
    verdict: 'misconfigured',
    rule: 'badTag',
    reason: ["Tag 'pingone:previous-secret-in-use-window' is 'soon'"],
  },
  {
    name: 'AWSPENDING younger than the threshold: in progress, check again later',
    change: all(
      regenerated,
      withPending(value('S3'), NOW - 5 * MIN),
      withRecord({ ...boundHere, history: [unfinishedRun, rotated] }),
    ),
    verdict: 'rotation-in-progress',
    rule: 'pendingVersion',
    exitCode: 5,
    reason: [
      'AWSPENDING is on version v-pending, a value PingOne already uses as its current secret, created 5m ago',
      "AWSCURRENT is PingOne's previous secret, valid until",
      'A rotation may still be running: check again after 10m',
    ],
  },
  {
    name: 'AWSPENDING older than the threshold, PingOne uses it: stuck, unstick finishes the rotation',
    change: all(regenerated, withPending(value('S3'), NOW - HOUR)),
    verdict: 'stuck-pending',
    rule: 'pendingVersion',
    exitCode: 6,
    reason: [`Run \`pingone-rotation unstick --secret-id ${NAME}\`, which will finish the rotation`],
  },
  {
    name: 'an empty placeholder of unknown age: stuck, unstick removes the label',
    change: withPending({ kind: 'placeholder' }),
    verdict: 'stuck-pending',
    rule: 'pendingVersion',
    reason: [
      'an empty placeholder (createSecret never stored a value)',
      "AWSCURRENT is still PingOne's current secret",
      'remove the AWSPENDING label (nothing changes at PingOne)',
    ],
  },
  {
    name: 'a young AWSPENDING where nothing resumes it (the local world): stuck at once',
    change: all(withPending(value('S9'), NOW - MIN), (f) => ({ ...f, noRotationService: true })),
    verdict: 'stuck-pending',
    rule: 'pendingVersion',
    reason: [
      'a value PingOne does not use',
      'Nothing resumes it in the local world (no rotation service): run',
    ],
  },
  {
    name: 'a malformed AWSPENDING while AWSCURRENT matches neither PingOne secret',
    change: all(
      withState({ secret: 'S9' }),
      withPending({ kind: 'malformed', problem: 'no clientSecret', created: new Date(NOW - HOUR) }),
    ),
    verdict: 'stuck-pending',
    rule: 'pendingVersion',
    reason: [
      'a value that is not a valid secret (no clientSecret)',
      "AWSCURRENT is neither PingOne's current nor previous",
    ],
  },
  {
    name: 'consumers still use the previous secret and it expires within a day',
    change: withState({
      secret: 'S2',
      previous: { secret: 'S1', expiresAt: iso(NOW + 2 * HOUR), lastUsed: iso(NOW - 10 * MIN) },
    }),
    verdict: 'previous-in-use-near-expiry',
    rule: 'previousNearExpiry',
    exitCode: 10,
    reason: ['last used 2026-06-01T11:50:00Z (10m ago)', 'expires 2026-06-01T14:00:00Z (in 2h)'],
  },
  {
    name: 'in use but expiring after the near-expiry threshold: healthy',
    change: withState({
      secret: 'S2',
      previous: { secret: 'S1', expiresAt: iso(NOW + 2 * HOUR), lastUsed: iso(NOW - 10 * MIN) },
    }),
    policy: { nearExpiryMs: HOUR },
    verdict: 'healthy',
    rule: 'inSync',
  },
  {
    name: 'in use by the default window although the in-use guard is off (tag 0)',
    change: all(
      withTags({ 'pingone:previous-secret-in-use-window': '0' }),
      withState({
        secret: 'S2',
        previous: { secret: 'S1', expiresAt: iso(NOW + HOUR), lastUsed: iso(NOW - MIN) },
      }),
    ),
    verdict: 'previous-in-use-near-expiry',
    rule: 'previousNearExpiry',
  },
  {
    name: "Secrets Manager's next rotation date passed more than a day ago",
    change: withRotation({ nextRotation: new Date(NOW - 2 * DAY), lastRotated: new Date(NOW - 32 * DAY) }),
    verdict: 'rotation-overdue',
    rule: 'overdue',
    exitCode: 11,
    reason: [
      'was due 2026-05-30T12:00:00Z (2d ago)',
      '(last rotated 2026-04-30T12:00:00Z',
      'rotate --secret-id',
    ],
  },
  {
    name: 'no next rotation date: the last rotation plus the rate interval is overdue',
    change: withRotation({ lastRotated: new Date(NOW - 32 * DAY) }),
    verdict: 'rotation-overdue',
    rule: 'overdue',
  },
  {
    name: 'past due but within a 72h rotation window: healthy',
    change: withRotation({ nextRotation: new Date(NOW - 2 * DAY), duration: '72h' }),
    verdict: 'healthy',
    rule: 'inSync',
  },
  {
    name: 'healthy: AWSCURRENT is current, rotation enabled, bound here',
    change: (f) => f,
    verdict: 'healthy',
    rule: 'inSync',
    exitCode: 0,
    reason: [/^AWSCURRENT is PingOne's current secret and no rotation is pending$/],
    notes: [],
  },
  {
    name: 'healthy but not bound in the ledger yet: a note',
    change: withRecord(undefined),
    verdict: 'healthy',
    rule: 'inSync',
    notes: [expect.stringMatching(/^not bound in the rotation ledger yet: the first rotation claims it/)],
  },
  {
    name: 'rotation not enabled, no function recorded: not-rotating, exit 0, the attach command',
    change: withRotation({ enabled: false, lambdaArn: undefined, scheduleExpression: undefined }),
    verdict: 'not-rotating',
    rule: 'inSync',
    exitCode: 0,
    reason: ['--rotation-function-arn ROTATION_FUNCTION_ARN', '(put in your rotation function ARN)'],
    notes: [],
  },
  {
    name: 'not-rotating under --strict exits 9',
    change: withRotation({ enabled: false }),
    policy: { strict: true },
    verdict: 'not-rotating',
    rule: 'inSync',
    exitCode: 9,
    reason: ['--rotation-function-arn arn:aws:lambda:us-east-1:123456789012:function:rotate'],
  },
  {
    name: 'rotation off and a worse verdict: the verdict stands, rotation off is a note',
    change: all(withRotation({ enabled: false }), withState({ secret: 'S9' })),
    policy: { strict: true },
    verdict: 'drift',
    rule: 'neither',
    exitCode: 3,
    notes: ['rotation is not enabled for this secret'],
  },
  {
    name: 'AWSCURRENT is previous and the ledger records no regenerate of this secret: drift',
    change: regenerated,
    verdict: 'drift',
    rule: 'unexplainedRegenerate',
    exitCode: 3,
    reason: [
      'records no regenerate by the rotation function',
      'UnexplainedRegenerate',
      '--force` (safe to force: the rotation ledger binds this resource to this secret since 2026-05-02T12:00:00.000Z, by rotation',
    ],
  },
  {
    name: 'drift on a secret the ledger does not bind: verify its origin before forcing',
    change: all(withState({ secret: 'S9' }), withRecord(undefined)),
    verdict: 'drift',
    rule: 'neither',
    reason: [
      `Verify where ${NAME} came from before forcing (the rotation ledger does not bind the owner to this secret)`,
      'If it is: `pingone-rotation onboard',
    ],
  },
  {
    name: 'drift with the ledger unreadable: verify its origin (the ledger could not be read)',
    change: all(withState({ secret: 'S9' }), (f) => ({
      ...f,
      ledger: { table: 't', problem: 'AccessDenied' },
    })),
    verdict: 'drift',
    rule: 'neither',
    reason: ['(the rotation ledger could not be read)'],
    notes: ['rotation ledger not read: AccessDenied'],
  },
  {
    name: "AWSCURRENT is previous after this secret's own unfinished rotation: grace",
    change: all(regenerated, withRecord({ ...boundHere, history: [unfinishedRun, rotated] })),
    verdict: 'grace',
    rule: 'ownRegenerate',
    exitCode: 4,
    reason: ['the rotation ledger records the regenerate', 'valid until 2026-06-07T12:00:00Z (in 6d)'],
  },
  {
    name: 'AWSCURRENT is previous, the ledger unreadable: grace, hedged, with the note',
    change: all(regenerated, (f) => ({
      ...f,
      ledger: { table: 'rotation-ledger', problem: 'AccessDenied' },
    })),
    verdict: 'grace',
    rule: 'regenerateOfUnknownOrigin',
    reason: ['without the rotation ledger it cannot be told which', 'else it refuses: UnexplainedRegenerate'],
    notes: ['rotation ledger not read: AccessDenied'],
  },
  {
    name: 'AWSCURRENT is previous, no ledger given: grace, hedged, no note',
    change: all(regenerated, (f) => ({ ...f, ledger: undefined })),
    verdict: 'grace',
    rule: 'regenerateOfUnknownOrigin',
    notes: [],
  },
  {
    name: 'AWSCURRENT is neither of PingOne secrets: drift with the recovery',
    change: withState({ secret: 'S9' }),
    verdict: 'drift',
    rule: 'neither',
    reason: [
      "AWSCURRENT is neither PingOne's current nor its previous secret",
      'and rotation fails. Recover',
    ],
  },
  {
    name: "AWSPREVIOUS holds PingOne's current secret: drift says AWSCURRENT was moved by hand",
    change: withState({ secret: 'S1' }),
    verdict: 'drift',
    rule: 'neither',
    reason: ["AWSPREVIOUS holds PingOne's current secret: AWSCURRENT was moved or overwritten by hand."],
  },
  {
    name: 'an application whose auth method does not use the secret: testSecret can only compare (a note)',
    change: (f) => ({
      ...f,
      pingone: {
        ...f.pingone!,
        owner: { ...f.pingone!.owner, kind: 'application' },
        resource: undefined,
        application: {
          id: RES,
          protocol: 'OPENID_CONNECT',
          type: 'WORKER',
          tokenEndpointAuthMethod: 'PRIVATE_KEY_JWT',
        },
      },
    }),
    verdict: 'healthy',
    rule: 'inSync',
    notes: [
      "testSecret cannot prove a new secret at PingOne: this application's auth method PRIVATE_KEY_JWT does not use the secret, so it only compares it with PingOne's current secret",
    ],
  },
];

describe('judge: every verdict and rule from facts', () => {
  it.each(CASES)('$name', (c) => {
    const judged = judge(c.change(healthyFacts()), { ...POLICY, ...c.policy });
    expect(judged.verdict).toBe(c.verdict);
    expect(judged.rule).toBe(c.rule);
    expect(judged.exitCode).toBe(c.exitCode ?? STATUS_EXIT[c.verdict]);
    for (const part of c.reason ?? []) {
      if (typeof part === 'string') expect(judged.reason).toContain(part);
      else expect(judged.reason).toMatch(part);
    }
    if (c.notes) expect(judged.notes).toEqual(c.notes);
  });

  it('the cases cover every verdict and every rule', () => {
    expect(new Set(CASES.map((c) => c.verdict))).toEqual(new Set(VERDICTS));
    expect(new Set(CASES.map((c) => c.rule))).toEqual(new Set(RULE_ORDER));
  });

  it('judges the same facts the same way (no clock, no I/O)', () => {
    const facts = all(regenerated, withPending(value('S3'), NOW - 5 * MIN))(healthyFacts());
    expect(judge(facts, POLICY)).toEqual(judge(facts, POLICY));
  });
});

describe('findings the report shows', () => {
  it('configuration warnings: a TTL not shorter than the interval, and one under a consumer cache', () => {
    const long = judge(withTags({ 'pingone:previous-secret-ttl': '30d' })(healthyFacts()), POLICY).findings;
    expect(long.warnings.map((w) => w.code)).toEqual(['ttl-not-shorter-than-rotation-interval']);
    expect(long.warnings[0]!.message).toContain(
      'the previous-secret TTL 30d (tag pingone:previous-secret-ttl)',
    );
    const short = judge(
      all(withTags({ 'pingone:previous-secret-ttl': '30m' }))(healthyFacts()),
      POLICY,
    ).findings;
    expect(short.warnings.map((w) => w.code)).toEqual(['ttl-shorter-than-consumer-cache']);
    const cron = judge(withRotation({ scheduleExpression: 'cron(0 0 1 * ? *)' })(healthyFacts()), POLICY);
    expect(cron.findings.warnings).toEqual([]);
  });

  it('the function default TTL applies without a tag, and is named as such', () => {
    const facts = (f: StatusFacts): StatusFacts => ({
      ...f,
      config: { ...f.config!, previousSecretTtl: { ms: 40 * DAY, text: '40d' } },
    });
    const judged = judge(facts(healthyFacts()), POLICY);
    expect(judged.findings.warnings[0]!.message).toContain("(the function's PREVIOUS_SECRET_TTL)");
    const report = toReport(facts(healthyFacts()), judged);
    expect(report.previousSecretTtl).toEqual({ source: 'function-default', effective: '40d' });
  });

  it('which labels hold PingOne previous secret, and the report carries no secret value', () => {
    const facts = all(regenerated, withPending(value('S3'), NOW - 5 * MIN))(healthyFacts());
    const report = toReport(facts, judge(facts, POLICY));
    expect(report.pingone?.previous?.heldBy).toEqual(['AWSCURRENT']);
    expect(report.pending).toMatchObject({
      versionId: 'v-pending',
      ageSeconds: 300,
      pingOneUsesIt: true,
      stuck: false,
    });
    expect(JSON.stringify(report)).not.toMatch(/"S[0-9]"/);
    const shown = toReport(facts, judge(facts, POLICY), true);
    expect(shown.secrets).toEqual({
      awsCurrent: 'S2',
      awsPrevious: 'S1',
      awsPending: 'S3',
      pingOneCurrent: 'S3',
      pingOnePrevious: 'S2',
    });
  });
});

describe('markDuplicates: duplicate-owner found across secrets', () => {
  const reportOf = (change: Change) => {
    const facts = change(healthyFacts());
    return toReport(facts, judge(facts, POLICY));
  };

  it('replaces healthy, keeping the old verdict as a note', () => {
    const marked = markDuplicates(
      reportOf((f) => f),
      ['pingone/copy'],
    );
    expect(marked.verdict).toBe('duplicate-owner');
    expect(marked.exitCode).toBe(12);
    expect(marked.reason).toContain(`pingone/copy also names PingOne resource ${RES} in environment ${ENV}`);
    expect(marked.notes[0]).toMatch(/^healthy: /);
    expect(marked.duplicates).toEqual(['pingone/copy']);
  });

  it('a more urgent verdict stands, with the duplicates in a note', () => {
    const marked = markDuplicates(reportOf(withState({ secret: 'S9' })), ['pingone/a', 'pingone/b']);
    expect(marked.verdict).toBe('drift');
    expect(marked.notes.at(-1)).toBe(
      `duplicate owner: pingone/a, pingone/b also name PingOne resource ${RES} in environment ${ENV}`,
    );
  });

  it('no others, or no PingOne owner known: unchanged', () => {
    const report = reportOf((f) => f);
    expect(markDuplicates(report, [])).toBe(report);
    const noOwner = reportOf((f) => ({ ...f, current: { kind: 'placeholder' }, pingone: undefined }));
    expect(markDuplicates(noOwner, ['pingone/x'])).toBe(noOwner);
  });
});

describe("the auditor's early retirement in the ledger: shown while it holds rotations back", () => {
  const retiring = (startedAt: number): Change =>
    withRecord({
      ...boundHere,
      retirement: {
        token: 'r-1',
        secretArn: ARN,
        startedAt: iso(startedAt),
        deleteUntil: iso(startedAt + 20_000),
      },
    });

  it('a live retirement: a note naming RetirementInProgress and when rotations may run, and the report shows it', () => {
    const facts = retiring(NOW - 5_000)(healthyFacts());
    const judged = judge(facts, POLICY);
    expect(judged.verdict).toBe('healthy');
    const settles = new Date(NOW + 15_000 + 75_000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(judged.notes).toContain(
      "the fleet auditor is retiring PingOne's previous secret early (since 2026-06-01T11:59:55Z): a rotation of " +
        `this owner waits until ${settles} (RetirementInProgress, which Secrets Manager retries)`,
    );
    const report = toReport(facts, judged);
    expect(report.ledger?.retirement).toEqual({
      secretArn: ARN,
      startedAt: iso(NOW - 5_000),
      settlesAt: settles,
      live: true,
    });
    expect(reportText(report, NOW).join('\n')).toMatch(
      /retirement: the fleet auditor began retiring PingOne's previous secret .*; no regenerate until .*RetirementInProgress/,
    );
  });

  it('a settled retirement left behind: no note, shown as stale', () => {
    const facts = retiring(NOW - HOUR)(healthyFacts());
    const judged = judge(facts, POLICY);
    expect(judged.notes.join('\n')).not.toMatch(/retiring/);
    const report = toReport(facts, judged);
    expect(report.ledger?.retirement?.live).toBe(false);
    expect(reportText(report, NOW).join('\n')).toMatch(/retirement: .* \(settled; stale\)/);
  });
});
