import { beforeAll, describe, expect, it } from 'vitest';
import { type CursorStore, memoryCursorStore } from '../../lib/audit/cursor.js';
import { createAuditHandler } from '../../lib/audit/handler.js';
import { nodeTransport, type Transport } from '../../lib/pingone/transport.js';
import { LOCAL_ROTATION_LAMBDA_ARN, lambdaContext } from '../../local/driver.js';
import type { RotatableSecret } from '../../local/world.js';
import { rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * The fleet auditor reaching its deadline mid-fleet (moto + the PingOne simulator, the real handler): a fleet
 * of rotated secrets, every one eligible for early retirement, and a PingOne that takes 2.5 s per request on
 * the auditor's clock (simulated time: the clock moves only when PingOne is called or the pacer waits, so the
 * point where the deadline falls does not depend on the machine's load).
 */
const PREFIX = 'pingone/deadline/';
const FLEET = 12;
const HOUR = 3_600_000;
const PINGONE_MS = 2_500;
const fleet: RotatableSecret[] = [];
const { world, sensitive, output, logLeaks } = useWorld({ captureLogs: true });

beforeAll(async () => {
  const harness = rotationHarness(world, { maxAttempts: 1 });
  for (let i = 0; i < FLEET; i++) {
    const secret = await world.createRotatableSecret({
      name: `${PREFIX}api-${String(i).padStart(2, '0')}`,
      region: 'EU',
    });
    const report = await harness.driver.rotate(secret.arn);
    expect(report.ok, report.error).toBe(true);
    fleet.push(secret);
  }
  for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
}, 120_000);

/** The auditor on a simulated clock that PingOne's answers move on by PINGONE_MS each. */
function slowAuditor(options: { startAt: number; env?: Record<string, string>; cursor?: CursorStore }) {
  let clock = options.startAt;
  const inner = nodeTransport();
  const transport: Transport = async (request) => {
    const auth = request.headers.authorization;
    if (auth?.startsWith('Bearer ')) sensitive.add(auth.slice(7));
    const response = await inner(request);
    clock += PINGONE_MS;
    if (response.body.includes('access_token')) {
      const token = (JSON.parse(response.body) as { access_token?: string }).access_token;
      if (token) sensitive.add(token);
    }
    return response;
  };
  const handler = createAuditHandler({
    env: {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: PREFIX,
      AUDIT_ROTATION_FUNCTION_ARN: LOCAL_ROTATION_LAMBDA_ARN,
      AUDIT_CONCURRENCY: '2',
      RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
      ...options.env,
    },
    secretsManager: world.secretsManager,
    ssm: world.ssm,
    dynamodb: world.dynamodb,
    transport,
    ...(options.cursor ? { cursor: options.cursor } : {}),
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
  });
  return { handler, elapsed: () => clock - options.startAt };
}

function snapshot(secret: RotatableSecret) {
  return world.sim.readSecret(secret.environmentId, secret.resourceId);
}

describe('an audit that reaches its deadline mid-fleet', () => {
  it('judges what it started, names the rest, emits SecretsNotAudited, and retires nothing it did not judge', async () => {
    const before = fleet.map((secret) => snapshot(secret));
    const labels = await Promise.all(fleet.map((secret) => world.labels(secret.arn)));
    output.clear();
    // Four hours on: every previous secret is unused for longer than RETIRE_UNUSED_PREVIOUS_AFTER.
    const { handler, elapsed } = slowAuditor({ startAt: Date.now() + 4 * HOUR });

    // 40 s left, 10 s of it kept back for the summary (the handler's margin): a secret is started only with
    // 10 s of the remaining 30 s to spare, and each takes two PingOne reads (5 s). A run cut by its deadline
    // does not fail: the next run continues after it (the cursor), and the coverage metric says how far behind.
    const result = await handler({}, lambdaContext(Date.now(), 40_000));

    const summary = output.records.find((r) => r.message === 'audit complete') as {
      audited: number;
      notAudited: number;
      errors: number;
      retired: number;
      retirementsSkipped: number;
      cursor: string;
    };
    expect(summary).toMatchObject(result);
    expect(summary.audited).toBeGreaterThan(0);
    expect(summary.notAudited).toBeGreaterThan(0);
    expect(summary.audited + summary.notAudited).toBe(FLEET);
    expect(summary.errors).toBe(0);

    // Which: a log line names every secret not started, and they are exactly the ones without a verdict; the
    // cursor is the last one started.
    const notAudited = output.records.find((r) => r.message === 'secrets not audited before the deadline')
      ?.secrets as string[];
    expect(notAudited).toHaveLength(summary.notAudited);
    const names = fleet.map((s) => s.name);
    expect([...notAudited].sort()).toEqual(names.slice(FLEET - summary.notAudited));
    expect(summary.cursor).toBe(names[summary.audited - 1]);
    // The run stopped starting secrets once fewer than 10 s were left before its own deadline (30 s), and the
    // secrets it had started still finished.
    expect(elapsed()).toBeGreaterThan(20_000);
    expect(elapsed()).toBeLessThanOrEqual(30_000 + 2 * 2 * PINGONE_MS);

    // Its metrics: SecretsNotAudited, no AuditCompleted; verdict counts for the judged only; the oldest audit's
    // age (the first run: the secrets not reached have waited since it started).
    const emf = output.records.filter((r) => r._aws !== undefined);
    expect(emf.find((r) => r.SecretsNotAudited !== undefined)?.SecretsNotAudited).toBe(summary.notAudited);
    expect(emf.find((r) => r.SecretsAudited !== undefined)?.SecretsAudited).toBe(summary.audited);
    expect(emf.some((r) => r.AuditCompleted !== undefined)).toBe(false);
    expect(emf.some((r) => r.AuditFailed !== undefined)).toBe(false);
    expect(emf.find((r) => r.verdict === 'healthy')?.Secrets).toBe(summary.audited);
    expect(emf.find((r) => r.OldestAuditAge !== undefined)?.OldestAuditAge).toBe(
      Math.round(elapsed() / 1000),
    );

    // Nothing retired, judged or not: early retirement is not started that close to the deadline either, and the
    // judged secrets it would have retired are named (the secrets not judged are not even considered).
    expect(summary.retired).toBe(0);
    const skipped = output.records.find(
      (r) => r.message === 'early retirement not checked before the deadline',
    )?.secrets as string[];
    expect([...skipped].sort()).toEqual(names.slice(0, summary.audited));
    expect(summary).toMatchObject({ retirementsSkipped: summary.audited });
    expect(
      output.records.filter(
        (r) => r.message === 'previous secret retired early' || r.message === 'early retirement failed',
      ),
    ).toEqual([]);
    expect(fleet.map((secret) => snapshot(secret))).toEqual(before);
    expect(await Promise.all(fleet.map((secret) => world.labels(secret.arn)))).toEqual(labels);
  });

  it('two deadline-cut runs over the same fleet together judge every secret: the second continues after the first (issue 18)', async () => {
    // Its own cursor (the other tests' runs keep theirs in the ledger table).
    const cursor = memoryCursorStore();
    const judged: string[][] = [];
    const startAt = Date.now() + 4 * HOUR;
    for (const run of [0, 1]) {
      output.clear();
      const { handler } = slowAuditor({ startAt: startAt + run * HOUR, cursor });
      // Time for about 7 of the 12 (the clock moves 2.5 s per PingOne call, which the two workers' calls
      // share); whatever the run throws, the test judges only what it covered.
      await handler({}, lambdaContext(Date.now(), 55_000)).catch(() => undefined);
      const notAudited = output.records
        .filter((r) => r.message === 'secrets not audited before the deadline')
        .flatMap((r) => r.secrets as string[]);
      expect(notAudited.length).toBeGreaterThan(0);
      judged.push(fleet.map((s) => s.name).filter((name) => !notAudited.includes(name)));
    }
    // Each run judged more than half; the second none of the first run's again before every secret had its turn.
    expect(judged[0]?.length).toBeGreaterThan(FLEET / 2);
    expect(new Set([...(judged[0] ?? []), ...(judged[1] ?? [])]).size).toBe(FLEET);
    // The second run wrapped round: its cursor is now among the secrets the first run judged, and the sweep
    // it completed is the two runs (the oldest audit: the first secret after the cursor, judged in the first).
    expect(cursor.state).toMatchObject({
      firstRunAt: startAt,
      lastSweepRuns: [
        { to: judged[0]?.at(-1), at: startAt },
        { to: fleet.at(-1)?.name, at: startAt + HOUR },
      ],
    });
    expect(judged[0]).toContain(cursor.state?.position);
  });

  it('with time enough the same fleet is judged whole and its unused previous secrets retired (the control)', async () => {
    output.clear();
    const { handler } = slowAuditor({ startAt: Date.now() + 4 * HOUR });

    const summary = await handler({}, lambdaContext(Date.now(), 900_000));

    expect(summary).toMatchObject({
      audited: FLEET,
      notAudited: 0,
      errors: 0,
      retired: FLEET,
      retirementsSkipped: 0,
    });
    for (const secret of fleet) expect(snapshot(secret).previous).toBeUndefined();
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  expect(output.captured).toContain('secrets not audited before the deadline');
  // With every secret PingOne holds now (current and previous).
  expect(logLeaks()).toEqual([]);
});
