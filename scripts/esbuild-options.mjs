// The one set of esbuild options for the deployed bundle. `npm run build` (scripts/build.mjs) and
// serverless-esbuild (serverless.yml custom.esbuild) both use it, so what runs locally is what deploys.

/** Lambda runtime is nodejs24.x, but every local test runs on Node 20: target syntax both accept. */
export const target = 'node22';

/** ESM bundles of the CJS parts of the AWS SDK need a real `require` (dynamic require of node:https). */
export const banner = {
  js: "import{createRequire as __pingoneCreateRequire}from'node:module';const require=__pingoneCreateRequire(import.meta.url);",
};

import { readFile } from 'node:fs/promises';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

/**
 * Node built-ins imported with `import` are loaded through Node's ESM facade, which reads every export of the
 * module — lazy getters included. `node:http`'s lazy `WebSocket`/`CloseEvent`/`MessageEvent` exports make that
 * facade load undici (Node's fetch: ~25 ms of CPU and its own http2, worker_threads, assert, perf_hooks), and
 * `node:crypto`'s load WebCrypto, on every cold start, although the function uses none of them. This plugin
 * turns each such import (static or dynamic) into a plain `require()` of the built-in (through the banner's real `require`), which
 * returns the same module object and leaves its lazy exports unread until something uses them.
 * @type {import('esbuild').Plugin}
 */
export const builtinsViaRequire = {
  name: 'builtins-via-require',
  setup(build) {
    const names = new Set(builtinModules.flatMap((name) => [name, `node:${name}`]));
    build.onResolve({ filter: /^[a-z_/:0-9]+$/ }, (args) => {
      // The shims' own `require()` calls are require-calls, so they are left to esbuild (external built-ins).
      if (!names.has(args.path) || (args.kind !== 'import-statement' && args.kind !== 'dynamic-import')) {
        return undefined;
      }
      return { path: args.path.replace(/^node:/, ''), namespace: 'builtin-require' };
    });
    build.onLoad({ filter: /.*/, namespace: 'builtin-require' }, async (args) => {
      const specifier = JSON.stringify(`node:${args.path}`);
      const callThrough = LAZY_BUILTINS[args.path];
      if (!callThrough) return { contents: `module.exports = require(${specifier});`, loader: 'js' };
      // The names come from the building Node; each one loads the module when it is first read (or called).
      const builtin = await import(`node:${args.path}`);
      const names = Object.keys(builtin).filter((name) => name !== 'default');
      for (const name of callThrough) {
        if (typeof builtin[name] !== 'function') {
          throw new Error(`builtins-via-require: node:${args.path} has no function ${name} on this Node`);
        }
      }
      return {
        contents:
          `let loaded; const load = () => (loaded ??= require(${specifier})); const exported = {};\n` +
          `for (const name of ${JSON.stringify(names)}) Object.defineProperty(exported, name, ` +
          `${JSON.stringify(callThrough)}.includes(name) ` +
          '? { enumerable: true, value: (...args) => load()[name](...args) } ' +
          ': { enumerable: true, get: () => load()[name] });\n' +
          'module.exports = exported;',
        loader: 'js',
      };
    });
  },
};

/**
 * Built-ins that a bundled package imports at load but the functions never use: `stream/web` (middy's streamed
 * responses) and `zlib` (the SDK's CRC32 checksums, for S3-style flexible checksums; Secrets Manager, SSM and
 * DynamoDB calls carry none). Their shims load the module on the first read of an export instead of at cold
 * start (~15 ms of CPU on Node 24 with Lambda's flags). The names listed for a module are read at load by the
 * package (the SDK picks its native CRC32 with `typeof zlib.crc32`), so they are call-through functions rather
 * than getters; every other export is a getter.
 */
export const LAZY_BUILTINS = { 'stream/web': [], zlib: ['crc32'] };

/** @type {import('esbuild').BuildOptions} */
export const bundleOptions = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target,
  minify: true,
  // Error classes name themselves from `new.target.name`; without this, logs would say `Io`, not `DriftError`.
  keepNames: true,
  sourcemap: true,
  legalComments: 'none',
  mainFields: ['module', 'main'],
  banner,
  plugins: [builtinsViaRequire],
};

/**
 * The calls the Lambda functions make to SSM and DynamoDB, and the errors each is modelled to answer (the SDK's
 * `@throws` for the command; test/integration/bundle-error-registry.test.ts checks this list against the
 * installed SDK and against the commands the bundles hold).
 */
export const ERRORS_KEPT = {
  // One GetParameter per container: the worker credentials.
  ssm: ['InternalServerError', 'InvalidKeyId', 'ParameterNotFound', 'ParameterVersionNotFound'],
  // The rotation ledger, the rate buckets, the audit cursor and lease: GetItem, BatchGetItem, PutItem, UpdateItem.
  dynamodb: [
    'ConditionalCheckFailedException',
    'InternalServerError',
    'InvalidEndpointException',
    'ItemCollectionSizeLimitExceededException',
    'ProvisionedThroughputExceededException',
    'ReplicatedWriteConflictException',
    'RequestLimitExceeded',
    'ResourceNotFoundException',
    'ThrottlingException',
    'TransactionConflictException',
  ],
};

