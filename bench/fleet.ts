/**
 * `npm run bench:fleet`: the fleet auditor's reach, measured on a simulated clock (sim/kernel.ts) through the
 * real handlers (lib/audit/handler.ts, lib/audit/distributed-handler.ts) against the simulation's in-memory
 * Secrets Manager, DynamoDB, SSM and PingOne (sim/fakes: AWS calls take 4-50 ms, PingOne 10-140 ms, simulated).
 * Nothing here is a test; it prints a table, writes .bench/fleet-latest.json (git-ignored), and with
 * BENCH_SAVE=1 at full size the committed bench/fleet-results.json.
 *
 * 1. Single engine, throughput against its PingOne budget: one 900 s invocation over a fleet larger than one
 *    run can judge, at AUDIT_PINGONE_REQUESTS_PER_SECOND = R. The bound is R / g secrets a second, g the
 *    PingOne GETs a secret needs (measured: requests to PingOne other than the token, per judged secret);
 *    the ratio is judged secrets / (bound × 900 s). Goal ≥ 0.9.
 * 2. Distributed engine, a sweep of BENCH_FLEET_SECRETS (default 100,000) secrets over 3 licences: the lister,
 *    the workers (one Lambda container per Map slot, MaxConcurrency of them, each warm across its batches) and
 *    the finish, exactly as the state machine calls them; the Map's scheduling is this driver's. Two sweeps,
 *    the second started on the schedule the docs' coverage formula gives (whole hours), so each secret has two
 *    audits: the largest gap between them is the largest audit age; a secret without both is starved. Also:
 *    each licence's busiest second at PingOne against its budget (R per licence).
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import type { Context } from 'aws-lambda';
import type { BatchResult, SweepOutcome, SweepPlan } from '../lib/audit/distributed.js';
import { createAuditListHandler, createAuditWorkerHandler } from '../lib/audit/distributed-handler.js';
import { createAuditHandler } from '../lib/audit/handler.js';
import { memorySweepLeaseStore } from '../lib/audit/sweep-lease.js';
import type { Transport } from '../lib/pingone/transport.js';
import { FaultPlan, Proc, type SimEnv } from '../sim/env.js';
import { DynamoDbState } from '../sim/fakes/dynamodb.js';
import { API_TEMPLATE, AUTH_TEMPLATE, PingOneWorld } from '../sim/fakes/pingone.js';
import { SecretsManagerState } from '../sim/fakes/secrets-manager.js';
import { SsmState } from '../sim/fakes/ssm.js';
import { Prng, Scheduler, withSimulatedTimeouts } from '../sim/kernel.js';

// The handlers' Logger reads its level from the process (their log lines are not measured here).
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';

const START = Date.UTC(2026, 0, 5);
const WORKER_PARAMETER = '/pingone/rotation-worker';
const LEDGER_TABLE = 'bench-rotation-ledger';
const ROTATION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-secret-rotation-bench-rotate';
const RESULTS = resolve('bench/fleet-results.json');
const LATEST = resolve('.bench/fleet-latest.json');
const SPEC_FLEET = 100_000;

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

const fleetSecrets = envInt('BENCH_FLEET_SECRETS', SPEC_FLEET);
const licences = envInt('BENCH_FLEET_LICENCES', 3);
const rate = envInt('BENCH_FLEET_RATE', 10);
const maxConcurrency = envInt('BENCH_FLEET_CONCURRENCY', 30);
const singleSecrets = envInt('BENCH_SINGLE_SECRETS', 6_000);

class BenchEnv implements SimEnv {
  readonly sabotage = undefined;
  readonly scheduler = new Scheduler(START);
  readonly prng = new Prng(18);
  readonly faults = new FaultPlan([], 0);
  trace(): void {}
  sensitive(): void {}
}

interface World {
  readonly env: BenchEnv;
  readonly sm: SecretsManagerState;
  readonly ddb: DynamoDbState;
  readonly ssm: SsmState;
  readonly pingone: PingOneWorld;
  /** environment id → licence */
  readonly organizations: Map<string, string>;
  readonly functionEnv: Record<string, string>;
}

