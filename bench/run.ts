/**
 * `npm run bench` (after `npm run build` and `npm run package`): measures the built function and writes the
 * run to .bench/latest.json (gitignored); with BENCH_SAVE=1 also to bench/results.json, the figures the README
 * quotes (committed on purpose, not on every run). What each figure includes: bench/README.md.
 *
 *   node --import tsx bench/run.ts
 *
 * Sample sizes can be lowered for a quick look (BENCH_COLD_ROUNDS, BENCH_ROTATIONS, BENCH_RSS_ROTATIONS,
 * BENCH_SECRETS, BENCH_LAMBDA128_ROTATIONS, BENCH_LAMBDA_COLD_ROUNDS, BENCH_LAMBDA_RSS_ROTATIONS; BENCH_LAMBDA=0
 * skips the aws-lambda-ric part); below the issue's minimums the results are flagged `belowSpec` and
 * BENCH_SAVE=1 refuses to write them to bench/results.json. BENCH_BASELINE_ZIP (+ BENCH_BASELINE_LABEL) adds an
 * earlier build's zip to the aws-lambda-ric runs, side by side.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, relative, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { LOCAL_ROTATION_LAMBDA_ARN, LocalRotationDriver, type RotationReport } from '../local/driver.js';
import { findLambdaToolchain } from '../local/lambda-runtime/toolchain.js';
import { LOCAL_AWS, type LocalWorld, type RotatableSecret, startLocalWorld } from '../local/world.js';
import { readZipEntries } from '../local/zip.js';
import { readBundlePackages } from './bundle-packages.js';
import {
  type ColdInitResult,
  findPython,
  lambdaRuntimeFlags,
  measureColdInit,
  type PythonInfo,
} from './cold-init.js';
import { type CountingProxy, startCountingProxy } from './counting-proxy.js';
import { type FunctionHost, type MemorySample, startFunctionHost } from './host.js';
import {
  EMPTY_HANDLER,
  type LambdaColdResult,
  type LambdaMemoryRun,
  measureLambdaCold,
  measureLambdaMemory,
} from './lambda.js';
import { round, summarize } from './stats.js';

const BUNDLE = resolve('dist/rotate/index.mjs');
const ZIP = resolve('.serverless/pingone-secret-rotation.zip');
/** Every run: the latest figures, gitignored. */
const LATEST = resolve('.bench/latest.json');
/** The figures the README quotes: written only with BENCH_SAVE=1, and committed on purpose. */
const RESULTS = resolve('bench/results.json');

const SPEC = { coldRounds: 20, rotations: 200, rssRotations: 1_000, lambdaRssRotations: 1_000 } as const;
const TARGETS = {
  bundleBytes: 500_000,
  initRatio: 1 / 8,
  rotationMedianMs: 150,
  rssBytes: 100 * 1024 * 1024,
  tokenTtlSeconds: 3_600,
  /** Cold first invocation under aws-lambda-ric: Python's at least this many times Node's. */
  lambdaFirstInvocationSpeedup: 4,
  firstCreateSecretMs: 60,
} as const;

const settings = {
  coldRounds: envInt('BENCH_COLD_ROUNDS', 20),
  rotations: envInt('BENCH_ROTATIONS', 200),
  rssRotations: envInt('BENCH_RSS_ROTATIONS', 1_000),
  secrets: envInt('BENCH_SECRETS', 20),
  /** The side run with Lambda's 128 MB heap limits (0: none). */
  lambda128Rotations: envInt('BENCH_LAMBDA128_ROTATIONS', 300, 0),
  /** The aws-lambda-ric part (Node 24, launcher flags); 0 skips it. */
  lambda: envInt('BENCH_LAMBDA', 1, 0) > 0,
  lambdaColdRounds: envInt('BENCH_LAMBDA_COLD_ROUNDS', 20),
  lambdaRssRotations: envInt('BENCH_LAMBDA_RSS_ROTATIONS', 1_000),
};
const belowSpec =
  settings.coldRounds < SPEC.coldRounds ||
  settings.rotations < SPEC.rotations ||
  settings.rssRotations < SPEC.rssRotations ||
  (settings.lambda &&
    (settings.lambdaColdRounds < SPEC.coldRounds || settings.lambdaRssRotations < SPEC.lambdaRssRotations));

function envInt(name: string, fallback: number, min = 1): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new Error(`${name} must be an integer >= ${min}`);
  return value;
}

const isTty = process.stderr.isTTY;
function progress(line: string, done = false): void {
  if (isTty) process.stderr.write(`\r\x1b[2K${line}${done ? '\n' : ''}`);
  else if (done) process.stderr.write(`${line}\n`);
}

// ---------------------------------------------------------------------------------------------- sizes

