/**
 * `npm run bench` (last part; alone: `npm run bench:audit`, after `npm run build`): one run of the fleet
 * auditor's built bundle (dist/audit/index.mjs) over 1,000 secrets in a function host process, against moto
 * and the PingOne simulator with a rate limit, as a Lambda invocation with the deployed 900 s timeout. Prints
 * a table and writes the latest run to the git-ignored .bench/audit-latest.json (BENCH_SAVE=1, at the full
 * 1,000 secrets, also writes the committed bench/audit-results.json). Run it under the suite lock: `flock /tmp/suite.lock npm run bench`.
 *
 * Two runs over the same fleet:
 * - as deployed: the auditor's defaults (8 at a time, 10 PingOne requests/s) against a PingOne limit of
 *   BENCH_AUDIT_PINGONE_LIMIT requests/s (default 100, the per-IP figure Ping documents);
 * - over the limit: the auditor allowed 40 requests/s against a limit of 20/s, so PingOne answers 429 and the
 *   auditor must honour Retry-After (the 429 count is reported).
 *
 * BENCH_AUDIT_SECRETS (default 1000) lowers the fleet for a quick look; below 1,000 BENCH_SAVE=1 refuses to
 * write the committed figures.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, resolve } from 'node:path';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { type LocalWorld, startLocalWorld } from '../local/world.js';
import { startFunctionHost } from './host.js';

const BUNDLE = resolve('dist/audit/index.mjs');
const RESULTS = resolve('bench/audit-results.json');
const LATEST = resolve('.bench/audit-latest.json');
const TIMEOUT_MS = 900_000;
const SPEC_SECRETS = 1_000;

const secrets = envInt('BENCH_AUDIT_SECRETS', SPEC_SECRETS);
const pingOneLimit = envInt('BENCH_AUDIT_PINGONE_LIMIT', 100);

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer`);
  return value;
}

interface RunResult {
  readonly name: string;
  readonly auditorRequestsPerSecond: number;
  readonly pingOneLimitPerSecond: number;
  readonly ok: boolean;
  readonly error?: string;
  readonly wallMs: number;
  readonly pingOneRequests: number;
  readonly pingOne429: number;
  readonly secretsPerSecond: number;
  readonly fitsTimeout: boolean;
  readonly hostMaxRssBytes: number;
}

async function seed(world: LocalWorld, count: number): Promise<void> {
  // One environment per 100 secrets; each secret with an AWSPREVIOUS, as after a rotation.
  let environmentId = '';
  for (let i = 0; i < count; i++) {
    if (i % 100 === 0) environmentId = world.createEnvironment('EU');
    const resource = world.sim.createResource(environmentId, { name: `bench-${i}` });
    const value = JSON.stringify({
      environmentId,
      resourceId: resource.id,
      clientSecret: resource.secret,
      region: 'EU',
    });
    const name = `pingone/fleet/s-${String(i).padStart(4, '0')}`;
    await world.secretsManager.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    await world.secretsManager.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
    if ((i + 1) % 100 === 0) process.stderr.write(`\rseeded ${i + 1}/${count} secrets`);
  }
  process.stderr.write('\n');
}

async function auditOnce(
  world: LocalWorld,
  name: string,
  auditorRequestsPerSecond: number,
  limit: number,
): Promise<RunResult> {
  world.sim.limitRate({ requestsPerSecond: limit });
  world.sim.clearRequests();
  const host = await startFunctionHost({
    bundle: BUNDLE,
    env: {
      ...world.awsEnv,
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: 'pingone/fleet/',
      AUDIT_PINGONE_REQUESTS_PER_SECOND: String(auditorRequestsPerSecond),
      POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation-audit',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
      POWERTOOLS_LOG_LEVEL: 'WARN',
    },
    memoryLimitInMB: '256',
  });
  try {
    const started = process.hrtime.bigint();
    const context = {
      functionName: 'pingone-secret-rotation-bench-audit',
      invokedFunctionArn:
        'arn:aws:lambda:us-east-1:000000000000:function:pingone-secret-rotation-bench-audit',
      memoryLimitInMB: '256',
      awsRequestId: 'bench-audit',
      getRemainingTimeInMillis: () => TIMEOUT_MS,
    } as unknown as Context;
    const outcome = await host.invoke({} as never, context).then(
      (summary) => ({ ok: true as const, notAudited: (summary as { notAudited?: number })?.notAudited ?? 0 }),
      (error: Error) => ({ ok: false as const, error: error.message, notAudited: 0 }),
    );
    const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
    const memory = await host.memory();
    return {
      name,
      auditorRequestsPerSecond,
      pingOneLimitPerSecond: limit,
      ...outcome,
      wallMs: Math.round(wallMs),
      pingOneRequests: world.sim.requests.length,
      pingOne429: world.sim.count({ status: 429 }),
      secretsPerSecond: Math.round((secrets / (wallMs / 1000)) * 10) / 10,
      // A run cut by its deadline no longer fails (the next continues from the cursor): count what it left.
      fitsTimeout: outcome.ok && outcome.notAudited === 0 && wallMs < TIMEOUT_MS,
      hostMaxRssBytes: memory.maxRss,
    };
  } finally {
    await host.stop();
    world.sim.limitRate(undefined);
  }
}

if (!existsSync(BUNDLE))
  throw new Error(`${BUNDLE} is missing: run \`npm run build\` first (npm run bench does)`);
const world = await startLocalWorld({ previousSecretTtl: '7d' });
try {
  const seedStarted = Date.now();
  await seed(world, secrets);
  const seedMs = Date.now() - seedStarted;
  const runs = [
    await auditOnce(world, 'as deployed (10 req/s)', 10, pingOneLimit),
    await auditOnce(world, 'over the limit (40 req/s vs 20/s)', 40, 20),
  ];
  const table = [
    [
      'run',
      'ok',
      'wall time',
      'secrets/s',
      'PingOne requests',
      '429s',
      `fits ${TIMEOUT_MS / 1000} s`,
      'host max RSS',
    ],
    ...runs.map((r) => [
      r.name,
      r.ok ? 'yes' : `NO (${r.error})`,
      `${(r.wallMs / 1000).toFixed(1)} s`,
      String(r.secretsPerSecond),
      String(r.pingOneRequests),
      String(r.pingOne429),
      r.fitsTimeout ? 'PASS' : 'MISS',
      `${(r.hostMaxRssBytes / 1024 / 1024).toFixed(1)} MiB`,
    ]),
  ];
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => (row[c] ?? '').length)));
  for (const row of table)
    console.log(
      row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    );
  const results = {
    measuredAt: new Date().toISOString(),
    machine: {
      cpus: cpus().length,
      loadavg: loadavg().map((l) => Math.round(l * 100) / 100),
      node: process.version,
    },
    secrets,
    seedMs,
    functionTimeoutMs: TIMEOUT_MS,
    runs,
    belowSpec: secrets < SPEC_SECRETS,
  };
  const text = `${JSON.stringify(results, null, 2)}\n`;
  mkdirSync(dirname(LATEST), { recursive: true });
  writeFileSync(LATEST, text);
  console.log(`wrote ${LATEST}`);
  if (process.env.BENCH_SAVE === '1') {
    if (secrets < SPEC_SECRETS) throw new Error(`BENCH_SAVE=1: below ${SPEC_SECRETS} secrets; not saving`);
    writeFileSync(RESULTS, text);
    console.log(`wrote ${RESULTS}`);
  }
  if (runs.some((r) => !r.ok)) process.exitCode = 1;
} finally {
  await world.stop();
}
