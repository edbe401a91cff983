// The one set of esbuild options for the deployed bundle. `npm run build` (scripts/build.mjs) and
// serverless-esbuild (serverless.yml custom.esbuild) both use it, so what runs locally is what deploys.

/** Lambda runtime is nodejs24.x, but every local test runs on Node 20: target syntax both accept. */
export const target = 'node22';

/** ESM bundles of the CJS parts of the AWS SDK need a real `require` (dynamic require of node:https). */
export const banner = {
  js: "import{createRequire as __pingoneCreateRequire}from'node:module';const require=__pingoneCreateRequire(import.meta.url);",
};

import { fileURLToPath } from 'node:url';

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
