#!/usr/bin/env node
// Bundles each Lambda entry point with esbuild: functions/<name>.ts → dist/<name>/index.mjs.
import { rm } from 'node:fs/promises';
import { build } from 'esbuild';
import { bundleOptions, functions } from './esbuild-options.mjs';

for (const name of functions) {
  await rm(`dist/${name}`, { recursive: true, force: true });
  const result = await build({
    ...bundleOptions,
    entryPoints: [`functions/${name}.ts`],
    outfile: `dist/${name}/index.mjs`,
    metafile: true,
    logLevel: 'warning',
  });
  const bytes = Object.values(result.metafile.outputs)
    .filter((_, i) => Object.keys(result.metafile.outputs)[i]?.endsWith('.mjs'))
    .reduce((sum, o) => sum + o.bytes, 0);
  console.log(`built dist/${name}/index.mjs (${(bytes / 1024).toFixed(1)} kB)`);
}
