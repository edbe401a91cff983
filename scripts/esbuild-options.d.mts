// Types for scripts/esbuild-options.mjs (plain JS, so that serverless-esbuild and the build scripts load it
// without a compiler), for the TypeScript that imports it (test/integration/bundle-builtins.test.ts).
import type { BuildOptions, Plugin } from 'esbuild';

export const target: string;
export const banner: { js: string };
export const builtinsViaRequire: Plugin;
export const bundleOptions: BuildOptions;
export const lambdaBundleOptions: BuildOptions;
export const functions: string[];
/** Built-in → the exports read at load (call-through functions); the module itself loads on first use. */
export const LAZY_BUILTINS: Readonly<Record<string, readonly string[]>>;
export const ERRORS_KEPT: { readonly ssm: readonly string[]; readonly dynamodb: readonly string[] };
export function trimErrorRegistry(client: 'ssm' | 'dynamodb'): Plugin;
export const sharedConfigReadViaFs: Plugin;
