/**
 * Cold init, import only: the CPU time (user + system) a fresh Node spends to import a Lambda bundle and build
 * its clients, over `node -e 0`, and which Node built-ins that import loads. CPU time moves less with the
 * machine's load than wall time, and the kinds run interleaved, shuffled, so they share the noise.
 *
 *   npm run bench:import                                   dist/rotate/index.mjs (build first)
 *   npm run bench:import -- --baseline other/index.mjs     and another build, side by side
 *   npm run bench:import -- --rounds 41
 *
 * Beside them, the floor: a bundle built here with the same Lambda options that only constructs the three AWS SDK
 * clients the function uses (Secrets Manager, DynamoDB, SSM), so the figures say how much of the import is the
 * SDK itself and how much is everything else.
 *
 * Two runtimes: this Node as is, and Node 24 (scripts/node24.sh) with the flags Lambda's runtime gives a
 * 256 MB function (`--expose-gc` among them, which makes Node's own modules slower to load). Prints a table;
 * BENCH_SAVE=1 also writes bench/import-results.json, from which docs/measured.md quotes.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { lambdaBundleOptions } from '../scripts/esbuild-options.mjs';
import { lambdaRuntimeFlags } from './cold-init.js';
import { round, type Summary, shuffle, summarize } from './stats.js';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '31' },
    baseline: { type: 'string' },
    bundle: { type: 'string', default: 'dist/rotate/index.mjs' },
  },
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 3)
  throw new Error(`--rounds must be an integer ≥ 3, not ${values.rounds}`);

/** What the function needs at import: its configuration and AWS credentials from the environment. */
const ENV = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/tmp',
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'not-a-secret',
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
  PINGONE_REGION: 'NA',
  ROTATION_LEDGER_TABLE: 'pingone-rotation-ledger',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
};

/** The child prints its CPU time and the built-ins it loaded, after the import and the turns its clients take. */
const REPORT =
  "setTimeout(() => { const u = process.cpuUsage(); console.log(JSON.stringify({ cpuMs: (u.user + u.system) / 1000, builtins: process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13)) })); }, 0)";
const script = (bundle?: string) =>
  bundle
    ? `import(${JSON.stringify(pathToFileURL(bundle).href)}).then((m) => { if (typeof m.handler !== 'function') process.exit(3); ${REPORT}; })`
    : REPORT;

interface Sample {
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly builtins: readonly string[];
}

function once(node: string, flags: readonly string[], bundle?: string): Sample {
  const started = process.hrtime.bigint();
  const run = spawnSync(node, [...flags, '-e', script(bundle)], { env: ENV, encoding: 'utf8' });
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0)
    throw new Error(`${node} ${bundle ?? '-e 0'} failed: ${run.stderr.trim().slice(-400)}`);
  return { ...(JSON.parse(run.stdout) as Omit<Sample, 'wallMs'>), wallMs };
}

interface KindResult {
  readonly cpuMs: Summary;
  readonly wallMs: Summary;
  /** Median CPU over `node -e 0`'s median. */
  readonly overCpuMs: number;
  /** Minimum CPU over `node -e 0`'s minimum. */
  readonly overCpuMinMs: number;
  /** Built-ins the import loaded that `node -e 0` does not. */
  readonly builtins: readonly string[];
}

function measure(node: string, flags: readonly string[], bundles: Record<string, string>) {
  const kinds: Array<[string, string | undefined]> = [['node -e 0', undefined], ...Object.entries(bundles)];
  const samples = new Map<string, Sample[]>(kinds.map(([name]) => [name, []]));
  for (let round = 0; round < rounds + 1; round++) {
    for (const [name, bundle] of shuffle([...kinds])) {
      const sample = once(node, flags, bundle);
      if (round > 0) samples.get(name)?.push(sample); // round 0 warms the disk cache
    }
  }
  const base = summarize(samples.get('node -e 0')!.map((s) => s.cpuMs));
  const baseBuiltins = new Set(samples.get('node -e 0')![0]!.builtins);
  const result: Record<string, KindResult> = {};
  for (const [name, list] of samples) {
    const cpuMs = summarize(list.map((s) => s.cpuMs));
    result[name] = {
      cpuMs,
      wallMs: summarize(list.map((s) => s.wallMs)),
      overCpuMs: round(cpuMs.median - base.median),
      overCpuMinMs: round(cpuMs.min - base.min),
      builtins: list[0]!.builtins.filter((m) => !baseBuiltins.has(m)),
    };
  }
  return result;
}

const FLOOR = resolve('.bench/floor-sdk-clients.mjs');
mkdirSync('.bench', { recursive: true });
await build({
  ...lambdaBundleOptions,
  stdin: {
    contents: [
      "import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';",
      "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';",
      "import { SSMClient } from '@aws-sdk/client-ssm';",
      'export const clients = [new SecretsManagerClient({}), new DynamoDBClient({}), new SSMClient({})];',
      'export const handler = async () => {};',
    ].join('\n'),
    loader: 'js',
    resolveDir: process.cwd(),
  },
  outfile: FLOOR,
  sourcemap: false,
  logLevel: 'warning',
});

const bundles: Record<string, string> = {
  'floor: the three SDK clients alone': FLOOR,
  [values.bundle]: resolve(values.bundle),
};
if (values.baseline) bundles[`baseline ${values.baseline}`] = resolve(values.baseline);
const node24 = execFileSync('scripts/node24.sh', { encoding: 'utf8' }).trim();
const runtimes = {
  [`Node ${process.versions.node}`]: { node: process.execPath, flags: [] as string[] },
  [`Node ${execFileSync(node24, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim()}, Lambda's 256 MB flags`]:
    { node: node24, flags: lambdaRuntimeFlags(256) },
};

const startedAt = new Date().toISOString();
const loadAtStart = loadavg()[0];
const results: Record<string, Record<string, KindResult>> = {};
for (const [runtime, { node, flags }] of Object.entries(runtimes)) {
  process.stderr.write(`bench:import: ${runtime}, ${rounds} rounds …\n`);
  results[runtime] = measure(node, flags, bundles);
}

for (const [runtime, kinds] of Object.entries(results)) {
  console.log(`\n${runtime} (medians of ${rounds}; CPU = user + system of the process)`);
  console.log('| kind | CPU ms (min) | over node -e 0 (min) | wall ms | built-ins the import loads |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const [name, r] of Object.entries(kinds)) {
    console.log(
      `| ${name} | ${r.cpuMs.median} (${r.cpuMs.min}) | ${name === 'node -e 0' ? '' : `${r.overCpuMs} (${r.overCpuMinMs})`} | ${r.wallMs.median} | ${r.builtins.length} |`,
    );
  }
  if (values.baseline) {
    const [current, baseline] = [values.bundle, `baseline ${values.baseline}`].map(
      (name) => new Set(kinds[name]!.builtins),
    );
    console.log(`no longer loaded: ${[...baseline!].filter((m) => !current!.has(m)).join(', ') || 'none'}`);
    console.log(`newly loaded: ${[...current!].filter((m) => !baseline!.has(m)).join(', ') || 'none'}`);
  }
}

const record = {
  startedAt,
  machine: { cpus: cpus().length, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0] },
  rounds,
  bundles,
  results,
};
writeFileSync('.bench/import-latest.json', `${JSON.stringify(record, null, 2)}\n`);
if (process.env.BENCH_SAVE === '1') {
  writeFileSync('bench/import-results.json', `${JSON.stringify(record, null, 2)}\n`);
  console.log('\nsaved bench/import-results.json');
}
