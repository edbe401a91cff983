import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

/** A moto_server (local Secrets Manager + SSM) started on a free loopback port. */
export interface MotoServer {
  readonly url: string;
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

/**
 * Starts moto_server on 127.0.0.1 and waits until it answers. Throws MotoNotInstalledError with the
 * install command when it is missing. `stop()` kills it; it is also killed if this process exits.
 */
export async function startMoto(options: { readyTimeoutMs?: number } = {}): Promise<MotoServer> {
  if (!motoInstalled()) throw new MotoNotInstalledError();
  const deadline = Date.now() + (options.readyTimeoutMs ?? 20_000);
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: false,
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4_000);
    });
    const url = `http://127.0.0.1:${port}`;
    const exitOnParentExit = () => child.kill('SIGKILL');
    process.once('exit', exitOnParentExit);
    const ready = await waitUntilReady(url, child, deadline);
    if (ready) {
      return {
        url,
        stop: async () => {
          process.removeListener('exit', exitOnParentExit);
          await stopChild(child);
        },
      };
    }
    process.removeListener('exit', exitOnParentExit);
    await stopChild(child);
    // The port may have been taken between our probe and moto's bind: try another, within the deadline.
    if (Date.now() >= deadline || attempt >= 3) {
      throw new Error(
        `moto_server did not start on ${url}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
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
 * Stops a child process: asks it to end (`askToExit`, SIGTERM by default), and kills it if it has not exited
 * within 3 s.
 */
export async function stopChild(
  child: ChildProcess,
  askToExit: () => void = () => child.kill('SIGTERM'),
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    askToExit();
  });
}
