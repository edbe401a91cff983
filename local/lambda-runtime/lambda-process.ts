import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, normalize } from 'node:path';
import { stopChild } from '../moto.js';
import { readZipEntries } from '../zip.js';
import { type InitOutcome, type InvocationResult, RuntimeApiEmulator } from './runtime-api.js';

/**
 * The deployment zip run the way Lambda's nodejs24.x runtime runs it: a read-only /var/task, the runtime
 * interface client (aws-lambda-ric, the one in AWS's Node base images) as /var/runtime, node started with the
 * launcher's flags for the configured memory, Lambda's environment variables, a non-root user, and a Runtime
 * API (./runtime-api.ts) on loopback handing it invocations.
 *
 * What it is not: no Firecracker sandbox, no freeze/thaw between invocations, no memory cgroup (the heap
 * limits come from the flags, as in Lambda; RSS is measured, not capped), x86-64 rather than arm64.
 */

/**
 * The node flags the nodejs base images' /var/runtime/bootstrap passes for AWS_LAMBDA_FUNCTION_MEMORY_SIZE:
 * a tenth of the memory is the young generation (half of it per semi-space), the rest the old generation.
 */
export function launcherFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [
    '--expose-gc',
    '--max-http-header-size',
    '81920',
    `--max-semi-space-size=${Math.floor(newSpace / 2)}`,
    `--max-old-space-size=${memoryMb - newSpace}`,
  ];
}

export interface LambdaFilesystem {
  readonly root: string;
  /** LAMBDA_TASK_ROOT: the unzipped artifact, read-only. */
  readonly taskRoot: string;
  /** LAMBDA_RUNTIME_DIR: the runtime interface client. */
  readonly runtimeDir: string;
  /** The function's writable /tmp. */
  readonly tmp: string;
  remove(): Promise<void>;
}

/**
 * Unzips `zip` (or writes `files`) into a read-only task root next to a copy of the RIC (index.mjs + its
 * native addon).
 */
