import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { InvokeFn } from '../local/driver.js';
import { stopChild } from '../local/moto.js';

const HOST_SCRIPT = fileURLToPath(new URL('./function-host.mjs', import.meta.url));

export interface MemorySample {
  /** Resident set size now, bytes. */
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  /** Memory of C++ objects bound to JS objects, Buffers included. */
  readonly external: number;
  readonly arrayBuffers: number;
  /** The kernel's high-water mark of the resident set since the process started, bytes. */
  readonly maxRss: number;
  /** CPU time (user + system) the host process has used so far, milliseconds. */
  readonly cpuMs: number;
}

/** The built bundle running in its own process, invoked over IPC like a warm Lambda container. */
export interface FunctionHost {
  readonly pid: number;
  /** Time to import the bundle inside the host (module load + client construction). */
  readonly importMs: number;
  /** Memory right after the import, before any invocation. */
  readonly afterImport: MemorySample;
  readonly invoke: InvokeFn;
  /** `gc`: collect first (only if the host runs with --expose-gc). */
  memory(options?: { gc?: boolean }): Promise<MemorySample>;
  /** The last lines the function wrote to stderr (its error-level logs), for failure messages. */
  stderrTail(): string;
  stop(): Promise<void>;
}

type HostMessage =
  | ({ type: 'ready'; importMs: number } & MemorySample)
  | { type: 'result'; id: number; ok: boolean; name?: string; error?: string; value?: unknown }
  | ({ type: 'memory'; id: number } & MemorySample);

/**
 * Forks bench/function-host.mjs with exactly `env` (plus PATH/HOME) and no inherited execArgv, so neither tsx
 * nor the parent's flags end up in the function's process. `nodeOptions` is what the deployment sets.
 */
export async function startFunctionHost(options: {
  bundle: string;
  env: Readonly<Record<string, string>>;
  nodeOptions?: string;
  /** Node/V8 flags on the host's command line (e.g. the Lambda runtime's heap limits). */
  execArgv?: readonly string[];
  memoryLimitInMB?: string;
}): Promise<FunctionHost> {
  const child: ChildProcess = fork(HOST_SCRIPT, [options.bundle], {
    execArgv: [...(options.execArgv ?? [])],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      ...options.env,
      ...(options.nodeOptions ? { NODE_OPTIONS: options.nodeOptions } : {}),
    },
    // The function's JSON logs go nowhere (stdout ignored); stderr is kept for error messages.
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8_000);
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let nextId = 1;
  const pending = new Map<number, { resolve: (m: HostMessage) => void; reject: (e: Error) => void }>();
  let exited: Error | undefined;
  child.on('message', (message: HostMessage) => {
    if (message.type === 'ready') return;
    const waiter = pending.get(message.id);
    pending.delete(message.id);
    waiter?.resolve(message);
  });
  child.on('exit', (code, signal) => {
    exited = new Error(
      `function host exited (${signal ?? code}): ${stderr.trim().split('\n').slice(-5).join(' | ')}`,
    );
    for (const waiter of pending.values()) waiter.reject(exited);
    pending.clear();
  });

  const ready = await new Promise<Extract<HostMessage, { type: 'ready' }>>((resolve, reject) => {
    const onMessage = (message: HostMessage) => {
      if (message.type !== 'ready') return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      resolve(message);
    };
    const onExit = () => reject(exited ?? new Error('function host exited before it was ready'));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });

  const ask = (message: Record<string, unknown>): Promise<HostMessage> => {
    if (exited) return Promise.reject(exited);
    const id = nextId++;
    return new Promise<HostMessage>((resolve, reject) => {
      pending.set(id, { resolve, reject });
      child.send({ ...message, id });
    });
  };

  return {
    pid: child.pid ?? -1,
    importMs: ready.importMs,
    afterImport: memorySample(ready),
    async invoke(event, context) {
      const answer = await ask({
        type: 'invoke',
        event,
        remainingMs: context.getRemainingTimeInMillis(),
        functionName: context.functionName,
        invokedFunctionArn: context.invokedFunctionArn,
        memoryLimitInMB: options.memoryLimitInMB ?? context.memoryLimitInMB,
        awsRequestId: context.awsRequestId,
      });
      if (answer.type !== 'result') throw new Error(`function host answered ${answer.type}`);
      if (!answer.ok) {
        const error = new Error(answer.error ?? 'invocation failed');
        error.name = answer.name ?? 'Error';
        throw error;
      }
      return answer.value;
    },
    async memory(memoryOptions = {}) {
      const answer = await ask({ type: 'memory', gc: memoryOptions.gc === true });
      if (answer.type !== 'memory') throw new Error(`function host answered ${answer.type}`);
      return memorySample(answer);
    },
    stderrTail: () => stderr,
    async stop() {
      process.removeListener('exit', killOnExit);
      await stopChild(child, () => (child.connected ? child.send({ type: 'exit' }) : child.kill('SIGTERM')));
    },
  };
}

function memorySample(m: MemorySample): MemorySample {
  return {
    rss: m.rss,
    heapTotal: m.heapTotal,
    heapUsed: m.heapUsed,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
    maxRss: m.maxRss,
    cpuMs: m.cpuMs,
  };
}
