/**
 * `onboard-fleet` against the local world: every row onboarded (current secret, tags, ledger binding,
 * rotation) with no regenerate; a re-run changes nothing; a failure does not stop the rest; names outside the
 * prefix are refused before anything is created; Ctrl-C and a killed process are completed by a re-run
 * with no duplicate secret; a 200-row manifest stays within PingOne's rate limit.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecretCommand, ListSecretsCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../cli/run.js';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import { useWorld } from '../support/world.js';
import { binary, cli, expectNoSecrets, recordSecrets, startBinary, worldDeps } from './support.js';

const { world } = useWorld();
const dir = mkdtempSync(join(tmpdir(), 'onboard-fleet-'));
let counter = 0;

interface Row {
  secretName: string;
  environmentId: string;
  kind: 'resource' | 'application';
  ownerId: string;
  schedule?: string;
  ttl?: string;
  tags?: string;
}

/** `count` CUSTOM resources (every third an OIDC application) in one EU environment, as manifest rows. */
function owners(count: number, prefix: string, schedule?: string): Row[] {
  const environmentId = world.createEnvironment('EU');
  const set = ++counter;
  return Array.from({ length: count }, (_, i) => {
    const application = i % 3 === 2;
    const id = application
      ? world.sim.createApplication(environmentId, { name: `App ${set}-${i}` }).id
      : world.sim.createResource(environmentId, { name: `API ${set}-${i}` }).id;
    return {
      secretName: `${prefix}-${set}/${i}`,
      environmentId,
      kind: application ? ('application' as const) : ('resource' as const),
      ownerId: id,
      ...(schedule ? { schedule } : {}),
    };
  });
}

