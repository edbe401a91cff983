#!/usr/bin/env node
// Bundles the operator CLI: cli/main.ts → dist/cli/pingone-rotation.mjs (package.json "bin"), with the
// deployed bundle's esbuild options. It is a separate bundle: nothing of it goes into the Lambda.
// Files are written through scripts/write-outputs.mjs (temporary name, then rename), so a CLI started while a
// build runs (the test suite runs `npm start`, which builds, beside tests that run the CLI) never finds it
// missing or half written.
import { relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { banner, bundleOptions } from './esbuild-options.mjs';
import { writeOutputs } from './write-outputs.mjs';

const outfile = 'dist/cli/pingone-rotation.mjs';
const result = await build({
  ...bundleOptions,
  entryPoints: ['cli/main.ts'],
  outfile,
  // esbuild keeps cli/main.ts's `#!/usr/bin/env node` as the first line, ahead of this banner.
  banner,
  write: false,
  metafile: true,
  logLevel: 'warning',
});
await writeOutputs(
  result.outputFiles.map((file) => ({
    path: file.path,
    contents: file.contents,
    ...(file.path === resolve(outfile) ? { mode: 0o755 } : {}),
  })),
);
const bytes = result.metafile.outputs[relative(process.cwd(), resolve(outfile))]?.bytes ?? 0;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(1)} kB)`);
