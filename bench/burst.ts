/**
 * Rotation burst bench (issue 18): N secrets due at once against a rate-limited, flaky PingOne.
 *
 *   npm run bench:burst        (builds nothing: it runs the real lib/ handler in-process, as sim/ does)
 *
 * The world: moto (Secrets Manager, SSM, the ledger table) and the PingOne simulator (local/). Between the
 * function and the simulator sits PingOne's front door as this bench models it (`PingOneEdge`): at most R
 * requests per real-time second (all routes; the rest are answered 429 with `Retry-After: 1`, PingOne's own
 * error document, and not performed), and one request in ten of those admitted answered 503 (PingOne's own
 * document: it did nothing), chosen by a seeded PRNG. Admitted 503s count against R, as PingOne's would.
 *
 * Lambda is modelled as a pool of containers (`LambdaPool`): an invocation takes an idle container or starts a
 * new one (a fresh `createRotationHandler`: its own worker-token cache and SSM read) while fewer than the
 * concurrency limit are busy; above it the invocation is throttled (`TooManyRequestsException`) and the step
 * fails. Secrets Manager is `LocalRotationDriver`: RotateSecret for every secret at t = 0, the four steps in
 * order, and a failed rotation retried from createSecret with the same token after `smRetryMs` (Secrets
 * Manager's real retry delay is not documented; see docs for what this means at the bound).
 *
 * Figures (one run per concurrency setting): time until every rotation converged, against the bound
 * `requests per rotation × N / R` (requests per rotation: what one rotation sends PingOne in a cold container
 * when nothing is refused, measured first); the first-attempt success rate; PingOne's answers (admitted,
 * 429, 503); Lambda invocations, containers started and throttles; regenerates per secret (must be exactly
 * one), PutSecretValue per secret (one: no rotation loop), tokens per secret (one). A measurement, never a
 * test: the figures move with the machine's load, recorded with them.
 *
 * Settings: BENCH_BURST_SECRETS (50), BENCH_BURST_RATE (5), BENCH_BURST_ERROR_RATE (0.1), BENCH_BURST_SEED (1),
 * BENCH_BURST_CONCURRENCY (comma-separated: `unreserved` and/or numbers, each optionally `+rate`: the shared
 * rate limit ROTATION_PINGONE_REQUESTS_PER_SECOND set to PingOne's rate; default `unreserved,10,unreserved+rate`),
 * BENCH_BURST_SM_RETRY_MS (10000). `.bench/burst-latest.json` is always written; BENCH_SAVE=1 also writes
 * the committed bench/burst-results.json (only at the issue's settings: 50 secrets, 5/s, one in ten).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ListSecretVersionIdsCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { memoryBucketStore } from '../lib/audit/limiter.js';
import { createRotationHandler } from '../lib/handler.js';
import { nodeTransport, type Transport, type TransportResponse } from '../lib/pingone/transport.js';
import {
  type InvokeFn,
  LocalRotationDriver,
  type RotationEventPayload,
  type RotationReport,
} from '../local/driver.js';
import { LOCAL_AWS, type LocalWorld, type RotatableSecret, startLocalWorld } from '../local/world.js';
import { round } from './stats.js';

const LATEST = resolve('.bench/burst-latest.json');
const RESULTS = resolve('bench/burst-results.json');
const SPEC = { secrets: 50, requestsPerSecond: 5, errorRate: 0.1 } as const;
/** The issue's goal: every rotation converged within 1.2× the bound. */
const GOAL_RATIO = 1.2;

