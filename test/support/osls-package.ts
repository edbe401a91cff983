import { execFile } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** serverless-esbuild builds in the service directory (.esbuild/), so two packagings at once would collide. */
const LOCK = join(root, '.serverless-package.lock');
const WAIT_MS = 150_000;
/** A lock older than this was left by a killed run: packaging takes seconds. */
const STALE_MS = 120_000;

/**
 * `osls package --stage ci --package <packageDir>` (offline, as `npm run package`), one at a time across the
 * suite's workers: the lock is a directory, which `mkdir` creates atomically or fails on.
 */
export async function packageService(
  packageDir: string,
  options: { timeoutMs?: number; args?: readonly string[] } = {},
): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    try {
      await mkdir(LOCK);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const age = await stat(LOCK).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > STALE_MS) await rm(LOCK, { recursive: true, force: true });
      else if (Date.now() > deadline) throw new Error(`${LOCK} held for over ${WAIT_MS / 1000} s`);
      else await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  try {
    await run(
      process.execPath,
      [
        join(root, 'node_modules/osls/bin/serverless.js'),
        'package',
        '--stage',
        'ci',
        '--package',
        packageDir,
        ...(options.args ?? []),
      ],
      {
        cwd: root,
        timeout: options.timeoutMs ?? 80_000,
        env: { ...process.env, SLS_TELEMETRY_DISABLED: '1' },
      },
    );
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`osls package failed:\n${stdout ?? ''}\n${stderr ?? ''}`, { cause: error });
  } finally {
    await rm(LOCK, { recursive: true, force: true });
  }
}
