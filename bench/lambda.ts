import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { LocalRotationDriver } from '../local/driver.js';
import {
  type LambdaFilesystem,
  type LambdaProcess,
  launcherFlags,
  prepareLambdaFilesystem,
  startLambdaProcess,
} from '../local/lambda-runtime/lambda-process.js';
import type { LambdaToolchain } from '../local/lambda-runtime/toolchain.js';
import type { LocalWorld, RotatableSecret } from '../local/world.js';
import type { PythonInfo } from './cold-init.js';
import { type CountingProxy, startCountingProxy } from './counting-proxy.js';
import { round, type Summary, shuffle, summarize } from './stats.js';

/**
 * What Lambda does, measured: the deployment zip under aws-lambda-ric on Node 24 with the nodejs24.x
 * launcher's flags (local/lambda-runtime), against the local world.
 *
 * - Cold: fresh runtime processes, each given one createSecret queued before it starts (as Lambda queues the
 *   invocation that caused the cold start). Init = spawn → the RIC's first `next` (Lambda's Init Duration);
 *   first invocation = spawn → createSecret answered; createSecret alone = `next` answered → response.
 *   Interleaved, round by round in shuffled order, with the Python reference (python-create-secret.py: the
 *   AWS Python rotation template's createSecret with boto3, plus SSM and two urllib calls to the simulator)
 *   and, when given, a baseline zip (an earlier build, for before/after comparisons), and the RIC with an
 *   empty handler (the runtime's own floor: what Lambda costs before any of our code).
 * - Memory: one runtime per memory size rotating `rotations` times (4 invocations each) through the Runtime
 *   API; peak RSS is the kernel's VmHWM for the node process, RSS sampled every 50 rotations.
 */
export interface ZipUnderTest {
  readonly label: string;
  readonly zip: string;
}

/** The runtime alone: the RIC with a handler that does nothing (its init and invoke are the floor). */
export const EMPTY_HANDLER = 'empty handler';
const EMPTY_HANDLER_FILES = { 'index.mjs': 'export const handler = async () => null;\n' };

export interface ColdSample {
  readonly initMs: number;
  readonly firstInvocationMs: number;
  readonly createSecretMs: number;
  /** CPU time of the process (all threads) at the end of init and after the first invocation. */
  readonly initCpuMs: number;
  readonly firstInvocationCpuMs: number;
  /** Of createSecret: time moto took to answer its AWS calls (at the proxy). */
  readonly motoMs: number;
  /** The process's peak RSS (VmHWM) once the first invocation is answered. */
  readonly firstInvocationPeakRssMiB: number;
}

interface ColdSummary {
  readonly init: Summary;
  readonly firstInvocation: Summary;
  readonly createSecret: Summary;
  readonly initCpu: Summary;
  readonly firstInvocationCpu: Summary;
  readonly moto: Summary;
  readonly firstInvocationPeakRss: Summary;
}

export interface LambdaColdResult {
  readonly rounds: number;
  readonly memoryMb: number;
  readonly flags: readonly string[];
  readonly node: Record<string, ColdSummary>;
  readonly python?: {
    init: Summary;
    firstInvocation: Summary;
    initCpu: Summary;
    firstInvocationCpu: Summary;
    executable: string;
    version: string;
  };
  readonly pythonSkipped?: string;
}

export interface LambdaMemoryRun {
  readonly label: string;
  readonly memoryMb: number;
  readonly flags: readonly string[];
  readonly rotations: number;
  readonly elapsedMs: number;
  readonly peakRssBytes: number;
  readonly peakRssMiB: number;
  readonly rssAfterInitMiB: number;
  readonly samples: ReadonlyArray<{ rotation: number; rssMiB: number }>;
}

interface PythonSample {
  readonly initMs: number;
  readonly firstInvocationMs: number;
  readonly initCpuMs: number;
  readonly firstInvocationCpuMs: number;
}

const PYTHON_SCRIPT = fileURLToPath(new URL('./python-create-secret.py', import.meta.url));
const mib = (bytes: number) => round(bytes / 1024 / 1024, 1);

