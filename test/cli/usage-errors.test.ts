/**
 * Every usage error exits 2 and names the flag: each command with a required flag left out, an unknown flag,
 * and a bad value. In-process, with dependencies that fail the test if anything is called: a usage error is
 * found before AWS or PingOne is asked anything.
 */
import { describe, expect, it } from 'vitest';
import type { CliDeps } from '../../cli/deps.js';
import { runCli } from '../../cli/run.js';
import { MemoryOutput } from './support.js';

const untouchable = new Proxy(
  {},
  {
    get(_target, property) {
      if (property === 'then') return undefined;
      throw new Error(`a usage error must not reach ${String(property)}`);
    },
  },
);

async function run(argv: readonly string[]) {
  const out = new MemoryOutput();
  const err = new MemoryOutput();
  const deps = {
    secretsManager: untouchable,
    dynamodb: untouchable,
    config: () => {
      throw new Error('a usage error must not read the configuration');
    },
    pingone: () => {
      throw new Error('a usage error must not reach PingOne');
    },
    out,
    err,
    now: Date.now,
    sleep: async () => {},
    prompt: undefined,
    local: undefined,
  } as unknown as CliDeps;
  const code = await runCli(argv, { out, err }, () => deps);
  return { code, out: out.text, err: err.text };
}

const UUID = '11111111-2222-4333-8444-555555555555';
const ONBOARD = ['--secret-name', 'pingone/x', '--environment-id', UUID, '--resource-id', UUID];
const UUID_B = '66666666-7777-4888-8999-000000000000';
const PAIR_ROTATION = [
  '--rotation-function-arn',
  'arn:aws:lambda:us-east-1:123456789012:function:f',
  '--schedule',
  'rate(30 days)',
];
const PAIR = ['--environment-id', UUID, '--worker-a', UUID, '--worker-b', UUID_B, ...PAIR_ROTATION];

/** [command line, the flag the message must name] */
const CASES: readonly (readonly [string, readonly string[], string])[] = [
  // a required flag left out
  ['onboard: missing', ['onboard', '--environment-id', UUID, '--resource-id', UUID], '--secret-name'],
  [
    'onboard: missing owner',
    ['onboard', '--secret-name', 'pingone/x', '--environment-id', UUID],
    '--resource-id',
  ],
  ['status: missing', ['status'], '--secret-id'],
  ['rotate: missing', ['rotate', '--wait'], '--secret-id'],
  ['unstick: missing', ['unstick', '--yes'], '--secret-id'],
  ['rebind: missing', ['rebind', '--yes'], '--secret-id'],
  ['onboard-fleet: missing', ['onboard-fleet', '--yes'], '--manifest'],
  ['import-terraform: missing', ['import-terraform', '--yes'], '--file'],
  [
    'onboard-worker-pair: missing',
    ['onboard-worker-pair', '--worker-a', UUID, '--worker-b', UUID_B, ...PAIR_ROTATION],
    '--environment-id',
  ],
  ['completion: missing', ['completion'], 'completion'],
  // an unknown flag
  ['onboard: unknown', ['onboard', ...ONBOARD, '--secret-id', 'x'], '--secret-id'],
  ['status: unknown', ['status', '--secret', 'x'], '--secret'],
  ['rotate: unknown', ['rotate', '--secret-id', 'x', '--now'], '--now'],
  ['unstick: unknown', ['unstick', '--secret-id', 'x', '--force'], '--force'],
  ['rebind: unknown', ['rebind', '--secret-id', 'x', '--dry-run'], '--dry-run'],
  ['audit: unknown', ['audit', '--secret-id', 'x'], '--secret-id'],
  ['onboard-fleet: unknown', ['onboard-fleet', '--manifest', 'm.csv', '--wait'], '--wait'],
  ['report: unknown', ['report', '--since', '2026-01-01'], '--since'],
  ['import-terraform: unknown', ['import-terraform', 'plan.json', '--manifest', 'm'], '--manifest'],
  ['onboard-worker-pair: unknown', ['onboard-worker-pair', ...PAIR, '--resource-id', UUID], '--resource-id'],
  ['completion: unknown', ['completion', 'fish'], 'fish'],
  ['no command: unknown', ['--frobnicate'], '--frobnicate'],
  // a bad value
  [
    'onboard: bad id',
    ['onboard', '--secret-name', 'pingone/x', '--environment-id', 'env-1', '--resource-id', UUID],
    '--environment-id',
  ],
  ['onboard: bad ttl', ['onboard', ...ONBOARD, '--previous-secret-ttl', 'forever'], '--previous-secret-ttl'],
  [
    'onboard: bad schedule',
    [
      'onboard',
      ...ONBOARD,
      '--rotation-function-arn',
      'arn:aws:lambda:us-east-1:123456789012:function:f',
      '--schedule',
      'weekly',
    ],
    '--schedule',
  ],
  ['onboard: bad region', ['onboard', ...ONBOARD, '--pingone-region', 'MARS'], '--pingone-region'],
  ['status: bad duration', ['status', '--secret-id', 'x', '--stuck-after', 'soon'], '--stuck-after'],
  ['rotate: bad duration', ['rotate', '--secret-id', 'x', '--timeout', '5 minutes'], '--timeout'],
  ['unstick: no value', ['unstick', '--secret-id'], '--secret-id'],
  ['rebind: bad timeout', ['rebind', '--secret-id', 'x', '--aws-timeout', '0s'], '--aws-timeout'],
  ['audit: bad duration', ['audit', '--near-expiry', 'tomorrow'], '--near-expiry'],
  [
    'onboard-fleet: bad number',
    ['onboard-fleet', '--manifest', 'm.csv', '--concurrency', 'many'],
    '--concurrency',
  ],
  ['report: bad format', ['report', '--format', 'xml'], '--format'],
  ['report: bad date', ['report', '--from', 'last tuesday'], '--from'],
  ['report: bad policy', ['report', '--policy', 'often'], '--policy'],
  ['import-terraform: bad emit', ['import-terraform', 'plan.json', '--emit', 'hcl'], '--emit'],
  ['onboard-worker-pair: bad id', ['onboard-worker-pair', ...PAIR, '--worker-a', 'worker-1'], '--worker-a'],
  ['onboard-worker-pair: bad window', ['onboard-worker-pair', ...PAIR, '--window', '30m'], '--window'],
  [
    'onboard-worker-pair: bad organization',
    ['onboard-worker-pair', ...PAIR, '--organization-id', 'org 1'],
    '--organization-id',
  ],
];

const MUTATING = [
  'onboard',
  'rotate',
  'unstick',
  'rebind',
  'onboard-fleet',
  'import-terraform',
  'onboard-worker-pair',
];

describe('every usage error exits 2 and names the flag', () => {
  it.each(CASES)('%s', async (_name, argv, flag) => {
    const result = await run(argv);
    expect(result.err, result.err).toContain(flag);
    expect(result.err).toMatch(/^pingone-rotation: /);
    expect(result.code, result.err).toBe(2);
  });

  it.each(CASES.filter(([, argv]) => MUTATING.includes(argv[0]!)))(
    '%s, with --json: the error document names the flag as its setting',
    async (_name, argv, flag) => {
      const result = await run([...argv, '--json']);
      expect(result.code, result.err).toBe(2);
      const document = JSON.parse(result.out) as { error: { code: string; setting?: string } };
      expect(document.error).toMatchObject({ code: 'Usage', setting: flag });
    },
  );
});
