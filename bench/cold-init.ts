import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { round, type Summary, shuffle, summarize } from './stats.js';

/**
 * Cold init: wall time of fresh processes, interleaved so every kind shares the machine's noise.
 * - `node -e 0`: the Node baseline;
 * - the bundle imported by a fresh `node` (module load + the clients it builds at import), once with the
 *   NODE_OPTIONS the deployment sets (serverless.yml) and once without;
 * - `python3 -c 0` and `python3 -c "import boto3; boto3.client('secretsmanager')"`: the AWS Python rotation
 *   template's init, the reference a user would otherwise deploy.
 */
/**
 * The flags the Lambda Node.js runtime's bootstrap gives node for a function of `memoryMb` (as found in
 * the AWS Lambda base images): a tenth of the memory for the young generation, the rest for the old one.
 */
export function lambdaRuntimeFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size=81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

export interface PythonInfo {
  readonly executable: string;
  readonly version: string;
  readonly boto3?: string;
  readonly skipped?: string;
}

export interface ColdInitResult {
  readonly rounds: number;
  readonly warmupRounds: number;
  readonly nodeOptionsDeployed: string;
  readonly ms: Record<string, Summary>;
  /** Bundle (as deployed) median minus `node -e 0` median. */
  readonly bundleOverheadMs: number;
  /** Bundle without NODE_OPTIONS, minus `node -e 0`. */
  readonly bundleOverheadPlainMs: number;
  readonly python: PythonInfo;
  /** boto3 import + client median minus `python3 -c 0` median. */
  readonly pythonOverheadMs?: number;
  /** bundleOverheadMs / pythonOverheadMs (target ≤ 1/8). */
  readonly ratio?: number;
}

interface Kind {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

const BASE_ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: process.env.HOME ?? '/tmp',
  AWS_REGION: 'us-east-1',
  AWS_DEFAULT_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
};

/** The real interpreter behind `python3` (a pyenv shim adds its own start-up cost), and whether boto3 is there. */
export function findPython(): PythonInfo {
  const which = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' });
  const executable = which.status === 0 ? which.stdout.trim() : '';
  if (!executable) {
    return { executable: 'python3', version: '', skipped: 'python3 not found' };
  }
  const probe = spawnSync(
    executable,
    ['-c', 'import sys, boto3; print(sys.version.split()[0]); print(boto3.__version__)'],
    { encoding: 'utf8' },
  );
  if (probe.status !== 0) {
    const version = spawnSync(executable, ['-c', 'import sys; print(sys.version.split()[0])'], {
      encoding: 'utf8',
    });
    return {
      executable,
      version: version.stdout.trim(),
      skipped: `boto3 is not installed for ${executable}`,
    };
  }
  const [version = '', boto3 = ''] = probe.stdout.trim().split('\n');
  return { executable, version, boto3 };
}

function timeOnce(kind: Kind): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(kind.command, kind.args, {
    env: kind.env,
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) {
    throw new Error(
      `cold init run '${kind.name}' failed (${run.signal ?? run.status}): ${run.stderr?.trim().slice(-500)}`,
    );
  }
  return ms;
}

export function measureColdInit(options: {
  bundle: string;
  rounds: number;
  warmupRounds?: number;
  nodeOptions: string;
  functionEnv: Readonly<Record<string, string>>;
  python: PythonInfo;
  progress?: (round: number) => void;
}): ColdInitResult {
  const url = pathToFileURL(options.bundle).href;
  // Same `-e` entry as the baseline; the only difference is the bundle import (and what it builds).
  const importScript = `import(${JSON.stringify(url)}).then((m) => { if (typeof m.handler !== 'function') process.exit(3); })`;
  const nodeEnv = {
    ...BASE_ENV,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    ...options.functionEnv,
  };
  const kinds: Kind[] = [
    { name: 'node -e 0', command: process.execPath, args: ['-e', '0'], env: nodeEnv },
    {
      name: 'bundle (deployed NODE_OPTIONS)',
      command: process.execPath,
      args: ['-e', importScript],
      env: options.nodeOptions ? { ...nodeEnv, NODE_OPTIONS: options.nodeOptions } : nodeEnv,
    },
    { name: 'bundle (no NODE_OPTIONS)', command: process.execPath, args: ['-e', importScript], env: nodeEnv },
  ];
  const python = options.python;
  if (!python.skipped) {
    kinds.push(
      { name: 'python3 -c 0', command: python.executable, args: ['-c', '0'], env: BASE_ENV },
      {
        name: 'python3 boto3 client',
        command: python.executable,
        args: ['-c', "import boto3; boto3.client('secretsmanager')"],
        env: BASE_ENV,
      },
    );
  }

  const samples = new Map<string, number[]>(kinds.map((k) => [k.name, []]));
  const warmup = options.warmupRounds ?? 2;
  for (let round = 0; round < warmup + options.rounds; round++) {
    for (const kind of shuffle([...kinds])) {
      const ms = timeOnce(kind);
      if (round >= warmup) samples.get(kind.name)!.push(ms);
    }
    options.progress?.(round + 1 - warmup);
  }

  const ms = Object.fromEntries([...samples].map(([name, values]) => [name, summarize(values)]));
  const med = (name: string) => ms[name]?.median ?? Number.NaN;
  const bundleOverheadMs = round(med('bundle (deployed NODE_OPTIONS)') - med('node -e 0'));
  const bundleOverheadPlainMs = round(med('bundle (no NODE_OPTIONS)') - med('node -e 0'));
  const pythonOverheadMs = python.skipped
    ? undefined
    : round(med('python3 boto3 client') - med('python3 -c 0'));
  return {
    rounds: options.rounds,
    warmupRounds: warmup,
    nodeOptionsDeployed: options.nodeOptions,
    ms,
    bundleOverheadMs,
    bundleOverheadPlainMs,
    python,
    ...(pythonOverheadMs === undefined
      ? {}
      : { pythonOverheadMs, ratio: round(bundleOverheadMs / pythonOverheadMs, 3) }),
  };
}