export interface LambdaBenchContext {
  readonly world: LocalWorld;
  readonly toolchain: Extract<LambdaToolchain, { ok: true }>;
  readonly functionEnv: Readonly<Record<string, string>>;
}

/**
 * The function's environment. AWS calls go through a counting proxy in front of moto (bench/counting-proxy.ts):
 * it keeps connections alive as AWS does (moto closes each one) and times moto's share.
 */
function lambdaEnv(ctx: LambdaBenchContext, proxy: CountingProxy): Record<string, string> {
  return {
    ...ctx.world.awsEnv,
    ...ctx.world.functionEnv,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_SESSION_TOKEN: 'bench-session-token',
    ...ctx.functionEnv,
  };
}

/** A fresh secret with a rotation started (AWSPENDING registered, empty): what createSecret is given. */
async function pendingRotation(
  world: LocalWorld,
  name: string,
): Promise<{ secret: RotatableSecret; token: string }> {
  const secret = await world.createRotatableSecret({ name });
  const driver = new LocalRotationDriver({
    secretsManager: world.secretsManager,
    invoke: async () => undefined,
  });
  return { secret, token: await driver.startRotation(secret.arn) };
}

async function coldNode(
  ctx: LambdaBenchContext,
  { fs, handler }: { fs: LambdaFilesystem; handler: string },
  memoryMb: number,
  target: { secret: RotatableSecret; token: string },
  proxy: CountingProxy,
): Promise<ColdSample> {
  const lambda = await startLambdaProcess({
    fs,
    node: ctx.toolchain.node,
    handler,
    memoryMb,
    env: lambdaEnv(ctx, proxy),
    captureOutput: true,
  });
  try {
    const motoBefore = proxy.busyMs();
    // Queued before the runtime asks: the invocation that caused the cold start.
    const invocation = lambda.invoke(
      { Step: 'createSecret', SecretId: target.secret.arn, ClientRequestToken: target.token },
      90_000,
    );
    const result = await invocation;
    const firstInvocationMs = lambda.sinceSpawnMs();
    const firstInvocationCpuMs = lambda.cpuMs();
    const firstInvocationPeakRssMiB = mib(await lambda.peakRssBytes());
    const init = await lambda.init;
    if (!init.ok) throw new Error(`init failed: ${init.errorType} ${init.errorMessage}`);
    if (!result.ok) {
      throw new Error(
        `cold createSecret failed: ${result.errorType}: ${result.errorMessage}\n${lambda.output().slice(-1500)}`,
      );
    }
    return {
      initMs: init.sinceSpawnMs,
      firstInvocationMs,
      createSecretMs: result.durationMs,
      initCpuMs: init.cpuMs ?? Number.NaN,
      firstInvocationCpuMs,
      motoMs: proxy.busyMs() - motoBefore,
      firstInvocationPeakRssMiB,
    };
  } finally {
    await lambda.stop();
  }
}

function coldPython(
  ctx: LambdaBenchContext,
  python: PythonInfo,
  target: { secret: RotatableSecret; token: string },
): Promise<PythonSample> {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - started) / 1e6;
    const child = spawn(python.executable, [PYTHON_SCRIPT], {
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        ...ctx.world.awsEnv,
        PINGONE_API_URL: ctx.world.sim.apiUrlTemplate,
        PINGONE_AUTH_URL: ctx.world.sim.authUrlTemplate,
        PINGONE_WORKER_PARAMETER: ctx.world.workerParameter,
        SECRET_ID: target.secret.arn,
        TOKEN: target.token,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let initMs: number | undefined;
    let firstInvocationMs: number | undefined;
    let initCpuMs = Number.NaN;
    let firstInvocationCpuMs = Number.NaN;
    let stderr = '';
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const [mark, cpuSeconds] = line.split(' ');
        if (mark === 'init') {
          initMs = since();
          initCpuMs = Number(cpuSeconds) * 1000;
        }
        if (mark === 'done') {
          firstInvocationMs = since();
          firstInvocationCpuMs = Number(cpuSeconds) * 1000;
        }
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && initMs !== undefined && firstInvocationMs !== undefined) {
        resolve({ initMs, firstInvocationMs, initCpuMs, firstInvocationCpuMs });
      } else {
        reject(new Error(`python reference failed (exit ${code}): ${stderr.trim()}`));
      }
    });
  });
}

