import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { build } from 'esbuild';
import { expect } from 'vitest';
import { bundleOptions } from '../../scripts/esbuild-options.mjs';

/**
 * A probe's source bundled with the project's esbuild options (the CLI's by default; pass lambdaBundleOptions for
 * the Lambda bundles'), without a source map: the text a fresh Node runs.
 */
export async function bundleProbe(
  source: string,
  options: typeof bundleOptions = bundleOptions,
  loader: 'js' | 'ts' = 'js',
): Promise<string> {
  const result = await build({
    ...options,
    stdin: { contents: source, loader, resolveDir: process.cwd() },
    write: false,
    sourcemap: false,
    logLevel: 'silent',
  });
  return result.outputFiles?.[0]?.text ?? '';
}

/** Builds dist/ (npm run build) unless it is there: CI builds before the tests, a developer may not have. */
export function ensureBuilt(): void {
  if (existsSync('dist/rotate/index.mjs')) return;
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
}

/** What the rotation function needs in its environment to load: its settings and AWS credentials. */
export const FUNCTION_LOAD_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'not-a-secret',
  PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
  PINGONE_REGION: 'NA',
  ROTATION_LEDGER_TABLE: 'pingone-rotation-ledger',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
} as const;