function world(secrets: number, licenceCount: number): World {
  const env = new BenchEnv();
  const sm = new SecretsManagerState(env);
  const ddb = new DynamoDbState(env);
  const ssm = new SsmState(env);
  const pingone = new PingOneWorld(env);
  const organizations = new Map<string, string>();
  const workerEnv = pingone.store.createEnvironment({ id: env.prng.uuid(), region: 'EU' });
  const worker = pingone.store.createWorker(workerEnv.id, {
    clientId: env.prng.uuid(),
    clientSecret: env.prng.text(64),
  });
  ssm.parameters.set(
    WORKER_PARAMETER,
    JSON.stringify({
      environmentId: workerEnv.id,
      clientId: worker.clientId,
      clientSecret: worker.clientSecret,
      region: 'EU',
    }),
  );
  organizations.set(workerEnv.id, 'licence-0');
  // Five environments per licence; secrets dealt round-robin, so every batch mixes the licences.
  const environments: string[] = [];
  for (let l = 0; l < licenceCount; l++) {
    for (let e = 0; e < 5; e++) {
      const id = pingone.store.createEnvironment({ id: env.prng.uuid(), region: 'EU' }).id;
      organizations.set(id, `licence-${l}`);
      environments.push(id);
    }
  }
  for (let i = 0; i < secrets; i++) {
    const environmentId = environments[i % environments.length] as string;
    const created = pingone.store.createResource(environmentId, { id: env.prng.uuid() });
    const secret = sm.create(
      `pingone/fleet/s-${String(i).padStart(6, '0')}`,
      JSON.stringify({
        environmentId,
        resourceId: created.resource.id,
        clientSecret: created.secret,
        region: 'EU',
      }),
    );
    secret.rotationEnabled = true;
    secret.rotationLambdaArn = ROTATION_ARN;
  }
  // The fake finds a secret by ARN with a scan (fine for the simulation's handful): indexed for 100,000.
  const byArn = new Map([...sm.secrets.values()].map((secret) => [secret.arn, secret]));
  sm.byArn = (arn: string) => byArn.get(arn);
  return {
    env,
    sm,
    ddb,
    ssm,
    pingone,
    organizations,
    functionEnv: {
      PINGONE_WORKER_PARAMETER: WORKER_PARAMETER,
      ROTATION_LEDGER_TABLE: LEDGER_TABLE,
      PINGONE_REGION: 'EU',
      PINGONE_API_URL: API_TEMPLATE,
      PINGONE_AUTH_URL: AUTH_TEMPLATE,
      PREVIOUS_SECRET_TTL: '7d',
      PREVIOUS_SECRET_IN_USE_WINDOW: '1h',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      AWS_REGION: 'us-east-1',
      AUDIT_SECRET_NAME_PREFIX: 'pingone/fleet/',
      AUDIT_ROTATION_FUNCTION_ARN: ROTATION_ARN,
      AUDIT_PINGONE_REQUESTS_PER_SECOND: String(rate),
      AUDIT_MAX_CONCURRENCY: String(maxConcurrency),
    },
  };
}

function context(scheduler: Scheduler, timeoutMs: number): Context {
  const started = scheduler.now();
  return {
    functionName: 'bench',
    awsRequestId: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - scheduler.now()),
  } as unknown as Context;
}