const settings = {
  secrets: envNumber('BENCH_BURST_SECRETS', 50),
  requestsPerSecond: envNumber('BENCH_BURST_RATE', 5),
  errorRate: envNumber('BENCH_BURST_ERROR_RATE', 0.1),
  seed: envNumber('BENCH_BURST_SEED', 1),
  runs: (process.env.BENCH_BURST_CONCURRENCY ?? 'unreserved,10,unreserved+rate').split(',').map((c) => {
    const [value = '', rate] = c.trim().split('+');
    if (rate !== undefined && rate !== 'rate') throw new Error(`BENCH_BURST_CONCURRENCY: bad value ${c}`);
    const sharedRate = rate === 'rate';
    if (value === 'unreserved') return { limit: undefined, sharedRate };
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_BURST_CONCURRENCY: bad value ${c}`);
    return { limit: n, sharedRate };
  }),
  smRetryMs: envNumber('BENCH_BURST_SM_RETRY_MS', 10_000),
  /**
   * Where the shared rate's buckets live: `memory` (default: one store shared by the pool's containers, as
   * fast as DynamoDB's conditional writes are next to PingOne's rate) or `dynamodb` (moto's table: moto is
   * one Python process, and 50 containers' conditional writes on one item slow it far below DynamoDB).
   */
  buckets: process.env.BENCH_BURST_BUCKETS === 'dynamodb' ? 'dynamodb' : 'memory',
  /** Secrets Manager's attempts of one rotation, at most (it retries "multiple times"). */
  smMaxAttempts: 30,
  functionTimeoutMs: 90_000,
};
const atSpec =
  settings.secrets === SPEC.secrets &&
  settings.requestsPerSecond === SPEC.requestsPerSecond &&
  settings.errorRate === SPEC.errorRate;

function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${name} must be a non-negative number`);
  return value;
}

/** A small seeded PRNG (mulberry32): the 503 decisions replay from BENCH_BURST_SEED. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

// ------------------------------------------------------------------------------- PingOne's front door

type EdgeOutcome = 'admitted' | 'limited' | 'unavailable';

interface EdgeRecord {
  readonly atMs: number;
  readonly method: string;
  readonly path: string;
  readonly outcome: EdgeOutcome;
}

/** Rate limit and 503s in front of the simulator, as PingOne would answer them (its own error documents). */
class PingOneEdge {
  readonly records: EdgeRecord[] = [];
  enabled = true;
  readonly #inner = nodeTransport();
  readonly #random: () => number;
  #window = { second: 0, count: 0 };
  readonly #started = Date.now();

  constructor(
    private readonly requestsPerSecond: number,
    private readonly errorRate: number,
    seed: number,
  ) {
    this.#random = prng(seed);
  }

  readonly transport: Transport = async (request) => {
    if (!this.enabled) return this.#inner(request);
    const now = Date.now();
    const second = Math.floor(now / 1000);
    if (this.#window.second !== second) this.#window = { second, count: 0 };
    this.#window.count += 1;
    const { pathname } = new URL(request.url);
    const oauth = /\/as\/(token|introspect)$/.test(pathname);
    const record = (outcome: EdgeOutcome) =>
      this.records.push({ atMs: now - this.#started, method: request.method, path: pathname, outcome });
    if (this.#window.count > this.requestsPerSecond) {
      record('limited');
      return answer(429, oauth, { 'retry-after': '1' });
    }
    if (this.#random() < this.errorRate) {
      record('unavailable');
      return answer(503, oauth, {});
    }
    record('admitted');
    return this.#inner(request);
  };

  count(outcome: EdgeOutcome): number {
    return this.records.filter((r) => r.outcome === outcome).length;
  }
}

function answer(status: 429 | 503, oauth: boolean, headers: Record<string, string>): TransportResponse {
  const body = oauth
    ? { error: status === 429 ? 'rate_limit_exceeded' : 'temporarily_unavailable', error_description: 'edge' }
    : {
        id: `edge-${Math.random().toString(16).slice(2)}`,
        code: status === 429 ? 'REQUEST_LIMITED' : 'SERVICE_UNAVAILABLE',
        message: status === 429 ? 'Too many requests' : 'Service unavailable',
      };
  const all: Record<string, string> = { 'content-type': 'application/json', ...headers };
  return {
    status,
    ok: false,
    headers: { get: (name) => all[name.toLowerCase()] ?? null },
    body: JSON.stringify(body),
  };
}

// ------------------------------------------------------------------------------------------- Lambda

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/** Lambda's containers for one function: reused when idle, started while under the concurrency limit. */
class LambdaPool {
  readonly #idle: Handler[] = [];
  #busy = 0;
  peakBusy = 0;
  containers = 0;
  invocations = 0;
  throttles = 0;

  constructor(
    private readonly makeHandler: () => Handler,
    private readonly limit: number | undefined,
  ) {}

  readonly invoke: InvokeFn = async (event: RotationEventPayload, context: Context) => {
    this.invocations++;
    if (this.limit !== undefined && this.#busy >= this.limit) {
      this.throttles++;
      const error = new Error('Rate Exceeded.');
      error.name = 'TooManyRequestsException';
      throw error;
    }
    this.#busy++;
    this.peakBusy = Math.max(this.peakBusy, this.#busy);
    let handler = this.#idle.pop();
    if (!handler) {
      this.containers++;
      handler = this.makeHandler();
    }
    try {
      return await handler(event, context);
    } finally {
      this.#busy--;
      this.#idle.push(handler);
    }
  };
}

// ---------------------------------------------------------------------------------------------- runs

interface Run {
  readonly world: LocalWorld;
  readonly serviceClient: SecretsManagerClient;
  readonly edge: PingOneEdge;
}

function newPool(run: Run, limit: number | undefined, sharedRate: boolean): LambdaPool {
  const clientConfig = { ...LOCAL_AWS, endpoint: run.world.moto.url };
  const buckets = settings.buckets === 'memory' ? memoryBucketStore() : undefined;
  return new LambdaPool(
    () =>
      createRotationHandler({
        env: sharedRate
          ? {
              ...run.world.functionEnv,
              ROTATION_PINGONE_REQUESTS_PER_SECOND: String(settings.requestsPerSecond),
            }
          : run.world.functionEnv,
        // The function's own log lines (retries, warnings) would drown the bench's table.
        logger: new Logger({ serviceName: 'pingone-secret-rotation', logLevel: 'SILENT' }),
        secretsManager: new SecretsManagerClient(clientConfig),
        ssm: new SSMClient(clientConfig),
        dynamodb: new DynamoDBClient(clientConfig),
        transport: run.edge.transport,
        ...(buckets ? { buckets } : {}),
      }) as Handler,
    limit,
  );
}

function driverFor(run: Run, pool: LambdaPool): LocalRotationDriver {
  return new LocalRotationDriver({
    secretsManager: run.serviceClient,
    invoke: pool.invoke,
    functionTimeoutMs: settings.functionTimeoutMs,
    maxAttempts: settings.smMaxAttempts,
    beforeRetry: () => new Promise((r) => setTimeout(r, settings.smRetryMs)),
  });
}

/** Regenerates PingOne performed for an owner (the simulator's record: admitted POSTs that succeeded). */
function regenerates(world: LocalWorld, ownerId: string): number {
  return world.sim.requests.filter(
    (r) => r.method === 'POST' && r.route === 'secret' && r.resourceId === ownerId && r.status < 300,
  ).length;
}

/** What one rotation sends PingOne in a cold container when nothing is refused (the bound's numerator). */
async function requestsPerRotation(run: Run, secret: RotatableSecret): Promise<number> {
  run.edge.enabled = false;
  try {
    const before = run.world.sim.requests.length;
    const report = await driverFor(run, newPool(run, undefined, false)).rotate(secret.arn);
    if (!report.ok) throw new Error(`calibration rotation failed: ${report.error}`);
    return run.world.sim.requests.length - before;
  } finally {
    run.edge.enabled = true;
  }
}

async function burst(
  run: Run,
  secrets: readonly RotatableSecret[],
  { limit, sharedRate }: { limit: number | undefined; sharedRate: boolean },
  perRotation: number,
) {
  const pool = newPool(run, limit, sharedRate);
  const driver = driverFor(run, pool);
  const edgeBefore = run.edge.records.length;
  const simBefore = run.world.sim.requests.length;
  const finished: number[] = [];
  const started = Date.now();
  const reports: RotationReport[] = await Promise.all(
    secrets.map(async (secret) => {
      const report = await driver.rotate(secret.arn);
      finished.push(Date.now() - started);
      return report;
    }),
  );
  const convergedMs = Date.now() - started;
  const failed = reports.filter((r) => !r.ok);
  const records = run.edge.records.slice(edgeBefore);
  const count = (outcome: EdgeOutcome) => records.filter((r) => r.outcome === outcome).length;
  const perSecret = await Promise.all(
    secrets.map(async (secret) => {
      const versions = await run.serviceClient.send(
        new ListSecretVersionIdsCommand({ SecretId: secret.arn, IncludeDeprecated: true }),
      );
      return {
        regenerates: regenerates(run.world, secret.resourceId),
        versions: versions.Versions?.length ?? 0,
      };
    }),
  );
  const boundMs = ((perRotation * secrets.length) / settings.requestsPerSecond) * 1000;
  // Why steps failed (Secrets Manager then retried the rotation): by step and the error's gist.
  const failures = new Map<string, number>();
  for (const report of reports) {
    for (const step of report.steps) {
      if (step.ok) continue;
      const gist = (step.error ?? '')
        .replace(/arn:\S+|[0-9a-f]{8}-[0-9a-f-]{27}|\d{4}-\d\d-\d\dT\S+|\d+( ms)?/g, '…')
        .slice(0, 110);
      const key = `${step.step}: ${gist}`;
      failures.set(key, (failures.get(key) ?? 0) + 1);
    }
  }
  const attempts = reports.map((r) => r.attempts);
  return {
    concurrency: `${limit ?? 'unreserved'}${sharedRate ? `, shared rate ${settings.requestsPerSecond}/s` : ''}`,
    secrets: secrets.length,
    converged: reports.length - failed.length,
    failed: failed.map((r) => `${r.secretId}: ${r.error}`),
    convergedMs,
    boundMs,
    ratioToBound: round(convergedMs / boundMs, 3),
    goal: `<= ${GOAL_RATIO}x the bound`,
    meetsGoal: failed.length === 0 && convergedMs / boundMs <= GOAL_RATIO,
    medianRotationDoneMs: finished.sort((a, b) => a - b)[Math.floor(finished.length / 2)],
    firstAttemptSuccessRate: round(
      reports.filter((r) => r.ok && r.attempts === 1).length / reports.length,
      3,
    ),
    secretsManagerAttempts: {
      max: Math.max(...attempts),
      total: attempts.reduce((a, b) => a + b, 0),
    },
    pingone: {
      requests: records.length,
      admitted: count('admitted'),
      limited429: count('limited'),
      unavailable503: count('unavailable'),
      performedBySimulator: run.world.sim.requests.length - simBefore,
      admittedPerRotation: round(count('admitted') / secrets.length, 2),
      /** Admitted requests (503s included: they count against the limit) per second over the run. */
      admittedPerSecond: round((count('admitted') + count('unavailable')) / (convergedMs / 1000), 2),
    },
    stepFailures: Object.fromEntries([...failures].sort((a, b) => b[1] - a[1])),
    /** PingOne's answers per 10 s of the run: [admitted, 429, 503], and rotations done by then. */
    timeline: timeline(records, finished),
    lambda: {
      invocations: pool.invocations,
      throttles: pool.throttles,
      containersStarted: pool.containers,
      peakConcurrent: pool.peakBusy,
    },
    safety: {
      /** Secrets whose owner PingOne regenerated other than exactly once. */
      secretsNotRegeneratedExactlyOnce: perSecret.filter((s) => s.regenerates !== 1).length,
      doubleRegenerates: perSecret.filter((s) => s.regenerates > 1).length,
      /** Versions per secret after the run: 2 (the initial one and this rotation's), else a loop stored more. */
      secretsWithExtraVersions: perSecret.filter((s) => s.versions !== 2).length,
      /** One token per rotation: Secrets Manager's retries reuse it (the driver never starts a second one). */
      tokensPerSecret: 1,
    },
  };
}

function timeline(records: readonly EdgeRecord[], finished: readonly number[]) {
  const start = records[0]?.atMs ?? 0;
  const buckets: Array<{
    fromS: number;
    admitted: number;
    limited: number;
    unavailable: number;
    done: number;
  }> = [];
  for (const r of records) {
    const i = Math.floor((r.atMs - start) / 10_000);
    while (buckets.length <= i) {
      buckets.push({ fromS: buckets.length * 10, admitted: 0, limited: 0, unavailable: 0, done: 0 });
    }
    const b = buckets[i]!;
    if (r.outcome === 'admitted') b.admitted++;
    else if (r.outcome === 'limited') b.limited++;
    else b.unavailable++;
  }
  for (const b of buckets) b.done = finished.filter((ms) => ms < (b.fromS + 10) * 1000).length;
  return buckets;
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const loadAtStart = loadavg().map((l) => round(l));
  const world = await startLocalWorld({ previousSecretTtl: '7d' });
  // Powertools' EMF metrics go to stdout: silenced while containers run (the bench prints its own table).
  const write = process.stdout.write.bind(process.stdout);
  const runs = [];
  let perRotation = 0;
  try {
    const run: Run = {
      world,
      serviceClient: new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      edge: new PingOneEdge(settings.requestsPerSecond, settings.errorRate, settings.seed),
    };
    const environmentId = world.createEnvironment('NA');
    const make = (prefix: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          world.createRotatableSecret({ name: `pingone/${prefix}-${i}`, region: 'NA', environmentId }),
        ),
      );
    process.stdout.write = (() => true) as typeof process.stdout.write;
    perRotation = await requestsPerRotation(run, (await make('calibration', 1))[0]!);
    for (const [index, spec] of settings.runs.entries()) {
      const secrets = await make(`burst-${index}-${spec.limit ?? 'unreserved'}`, settings.secrets);
      // Each burst starts on a fresh rate-limit second and after the previous one's retries are gone.
      await new Promise((r) => setTimeout(r, 2_000));
      runs.push(await burst(run, secrets, spec, perRotation));
    }
  } finally {
    process.stdout.write = write;
    await world.stop();
  }

  const results = {
    timestamp: new Date().toISOString(),
    atSpec,
    settings,
    machine: {
      node: process.version,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((l) => round(l)),
    },
    requestsPerRotation: perRotation,
    runs,
  };
  mkdirSync(dirname(LATEST), { recursive: true });
  writeFileSync(LATEST, `${JSON.stringify(results, null, 2)}\n`);
  if (process.env.BENCH_SAVE === '1') {
    if (!atSpec)
      throw new Error(`BENCH_SAVE=1: settings differ from the issue's ${JSON.stringify(SPEC)}; not saving`);
    writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  }
  const out = (line = '') => process.stdout.write(`${line}\n`);
  out(
    `Rotation burst: ${settings.secrets} secrets due at once, PingOne ${settings.requestsPerSecond} requests/s, ` +
      `${settings.errorRate * 100} % answered 503; ${perRotation} PingOne requests per rotation (cold container); ` +
      `load ${loadAtStart[0]} at start`,
  );
  for (const r of runs) {
    out();
    out(`concurrency ${r.concurrency}:`);
    out(
      `  converged ${r.converged}/${r.secrets} in ${(r.convergedMs / 1000).toFixed(1)} s; bound ${(r.boundMs / 1000).toFixed(1)} s; ` +
        `ratio ${r.ratioToBound} (goal <= ${GOAL_RATIO}: ${r.meetsGoal ? 'met' : 'NOT met'})`,
    );
    out(
      `  first-attempt success ${(r.firstAttemptSuccessRate * 100).toFixed(0)} %; Secrets Manager attempts ` +
        `${r.secretsManagerAttempts.total} (max ${r.secretsManagerAttempts.max} for one secret)`,
    );
    out(
      `  PingOne: ${r.pingone.requests} requests, ${r.pingone.admitted} admitted, ${r.pingone.limited429} x 429, ` +
        `${r.pingone.unavailable503} x 503; ${r.pingone.admittedPerSecond} admitted/s`,
    );
    out(
      `  Lambda: ${r.lambda.invocations} invocations, ${r.lambda.throttles} throttled, ${r.lambda.containersStarted} containers, ` +
        `peak ${r.lambda.peakConcurrent} at once`,
    );
    out(
      `  safety: ${r.safety.doubleRegenerates} double regenerates, ${r.safety.secretsNotRegeneratedExactlyOnce} not regenerated exactly once, ` +
        `${r.safety.secretsWithExtraVersions} with extra versions`,
    );
    out(
      `  per 10 s (admitted/429/503, rotations done): ${r.timeline.map((b) => `${b.admitted}/${b.limited}/${b.unavailable},${b.done}`).join('  ')}`,
    );
    for (const [gist, n] of Object.entries(r.stepFailures).slice(0, 8)) out(`  step failed ${n}x: ${gist}`);
    for (const f of r.failed.slice(0, 5)) out(`  FAILED ${f}`);
  }
  out();
  out(`Wrote ${LATEST}${process.env.BENCH_SAVE === '1' ? ` and ${RESULTS}` : ''}`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error: Error) => {
  process.stderr.write(`\nburst bench failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
