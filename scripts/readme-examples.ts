#!/usr/bin/env node
/**
 * Regenerates the CLI examples in README.md and docs/ from real runs: starts `cli/demo-world.ts` (moto and the
 * PingOne simulator, seeded), runs the built CLI (dist/cli/pingone-rotation.mjs, what `pingone-rotation` runs
 * after `npm link`) against it in the order the states need, and rewrites every code block that follows a marker
 *
 *   <!-- readme-example: NAME [NAME …] -->
 *
 * with those runs' output: `$ pingone-rotation …`, stdout and stderr in the order they arrived, and
 * `[exit N]`. Nothing is edited by hand, and a marker naming an unknown run is an error.
 *
 *   npm run build && npm run readme:examples
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { docFiles } from './docs-blocks.js';

const CLI = 'dist/cli/pingone-rotation.mjs';
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';

/** Collects stdout and stderr in arrival order, as a terminal shows them. */
function capture(
  child: ChildProcess,
  stdoutOnly = false,
): { text: () => string; done: Promise<number | null> } {
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    if (!stdoutOnly) text += chunk.toString();
  });
  const done = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return { text: () => text, done };
}

async function waitFor(read: () => string, pattern: RegExp, what: string, ms = 120_000): Promise<void> {
  const until = Date.now() + ms;
  while (!pattern.test(read())) {
    if (Date.now() > until) throw new Error(`readme-examples: no ${what} within ${ms} ms:\n${read()}`);
    await sleep(50);
  }
}

