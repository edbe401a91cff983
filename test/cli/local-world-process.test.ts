/**
 * `npm start` (local/start.ts) and `npm run demo` (cli/demo-world.ts) as a terminal runs them (issue 20): a
 * Ctrl-C goes to the whole foreground process group, so the tests start each one as the leader of its own
 * group and signal the group. moto must not die under the orchestrator: it runs in its own group, and the
 * orchestrator stops it and exits 130. Without moto_server on PATH, each says why and exits 1, promptly,
 * leaving nothing running (before: npm start hung with the simulator listening; the demo world printed a
 * stack trace).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';

/** PATH without any directory that holds moto_server (node stays reachable: process.execPath is absolute). */
const PATH_WITHOUT_MOTO = (process.env.PATH ?? '')
  .split(delimiter)
  .filter((dir) => {
    try {
      accessSync(join(dir, 'moto_server'), constants.X_OK);
      return false;
    } catch {
      return true;
    }
  })
  .join(delimiter);

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  out(): string;
  err(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  readonly done: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  /** What a terminal's Ctrl-C does: the signal to every process of the foreground group. */
  signalGroup(signal: NodeJS.Signals): void;
}

function run(script: string, env: Record<string, string> = {}): Run {
  const startedAt = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
    // The leader of a new process group, as a shell makes a foreground job.
    detached: true,
  });
  child.stdin.end();
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal, ms: Date.now() - startedAt })),
  );
  return {
    child,
    out: () => stdout,
    err: () => stderr,
    done,
    async waitFor(pattern, ms = 60_000) {
      const until = Date.now() + ms;
      while (!pattern.test(stdout)) {
        if (child.exitCode !== null || child.signalCode !== null || Date.now() > until)
          throw new Error(`no ${pattern}:\n${stdout}\n${stderr}`);
        await sleep(50);
      }
    },
    signalGroup(signal) {
      process.kill(-child.pid!, signal);
    },
  };
}

/** Ends whatever the test left (the group, in case a test failed halfway). */
function cleanUp(r: Run): void {
  try {
    process.kill(-r.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** True while something listens on `url`. */
async function listening(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return true;
  } catch {
    return false;
  }
}

/** The moto_server processes started for `port` (none once it is stopped). */
function motoProcesses(port: string): string {
  return spawnSync('pgrep', ['-f', `moto_server -H 127.0.0.1 -p ${port}`], {
    encoding: 'utf8',
  }).stdout.trim();
}

describe('without moto_server on PATH', () => {
  it('npm start (local/start.ts) says how to install it and exits 1 at once, leaving nothing running', async () => {
    const r = run('local/start.ts', { PATH: PATH_WITHOUT_MOTO });
    try {
      const { code, ms } = await Promise.race([
        r.done,
        sleep(30_000).then(() => ({ code: 'still running after 30 s', ms: 30_000 })),
      ]);
      expect(code, r.out() + r.err()).toBe(1);
      expect(ms).toBeLessThan(20_000);
      expect(r.err()).toBe(
        'npm start failed: moto_server was not found on PATH. It is the local Secrets Manager + SSM emulator; install it with: pip install "moto[server]"\n',
      );
    } finally {
      cleanUp(r);
    }
  });

  it('npm run demo (cli/demo-world.ts) says how to install it, no stack trace, exits 1', async () => {
    const r = run('cli/demo-world.ts', { PATH: PATH_WITHOUT_MOTO });
    try {
      const { code } = await Promise.race([
        r.done,
        sleep(30_000).then(() => ({ code: 'still running after 30 s' })),
      ]);
      expect(code, r.out() + r.err()).toBe(1);
      expect(r.err()).toBe(
        'demo-world: moto_server was not found on PATH. It is the local Secrets Manager + SSM emulator; install it with: pip install "moto[server]"\n',
      );
      expect(r.err()).not.toMatch(/^\s+at /m);
    } finally {
      cleanUp(r);
    }
  });
});

describe('Ctrl-C from a terminal (SIGINT to the whole process group)', () => {
  beforeAll(() => {
    // local/start.ts rotates through the built bundle, as npm start does after npm run build.
    if (!existsSync('dist/rotate/index.mjs')) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
    }
  }, 120_000);

  it('npm start: stops moto and the simulator, says so, exits 130', async () => {
    const r = run('local/start.ts');
    try {
      await r.waitFor(/^PingOne simulator on (\S+); moto \(Secrets Manager, SSM, DynamoDB\) on (\S+);/m);
      const [, simUrl, motoUrl] =
        /^PingOne simulator on (\S+); moto \(Secrets Manager, SSM, DynamoDB\) on (\S+);/m.exec(r.out())!;
      r.signalGroup('SIGINT');
      const { code, signal } = await r.done;
      expect({ code, signal }, r.out() + r.err()).toEqual({ code: 130, signal: null });
      expect(r.err()).toContain('npm start: SIGINT: stopping moto and the PingOne simulator\n');
      expect(r.err()).toContain('npm start: stopped; nothing is left running\n');
      expect(await listening(motoUrl!)).toBe(false);
      expect(await listening(simUrl!)).toBe(false);
      expect(motoProcesses(new URL(motoUrl!).port)).toBe('');
    } finally {
      cleanUp(r);
    }
  });

  it('the demo world, once up: stops moto and the simulator, exits 130', async () => {
    const r = run('cli/demo-world.ts');
    try {
      await r.waitFor(/^Ctrl-C stops moto and the simulator\.$/m, 90_000);
      const motoUrl = /^Local world up: moto (\S+),/m.exec(r.out())![1]!;
      r.signalGroup('SIGINT');
      const { code, signal } = await r.done;
      expect({ code, signal }, r.out() + r.err()).toEqual({ code: 130, signal: null });
      expect(r.out()).toMatch(/Stopped \(SIGINT\): moto and the PingOne simulator are down/);
      expect(r.err()).toBe('');
      expect(await listening(motoUrl)).toBe(false);
    } finally {
      cleanUp(r);
    }
  }, 120_000);

  it('the demo world while seeding: stops at a step boundary (moto still up), exits 130', async () => {
    const r = run('cli/demo-world.ts', { DEMO_WORLD_SLOW_REGENERATE_MS: '1500' });
    try {
      await r.waitFor(/^Seeding pingone\/billing-api…$/m);
      await sleep(600);
      r.signalGroup('SIGINT');
      const { code } = await r.done;
      expect(code, r.out() + r.err()).toBe(130);
      expect(r.out()).toMatch(
        /^Interrupted \(SIGINT\) while seeding, in pingone\/billing-api, after createSecret, before setSecret: stopped at a step boundary, no step was cut short\.$/m,
      );
      expect(r.out()).toContain('To start again: npm run demo');
      expect(r.err()).not.toMatch(/^\s+at /m);
    } finally {
      cleanUp(r);
    }
  }, 120_000);

  it('SIGKILL to npm start alone (no chance to stop moto): moto ends itself within seconds', async () => {
    const r = run('local/start.ts');
    try {
      await r.waitFor(/moto \(Secrets Manager, SSM, DynamoDB\) on (\S+);/m);
      const motoUrl = /moto \(Secrets Manager, SSM, DynamoDB\) on (\S+);/m.exec(r.out())![1]!;
      const port = new URL(motoUrl).port;
      expect(motoProcesses(port)).not.toBe('');
      r.child.kill('SIGKILL');
      await r.done;
      const until = Date.now() + 10_000;
      while (motoProcesses(port) !== '' && Date.now() < until) await sleep(200);
      expect(motoProcesses(port)).toBe('');
    } finally {
      cleanUp(r);
    }
  });
});
