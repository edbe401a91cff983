// serverless-esbuild config (serverless.yml custom.esbuild.config). serverless-esbuild loads this file with
// `require()` and calls the exported function, so it is CommonJS; it re-exports the ESM options that
// `npm run build` uses (scripts/esbuild-options.mjs) via require(esm), available without a flag from Node 20.19.
// Only the serverless-esbuild packaging knobs are added here — every esbuild option comes from the shared file.
const { lambdaBundleOptions } = require('../scripts/esbuild-options.mjs');

module.exports = () => ({
  ...lambdaBundleOptions,
  // Plugin options (stripped by serverless-esbuild before it calls esbuild):
  outputFileExtension: '.mjs',
  // Bundle everything, the AWS SDK v3 included; the default ['aws-sdk'] only concerns SDK v2, which we don't use.
  exclude: [],
});