/** PingOne requests by licence and by simulated second, and GETs other than the token. */
function countingTransport(
  inner: Transport,
  w: World,
  counts: { gets: number; tokens: number; perSecond: Map<string, number> },
) {
  const licenceOf = (url: string) => {
    const environment = (/\/environments\/([^/?#]+)/.exec(url) ?? /\/([^/?#]+)\/as\/token/.exec(url))?.[1];
    return (environment && w.organizations.get(environment)) || 'licence-0';
  };
  const transport: Transport = (request) => {
    if (request.url.includes('/as/token')) counts.tokens += 1;
    else counts.gets += 1;
    const key = `${licenceOf(request.url)}@${Math.floor(w.env.scheduler.now() / 1000)}`;
    counts.perSecond.set(key, (counts.perSecond.get(key) ?? 0) + 1);
    return inner(request);
  };
  return transport;
}

/** Runs `body` on the world's simulated clock, with the handlers' stdout (logs, EMF) discarded. */
async function simulate<T>(w: World, body: () => Promise<T>): Promise<T> {
  const write = process.stdout.write;
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    return await withSimulatedTimeouts(w.env.scheduler, async () => {
      let result: { value: T } | { error: unknown } | undefined;
      body().then(
        (value) => {
          result = { value };
        },
        (error: unknown) => {
          result = { error };
        },
      );
      await w.env.scheduler.run(START + 30 * 86_400_000, () => (result ? 'done' : undefined));
      if (!result) throw new Error('the simulation ran out of events before the run finished');
      if ('error' in result) throw result.error;
      return result.value;
    });
  } finally {
    process.stdout.write = write;
  }
}

async function singleThroughput() {
  const w = world(singleSecrets, 1);
  const proc = new Proc('auditor');
  const counts = { gets: 0, tokens: 0, perSecond: new Map<string, number>() };
  const handler = createAuditHandler({
    env: w.functionEnv,
    secretsManager: w.sm.client(proc),
    ssm: w.ssm.client(proc),
    dynamodb: w.ddb.client(proc),
    transport: countingTransport(w.pingone.transport(proc), w, counts),
    now: w.env.scheduler.now,
    sleep: w.env.scheduler.sleep,
  });
  const started = w.env.scheduler.now();
  const summary = await simulate(w, () => handler({}, context(w.env.scheduler, 900_000)));
  const seconds = (w.env.scheduler.now() - started) / 1000;
  const getsPerSecret = counts.gets / summary.audited;
  const boundPerRun = (900 * rate) / getsPerSecret;
  return {
    fleet: singleSecrets,
    requestsPerSecond: rate,
    judged: summary.audited,
    notAudited: summary.notAudited,
    simulatedSeconds: Math.round(seconds),
    pingOneGets: counts.gets,
    getsPerSecret: Number(getsPerSecret.toFixed(3)),
    boundPerRun: Math.round(boundPerRun),
    ratioToBound: Number((summary.audited / boundPerRun).toFixed(3)),
    busiestSecond: Math.max(...counts.perSecond.values()),
  };
}

async function distributedSweeps() {
  const w = world(fleetSecrets, licences);
  const { scheduler } = w.env;
  const counts = { gets: 0, tokens: 0, perSecond: new Map<string, number>() };
  const judgedAt = new Map<string, number[]>();
  const listProc = new Proc('lister');
  const list = createAuditListHandler({
    env: w.functionEnv,
    secretsManager: w.sm.client(listProc),
    dynamodb: w.ddb.client(listProc),
    now: scheduler.now,
    sleep: scheduler.sleep,
    // The sweeps here run one after another: the lease (lib/audit/sweep-lease.ts) in memory.
    sweeps: memorySweepLeaseStore(),
  });
  // One warm container per Map slot.
  const containers = Array.from({ length: maxConcurrency }, (_, i) => {
    const proc = new Proc(`worker-${i}`);
    const sm = w.sm.client(proc);
    const send = sm.send.bind(sm);
    // When each secret is judged: its first read of a sweep.
    (sm as { send: unknown }).send = (
      command: { constructor: { name: string }; input: { SecretId?: string } },
      ...rest: unknown[]
    ) => {
      if (command.constructor.name === 'DescribeSecretCommand' && command.input.SecretId) {
        const times = judgedAt.get(command.input.SecretId) ?? [];
        times.push(scheduler.now());
        judgedAt.set(command.input.SecretId, times);
      }
      return (send as (...args: unknown[]) => unknown)(command, ...rest);
    };
    return createAuditWorkerHandler({
      env: w.functionEnv,
      secretsManager: sm,
      ssm: w.ssm.client(proc),
      dynamodb: w.ddb.client(proc),
      transport: countingTransport(w.pingone.transport(proc), w, counts),
      organizations: w.organizations,
      now: scheduler.now,
      sleep: scheduler.sleep,
    });
  });
  const sweep = async () => {
    const started = scheduler.now();
    const plan = (await list(
      {
        action: 'list',
        execution: `arn:aws:states:us-east-1:123456789012:execution:bench-audit:${started}`,
        startedAt: new Date(started).toISOString(),
        timeoutSeconds: 86_400,
      },
      context(scheduler, 900_000),
    )) as SweepPlan;
    const queue = [...plan.batches];
    const results: BatchResult[] = [];
    await Promise.all(
      containers.map(async (worker) => {
        for (let batch = queue.shift(); batch !== undefined; batch = queue.shift()) {
          results.push(await worker({ batch, sweepId: plan.sweepId }, context(scheduler, 900_000)));
        }
      }),
    );
    const outcome = (await list(
      { action: 'finish', plan, results },
      context(scheduler, 900_000),
    )) as SweepOutcome;
    return { started, ended: scheduler.now(), outcome };
  };
  const { first, second, interval } = await simulate(w, async () => {
    const first = await sweep();
    // The next scheduled sweep: the schedule a deployer would set from the coverage formula (whole hours).
    const interval = Math.ceil((first.ended - first.started) / 3_600_000) * 3_600_000;
    await scheduler.sleep(first.started + interval - scheduler.now());
    const second = await sweep();
    return { first, second, interval };
  });
  const gaps = [...judgedAt.values()]
    .filter((t) => t.length >= 2)
    .map((t) => (t[1] as number) - (t[0] as number));
  const starved = fleetSecrets - gaps.length;
  const sweepSeconds = (first.ended - first.started) / 1000;
  const gets = counts.gets / 2;
  const boundSeconds = gets / (rate * licences);
  const busiest = new Map<string, number>();
  for (const [key, n] of counts.perSecond) {
    const licence = key.split('@')[0] as string;
    busiest.set(licence, Math.max(busiest.get(licence) ?? 0, n));
  }
  return {
    fleet: fleetSecrets,
    licences,
    requestsPerSecondPerLicence: rate,
    maxConcurrency,
    batches: first.outcome.count / 100,
    sweepSeconds: Math.round(sweepSeconds),
    secondSweepSeconds: Math.round((second.ended - second.started) / 1000),
    pingOneGetsPerSweep: gets,
    boundSeconds: Math.round(boundSeconds),
    timeToBound: Number((sweepSeconds / boundSeconds).toFixed(3)),
    scheduleIntervalSeconds: interval / 1000,
    largestAuditAgeSeconds: Math.round(Math.max(...gaps) / 1000),
    starved,
    judgedPerSweep: [first.outcome.judged, second.outcome.judged],
    complete: [first.outcome.complete, second.outcome.complete],
    oldestAuditAgeMetricSeconds: Math.round(second.outcome.oldestAuditAgeMs / 1000),
    busiestSecondPerLicence: Object.fromEntries([...busiest].sort()),
    tokens: counts.tokens,
  };
}

const startedAt = Date.now();
const single = await singleThroughput();
const distributed = await distributedSweeps();
const results = {
  measuredAt: new Date().toISOString(),
  machine: { cpus: cpus().length, loadAverage: loadavg().map((n) => Number(n.toFixed(2))) },
  realSeconds: Math.round((Date.now() - startedAt) / 1000),
  single,
  distributed,
};
console.table([single]);
console.table([
  { ...distributed, busiestSecondPerLicence: JSON.stringify(distributed.busiestSecondPerLicence) },
]);
const text = `${JSON.stringify(results, null, 2)}\n`;
if (!existsSync(dirname(LATEST))) mkdirSync(dirname(LATEST), { recursive: true });
writeFileSync(LATEST, text);
if (process.env.BENCH_SAVE === '1') {
  if (fleetSecrets < SPEC_FLEET) throw new Error(`BENCH_SAVE=1 needs the full ${SPEC_FLEET} secrets`);
  writeFileSync(RESULTS, text);
  console.log(`wrote ${RESULTS}`);
}
