import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { bundleOptions } from '../../scripts/esbuild-options.mjs';
import { bundleProbe, ensureBuilt, FUNCTION_LOAD_ENV } from '../support/bundle-probe.js';

/** An ESM import of a Node built-in in a bundle: `from"node:http"`, `import("node:zlib")`, `import"node:os"`. */
const ESM_BUILTIN_IMPORT =
  /(?:from\s*|import\s*\(\s*|import\s*)["'](?:node:)?(?:http|https|zlib|crypto|stream|fs)\b/g;

describe('Node built-ins are required, not imported, in the bundles (cold start: no ESM facade reading lazy exports)', () => {
  it('turns static and dynamic imports of built-ins into require() and keeps them working', async () => {
    const text = await bundleProbe(
      [
        "import { request } from 'node:http';",
        "import * as https from 'https';",
        "import zlibDefault from 'node:zlib';",
        "const os = await import('node:os');",
        'console.log(JSON.stringify([typeof request, typeof https.request, typeof zlibDefault.gzipSync, typeof os.default.cpus, typeof os.cpus]));',
      ].join('\n'),
      bundleOptions,
      'ts',
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
      env: { PATH: process.env.PATH, ...FUNCTION_LOAD_ENV },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ handler: 'function', loaded: [] });
  });
});