export async function prepareLambdaFilesystem(options: {
  zip?: string;
  /** Instead of a zip: file name → contents (e.g. an empty handler, to measure the runtime alone). */
  files?: Readonly<Record<string, string>>;
  /** aws-lambda-ric's index.mjs (scripts/lambda-ric.sh prints it). */
  ricEntry: string;
  /** Parent of the layout; a new temp directory by default. */
  parent?: string;
}): Promise<LambdaFilesystem> {
  const root = await mkdtemp(join(options.parent ?? tmpdir(), 'lambda-fs-'));
  const taskRoot = join(root, 'var/task');
  const runtimeDir = join(root, 'var/runtime');
  const tmp = join(root, 'tmp');
  await mkdir(taskRoot, { recursive: true });
  await mkdir(runtimeDir, { recursive: true });
  await mkdir(tmp, { recursive: true, mode: 0o1777 });
  await chmod(tmp, 0o1777);

  const dirs = new Set<string>([taskRoot]);
  const entries = options.zip
    ? readZipEntries(await readFile(options.zip))
    : Object.entries(options.files ?? {}).map(([name, text]) => ({ name, data: () => Buffer.from(text) }));
  for (const entry of entries) {
    const path = normalize(join(taskRoot, entry.name));
    if (!path.startsWith(`${taskRoot}/`)) throw new Error(`zip entry escapes the task root: ${entry.name}`);
    if (entry.name.endsWith('/')) {
      await mkdir(path, { recursive: true });
      dirs.add(path);
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    for (let d = dirname(path); d.startsWith(taskRoot); d = dirname(d)) dirs.add(d);
    // Lambda's /var/task: readable by the function's user, writable by nobody.
    await writeFile(path, entry.data(), { mode: 0o444 });
  }
  for (const dir of dirs) await chmod(dir, 0o555);

  const ricDir = dirname(options.ricEntry);
  await copyFile(options.ricEntry, join(runtimeDir, 'index.mjs'));
  await copyFile(join(ricDir, 'rapid-client.node'), join(runtimeDir, 'rapid-client.node'));
  await chmod(join(runtimeDir, 'index.mjs'), 0o444);
  await chmod(join(runtimeDir, 'rapid-client.node'), 0o555);
  await chmod(runtimeDir, 0o555);
  await chmod(join(root, 'var'), 0o555);
  await chmod(root, 0o755);

  return {
    root,
    taskRoot,
    runtimeDir,
    tmp,
    async remove() {
      // root can remove read-only trees only after making them writable again
      spawnSync('chmod', ['-R', 'u+w', root]);
      await rm(root, { recursive: true, force: true });
    },
  };
}

export interface LambdaProcessOptions {
  readonly fs: LambdaFilesystem;
  /** The Node 24 binary (scripts/node24.sh). */
  readonly node: string;
  /** e.g. functions/rotate.handler */
  readonly handler: string;
  readonly memoryMb: number;
  readonly functionName?: string;
  /** The function's configured environment plus the credentials and endpoints Lambda would provide. */
  readonly env: Readonly<Record<string, string>>;
  /** Run as this uid/gid; by default `nobody` when running as root (Lambda never runs functions as root). */
  readonly uid?: number;
  readonly gid?: number;
  /** Keep stdout/stderr text (log records) in memory; on by default. */
  readonly captureOutput?: boolean;
}

export interface LambdaProcess {
  readonly pid: number;
  readonly uid: number | undefined;
  readonly api: RuntimeApiEmulator;
  /**
   * process.hrtime-based ms from spawn to the RIC's first `next` (Lambda's Init Duration), or the init error;
   * `cpuMs`: the process's CPU time (all threads, 10 ms ticks) at that moment.
   */
  readonly init: Promise<InitOutcome & { readonly sinceSpawnMs: number; readonly cpuMs?: number }>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Milliseconds since the process was spawned (process.hrtime). */
  sinceSpawnMs(): number;
  /** CPU time (user + system, all threads) the process has used, ms (10 ms resolution). */
  cpuMs(): number;
  /** One invocation; `timeoutMs` is the function's timeout (the deadline header). */
  invoke(event: unknown, timeoutMs?: number): Promise<InvocationResult>;
  /** Everything the function wrote to stdout and stderr so far. */
  output(): string;
  /** The JSON log records in the output (Powertools lines and the RIC's JSON lines). */
  records(): Record<string, unknown>[];
  /** The kernel's high-water mark of the process's resident set (VmHWM), bytes. */
  peakRssBytes(): Promise<number>;
  stop(): Promise<void>;
}

const LAMBDA_PATH = '/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin';

/** Starts the RIC with Node 24 under the launcher's flags and waits for nothing: see `init`. */
export async function startLambdaProcess(options: LambdaProcessOptions): Promise<LambdaProcess> {
  const functionName = options.functionName ?? 'pingone-secret-rotation-local-rotate';
  const functionArn = `arn:aws:lambda:${options.env.AWS_REGION ?? 'us-east-1'}:000000000000:function:${functionName}`;
  let child: ChildProcess | undefined;
  let initCpuMs: number | undefined;
  const api = new RuntimeApiEmulator({
    functionArn,
    // The RIC blocks in `next` from here on: its CPU time so far is init's.
    onInit: () => {
      initCpuMs = child?.pid ? processCpuMs(child.pid) : undefined;
    },
    // Lambda stops the whole execution environment when an invocation times out.
    onTimeout: () => child?.kill('SIGKILL'),
  });
  const runtimeApi = await api.start();
  const runAs = defaultUser(options);
  const today = new Date().toISOString().slice(0, 10).replace(/-/g, '/');
  const env: Record<string, string> = {
    ...options.env,
    _HANDLER: options.handler,
    LAMBDA_TASK_ROOT: options.fs.taskRoot,
    LAMBDA_RUNTIME_DIR: options.fs.runtimeDir,
    AWS_LAMBDA_RUNTIME_API: runtimeApi,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${today}/[$LATEST]${randomBytes(16).toString('hex')}`,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: '169.254.79.129:2000',
    NODE_PATH: `/opt/nodejs/node24/node_modules:/opt/nodejs/node_modules:${options.fs.runtimeDir}/node_modules:${options.fs.runtimeDir}:${options.fs.taskRoot}`,
    LD_LIBRARY_PATH: `/var/lang/lib:/lib64:/usr/lib64:${options.fs.runtimeDir}:${options.fs.runtimeDir}/lib:${options.fs.taskRoot}:${options.fs.taskRoot}/lib:/opt/lib`,
    PATH: LAMBDA_PATH,
    TZ: ':UTC',
    LANG: 'en_US.UTF-8',
    TMPDIR: options.fs.tmp,
  };
  const spawnedAt = process.hrtime.bigint();
  child = spawn(
    options.node,
    [...launcherFlags(options.memoryMb), join(options.fs.runtimeDir, 'index.mjs')],
    {
      cwd: options.fs.taskRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(runAs ? { uid: runAs.uid, gid: runAs.gid } : {}),
    },
  );
  const started = child;
  const capture = options.captureOutput ?? true;
  let output = '';
  const keep = (chunk: Buffer) => {
    if (capture) output += chunk.toString('utf8');
  };
  started.stdout?.on('data', keep);
  started.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    started.on('exit', (code, signal) => {
      api.abandon(`runtime exited (${signal ?? code})`);
      resolve({ code, signal });
    });
  });
  const init = api.initDone.then((outcome) => ({
    ...outcome,
    sinceSpawnMs: Number(process.hrtime.bigint() - spawnedAt) / 1e6,
    ...(initCpuMs === undefined ? {} : { cpuMs: initCpuMs }),
  }));

  return {
    pid: started.pid ?? -1,
    uid: runAs?.uid,
    api,
    init,
    exited,
    sinceSpawnMs: () => Number(process.hrtime.bigint() - spawnedAt) / 1e6,
    cpuMs: () => processCpuMs(started.pid ?? -1),
    invoke: (event, timeoutMs = 90_000) => api.invoke({ event, timeoutMs }),
    output: () => output,
    records: () => parseRecords(output),
    async peakRssBytes() {
      const status = await readFile(`/proc/${started.pid}/status`, 'utf8');
      const kb = /^VmHWM:\s+(\d+) kB$/m.exec(status)?.[1];
      if (kb === undefined) throw new Error(`no VmHWM in /proc/${started.pid}/status`);
      return Number(kb) * 1024;
    },
    async stop() {
      if (started.exitCode === null && started.signalCode === null) {
        await stopChild(started, () => started.kill('SIGTERM'));
      }
      await api.stop();
    },
  };
}

/** utime + stime of /proc/<pid>/stat (fields 14 and 15, after the parenthesised command), in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15. USER_HZ is 100 on Linux.
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function defaultUser(options: LambdaProcessOptions): { uid: number; gid: number } | undefined {
  if (options.uid !== undefined) return { uid: options.uid, gid: options.gid ?? options.uid };
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root and there is no user "nobody"');
  return { uid, gid };
}

/** JSON records from the output: whole-line JSON, or JSON after the RIC's tab-separated text prefix. */
function parseRecords(text: string): Record<string, unknown>[] {
  const records: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    try {
      const parsed: unknown = JSON.parse(line.slice(start));
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        records.push(parsed as Record<string, unknown>);
      }
    } catch {
      // not a JSON record
    }
  }
  return records;
}