function measureSizes() {
  for (const [file, how] of [
    [BUNDLE, 'npm run build'],
    [ZIP, 'npm run package'],
  ] as const) {
    if (!existsSync(file)) throw new Error(`${file} is missing: run \`${how}\` first (npm run bench does)`);
  }
  const bundle = readFileSync(BUNDLE);
  const zip = readFileSync(ZIP);
  const map = `${BUNDLE}.map`;
  const metafile = resolve(dirname(BUNDLE), 'meta.json');
  if (!existsSync(metafile))
    throw new Error(`${metafile} is missing: run \`npm run build\` first (npm run bench does)`);
  return {
    bundle: 'dist/rotate/index.mjs',
    rawBytes: bundle.length,
    gzipBytes: gzipSync(bundle, { level: 9 }).length,
    sourceMapBytes: existsSync(map) ? statSync(map).size : undefined,
    zip: '.serverless/pingone-secret-rotation.zip',
    zipBytes: zip.length,
    zipEntries: readZipEntries(zip).map(({ name, bytes, compressedBytes }) => ({
      name,
      bytes,
      compressedBytes,
    })),
    // From esbuild's metafile: each package's bytes in the bundle and the version(s) bundled.
    packages: readBundlePackages(metafile).map((pkg) => ({
      ...pkg,
      versions: pkg.paths.map((path) => {
        const manifest = resolve(path, 'package.json');
        return existsSync(manifest)
          ? (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
          : '?';
      }),
    })),
  };
}

function packagesTable(packages: ReturnType<typeof measureSizes>['packages']): string {
  const rows: Row[] = packages.map((pkg) => [
    pkg.name,
    pkg.versions.join(', ') || '(this project)',
    kB(pkg.bytes),
    String(pkg.files),
    pkg.paths.length > 1 ? `DUPLICATE: ${pkg.paths.join(' + ')}` : '',
  ]);
  return renderTable(
    ['Package in the deployed bundle (dist/rotate/meta.json)', 'Version', 'Bytes in bundle', 'Files', ''],
    rows,
  );
}

// ------------------------------------------------------------------------------------ deployment facts

/** What serverless.yml gives the function: NODE_OPTIONS (it changes init and memory) and memorySize. */
function deploymentSettings(): Deployment {
  const yml = readFileSync(resolve('serverless.yml'), 'utf8');
  const nodeOptions = /^\s*NODE_OPTIONS:\s*["']?([^"'\n#]*?)["']?\s*(?:#.*)?$/m.exec(yml)?.[1]?.trim() ?? '';
  const memorySize = /^\s*memorySize:\s*(\d+)/m.exec(yml)?.[1] ?? '128';
  return { nodeOptions, memorySize };
}

function git(args: string[]): string {
  const out = spawnSync('git', args, { encoding: 'utf8' });
  return out.status === 0 ? out.stdout.trim() : '';
}

// ------------------------------------------------------------------------------------------ rotations

interface Bench {
  readonly world: LocalWorld;
  /** In front of moto for the calls Secrets Manager's rotation service makes (the driver). */
  readonly serviceProxy: CountingProxy;
  readonly serviceClient: SecretsManagerClient;
  /** Rotated by the timed run and the headline memory run. */
  readonly secrets: readonly RotatableSecret[];
  /** Rotated by the Lambda-limits memory run, which runs alongside the headline one. */
  readonly secretsB: readonly RotatableSecret[];
  /** A second worker (own environment, own SSM parameter), so each memory run's tokens can be told apart. */
  readonly workerB: { readonly parameter: string; readonly environmentId: string };
  readonly deployment: Deployment;
}

interface Deployment {
  readonly nodeOptions: string;
  readonly memorySize: string;
}

interface HostSetup {
  readonly proxy: CountingProxy;
  readonly execArgv?: readonly string[];
  readonly workerParameter?: string;
  readonly memoryMb?: string;
}

interface TimedRotation {
  readonly ms: number;
  readonly report: RotationReport;
}

async function startHost(bench: Bench, setup: HostSetup): Promise<FunctionHost> {
  const memoryMb = setup.memoryMb ?? bench.deployment.memorySize;
  return startFunctionHost({
    bundle: BUNDLE,
    env: {
      ...bench.world.awsEnv,
      AWS_ENDPOINT_URL: setup.proxy.url,
      ...bench.world.functionEnv,
      // The second worker alone: the world's PINGONE_WORKERS would otherwise be set too (a configuration error).
      ...(setup.workerParameter
        ? { PINGONE_WORKERS: '', PINGONE_WORKER_PARAMETER: setup.workerParameter }
        : {}),
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: memoryMb,
    },
    nodeOptions: bench.deployment.nodeOptions,
    execArgv: setup.execArgv ?? [],
    memoryLimitInMB: memoryMb,
  });
}

function driverFor(bench: Bench, host: FunctionHost): LocalRotationDriver {
  return new LocalRotationDriver({
    secretsManager: bench.serviceClient,
    invoke: host.invoke,
    rotationLambdaArn: LOCAL_ROTATION_LAMBDA_ARN,
    functionTimeoutMs: 90_000,
    // A failed rotation is a bench failure, not something to retry past.
    maxAttempts: 1,
  });
}

async function timedRotation(
  driver: LocalRotationDriver,
  host: FunctionHost,
  secret: RotatableSecret,
): Promise<TimedRotation> {
  const started = process.hrtime.bigint();
  const report = await driver.rotate(secret.arn);
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (!report.ok) {
    throw new Error(
      `rotation of ${secret.name} failed: ${report.error}\n${host.stderrTail().trim().split('\n').slice(-5).join('\n')}`,
    );
  }
  return { ms, report };
}

interface CallCounts {
  readonly secretsManager: Record<string, number>;
  readonly ssm: Record<string, number>;
  /** The rotation ledger's table. */
  readonly dynamodb: Record<string, number>;
  readonly pingone: Record<string, number>;
  /** Calls Secrets Manager's rotation service makes around the function (RotateSecret and the like). */
  readonly rotationService: Record<string, number>;
}

function byService(counts: Record<string, number>, service: string): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts)
      .filter(([op]) => op.startsWith(`${service} `))
      .map(([op, n]) => [op.slice(service.length + 1), n]),
  );
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((s, n) => s + n, 0);

const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