export async function measureLambdaCold(
  ctx: LambdaBenchContext,
  options: {
    zips: readonly ZipUnderTest[];
    memoryMb: number;
    rounds: number;
    warmupRounds?: number;
    python: PythonInfo;
    progress?: (round: number) => void;
  },
): Promise<LambdaColdResult> {
  const filesystems = new Map<string, { fs: LambdaFilesystem; handler: string }>();
  const proxy = await startCountingProxy(ctx.world.moto.url);
  try {
    for (const { label, zip } of options.zips) {
      const fs = await prepareLambdaFilesystem({ zip, ricEntry: ctx.toolchain.ricEntry });
      filesystems.set(label, { fs, handler: 'functions/rotate.handler' });
    }
    const empty = await prepareLambdaFilesystem({
      files: EMPTY_HANDLER_FILES,
      ricEntry: ctx.toolchain.ricEntry,
    });
    filesystems.set(EMPTY_HANDLER, { fs: empty, handler: 'index.handler' });
    type Kind = { kind: 'node'; label: string } | { kind: 'python' };
    const labels = [...filesystems.keys()];
    const kinds: Kind[] = [
      ...labels.map((label) => ({ kind: 'node' as const, label })),
      ...(options.python.skipped ? [] : [{ kind: 'python' as const }]),
    ];
    const node = new Map<string, ColdSample[]>(labels.map((label) => [label, []]));
    const python: PythonSample[] = [];
    const warmup = options.warmupRounds ?? 2;
    let n = 0;
    for (let r = 0; r < warmup + options.rounds; r++) {
      for (const kind of shuffle([...kinds])) {
        const target = await pendingRotation(ctx.world, `pingone/bench-cold-${++n}`);
        if (kind.kind === 'node') {
          const sample = await coldNode(ctx, filesystems.get(kind.label)!, options.memoryMb, target, proxy);
          if (r >= warmup) node.get(kind.label)!.push(sample);
        } else {
          const sample = await coldPython(ctx, options.python, target);
          if (r >= warmup) python.push(sample);
        }
      }
      if (r >= warmup) options.progress?.(r + 1 - warmup);
    }
    return {
      rounds: options.rounds,
      memoryMb: options.memoryMb,
      flags: launcherFlags(options.memoryMb),
      node: Object.fromEntries(
        [...node].map(([label, samples]) => [
          label,
          {
            init: summarize(samples.map((s) => s.initMs)),
            firstInvocation: summarize(samples.map((s) => s.firstInvocationMs)),
            createSecret: summarize(samples.map((s) => s.createSecretMs)),
            initCpu: summarize(samples.map((s) => s.initCpuMs)),
            firstInvocationCpu: summarize(samples.map((s) => s.firstInvocationCpuMs)),
            moto: summarize(samples.map((s) => s.motoMs)),
            firstInvocationPeakRss: summarize(samples.map((s) => s.firstInvocationPeakRssMiB)),
          },
        ]),
      ),
      ...(options.python.skipped
        ? { pythonSkipped: options.python.skipped }
        : {
            python: {
              init: summarize(python.map((s) => s.initMs)),
              firstInvocation: summarize(python.map((s) => s.firstInvocationMs)),
              initCpu: summarize(python.map((s) => s.initCpuMs)),
              firstInvocationCpu: summarize(python.map((s) => s.firstInvocationCpuMs)),
              executable: options.python.executable,
              version: `${options.python.version} + boto3 ${options.python.boto3}`,
            },
          }),
    };
  } finally {
    for (const { fs } of filesystems.values()) await fs.remove();
    await proxy.stop();
  }
}

async function vmRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? Number.NaN) * 1024;
}