// 1. The demo world, exactly as `npm run demo` prints it (after npm's own lines).
const demo = spawn(process.execPath, ['--import', 'tsx', 'cli/demo-world.ts'], {
  env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' },
  stdio: ['ignore', 'pipe', 'pipe'],
});
const demoOut = capture(demo);
const runs = new Map<string, string>();
try {
  await waitFor(demoOut.text, /^Ctrl-C stops moto and the simulator\.$/m, 'demo world');
  const demoText = demoOut.text();
  // The alias line names this checkout's path: shown as /path/to/checkout.
  const checkout = fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, '');
  runs.set('demo-world', `$ npm run demo\n${demoText.trimEnd().split(checkout).join('/path/to/checkout')}`);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' };
  for (const m of demoText.matchAll(/^ {2}export ([A-Z_]+)='([^']*)'$/gm)) env[m[1]!] = m[2]!;
  const ids = (label: string) => {
    const m = new RegExp(`^${label}\\s+--environment-id (\\S+) --resource-id (\\S+)`, 'm').exec(demoText);
    if (!m) throw new Error(`readme-examples: no '${label}' line in the demo world's output`);
    return { environmentId: m[1]!, resourceId: m[2]! };
  };
  const orders = ids('To onboard:');
  const openid = ids('Not CUSTOM:');
  const simulator = /PingOne simulator (\S+)$/m.exec(demoText)?.[1];
  if (!simulator) throw new Error('readme-examples: no simulator URL in the demo world output');

  // stdoutOnly: what a script reading --json gets (`2>/dev/null`).
  type CliOptions = { stdinNull?: boolean; stdoutOnly?: boolean };
  const cli = (args: string[], options: CliOptions = {}) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdin.end();
    const shown = args.map((a) => (/[\s();]/.test(a) ? `"${a}"` : a)).join(' ');
    return {
      child,
      out: capture(child, options.stdoutOnly),
      shown:
        `$ pingone-rotation ${shown}${options.stdinNull ? ' < /dev/null' : ''}` +
        `${options.stdoutOnly ? ' 2>/dev/null' : ''}`,
    };
  };
  const record = (out: string, code: number | null, shown: string, note = '') =>
    `${shown}${note}\n${out.trimEnd()}${code === 0 && !/^\$ pingone-rotation status /.test(shown) ? '' : `\n[exit ${code}]`}`;
  const run = async (name: string, args: string[], options: CliOptions = {}) => {
    const c = cli(args, options);
    const code = await c.out.done;
    runs.set(name, record(c.out.text(), code, c.shown));
    return code;
  };
  const onboard = (
    secret: string,
    owner: { environmentId: string; resourceId: string },
    extra: string[] = [],
  ) => [
    'onboard',
    '--secret-name',
    secret,
    '--environment-id',
    owner.environmentId,
    '--resource-id',
    owner.resourceId,
    '--pingone-region',
    'EU',
    ...extra,
  ];

  // 2. In the order the states need (the README shows them by section).
  await run(
    'onboard-orders',
    onboard('pingone/orders-api', orders, [
      '--previous-secret-ttl',
      '7d',
      '--rotation-function-arn',
      FUNCTION_ARN,
      '--schedule',
      'rate(30 days)',
      '--window',
      '4h',
    ]),
  );
  await run('onboard-openid', onboard('pingone/openid', openid));
  await run('onboard-exists', onboard('pingone/orders-api', orders));
  await run('status-orders-onboarded', ['status', '--secret-id', 'pingone/orders-api']);
  await run('audit-demo', ['audit', '--prefix', 'pingone/']);
  await run('status-payments', ['status', '--secret-id', 'pingone/payments-api']);
  await run('rotate-refused-drift', ['rotate', '--secret-id', 'pingone/reports-api', '--wait']);
  await run('status-reports', ['status', '--secret-id', 'pingone/reports-api']);
  const reportsJson = cli(['status', '--secret-id', 'pingone/reports-api', '--json']);
  await reportsJson.out.done;
  const reports = JSON.parse(reportsJson.out.text()) as {
    awsCurrent: { environmentId: string; resourceId: string };
  };
  await run('onboard-force-reports', onboard('pingone/reports-api', reports.awsCurrent, ['--force']));
  await run('status-search', ['status', '--secret-id', 'pingone/search-api']);
  await run('status-search-pingone-error', [
    'status',
    '--secret-id',
    'pingone/search-api',
    '--worker-parameter',
    '/pingone/nope',
  ]);
  await run('rotate-orders', ['rotate', '--secret-id', 'pingone/orders-api', '--wait']);

  // Ctrl-C while createSecret waits for PingOne: the simulator answers the regenerate 3 s late.
  const delay = await fetch(`${simulator}/__admin/faults/delay`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ route: 'secret', method: 'POST', ms: 3_000, count: 1 }),
  });
  if (!delay.ok) throw new Error(`readme-examples: the simulator refused the delay fault (${delay.status})`);
  const interrupted = cli(['rotate', '--secret-id', 'pingone/orders-api', '--wait']);
  await waitFor(interrupted.out.text, /^RotateSecret: version /m, 'RotateSecret line');
  await sleep(500);
  interrupted.child.kill('SIGINT');
  const interruptedCode = await interrupted.out.done;
  runs.set(
    'rotate-interrupted',
    record(
      interrupted.out.text(),
      interruptedCode,
      interrupted.shown,
      '      # Ctrl-C while createSecret waits for PingOne',
    ),
  );
  await run('unstick-orders-after-interrupt', ['unstick', '--secret-id', 'pingone/orders-api', '--yes']);

  await run('rotate-refused-pending', ['rotate', '--secret-id', 'pingone/billing-api', '--wait']);
  await run('unstick-billing-no-tty', ['unstick', '--secret-id', 'pingone/billing-api'], { stdinNull: true });
  await run('unstick-billing-json-no-tty', ['unstick', '--secret-id', 'pingone/billing-api', '--json'], {
    stdinNull: true,
    stdoutOnly: true,
  });
  await run('unstick-billing-yes', ['unstick', '--secret-id', 'pingone/billing-api', '--yes']);
  await run('unstick-search-yes', ['unstick', '--secret-id', 'pingone/search-api', '--yes']);
  await run('status-search-json', ['status', '--secret-id', 'pingone/search-api', '--json']);
  await run('status-missing-json', ['status', '--secret-id', 'pingone/does-not-exist', '--json']);
  await run('error-missing', ['status', '--secret-id', 'pingone/does-not-exist']);
  await run('error-option', ['status', '--secret', 'pingone/orders-api']);
  // --json of a command that changes something: the document alone on stdout.
  await run('rotate-cache-json', ['rotate', '--secret-id', 'pingone/cache-api', '--json'], {
    stdoutOnly: true,
  });
  // rebind: the copy holds PingOne's current secret (proof of possession); without a terminal --yes is not
  // enough, who can read it must be accepted by name.
  await run('rebind-copy-no-readers', ['rebind', '--secret-id', 'pingone/orders-api-copy', '--yes']);
  await run('rebind-copy', [
    'rebind',
    '--secret-id',
    'pingone/orders-api-copy',
    '--yes',
    '--accept-readers',
    'policy=none;kms=aws/secretsmanager',
  ]);
  await run('version', ['--version']);
} finally {
  demo.kill('SIGINT');
  await demoOut.done;
}

// 3. Rewrite the marked blocks, in README.md and every page under docs/.
const used = new Set<string>();
// An empty block (a new marker) is "```\n```": its content is optional, lazily, so it never runs into the next.
const marker = /(<!-- readme-example: ([^>]+?) -->\n)```[^\n]*\n(?:[\s\S]*?\n)??```/g;
const files = docFiles('.');
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  const rewritten = text.replace(marker, (_all, head: string, names: string) => {
    const parts = names.split(/\s+/).map((name) => {
      const example = runs.get(name);
      if (example === undefined)
        throw new Error(`readme-examples: ${file} names an unknown example '${name}'`);
      used.add(name);
      return example;
    });
    return `${head}\`\`\`\n${parts.join('\n\n')}\n\`\`\``;
  });
  if (rewritten !== text) writeFileSync(file, rewritten);
}
const unused = [...runs.keys()].filter((name) => !used.has(name));
process.stdout.write(
  `readme-examples: rewrote ${used.size} example(s) in ${files.join(', ')}` +
    `${unused.length > 0 ? `; not shown: ${unused.join(', ')}` : ''}\n`,
);
