#!/usr/bin/env node
// Bundles the operator CLI: cli/main.ts → dist/cli/pingone-rotation.mjs (package.json "bin"), with the
// deployed bundle's esbuild options. It is a separate bundle: nothing of it goes into the Lambda.
import { chmod, rm } from 'node:fs/promises';
import { build } from 'esbuild';
import { banner, bundleOptions } from './esbuild-options.mjs';

const outfile = 'dist/cli/pingone-rotation.mjs';
await rm('dist/cli', { recursive: true, force: true });
const result = await build({
  ...bundleOptions,
  entryPoints: ['cli/main.ts'],
  outfile,
  // esbuild keeps cli/main.ts's `#!/usr/bin/env node` as the first line, ahead of this banner.
  banner,
  metafile: true,
  logLevel: 'warning',
});
await chmod(outfile, 0o755);
const bytes = result.metafile.outputs[outfile]?.bytes ?? 0;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(1)} kB)`);
