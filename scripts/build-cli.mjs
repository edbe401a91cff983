#!/usr/bin/env node
// Bundles the operator CLI: cli/main.ts → dist/cli/pingone-rotation.mjs (package.json "bin"), with the
// deployed bundle's esbuild options. It is a separate bundle: nothing of it goes into the Lambda.
// Each file is written to a temporary name and renamed, as scripts/build.mjs does, so a CLI started while a
// build runs (the test suite runs `npm start`, which builds, beside tests that run the CLI) never finds it
// missing or half written.
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { banner, bundleOptions } from './esbuild-options.mjs';

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
for (const file of result.outputFiles) {
  await mkdir(dirname(file.path), { recursive: true });
  const temporary = `${file.path}.${process.pid}.tmp`;
  await writeFile(temporary, file.contents);
  if (file.path === resolve(outfile)) await chmod(temporary, 0o755);
  await rename(temporary, file.path);
}
const bytes = result.metafile.outputs[relative(process.cwd(), resolve(outfile))]?.bytes ?? 0;
console.log(`built ${outfile} (${(bytes / 1024).toFixed(1)} kB)`);
