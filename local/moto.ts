import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer as createHttpServer, request as httpRequest, type Server } from 'node:http';
import { createServer } from 'node:net';
import { delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A moto_server (local Secrets Manager, SSM and DynamoDB) started on a free loopback port. */
export interface MotoServer {
  /** Where clients go: moto behind the DynamoDB-serialising front (see `serialiseDynamoDb`). */
  readonly url: string;
  /** moto itself, without the front. */
  readonly directUrl: string;
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'moto_server was not found on PATH. It is the local Secrets Manager + SSM emulator; install it with: pip install "moto[server]"';

export class MotoNotInstalledError extends Error {
  constructor() {
    super(INSTALL_HINT);
    this.name = 'MotoNotInstalledError';
  }
}

/** A free TCP port on 127.0.0.1 (the OS picks it; we release it for the child to bind). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function motoInstalled(): boolean {
  return spawnSync('/bin/sh', ['-c', 'command -v moto_server'], { stdio: 'ignore' }).status === 0;
}

/** Python startup hooks for the local world's moto (see local/moto-patches/sitecustomize.py). */
const MOTO_PATCHES = fileURLToPath(new URL('./moto-patches', import.meta.url));

/**
 * Starts moto_server on 127.0.0.1 and waits until it answers. Throws MotoNotInstalledError with the
 * install command when it is missing. `stop()` kills it; it is also killed if this process exits.
 *
 * moto runs in its own process group (detached): a terminal's Ctrl-C goes to the foreground process group,
 * and moto must not die under the process that is still using it. That process handles the signal and stops
 * moto; should it die without doing so, moto ends itself (local/moto-patches watches the parent's pid).
 */
export async function startMoto(options: { readyTimeoutMs?: number } = {}): Promise<MotoServer> {
  if (!motoInstalled()) throw new MotoNotInstalledError();
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
      // local/moto-patches/sitecustomize.py: lets a secret tagged local:next-rotation-days-ago have a past
      // NextRotationDate (an overdue rotation); nothing else changes.
      env: {
        ...process.env,
        PYTHONPATH: [MOTO_PATCHES, process.env.PYTHONPATH].filter(Boolean).join(delimiter),
        LOCAL_WORLD_PARENT_PID: String(process.pid),
      },
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const url = `http://127.0.0.1:${port}`;
    const exitOnParentExit = () => killGroup(child, 'SIGKILL');
    process.once('exit', exitOnParentExit);
    const ready = await waitUntilReady(url, child, deadline);
    if (ready) {
      const front = await serialiseDynamoDb(url);
      return {
        url: front.url,
        directUrl: url,
        stop: async () => {
          process.removeListener('exit', exitOnParentExit);
          await front.stop();
          await stopChild(
            child,
            () => killGroup(child, 'SIGTERM'),
            () => killGroup(child, 'SIGKILL'),
          );
        },
      };
    }
    process.removeListener('exit', exitOnParentExit);
    await stopChild(
      child,
      () => killGroup(child, 'SIGTERM'),
      () => killGroup(child, 'SIGKILL'),
    );
    // The port may have been taken between our probe and moto's bind: try another, within the deadline.
    if (Date.now() >= deadline || attempt >= 3) {
      throw new Error(
        `moto_server did not start on ${url}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
  }
}

/** Signals the child's whole process group (it leads one: spawned detached); the child alone as a fallback. */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, signal);
    else child.kill(signal);
  } catch {
    child.kill(signal);
  }
}

async function waitUntilReady(url: string, child: ChildProcess, deadline: number): Promise<boolean> {
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return false;
    try {
      const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1_000) });
      if (response.ok || response.status < 500) return true;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

/**
 * Stops a child process: asks it to end (`askToExit`, SIGTERM by default), and kills it (`kill`, SIGKILL by
 * default) if it has not exited within 3 s.
 */
export async function stopChild(
  child: ChildProcess,
  askToExit: () => void = () => child.kill('SIGTERM'),
  kill: () => void = () => child.kill('SIGKILL'),
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(kill, 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    askToExit();
  });
}

/**
 * A pass-through HTTP front for moto that sends DynamoDB requests to it one at a time (Secrets Manager and
 * SSM pass straight through).
 *
 * The rotation ledger relies on DynamoDB's documented guarantee that a conditional write is atomic: of two
 * writes conditioned on the same revision, one fails. moto 5.2.1's threaded server checks the condition and
 * then applies the update without a lock, so two overlapping writes can both succeed (seen here: two
 * containers both won `attribute_not_exists(pk)` and PingOne regenerated twice). Serialising DynamoDB
 * requests restores the guarantee the real service gives; the function's code is the same either way.
 */
async function serialiseDynamoDb(target: string): Promise<{ url: string; stop(): Promise<void> }> {
  const upstream = new URL(target);
  let queue: Promise<unknown> = Promise.resolve();
  const server: Server = createHttpServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const forward = () =>
        new Promise<void>((resolve) => {
          const out = httpRequest(
            {
              host: upstream.hostname,
              port: upstream.port,
              method: req.method,
              path: req.url,
              headers: req.headers,
            },
            (answer) => {
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              answer.pipe(res);
              answer.on('end', resolve);
              answer.on('error', resolve);
            },
          );
          out.on('error', () => {
            if (!res.headersSent) res.writeHead(502);
            res.end();
            resolve();
          });
          out.end(Buffer.concat(chunks));
        });
      const target = String(req.headers['x-amz-target'] ?? '');
      if (target.startsWith('DynamoDB_')) {
        queue = queue.then(forward, forward);
      } else {
        void forward();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
