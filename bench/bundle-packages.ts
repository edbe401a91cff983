import { readFileSync } from 'node:fs';

/**
 * Which packages a bundle contains, from esbuild's metafile (scripts/build.mjs writes dist/<name>/meta.json):
 * each input file's bytes in the output, grouped by the package it belongs to. A package found under two
 * node_modules paths is bundled twice (two copies of Powertools commons, say); the project's own code is
 * grouped by its top folder (lib/, functions/), so anything from local/ in the deployed bundle shows too.
 */
export interface BundlePackage {
  /** `@scope/name`, or the project folder (`lib/`). */
  readonly name: string;
  /** `node_modules/...` paths this package was bundled from; more than one means duplicate copies. */
  readonly paths: readonly string[];
  readonly bytes: number;
  readonly files: number;
}

interface Metafile {
  outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }>; entryPoint?: string }>;
}

/** The name under which the built-in `require()` shims (virtual modules, `builtin-require:<name>`) are grouped. */
export const BUILTIN_SHIMS = 'node built-ins (require shims)';

export function packagesInBundle(metafile: Metafile, outputSuffix = '.mjs'): BundlePackage[] {
  const output = Object.entries(metafile.outputs).find(([file]) => file.endsWith(outputSuffix))?.[1];
  if (!output) throw new Error(`the metafile has no ${outputSuffix} output`);
  const groups = new Map<string, { paths: Set<string>; bytes: number; files: number }>();
  for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
    const { name, path } = ownerOf(input);
    const group = groups.get(name) ?? { paths: new Set<string>(), bytes: 0, files: 0 };
    if (path) group.paths.add(path);
    group.bytes += bytesInOutput;
    group.files += 1;
    groups.set(name, group);
  }
  return [...groups.entries()]
    .map(([name, g]) => ({ name, paths: [...g.paths].sort(), bytes: g.bytes, files: g.files }))
    .sort((a, b) => b.bytes - a.bytes);
}

export function readBundlePackages(metafilePath: string): BundlePackage[] {
  return packagesInBundle(JSON.parse(readFileSync(metafilePath, 'utf8')) as Metafile);
}

/** The package (and the node_modules path it came from) of one metafile input path. */
function ownerOf(input: string): { name: string; path?: string } {
  // The one-line `require()` shims scripts/esbuild-options.mjs puts in place of Node built-in imports.
  if (input.startsWith('builtin-require:')) return { name: BUILTIN_SHIMS };
  const marker = 'node_modules/';
  const at = input.lastIndexOf(marker);
  if (at === -1) {
    const top = input.replace(/^\.\//, '').split('/')[0] ?? input;
    return { name: top.includes('.') ? top : `${top}/` };
  }
  const rest = input.slice(at + marker.length).split('/');
  const name = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? input);
  return { name, path: `${input.slice(0, at + marker.length)}${name}` };
}
