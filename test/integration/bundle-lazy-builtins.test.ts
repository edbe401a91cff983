import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions, LAZY_BUILTINS, lambdaBundleOptions } from '../../scripts/esbuild-options.mjs';
import { bundleProbe, ensureBuilt, FUNCTION_LOAD_ENV } from '../support/bundle-probe.js';

const run = promisify(execFile);

/**
 * Cold start: the built-ins a bundled package imports but the functions never use (LAZY_BUILTINS) are loaded on
 * first use, and the Lambda bundle's SDK reads its shared config file without `node:fs/promises`
 * (scripts/esbuild-options.mjs). Each probe runs in a fresh Node and reports what Node loaded
 * (`process.moduleLoadList`), so "not loaded" is observed, not assumed.
 */
const LOADED = (names: string) =>
  `process.moduleLoadList.filter((m) => [${names}].some((n) => m === 'NativeModule ' + n))`;

let dir: string;

async function bundleAndRun(
  source: string,
  options: typeof bundleOptions,
  env: Record<string, string> = {},
): Promise<unknown> {
  const file = join(dir, `probe-${Math.random().toString(36).slice(2)}.mjs`);
  await writeFile(file, await bundleProbe(source, options));
  const { stdout } = await run(process.execPath, [file], {
    env: { PATH: process.env.PATH, HOME: dir, ...env },
  });
  return JSON.parse(stdout);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lazy-builtins-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('built-ins the functions never use are loaded on first use, and then behave as the real ones', () => {
  it('lists stream/web and zlib', () => {
    expect(Object.keys(LAZY_BUILTINS).sort()).toEqual(['stream/web', 'zlib']);
  });

  it('a bundle importing them loads neither until an export is read; then each export is the real one', async () => {
    const out = await bundleAndRun(
      `
import { ReadableStream } from 'node:stream/web';
import * as zlib from 'node:zlib';
import zlibDefault, { gzipSync } from 'zlib';
const atLoad = ${LOADED("'stream/web', 'zlib'")};
// What the SDK's checksum module reads at load: its native CRC32 is a call-through that loads zlib when called.
const crc32IsFunction = typeof zlib.crc32 === 'function';
const afterTypeof = ${LOADED("'zlib'")};
const real = process.getBuiltinModule('node:zlib');
const crc = zlib.crc32('hello, rotation', 7) === real.crc32('hello, rotation', 7);
const gzip = real.gunzipSync(gzipSync('abc')).toString() === 'abc' && zlibDefault.constants === real.constants;
const stream = new ReadableStream() instanceof process.getBuiltinModule('node:stream/web').ReadableStream;
console.log(JSON.stringify({ atLoad, crc32IsFunction, afterTypeof, crc, gzip, stream,
  afterUse: ${LOADED("'stream/web', 'zlib'")} }));
`,
      bundleOptions,
    );
    expect(out).toEqual({
      atLoad: [],
      crc32IsFunction: true,
      afterTypeof: [],
      crc: true,
      gzip: true,
      stream: true,
      afterUse: expect.arrayContaining(['NativeModule zlib', 'NativeModule stream/web']),
    });
  });
});

describe("the Lambda bundle's SDK reads its shared config file with fs.readFile, not fs/promises", () => {
  const PROBE = `
import { loadSharedConfigFiles } from '@smithy/core/config';
const files = await loadSharedConfigFiles({ ignoreCache: true });
console.log(JSON.stringify({ config: files.configFile, credentials: files.credentialsFile,
  loaded: ${LOADED("'fs/promises'")} }));
`;

  it('reads the same values from the file AWS_CONFIG_FILE names, without loading fs/promises', async () => {
    const config = join(dir, 'config');
    await writeFile(config, '[default]\nmax_attempts = 7\n[profile rotation]\nregion = eu-west-1\n');
    const env = { AWS_CONFIG_FILE: config, AWS_SHARED_CREDENTIALS_FILE: join(dir, 'absent') };
    const lambda = await bundleAndRun(PROBE, lambdaBundleOptions, env);
    expect(lambda).toEqual({
      config: { default: { max_attempts: '7' }, rotation: { region: 'eu-west-1' } },
      credentials: {},
      loaded: [],
    });
    // The SDK's own reader (the CLI bundle keeps it) reads the same.
    const cli = (await bundleAndRun(PROBE, bundleOptions, env)) as Record<string, unknown>;
    expect({ config: cli.config, credentials: cli.credentials }).toEqual({
      config: lambda && (lambda as Record<string, unknown>).config,
      credentials: {},
    });
  });

  it('a missing file (Lambda has none) is no error, as with the SDK reader', async () => {
    const env = { AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'absent') };
    expect(await bundleAndRun(PROBE, lambdaBundleOptions, env)).toEqual({
      config: {},
      credentials: {},
      loaded: [],
    });
  });
});

describe('the deployed bundle, once loaded and its clients built, has not loaded them', () => {
  it('dist/rotate/index.mjs: no stream/web, zlib or fs/promises after import (the SDK has read its config)', async () => {
    ensureBuilt();
    const probe = [
      `const { handler } = await import(${JSON.stringify(pathToFileURL('dist/rotate/index.mjs').href)});`,
      // The clients resolve their settings (and read the config file) in the turns after the import.
      'await new Promise((resolve) => setTimeout(resolve, 200));',
      `console.log(JSON.stringify({ handler: typeof handler, loaded: ${LOADED("'stream/web', 'zlib', 'fs/promises'")} }));`,
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], {
      env: { PATH: process.env.PATH, HOME: dir, ...FUNCTION_LOAD_ENV },
    });
    expect(JSON.parse(stdout)).toEqual({ handler: 'function', loaded: [] });
  });
});
