#!/usr/bin/env node
// Bundles each Lambda entry point with esbuild: functions/<name>.ts → dist/<name>/index.mjs (+ .map), and
// esbuild's metafile dist/<name>/meta.json (which input files, so which packages, the bundle holds;
// `npm run bench` prints them). Files are written to a temporary name and renamed, so a process loading the
// bundle never sees half a file.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { build } from 'esbuild';
import { functions, lambdaBundleOptions } from './esbuild-options.mjs';

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
  for (const file of files) {
    await mkdir(dirname(file.path), { recursive: true });
    const temporary = `${file.path}.${process.pid}.tmp`;
    await writeFile(temporary, file.contents);
    await rename(temporary, file.path);
  }
  const bundle = result.outputFiles.find((file) => file.path.endsWith('.mjs'));
  console.log(`built dist/${name}/index.mjs (${((bundle?.contents.length ?? 0) / 1024).toFixed(1)} kB)`);
}
