import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BUILTIN_SHIMS, packagesInBundle, readBundlePackages } from '../../bench/bundle-packages.js';

describe('packages in the bundle (esbuild metafile)', () => {
  it('groups inputs by package and flags a package bundled from two node_modules paths', () => {
    const packages = packagesInBundle({
      outputs: {
        'dist/rotate/index.mjs.map': { inputs: {} },
        'dist/rotate/index.mjs': {
          inputs: {
            'lib/handler.ts': { bytesInOutput: 100 },
            'lib/redact.ts': { bytesInOutput: 50 },
            'node_modules/@aws-lambda-powertools/commons/lib/esm/index.js': { bytesInOutput: 30 },
            'node_modules/@aws-lambda-powertools/parameters/node_modules/@aws-lambda-powertools/commons/lib/esm/a.js':
              { bytesInOutput: 20 },
            'node_modules/@middy/core/index.js': { bytesInOutput: 10 },
            'builtin-require:stream/web': { bytesInOutput: 4 },
            'builtin-require:fs/promises': { bytesInOutput: 3 },
          },
        },
      },
    });
    expect(packages).toEqual([
      { name: 'lib/', paths: [], bytes: 150, files: 2 },
      {
        name: '@aws-lambda-powertools/commons',
        paths: [
          'node_modules/@aws-lambda-powertools/commons',
          'node_modules/@aws-lambda-powertools/parameters/node_modules/@aws-lambda-powertools/commons',
        ],
        bytes: 50,
        files: 2,
      },
      { name: '@middy/core', paths: ['node_modules/@middy/core'], bytes: 10, files: 1 },
      { name: BUILTIN_SHIMS, paths: [], bytes: 7, files: 2 },
    ]);
  });

  it('the build writes the metafile; the deployed bundle has one copy of each package and nothing from local/', () => {
    if (!existsSync('dist/rotate/meta.json')) {
      const build = spawnSync(process.execPath, ['scripts/build.mjs'], { encoding: 'utf8' });
      expect(build.status, build.stderr).toBe(0);
    }
    const packages = readBundlePackages('dist/rotate/meta.json');
    expect(packages.map((p) => p.name)).toEqual(
      expect.arrayContaining(['lib/', '@aws-lambda-powertools/commons', '@aws-sdk/client-secrets-manager']),
    );
    expect(packages.filter((p) => p.paths.length > 1).map((p) => p.paths)).toEqual([]);
    expect(packages.map((p) => p.name)).not.toContain('local/');
    expect(packages.map((p) => p.name)).not.toContain('test/');
  });
});
