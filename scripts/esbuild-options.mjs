// The one set of esbuild options for the deployed bundle. `npm run build` (scripts/build.mjs) and
// serverless-esbuild (serverless.yml custom.esbuild) both use it, so what runs locally is what deploys.

/** Lambda runtime is nodejs24.x, but every local test runs on Node 20: target syntax both accept. */
export const target = 'node22';

/** ESM bundles of the CJS parts of the AWS SDK need a real `require` (dynamic require of node:https). */
export const banner = {
  js: "import{createRequire as __pingoneCreateRequire}from'node:module';const require=__pingoneCreateRequire(import.meta.url);",
};

import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Node built-ins imported with `import` are loaded through Node's ESM facade, which reads every export of the
 * module — lazy getters included. `node:http`'s lazy `WebSocket`/`CloseEvent`/`MessageEvent` exports make that
 * facade load undici (Node's fetch: ~25 ms of CPU and its own http2, worker_threads, assert, perf_hooks), and
 * `node:crypto`'s load WebCrypto, on every cold start, although the function uses none of them. This plugin
 * turns each such import (static or dynamic) into a plain `require()` of the built-in (through the banner's real `require`), which
 * returns the same module object and leaves its lazy exports unread until something uses them.
 * @type {import('esbuild').Plugin}
 */
export const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    const names = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    build.onResolve({ filter: /^[a-z_/:0-9]+$/ }, (args) => {
      // The shims' own `require()` calls are require-calls, so they are left to esbuild (external built-ins).
      if (!names.has(args.path) || (args.kind !== 'import-statement' && args.kind !== 'dynamic-import')) {
        return undefined;
      }
      return { path: args.path.replace(/^node:/, ''), namespace: 'builtin-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(`node:${args.path}`)});`,
      loader: 'js',
    }));
  },
};

/** @type {import('esbuild').BuildOptions} */
export const bundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target,
  minify: true,
  // Error classes name themselves from `new.target.name`; without this, logs would say `Io`, not `DriftError`.
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  mainFields: ['module', 'main'],
  banner,
  plugins: [builtinsViaRequire],
};

/**
 * The Lambda bundle: the shared options, plus the SDK's default credential chain replaced by the environment
 * provider alone (see lib/aws/lambda-credentials.ts for why). The CLI bundle keeps the full chain.
 * @type {import('esbuild').BuildOptions}
 */
export const lambdaBundleOptions = {
  ...bundleOptions,
  alias: {
    '@aws-sdk/credential-provider-node': fileURLToPath(
      new URL('../lib/aws/lambda-credentials.ts', import.meta.url),
    ),
  },
};

/** Lambda entry points: functions/<name>.ts → dist/<name>/index.mjs exporting `handler`. */
export const functions = ['rotate', 'audit'];
