import type { ChildProcess } from 'node:child_process';

/** How a child process ended, and all it wrote. */
export interface ChildResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** A running child process's output so far, its end, and a wait for a line on its stdout. */
export interface WatchedChild {
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has closed (its pipes too); rejects if it could not be started. */
  readonly done: Promise<ChildResult>;
  /** Resolves once stdout matches `pattern`; rejects after `ms` or when the process ends first. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
}

/** Collects a child's stdout and stderr (spawned with them as pipes) as they come. */
export function watch(child: ChildProcess): WatchedChild {
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters = new Set<() => void>();
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const check of waiters) check();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<ChildResult>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      ended = true;
      for (const check of waiters) check();
      resolve({ code, signal, stdout, stderr });
    });
  });
  return {
    stdout: () => stdout,
    stderr: () => stderr,
    done,
    waitFor(pattern, ms = 30_000) {
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(
            new Error(
              `no ${pattern} on stdout within ${ms} ms; stdout so far:\n${stdout}\nstderr:\n${stderr}`,
            ),
          );
        }, ms);
        const check = () => {
          if (pattern.test(stdout)) {
            clearTimeout(timer);
            waiters.delete(check);
            resolve();
          } else if (ended || child.exitCode !== null) {
            clearTimeout(timer);
            waiters.delete(check);
            reject(new Error(`process ended before ${pattern}; stdout:\n${stdout}\nstderr:\n${stderr}`));
          }
        };
        waiters.add(check);
        check();
      });
    },
  };
}