/**
 * A client of the SDK registers all of its service's modelled errors at load (`registerError` in its schemas),
 * which keeps every error class and schema in the bundle: SSM's ~140 (about 50 kB) for one GetParameter per
 * container, DynamoDB's 35 for four item calls. This plugin leaves the registrations of the errors the functions'
 * calls are modelled to answer (ERRORS_KEPT) and drops the rest, so esbuild tree-shakes their classes, which Node
 * would otherwise compile and evaluate on every cold start. The client is otherwise the SDK's own (retries,
 * endpoints, credentials, signing). An error not registered still arrives with its name, code, message and HTTP
 * metadata, as the client's ServiceException (the SDK's path for any code it does not know); nothing in the
 * functions branches on a dropped class (they test `instanceof ConditionalCheckFailedException`, kept, or
 * `name`). The build fails if the SDK's file no longer has the shape this expects.
 * @param {'ssm' | 'dynamodb'} client
 * @returns {import('esbuild').Plugin}
 */
export function trimErrorRegistry(client) {
  const keep = ERRORS_KEPT[client];
  return {
    name: `trim-${client}-error-registry`,
    setup(build) {
      const file = new RegExp(
        `[\\\\/]@aws-sdk[\\\\/]client-${client}[\\\\/]dist-es[\\\\/]schemas[\\\\/]schemas_0\\.js$`,
      );
      build.onLoad({ filter: file }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const kept = new Set();
        const dropped = new Set();
        // Each error: `export var X$ = [-3, n0, …\n];` (its schema) and `n0_registry.registerError(X$, X);`.
        // Both go for an error not kept (nothing else refers to its schema), so its class is tree-shaken.
        let contents = source.replace(
          /^n0_registry\.registerError\((\w+)\$, (\w+)\);$/gm,
          (line, schema, errorClass) => {
            if (schema === errorClass && keep.includes(errorClass)) {
              kept.add(errorClass);
              return line;
            }
            dropped.add(schema);
            return '';
          },
        );
        contents = contents.replace(
          /^export var (\w+)\$ = \[-3, n0, [^\n]*\n(?:[^\n]*\n)*?\];$/gm,
          (block, name) => (dropped.has(name) ? '' : block),
        );
        if (kept.size !== keep.length || dropped.size === 0) {
          throw new Error(
            `trim-${client}-error-registry: ${args.path} no longer registers its errors as expected ` +
              `(kept ${[...kept].join(', ') || 'none'}, dropped ${dropped.size}); update scripts/esbuild-options.mjs`,
          );
        }
        return { contents, loader: 'js' };
      });
    },
  };
}

/**
 * The SDK reads the shared config file (~/.aws/config) once per container to resolve its settings, through
 * `node:fs/promises`, whose first load (with its readline and FileHandle machinery) costs ~10 ms of CPU on Node 24
 * with Lambda's flags. `node:fs` is loaded anyway, so the Lambda bundle's copy of the SDK's file reader reads
 * the same file with `fs.readFile` instead: same path, encoding, result and errors (ENOENT, the usual answer in
 * Lambda, is still caught by the SDK). The build fails if the SDK's files no longer have the expected import.
 * @type {import('esbuild').Plugin}
 */
export const sharedConfigReadViaFs = {
  name: 'shared-config-read-via-fs',
  setup(build) {
    build.onLoad(
      {
        filter:
          /[\\/]@smithy[\\/]core[\\/]dist-es[\\/]submodules[\\/]config[\\/]shared-ini-file-loader[\\/](readFile|getSSOTokenFromFile)\.js$/,
      },
      async (args) => {
        const source = await readFile(args.path, 'utf8');
        const imported = /^import \{ readFile(?: as (\w+))? \} from "node:fs\/promises";$/m;
        const match = source.match(imported);
        if (!match) {
          throw new Error(
            `shared-config-read-via-fs: ${args.path} no longer imports readFile from node:fs/promises; ` +
              'update scripts/esbuild-options.mjs',
          );
        }
        const local = match[1] ?? 'readFile';
        const contents = source.replace(
          imported,
          'import { readFile as readFileWithCallback } from "node:fs";\n' +
            `const ${local} = (path, options) => new Promise((resolve, reject) => ` +
            'readFileWithCallback(path, options, (error, data) => (error ? reject(error) : resolve(data))));',
        );
        return { contents, loader: 'js' };
      },
    );
  },
};

/**
 * The Lambda bundle: the shared options, plus the SDK's default credential chain replaced by the environment
 * provider alone (see lib/aws/lambda-credentials.ts for why), the SSM and DynamoDB clients' error registries
 * trimmed to the errors of the calls the functions make (trimErrorRegistry), and the SDK's config file read
 * without fs/promises (sharedConfigReadViaFs). The CLI bundle keeps the full chain and every error.
 * @type {import('esbuild').BuildOptions}
 */
export const lambdaBundleOptions = {
  ...bundleOptions,
  plugins: [
    ...bundleOptions.plugins,
    trimErrorRegistry('ssm'),
    trimErrorRegistry('dynamodb'),
    sharedConfigReadViaFs,
  ],
  alias: {
    '@aws-sdk/credential-provider-node': fileURLToPath(
      new URL('../lib/aws/lambda-credentials.ts', import.meta.url),
    ),
  },
};

/** Lambda entry points: functions/<name>.ts → dist/<name>/index.mjs exporting `handler`. */
export const functions = ['rotate', 'audit'];