function csv(rows: readonly Row[], name = `m-${++counter}.csv`): string {
  const header = 'secret_name,environment_id,kind,owner_id,schedule,ttl,tags';
  const lines = rows.map((r) =>
    [r.secretName, r.environmentId, r.kind, r.ownerId, r.schedule ?? '', r.ttl ?? '', r.tags ?? '']
      .map((cell) => (/[,"]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell))
      .join(','),
  );
  const file = join(dir, name);
  writeFileSync(file, `${[header, ...lines].join('\n')}\n`);
  return file;
}

async function secretsNaming(ownerId: string): Promise<string[]> {
  const names: string[] = [];
  let NextToken: string | undefined;
  do {
    const page = await world.secretsManager.send(new ListSecretsCommand({ NextToken, MaxResults: 100 }));
    for (const s of page.SecretList ?? []) {
      if ((s.Tags ?? []).some((t) => t.Value === ownerId)) names.push(s.Name!);
    }
    NextToken = page.NextToken;
  } while (NextToken);
  return names;
}

async function expectOnboarded(row: Row): Promise<void> {
  const idField = row.kind === 'application' ? 'applicationId' : 'resourceId';
  expect(await world.readSecretJson(row.secretName)).toEqual({
    environmentId: row.environmentId,
    [idField]: row.ownerId,
    clientSecret: world.sim.readSecret(row.environmentId, row.ownerId, row.kind).secret,
    region: 'EU',
  });
  const described = await world.secretsManager.send(new DescribeSecretCommand({ SecretId: row.secretName }));
  const record = await world.ledger.read(
    { kind: row.kind, environmentId: row.environmentId, id: row.ownerId, region: 'EU' },
    { deadline: Date.now() + 10_000, now: Date.now },
  );
  expect(record?.binding?.secretArn).toBe(described.ARN);
  if (row.schedule) {
    expect(described.RotationEnabled).toBe(true);
    expect(described.RotationLambdaARN).toBe(LOCAL_ROTATION_LAMBDA_ARN);
  }
  expect(await secretsNaming(row.ownerId)).toEqual([row.secretName]);
}

const GLOBAL = ['--pingone-region', 'EU'];

describe('onboard-fleet', () => {
  it('onboards every row (resources and applications): current secret, tags, binding, rotation; nothing regenerated; a re-run changes nothing', async () => {
    const rows = owners(5, 'pingone/fleet', 'rate(30 days)');
    rows[0] = { ...rows[0]!, ttl: '3d', tags: 'team=orders;cost-centre=42' };
    const manifest = csv(rows);
    world.sim.clearRequests();
    const run = await cli(world, [
      'onboard-fleet',
      '--manifest',
      manifest,
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--yes',
      ...GLOBAL,
    ]);
    expect(run.err).toBe('');
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/^Plan: onboard 5 secrets under pingone\//m);
    expect(run.out.match(/^\[\d\/5\] onboarded /gm)).toHaveLength(5);
    expect(run.out).toMatch(/^Onboarded 5, completed 0, unchanged 0, failed 0 of 5 /m);
    expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
    for (const row of rows) await expectOnboarded(row);
    const tags = (
      await world.secretsManager.send(new DescribeSecretCommand({ SecretId: rows[0]!.secretName }))
    ).Tags;
    expect(Object.fromEntries((tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      'pingone:environment-id': rows[0]!.environmentId,
      'pingone:resource-id': rows[0]!.ownerId,
      'pingone:previous-secret-ttl': '3d',
      team: 'orders',
      'cost-centre': '42',
    });
    const status = await cli(world, ['status', '--secret-id', rows[2]!.secretName, '--json', ...GLOBAL]);
    expect(JSON.parse(status.out).verdict).toBe('healthy');

    // Again: every item is already done; nothing is created, written or read from PingOne's secrets.
    world.sim.clearRequests();
    const again = await cli(world, [
      'onboard-fleet',
      '--manifest',
      manifest,
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--yes',
      '--json',
      ...GLOBAL,
    ]);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.out);
    expect(report.totals).toEqual({
      items: 5,
      onboarded: 0,
      completed: 0,
      unchanged: 5,
      failed: 0,
      notStarted: 0,
    });
    expect(report.items.map((i: { changes: string[] }) => i.changes)).toEqual([[], [], [], [], []]);
    expect(world.sim.count({ route: 'secret' })).toBe(0);
    for (const row of rows) await expectOnboarded(row);
  });

  it('refuses the whole manifest before creating anything when a name is outside the prefix', async () => {
    const rows = owners(3, 'pingone/prefix');
    rows[1] = { ...rows[1]!, secretName: 'other-team/orders' };
    const run = await cli(world, ['onboard-fleet', '--manifest', csv(rows), '--yes', ...GLOBAL]);
    expect(run.code).toBe(2);
    expect(run.err).toMatch(
      /^pingone-rotation: 1 problem in the items: \S+ row 3: secret name 'other-team\/orders' is outside the stack's secret-name prefix 'pingone\/'.*nothing was created; fix them and run again\n$/,
    );
    for (const row of rows) expect(await secretsNaming(row.ownerId)).toEqual([]);
  });

  it('a failing item is reported and the others are onboarded; exit 1; a re-run after the fix completes it', async () => {
    const rows = owners(3, 'pingone/partial');
    const missing = { ...rows[1]!, ownerId: '0f0e0d0c-0b0a-4999-8888-777766665555' };
    const manifest = csv([rows[0]!, missing, rows[2]!]);
    const run = await cli(world, ['onboard-fleet', '--manifest', manifest, '--yes', ...GLOBAL]);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(
      /^\[\d\/3\] failed \S+ \(resource 0f0e0d0c-0b0a-4999-8888-777766665555, .*row 3\): PingOne has no such resource/m,
    );
    expect(run.out).toMatch(/^Onboarded 2, completed 0, unchanged 0, failed 1 of 3 /m);
    await expectOnboarded(rows[0]!);
    await expectOnboarded(rows[2]!);
    expect(await secretsNaming(missing.ownerId)).toEqual([]);
  });

  it('Ctrl-C stops starting items; the running ones finish; exit 130; the same command completes the rest', async () => {
    const rows = owners(6, 'pingone/interrupt');
    const manifest = csv(rows);
    recordSecrets(world);
    let interrupt: (() => void) | undefined;
    const { deps, out, err } = worldDeps(world);
    let results = 0;
    const code = await runCli(
      ['onboard-fleet', '--manifest', manifest, '--yes', '--concurrency', '1', ...GLOBAL],
      { out, err },
      () => ({
        ...deps,
        onInterrupt: (handler) => {
          interrupt = () => handler('SIGINT');
          return () => {};
        },
        out: {
          isTTY: false,
          write: (text: string) => {
            out.write(text);
            if (/^\[\d\/6\]/.test(text) && ++results === 2) interrupt?.();
          },
        },
      }),
    );
    expectNoSecrets(out.text + err.text);
    expect(code).toBe(130);
    expect(out.text).toMatch(/^Onboarded 2, completed 0, unchanged 0, failed 0, not started 4 of 6 /m);
    expect(out.text).toMatch(
      /^Interrupted: 4 not started\. Run the same command again to complete the rest\.$/m,
    );
    const rerun = await cli(world, ['onboard-fleet', '--manifest', manifest, '--yes', ...GLOBAL]);
    expect(rerun.code).toBe(0);
    expect(rerun.out).toMatch(/^Onboarded 4, completed 0, unchanged 2, failed 0 of 6 /m);
    for (const row of rows) await expectOnboarded(row);
  });

  it('a process killed halfway: the re-run completes every item, with no duplicate secret and no regenerate', async () => {
    const rows = owners(12, 'pingone/crash', 'rate(30 days)');
    const manifest = csv(rows);
    world.sim.clearRequests();
    const args = [
      'onboard-fleet',
      '--manifest',
      manifest,
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--yes',
      '--requests-per-second',
      '8',
      ...GLOBAL,
    ];
    const first = startBinary(world, args);
    await first.waitFor(/^\[4\/12\] /m, 60_000);
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    expectNoSecrets(killed.stdout + killed.stderr);
    const finished = (killed.stdout.match(/^\[\d+\/12\] onboarded /gm) ?? []).length;
    expect(finished).toBeGreaterThanOrEqual(4);
    expect(finished).toBeLessThan(12);

    const rerun = await binary(world, args);
    // (stderr may carry the local rotation handler's metrics notices from testSecret; no error line.)
    expect(rerun.stderr).not.toMatch(/^pingone-rotation:/m);
    expect(rerun.code).toBe(0);
    const summary = /^Onboarded (\d+), completed (\d+), unchanged (\d+), failed 0 of 12 /m.exec(rerun.stdout);
    expect(summary, rerun.stdout).not.toBeNull();
    // What the killed run finished is unchanged; the rest is created or completed now.
    expect(Number(summary![3])).toBeGreaterThanOrEqual(finished);
    expect(Number(summary![1]) + Number(summary![2]) + Number(summary![3])).toBe(12);
    expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
    for (const row of rows) await expectOnboarded(row);
  }, 120_000);

  it('the worst stop: secret created, ledger write failed; the item fails saying so, and a re-run binds it (proof re-read), no second secret', async () => {
    const rows = owners(3, 'pingone/half', 'rate(30 days)');
    const manifest = csv(rows);
    recordSecrets(world);
    const { deps, out, err } = worldDeps(world);
    let failNextWrite = true;
    const dynamodb = new Proxy(world.dynamodb, {
      get(target, key, receiver) {
        if (key !== 'send') return Reflect.get(target, key, receiver);
        return (command: { constructor: { name: string } }, ...rest: unknown[]) => {
          if (failNextWrite && command.constructor.name === 'UpdateItemCommand') {
            failNextWrite = false;
            return Promise.reject(
              Object.assign(new Error('connection reset'), { name: 'Error', code: 'ECONNRESET' }),
            );
          }
          return (target.send as (...a: unknown[]) => Promise<unknown>).call(target, command, ...rest);
        };
      },
    });
    world.sim.clearRequests();
    const args = [
      'onboard-fleet',
      '--manifest',
      manifest,
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--concurrency',
      '1',
      '--yes',
      ...GLOBAL,
    ];
    const code = await runCli(args, { out, err }, () => ({ ...deps, dynamodb }));
    expectNoSecrets(out.text + err.text);
    expect(code).toBe(1);
    expect(out.text).toMatch(
      /^\[1\/3\] failed pingone\/half-\d+\/0 .*could not be written: ECONNRESET.* \(done before the failure: created; run again to complete\)$/m,
    );
    expect(out.text).toMatch(/^Onboarded 2, completed 0, unchanged 0, failed 1 of 3 /m);
    const rerun = await cli(world, args);
    expect(rerun.code, rerun.out + rerun.err).toBe(0);
    expect(rerun.out).toMatch(/^\[1\/3\] completed pingone\/half-\d+\/0 .*: bound, rotation attached$/m);
    expect(rerun.out).toMatch(/^Onboarded 0, completed 1, unchanged 2, failed 0 of 3 /m);
    expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
    for (const row of rows) await expectOnboarded(row);
  });

  it('200 rows onboard within PingOne’s rate limit: paced below it, never throttled', async () => {
    const rows = owners(200, 'pingone/bulk');
    const manifest = csv(rows);
    const limit = 25;
    world.sim.limitRate({ requestsPerSecond: limit });
    world.sim.clearRequests();
    try {
      const run = await cli(world, [
        'onboard-fleet',
        '--manifest',
        manifest,
        '--yes',
        '--json',
        '--requests-per-second',
        '20',
        '--concurrency',
        '8',
        ...GLOBAL,
      ]);
      expect(run.code, run.err).toBe(0);
      const report = JSON.parse(run.out);
      expect(report.totals.onboarded).toBe(200);
      expect(report.pingone.throttled).toBe(0);
      const requests = world.sim.requests;
      expect(requests.filter((r) => r.status === 429)).toEqual([]);
      // Requests per real second at the simulator: never above the pace asked for (20), let alone the limit.
      const perSecond = new Map<number, number>();
      for (const r of requests) {
        const second = Math.floor(r.at.getTime() / 1000);
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
      }
      const busiest = Math.max(...perSecond.values());
      const seconds = (requests.at(-1)!.at.getTime() - requests[0]!.at.getTime()) / 1000;
      console.log(
        `200-row manifest: ${requests.length} PingOne requests in ${seconds.toFixed(1)} s ` +
          `(${(requests.length / seconds).toFixed(1)}/s), busiest second ${busiest}, run ${report.elapsedMs} ms`,
      );
      expect(busiest).toBeLessThanOrEqual(21);
      expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
      for (const row of [rows[0]!, rows[101]!, rows[199]!]) await expectOnboarded(row);
    } finally {
      world.sim.limitRate(undefined);
    }
  }, 180_000);
});
