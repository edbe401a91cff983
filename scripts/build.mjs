#!/usr/bin/env node
// Bundles each Lambda entry point with esbuild: functions/<name>.ts → dist/<name>/index.mjs (+ .map), and
// esbuild's metafile dist/<name>/meta.json (which input files, so which packages, the bundle holds;
// `npm run bench` prints them). Files are written to a temporary name and renamed, so a process loading the
// bundle never sees half a file.
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { functions, lambdaBundleOptions } from './esbuild-options.mjs';
import { writeOutputs } from './write-outputs.mjs';

for (const name of functions) {
  const result = await build({
    ...lambdaBundleOptions,
    entryPoints: [`functions/${name}.ts`],
    outfile: `dist/${name}/index.mjs`,
    write: false,
    metafile: true,
    logLevel: 'warning',
  });
  const files = [
    ...result.outputFiles.map((file) => ({ path: file.path, contents: file.contents })),
    { path: resolve(`dist/${name}/meta.json`), contents: JSON.stringify(result.metafile) },
  ];
  await writeOutputs(files);
  const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  console.log(`built dist/${name}/index.mjs (${((bundle?.contents.length ?? 0) / 1024).toFixed(1)} kB)`);
}
