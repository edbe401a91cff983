// Types for scripts/esbuild-options.mjs (plain JS, so that serverless-esbuild and the build scripts load it
// without a compiler), for the TypeScript that imports it (test/integration/bundle-builtins.test.ts).
import type { BuildOptions, Plugin } from 'esbuild';

export const target: string;
export const banner: { js: string };
export const builtinsViaRequire: Plugin;
export const bundleOptions: BuildOptions;
export const lambdaBundleOptions: BuildOptions;
export const functions: string[];