/** One runtime, `rotations` full rotations over `secrets`, through the Runtime API. */
async function memoryRun(
  ctx: LambdaBenchContext,
  run: {
    label: string;
    zip: string;
    memoryMb: number;
    rotations: number;
    secrets: readonly RotatableSecret[];
  },
  onProgress: (done: number) => void,
): Promise<LambdaMemoryRun> {
  const fs = await prepareLambdaFilesystem({ zip: run.zip, ricEntry: ctx.toolchain.ricEntry });
  const proxy = await startCountingProxy(ctx.world.moto.url);
  let lambda: LambdaProcess | undefined;
  try {
    lambda = await startLambdaProcess({
      fs,
      node: ctx.toolchain.node,
      handler: 'functions/rotate.handler',
      memoryMb: run.memoryMb,
      env: lambdaEnv(ctx, proxy),
      // 4,000 invocations of JSON logs: not kept (the test checks them; here only memory matters).
      captureOutput: false,
    });
    const init = await lambda.init;
    if (!init.ok) throw new Error(`${run.label}: init failed: ${init.errorType} ${init.errorMessage}`);
    const running = lambda;
    const rssAfterInit = await vmRss(running.pid);
    const driver = new LocalRotationDriver({
      secretsManager: ctx.world.secretsManager,
      functionTimeoutMs: 90_000,
      maxAttempts: 1,
      invoke: async (event) => {
        const result = await running.invoke(event, 90_000);
        if (!result.ok) throw new Error(`${result.errorType}: ${result.errorMessage}`);
        return undefined;
      },
    });
    const samples: Array<{ rotation: number; rssMiB: number }> = [{ rotation: 0, rssMiB: mib(rssAfterInit) }];
    const started = Date.now();
    for (let i = 0; i < run.rotations; i++) {
      const secret = run.secrets[i % run.secrets.length]!;
      const report = await driver.rotate(secret.arn);
      if (!report.ok)
        throw new Error(`${run.label}: rotation ${i + 1} of ${secret.name} failed: ${report.error}`);
      if ((i + 1) % 50 === 0 || i + 1 === run.rotations) {
        samples.push({ rotation: i + 1, rssMiB: mib(await vmRss(running.pid)) });
        onProgress(i + 1);
      }
    }
    const peak = await running.peakRssBytes();
    return {
      label: run.label,
      memoryMb: run.memoryMb,
      flags: launcherFlags(run.memoryMb),
      rotations: run.rotations,
      elapsedMs: Date.now() - started,
      peakRssBytes: peak,
      peakRssMiB: mib(peak),
      rssAfterInitMiB: mib(rssAfterInit),
      samples,
    };
  } finally {
    await lambda?.stop();
    await proxy.stop();
    await fs.remove();
  }
}

/** The memory runs, all at once (memory is per process; running them together changes no figure). */
export async function measureLambdaMemory(
  ctx: LambdaBenchContext,
  options: {
    runs: ReadonlyArray<{ label: string; zip: string; memoryMb: number }>;
    rotations: number;
    secretsPerRun: number;
    progress?: (line: string) => void;
  },
): Promise<LambdaMemoryRun[]> {
  const done = new Map<string, number>();
  const show = () =>
    options.progress?.(
      `Lambda runtime memory: ${[...done].map(([k, v]) => `${k} ${v}/${options.rotations}`).join(', ')}`,
    );
  const prepared = [];
  for (const [r, run] of options.runs.entries()) {
    const secrets: RotatableSecret[] = [];
    for (let i = 1; i <= options.secretsPerRun; i++) {
      secrets.push(
        await ctx.world.createRotatableSecret({
          name: `pingone/bench-ric${r}-${String(i).padStart(2, '0')}`,
        }),
      );
    }
    prepared.push({ ...run, rotations: options.rotations, secrets });
    done.set(run.label, 0);
  }
  return Promise.all(
    prepared.map((run) =>
      memoryRun(ctx, run, (n) => {
        done.set(run.label, n);
        show();
      }),
    ),
  );
}