/** Counts in `after` minus those in `before` (the proxies' counts only grow). */
function diffCounts(after: Record<string, number>, before: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(after)
      .map(([op, n]) => [op, n - (before[op] ?? 0)] as const)
      .filter(([, n]) => n > 0),
  );
}

/** What a proxy and the simulator's record held at one moment, to count one stretch of rotations. */
interface Mark {
  readonly fn: Record<string, number>;
  readonly service: Record<string, number>;
  readonly pingone: number;
}

function mark(bench: Bench, proxy: CountingProxy): Mark {
  return {
    fn: proxy.counts(),
    service: bench.serviceProxy.counts(),
    pingone: bench.world.sim.requests.length,
  };
}

/** The calls made since `since`: the function's AWS calls, PingOne's record, the rotation service's calls. */
function callsSince(bench: Bench, proxy: CountingProxy, since: Mark): CallCounts {
  const fn = diffCounts(proxy.counts(), since.fn);
  const unknown = Object.keys(fn).filter(
    (op) =>
      !op.startsWith('SecretsManager ') && !op.startsWith('SSM ') && !op.startsWith('DynamoDB_20120810 '),
  );
  if (unknown.length > 0) throw new Error(`unexpected calls from the function: ${unknown.join(', ')}`);
  const pingone = new Map<string, number>();
  for (const r of bench.world.sim.requests.slice(since.pingone)) {
    const key = `${r.method} ${r.route}`;
    pingone.set(key, (pingone.get(key) ?? 0) + 1);
  }
  return {
    secretsManager: byService(fn, 'SecretsManager'),
    ssm: byService(fn, 'SSM'),
    dynamodb: byService(fn, 'DynamoDB_20120810'),
    pingone: Object.fromEntries([...pingone].sort(([a], [b]) => a.localeCompare(b))),
    rotationService: byService(diffCounts(bench.serviceProxy.counts(), since.service), 'SecretsManager'),
  };
}

/** Memory of one host: sampled every 10 rotations; the peak is the kernel's maxRSS at the end. */
async function memoryReport(
  bench: Bench,
  host: FunctionHost,
  proxy: CountingProxy,
  run: {
    name: string;
    execArgv: readonly string[];
    workerEnvironmentId: string;
    rotations: number;
    elapsedMs: number;
    samples: ReadonlyArray<{ rotation: number } & MemorySample>;
  },
) {
  const last = run.samples[run.samples.length - 1] ?? { rotation: 0, ...(await host.memory()) };
  return {
    name: run.name,
    execArgv: run.execArgv,
    nodeOptions: bench.deployment.nodeOptions,
    rotations: run.rotations,
    elapsedMs: run.elapsedMs,
    peakRssBytes: last.maxRss,
    peakRssMiB: mib(last.maxRss),
    rssAfterImportMiB: mib(host.afterImport.rss),
    rssAtEndMiB: mib(last.rss),
    maxSampledRssMiB: mib(Math.max(host.afterImport.rss, ...run.samples.map((s) => s.rss))),
    heapTotalAtEndMiB: mib(last.heapTotal),
    heapUsedAtEndMiB: mib(last.heapUsed),
    workerTokens: bench.world.sim.count({ route: 'token', environmentId: run.workerEnvironmentId }),
    tokenLifetimes: Math.max(1, Math.ceil(run.elapsedMs / (TARGETS.tokenTtlSeconds * 1000))),
    ssmGetParameter: proxy.counts()['SSM GetParameter'] ?? 0,
    samples: [{ rotation: 0, ...host.afterImport }, ...run.samples].map((s) => ({
      rotation: s.rotation,
      rssMiB: mib(s.rss),
      heapTotalMiB: mib(s.heapTotal),
      heapUsedMiB: mib(s.heapUsed),
    })),
  };
}

type MemoryResult = Awaited<ReturnType<typeof memoryReport>>;

/**
 * The side run: a host with the heap limits Lambda's runtime gives a 128 MB function, rotating its own
 * secrets with its own worker, while the main run's untimed tail goes on (memory is per process, so running
 * them together changes neither memory figure). `stop()` ends it early if the main run fails.
 */
