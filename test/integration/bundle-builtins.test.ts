import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { bundleOptions } from '../../scripts/esbuild-options.mjs';

/** An ESM import of a Node built-in in a bundle: `from"node:http"`, `import("node:zlib")`, `import"node:os"`. */
const ESM_BUILTIN_IMPORT =
  /(?:from\s*|import\s*\(\s*|import\s*)["'](?:node:)?(?:http|https|zlib|crypto|stream|fs)\b/g;

async function bundle(source: string): Promise<string> {
  const result = await build({
    ...bundleOptions,
    stdin: { contents: source, loader: 'ts', resolveDir: process.cwd() },
    write: false,
    sourcemap: false,
    logLevel: 'silent',
  });
  return result.outputFiles?.[0]?.text ?? '';
}

function ensureBuilt(): void {
  if (existsSync('dist/rotate/index.mjs')) return;
  const built = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
  expect(built.status, built.stderr).toBe(0);
}

describe('Node built-ins are required, not imported, in the bundles (cold start: no ESM facade reading lazy exports)', () => {
  it('turns static and dynamic imports of built-ins into require() and keeps them working', async () => {
    const text = await bundle(
      [
        "import { request } from 'node:http';",
        "import * as https from 'https';",
        "import zlibDefault from 'node:zlib';",
        "const os = await import('node:os');",
        'console.log(JSON.stringify([typeof request, typeof https.request, typeof zlibDefault.gzipSync, typeof os.default.cpus, typeof os.cpus]));',
      ].join('\n'),
    );
    expect(text.match(ESM_BUILTIN_IMPORT) ?? []).toEqual([]);
    expect(text).toMatch(/[\w$]+\("node:http"\)/);
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', text], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout)).toEqual(['function', 'function', 'function', 'function', 'function']);
  });

  it('the deployed bundle imports no built-in as ESM, and loading it does not load undici (Node fetch)', () => {
    ensureBuilt();
    const text = readFileSync('dist/rotate/index.mjs', 'utf8');
    expect(text.match(ESM_BUILTIN_IMPORT) ?? []).toEqual([]);
    const probe = [
      `const { handler } = await import(${JSON.stringify(pathToFileURL('dist/rotate/index.mjs').href)});`,
      'const loaded = process.moduleLoadList.filter((m) => /undici|http2|worker_threads/.test(m));',
      'console.log(JSON.stringify({ handler: typeof handler, loaded }));',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', probe], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'not-a-secret',
        PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
        PINGONE_REGION: 'NA',
        ROTATION_LEDGER_TABLE: 'pingone-rotation-ledger',
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ handler: 'function', loaded: [] });
  });
});