function startLambda128Run(bench: Bench, onProgress: (done: number) => void) {
  let stopped = false;
  const done = (async (): Promise<MemoryResult> => {
    const proxy = await startCountingProxy(bench.world.moto.url);
    const execArgv = lambdaRuntimeFlags(128);
    const host = await startHost(bench, {
      proxy,
      execArgv,
      workerParameter: bench.workerB.parameter,
      memoryMb: '128',
    });
    try {
      const driver = driverFor(bench, host);
      const started = Date.now();
      const samples: Array<{ rotation: number } & MemorySample> = [];
      for (let i = 0; i < settings.lambda128Rotations && !stopped; i++) {
        await timedRotation(driver, host, bench.secretsB[i % bench.secretsB.length]!);
        if ((i + 1) % 10 === 0 || i + 1 === settings.lambda128Rotations) {
          samples.push({ rotation: i + 1, ...(await host.memory()) });
          onProgress(i + 1);
        }
      }
      return await memoryReport(bench, host, proxy, {
        name: 'Lambda runtime flags for 128 MB',
        execArgv,
        workerEnvironmentId: bench.workerB.environmentId,
        rotations: settings.lambda128Rotations,
        elapsedMs: Date.now() - started,
        samples,
      });
    } finally {
      await host.stop();
      await proxy.stop();
    }
  })();
  done.catch(() => {}); // awaited by the caller; this only keeps an early failure from going unhandled
  return {
    done,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * The main run, one fresh function host as deployed (its NODE_OPTIONS, V8's default heap limits):
 * rotation 1 (cold container) and rotation 2 (warm) with their calls counted, then `rotations` timed warm
 * rotations, then untimed ones up to `rssRotations` in all, its memory sampled every 10 rotations (between
 * rotations, outside the timings). The Lambda-128 MB side run starts once the timed rotations are done.
 */
async function measure(bench: Bench) {
  const proxy = await startCountingProxy(bench.world.moto.url);
  const host = await startHost(bench, { proxy });
  let side: ReturnType<typeof startLambda128Run> | undefined;
  try {
    const driver = driverFor(bench, host);
    const secretAt = (i: number) => bench.secrets[i % bench.secrets.length]!;
    const timedFrom = 2;
    const timedTo = timedFrom + settings.rotations; // exclusive
    const rotationCount = Math.max(settings.rssRotations, timedTo);
    const motoBusy = () => proxy.busyMs() + bench.serviceProxy.busyMs();

    let firstMs = 0;
    let first: CallCounts | undefined;
    let warm: CallCounts | undefined;
    let loop: CallCounts | undefined;
    let loopMark: Mark | undefined;
    let cpuBefore = 0;
    let cpuAfter = 0;
    const times: number[] = [];
    const motoTimes: number[] = [];
    const steps = new Map<string, number[]>();
    const samples: Array<{ rotation: number } & MemorySample> = [];
    let sideDone = 0;
    const show = (done = false) =>
      progress(
        `rotations ${samples.at(-1)?.rotation ?? 0}/${rotationCount} (timed ${Math.min(times.length, settings.rotations)}/${settings.rotations})` +
          (side ? ` + Lambda 128 MB ${sideDone}/${settings.lambda128Rotations}` : ''),
        done,
      );

    const started = Date.now();
    for (let i = 0; i < rotationCount; i++) {
      if (i === timedFrom) {
        cpuBefore = (await host.memory()).cpuMs;
        loopMark = mark(bench, proxy);
      }
      const before = i < timedFrom ? mark(bench, proxy) : undefined;
      const motoBefore = motoBusy();
      const { ms, report } = await timedRotation(driver, host, secretAt(i));
      if (i === 0) {
        firstMs = ms;
        first = callsSince(bench, proxy, before!);
      } else if (i === 1) {
        warm = callsSince(bench, proxy, before!);
      } else if (i < timedTo) {
        times.push(ms);
        motoTimes.push(motoBusy() - motoBefore);
        for (const step of report.steps) {
          const list = steps.get(step.step) ?? [];
          list.push(step.ms);
          steps.set(step.step, list);
        }
      }
      if (i === timedTo - 1) {
        cpuAfter = (await host.memory()).cpuMs;
        loop = callsSince(bench, proxy, loopMark!);
        if (settings.lambda128Rotations > 0) {
          side = startLambda128Run(bench, (n) => {
            sideDone = n;
            show();
          });
        }
      }
      if ((i + 1) % 10 === 0 || i + 1 === rotationCount) {
        samples.push({ rotation: i + 1, ...(await host.memory()) });
        show();
      }
    }
    const elapsedMs = Date.now() - started;
    const memory = await memoryReport(bench, host, proxy, {
      name: 'as deployed (V8 default heap limits)',
      execArgv: [],
      workerEnvironmentId: bench.world.worker.environmentId,
      rotations: rotationCount,
      elapsedMs,
      samples,
    });
    const lambda128 = side ? await side.done : undefined;
    show(true);

    const perRotation = (counts: Record<string, number>) => round(total(counts) / settings.rotations, 3);
    const part = Math.max(1, Math.floor(times.length / 4));
    return {
      rotations: {
        includes:
          'driver.rotate(): DescribeSecret + RotateSecret (moto registers AWSPENDING), the four steps invoked ' +
          'in the function host over IPC, then DescribeSecret + UpdateSecretVersionStage (AWSPENDING removed); ' +
          'every AWS call through a counting proxy in front of moto',
        importMsInHost: round(host.importMs),
        firstRotationMs: round(firstMs),
        first: first!,
        warm: warm!,
        wall: summarize(times),
        /** Per rotation, the time moto took to answer (the function's and the rotation service's calls). */
        moto: summarize(motoTimes),
        functionCpuMsPerRotation: round((cpuAfter - cpuBefore) / settings.rotations),
        stepsMedianMs: Object.fromEntries(
          [...steps].map(([step, values]) => [step, summarize(values).median]),
        ),
        wallMedianFirstQuarterMs: summarize(times.slice(0, part)).median,
        wallMedianLastQuarterMs: summarize(times.slice(-part)).median,
        // Cross-check of the per-rotation counts over the whole timed loop.
        loopAveragePerRotation: {
          secretsManager: perRotation(loop!.secretsManager),
          ssm: perRotation(loop!.ssm),
          dynamodb: perRotation(loop!.dynamodb),
          pingone: perRotation(loop!.pingone),
          rotationService: perRotation(loop!.rotationService),
        },
      },
      memory: { deployed: memory, ...(lambda128 ? { lambda128 } : {}) },
    };
  } finally {
    side?.stop();
    await side?.done.catch(() => {});
    await host.stop();
    await proxy.stop();
  }
}

// ----------------------------------------------------------------------- under aws-lambda-ric, Node 24

interface LambdaRuntimeResult {
  readonly skipped?: string;
  readonly node?: string;
  readonly ricEntry?: string;
  readonly zips?: ReadonlyArray<{ label: string; zip: string }>;
  readonly cold?: LambdaColdResult;
  readonly memory?: readonly LambdaMemoryRun[];
}

const THIS_BUILD = 'this build';

/** The zip under the runtime interface client with Node 24, as Lambda runs it (bench/lambda.ts). */
async function measureLambdaRuntime(bench: Bench, python: PythonInfo): Promise<LambdaRuntimeResult> {
  if (!settings.lambda) return { skipped: 'BENCH_LAMBDA=0' };
  const toolchain = await findLambdaToolchain(process.cwd());
  if (!toolchain.ok) return { skipped: toolchain.reason };
  const baseline = process.env.BENCH_BASELINE_ZIP;
  const zips = [
    { label: THIS_BUILD, zip: ZIP },
    ...(baseline ? [{ label: process.env.BENCH_BASELINE_LABEL || 'baseline', zip: resolve(baseline) }] : []),
  ];
  const ctx = {
    world: bench.world,
    toolchain,
    functionEnv: {
      POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      PINGONE_ALLOWED_ENVIRONMENTS: '',
      ...(bench.deployment.nodeOptions ? { NODE_OPTIONS: bench.deployment.nodeOptions } : {}),
    },
  };
  const cold = await measureLambdaCold(ctx, {
    zips,
    memoryMb: Number(bench.deployment.memorySize),
    rounds: settings.lambdaColdRounds,
    python,
    progress: (n) => progress(`Lambda runtime cold starts ${n}/${settings.lambdaColdRounds}`),
  });
  progress(`Lambda runtime cold starts ${settings.lambdaColdRounds}/${settings.lambdaColdRounds}`, true);
  const memory = await measureLambdaMemory(ctx, {
    // This build at both sizes; a baseline zip at 128 MB only (the size in question).
    runs: [128, 256].flatMap((memoryMb) =>
      zips
        .filter(({ label }) => label === THIS_BUILD || memoryMb === 128)
        .map(({ label, zip }) => ({ label: `${label}, ${memoryMb} MB`, zip, memoryMb })),
    ),
    rotations: settings.lambdaRssRotations,
    secretsPerRun: settings.secrets,
    progress: (line) => progress(line),
  });
  progress('Lambda runtime memory runs done', true);
  return {
    node: toolchain.nodeVersion,
    ricEntry: relative(process.cwd(), toolchain.ricEntry),
    zips,
    cold,
    memory,
  };
}

async function setUpWorld(deployment: Deployment): Promise<Bench> {
  const world = await startLocalWorld({ previousSecretTtl: '7d' });
  let serviceProxy: CountingProxy | undefined;
  try {
    serviceProxy = await startCountingProxy(world.moto.url);
    const serviceClient = new SecretsManagerClient({
      ...LOCAL_AWS,
      endpoint: serviceProxy.url,
      maxAttempts: 2,
    });
    const create = async (prefix: string) => {
      const list: RotatableSecret[] = [];
      for (let i = 1; i <= settings.secrets; i++) {
        list.push(
          await world.createRotatableSecret({ name: `pingone/${prefix}-${String(i).padStart(2, '0')}` }),
        );
      }
      return list;
    };
    const workerEnv = world.sim.createEnvironment({ region: 'NA', name: 'Bench second worker' });
    const worker = world.sim.createWorker(workerEnv.id, { environments: 'all' });
    const parameter = '/pingone/rotation-worker-bench-b';
    await world.ssm.send(
      new PutParameterCommand({
        Name: parameter,
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({ ...worker }),
      }),
    );
    return {
      world,
      serviceProxy,
      serviceClient,
      secrets: await create('bench'),
      secretsB: await create('bench-b'),
      workerB: { parameter, environmentId: workerEnv.id },
      deployment,
    };
  } catch (error) {
    await serviceProxy?.stop();
    await world.stop();
    throw error;
  }
}

async function tearDown(bench: Bench): Promise<void> {
  bench.serviceClient.destroy();
  await bench.serviceProxy.stop();
  await bench.world.stop();
}

// -------------------------------------------------------------------------------------------- report

type Row = readonly string[];

const kB = (b: number) => `${(b / 1000).toFixed(1)} kB`;
const ms = (v: number) => `${v.toFixed(1)} ms`;
const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'PASS' : 'MISS');

function renderTable(header: Row, rows: readonly Row[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const line = (r: Row) =>
    widths
      .map((w, c) => (r[c] ?? '').padEnd(w))
      .join('  ')
      .trimEnd();
  return [line(header), widths.map((w) => '─'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** One row per operation: its count in the first (cold container) and a warm rotation. */
function callTable(first: CallCounts, warm: CallCounts): string {
  const groups: Array<[string, keyof CallCounts]> = [
    ['Secrets Manager (function)', 'secretsManager'],
    ['SSM (function)', 'ssm'],
    ['DynamoDB ledger (function)', 'dynamodb'],
    ['PingOne (function)', 'pingone'],
    ['Secrets Manager (rotation service)', 'rotationService'],
  ];
  const rows: Row[] = [];
  for (const [label, key] of groups) {
    const ops = [...new Set([...Object.keys(first[key]), ...Object.keys(warm[key])])].sort();
    rows.push([label, String(total(first[key])), String(total(warm[key]))]);
    for (const op of ops) rows.push([`  ${op}`, String(first[key][op] ?? 0), String(warm[key][op] ?? 0)]);
  }
  return renderTable(['Calls per full rotation', 'First (cold container)', 'Warm'], rows);
}

async function main(): Promise<void> {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const started = Date.now();
  const loadAtStart = loadavg().map((l) => round(l));
  const deployment = deploymentSettings();

  const sizes = measureSizes();

  const python = findPython();
  if (python.skipped) process.stderr.write(`cold init: ${python.skipped}; skipping the Python reference\n`);
  const cold: ColdInitResult = measureColdInit({
    bundle: BUNDLE,
    rounds: settings.coldRounds,
    nodeOptions: deployment.nodeOptions,
    functionEnv: { PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker', PINGONE_REGION: 'NA' },
    python,
    progress: (n) => n > 0 && progress(`cold init ${n}/${settings.coldRounds}`),
  });
  progress(`cold init ${settings.coldRounds}/${settings.coldRounds}`, true);

  const bench = await setUpWorld(deployment);
  let measured: Awaited<ReturnType<typeof measure>>;
  let lambdaRuntime: LambdaRuntimeResult;
  try {
    measured = await measure(bench);
    lambdaRuntime = await measureLambdaRuntime(bench, python);
  } finally {
    await tearDown(bench);
  }
  const { rotations, memory } = measured;
  const rss = memory.deployed;
  const rss128 = memory.lambda128;

  const initLimit =
    cold.pythonOverheadMs === undefined ? undefined : cold.pythonOverheadMs * TARGETS.initRatio;
  const ricCold = lambdaRuntime.cold;
  const ricNode = ricCold?.node[THIS_BUILD];
  const ricPython = ricCold?.python;
  const speedup =
    ricNode && ricPython
      ? round(ricPython.firstInvocation.median / ricNode.firstInvocation.median, 2)
      : undefined;
  const ricMemory = (label: string) => lambdaRuntime.memory?.find((m) => m.label === label);
  const ric128 = ricMemory(`${THIS_BUILD}, 128 MB`);
  const targets = {
    lambdaFirstInvocation: {
      value: speedup,
      target: `Python's cold first invocation >= ${TARGETS.lambdaFirstInvocationSpeedup}x Node's (aws-lambda-ric, Node 24)`,
      pass: speedup === undefined ? undefined : speedup >= TARGETS.lambdaFirstInvocationSpeedup,
    },
    firstCreateSecret: {
      value: ricNode?.createSecret.median,
      target: `<= ${TARGETS.firstCreateSecretMs} ms`,
      pass: ricNode ? ricNode.createSecret.median <= TARGETS.firstCreateSecretMs : undefined,
    },
    peakRss128Node24: {
      value: ric128?.peakRssBytes,
      target: `<= ${TARGETS.rssBytes} bytes (100 MiB) at the 128 MB flags`,
      pass: ric128 ? ric128.peakRssBytes <= TARGETS.rssBytes : undefined,
    },
    bundleSize: {
      value: sizes.rawBytes,
      target: `<= ${TARGETS.bundleBytes} bytes`,
      pass: sizes.rawBytes <= TARGETS.bundleBytes,
    },
    coldInit: {
      value: cold.bundleOverheadMs,
      target: initLimit === undefined ? 'n/a (no boto3)' : `<= ${round(initLimit)} ms (1/8 of Python's)`,
      pass: initLimit === undefined ? undefined : cold.bundleOverheadMs <= initLimit,
    },
    rotationMedian: {
      value: rotations.wall.median,
      target: `<= ${TARGETS.rotationMedianMs} ms`,
      pass: rotations.wall.median <= TARGETS.rotationMedianMs,
    },
    peakRss: {
      value: rss.peakRssBytes,
      target: `<= ${TARGETS.rssBytes} bytes (100 MiB)`,
      pass: rss.peakRssBytes <= TARGETS.rssBytes,
    },
    workerTokens: {
      value: rss.workerTokens,
      target: `<= ${rss.tokenLifetimes} (one per ${TARGETS.tokenTtlSeconds} s token lifetime)`,
      pass: rss.workerTokens <= rss.tokenLifetimes,
    },
  };

  const results = {
    timestamp: new Date().toISOString(),
    belowSpec,
    settings,
    machine: {
      node: process.version,
      platform: `${process.platform} ${process.arch}`,
      cores: availableParallelism(),
      cpu: cpus()[0]?.model ?? 'unknown',
      memoryBytes: totalmem(),
      // 1/5/15-minute load averages: other work on the machine inflates every timing here.
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadavg().map((l) => round(l)),
    },
    commit: git(['rev-parse', '--short', 'HEAD']),
    workingTreeDirty:
      git(['status', '--porcelain', '--', 'lib', 'functions', 'scripts', 'package.json']) !== '',
    deployment,
    sizes,
    coldInit: cold,
    rotations,
    memory,
    lambdaRuntime,
    targets,
    durationMs: Date.now() - started,
  };

  const nodeMs = cold.ms['node -e 0']!;
  const deployedMs = cold.ms['bundle (deployed NODE_OPTIONS)']!;
  const plainMs = cold.ms['bundle (no NODE_OPTIONS)']!;
  const deployedLabel = deployment.nodeOptions ? `NODE_OPTIONS=${deployment.nodeOptions}` : 'no NODE_OPTIONS';
  const py = cold.pythonOverheadMs;
  const callsLine = (c: CallCounts) =>
    `SM ${total(c.secretsManager)}, SSM ${total(c.ssm)}, DynamoDB ${total(c.dynamodb)}, PingOne ${total(c.pingone)} (+ rotation service SM ${total(c.rotationService)})`;
  const rows: Row[] = [
    [
      'Bundle, minified (dist/rotate/index.mjs)',
      kB(sizes.rawBytes),
      '<= 500.0 kB',
      verdict(targets.bundleSize.pass),
    ],
    ['Bundle, gzip -9', kB(sizes.gzipBytes), '', ''],
    [
      'Deployment zip',
      `${kB(sizes.zipBytes)} (${sizes.zipEntries.map((e) => `${e.name.split('/').pop()} ${kB(e.compressedBytes)}`).join(' + ')})`,
      '',
      '',
    ],
    [
      `Cold init overhead, as deployed (${deployedLabel}), median of ${cold.rounds}`,
      `${ms(cold.bundleOverheadMs)} (${ms(deployedMs.median)} - node -e 0 ${ms(nodeMs.median)})`,
      initLimit === undefined ? 'n/a' : `<= ${ms(initLimit)} (1/8 of Python's)`,
      verdict(targets.coldInit.pass),
    ],
    // Deployed without NODE_OPTIONS, this row would repeat the one above.
    ...(deployment.nodeOptions
      ? [
          [
            'Cold init overhead, no NODE_OPTIONS',
            `${ms(cold.bundleOverheadPlainMs)} (${ms(plainMs.median)} - ${ms(nodeMs.median)})`,
            initLimit === undefined ? '' : `<= ${ms(initLimit)}`,
            initLimit === undefined ? '' : verdict(cold.bundleOverheadPlainMs <= initLimit),
          ] as Row,
        ]
      : []),
    py === undefined
      ? ['Python template init (boto3 client)', `skipped: ${python.skipped}`, 'reference', '']
      : [
          'Python template init overhead (boto3 client)',
          `${ms(py)} (${ms(cold.ms['python3 boto3 client']!.median)} - python3 -c 0 ${ms(cold.ms['python3 -c 0']!.median)})`,
          'reference',
          '',
        ],
    ...(cold.ratio === undefined
      ? []
      : [
          [
            'Init overhead ratio, Node / Python',
            `1/${(1 / cold.ratio).toFixed(1)}`,
            '<= 1/8',
            verdict(targets.coldInit.pass),
          ],
        ]),
    ['Calls, first rotation of a container', callsLine(rotations.first), '', ''],
    ['Calls, warm rotation', callsLine(rotations.warm), '', ''],
    [
      `Full local rotation, median of ${rotations.wall.n} (warm)`,
      ms(rotations.wall.median),
      `<= ${TARGETS.rotationMedianMs} ms`,
      verdict(targets.rotationMedian.pass),
    ],
    ['Full local rotation, p95', ms(rotations.wall.p95), '', ''],
    [
      '  of which moto answering / function CPU',
      `${ms(rotations.moto.median)} (median) / ${ms(rotations.functionCpuMsPerRotation)} (mean)`,
      '',
      '',
    ],
    ['First rotation of a fresh container', ms(rotations.firstRotationMs), '', ''],
    [
      `Peak RSS over ${rss.rotations} rotations, as deployed`,
      `${rss.peakRssMiB} MiB (after import ${rss.rssAfterImportMiB}, at end ${rss.rssAtEndMiB})`,
      '<= 100 MiB',
      verdict(targets.peakRss.pass),
    ],
    ...(rss128
      ? [
          [
            `Peak RSS over ${rss128.rotations} rotations, Lambda 128 MB heap flags`,
            `${rss128.peakRssMiB} MiB (after import ${rss128.rssAfterImportMiB}, at end ${rss128.rssAtEndMiB})`,
            '<= 100 MiB',
            verdict(rss128.peakRssBytes <= TARGETS.rssBytes),
          ],
        ]
      : []),
    [
      `Worker tokens over ${rss.rotations} rotations`,
      `${rss.workerTokens} in ${(rss.elapsedMs / 1000).toFixed(0)} s (SSM GetParameter ${rss.ssmGetParameter})`,
      `<= ${rss.tokenLifetimes} (1 per ${TARGETS.tokenTtlSeconds / 60} min token)`,
      verdict(targets.workerTokens.pass),
    ],
  ];

  if (ricCold && ricNode) {
    const others = Object.entries(ricCold.node).filter(([label]) => label !== THIS_BUILD);
    rows.push(
      [
        `aws-lambda-ric, Node ${lambdaRuntime.node}, ${ricCold.memoryMb} MB flags: cold init (spawn → first next), median of ${ricCold.rounds}`,
        `${ms(ricNode.init.median)} (CPU ${ms(ricNode.initCpu.median)})`,
        '',
        '',
      ],
      [
        '  cold first invocation (spawn → createSecret done)',
        `${ms(ricNode.firstInvocation.median)} (p95 ${ms(ricNode.firstInvocation.p95)}; CPU ${ms(ricNode.firstInvocationCpu.median)})`,
        ricPython
          ? `<= ${ms(ricPython.firstInvocation.median / TARGETS.lambdaFirstInvocationSpeedup)} (Python / 4)`
          : '',
        verdict(targets.lambdaFirstInvocation.pass),
      ],
      [
        '  first createSecret (next → response)',
        `${ms(ricNode.createSecret.median)} (p95 ${ms(ricNode.createSecret.p95)}; moto answering ${ms(ricNode.moto.median)})`,
        `<= ${TARGETS.firstCreateSecretMs}.0 ms`,
        verdict(targets.firstCreateSecret.pass),
      ],
      ...others.flatMap(([label, o]) => [
        [
          `  ${label}: init / first invocation / createSecret`,
          `${ms(o.init.median)} / ${ms(o.firstInvocation.median)} / ${ms(o.createSecret.median)} (CPU ${ms(o.initCpu.median)} / ${ms(o.firstInvocationCpu.median)})`,
          '',
          '',
        ] as Row,
      ]),
      [
        '  peak RSS once the first invocation is answered (VmHWM)',
        [THIS_BUILD, ...others.map(([label]) => label)]
          .map((label) => `${label} ${ricCold.node[label]?.firstInvocationPeakRss?.median ?? '?'} MiB`)
          .join(' / '),
        '',
        '',
      ],
      ...(ricCold.node[EMPTY_HANDLER] && ricPython
        ? [
            [
              '  floor of the first invocation: empty handler + moto answering this createSecret',
              `${ms(ricCold.node[EMPTY_HANDLER].firstInvocation.median + ricNode.moto.median)} (${ms(ricCold.node[EMPTY_HANDLER].firstInvocation.median)} + ${ms(ricNode.moto.median)}), before any code of ours runs`,
              `<= ${ms(ricPython.firstInvocation.median / TARGETS.lambdaFirstInvocationSpeedup)} (Python / 4)`,
              '',
            ] as Row,
          ]
        : []),
      ricPython
        ? [
            `Python ${ricPython.version} reference: init / first invocation (spawn → createSecret done)`,
            `${ms(ricPython.init.median)} / ${ms(ricPython.firstInvocation.median)} (CPU ${ms(ricPython.initCpu.median)} / ${ms(ricPython.firstInvocationCpu.median)})`,
            'reference',
            '',
          ]
        : ['Python reference', `skipped: ${ricCold.pythonSkipped}`, '', ''],
      ...(speedup === undefined
        ? []
        : [
            [
              '  cold first invocation, Python / Node',
              `${speedup.toFixed(2)}x`,
              '>= 4x',
              verdict(targets.lambdaFirstInvocation.pass),
            ] as Row,
            [
              '  the same in CPU time, Python / Node',
              `${(ricPython!.firstInvocationCpu.median / ricNode.firstInvocationCpu.median).toFixed(2)}x`,
              '',
              '',
            ] as Row,
          ]),
    );
  } else {
    rows.push(['aws-lambda-ric, Node 24', `skipped: ${lambdaRuntime.skipped}`, '', '']);
  }
  for (const run of lambdaRuntime.memory ?? []) {
    rows.push([
      `Peak RSS over ${run.rotations} rotations, aws-lambda-ric Node 24, ${run.label}`,
      `${run.peakRssMiB} MiB (after init ${run.rssAfterInitMiB}, at end ${run.samples.at(-1)?.rssMiB})`,
      run.label.startsWith(THIS_BUILD) && run.memoryMb === 128 ? '<= 100 MiB' : '',
      run.label.startsWith(THIS_BUILD) && run.memoryMb === 128 ? verdict(targets.peakRss128Node24.pass) : '',
    ]);
  }

  mkdirSync(dirname(LATEST), { recursive: true });
  writeFileSync(LATEST, `${JSON.stringify(results, null, 2)}\n`);
  const save = process.env.BENCH_SAVE === '1';
  if (save && belowSpec)
    throw new Error(`BENCH_SAVE=1: sample sizes below ${JSON.stringify(SPEC)}; not saving`);
  if (save) writeFileSync(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  const write = save;
  const out = (text = '') => process.stdout.write(`${text}\n`);
  out();
  out(
    `PingOne rotation bench: ${results.timestamp}, node ${process.version}, ${results.machine.cores} cores` +
      (python.boto3 ? `, python ${python.version} + boto3 ${python.boto3}` : '') +
      `; load average ${loadAtStart[0]} at start, ${results.machine.loadAverageAtEnd[0]} at end`,
  );
  out();
  out(renderTable(['Measure', 'Value', 'Target', 'Result'], rows));
  out();
  out(callTable(rotations.first, rotations.warm));
  out();
  out(packagesTable(sizes.packages));
  out();
  out(
    `Warm steps, median: ${Object.entries(rotations.stepsMedianMs)
      .map(([step, v]) => `${step} ${v} ms`)
      .join(', ')}. Rotation median, first vs last quarter of the ${rotations.wall.n}: ` +
      `${rotations.wallMedianFirstQuarterMs} / ${rotations.wallMedianLastQuarterMs} ms.`,
  );
  out(
    `Memory as deployed: V8 heap ${rss.heapTotalAtEndMiB} MiB, used ${rss.heapUsedAtEndMiB} MiB at the end.` +
      (rss128
        ? ` With Lambda's 128 MB flags (${rss128.execArgv.join(' ')}): heap ${rss128.heapTotalAtEndMiB} MiB, used ${rss128.heapUsedAtEndMiB} MiB.`
        : ''),
  );
  out(
    `Wrote ${relative(process.cwd(), LATEST)}${write ? ` and ${relative(process.cwd(), RESULTS)}` : ` (BENCH_SAVE=1 also writes ${relative(process.cwd(), RESULTS)}, the figures the README quotes)`}` +
      ` in ${((Date.now() - started) / 1000).toFixed(0)} s${belowSpec ? `; sample sizes below the issue's minimums ${JSON.stringify(SPEC)}` : ''}; moto and the simulator are stopped.`,
  );
}

// Ctrl-C: leave through process.exit so the moto and function-host exit hooks kill their processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error: Error) => {
  process.stderr.write(`\nbench failed: ${error.stack ?? error.message}\n`);
  process.exitCode = 1;
});
