/**
 * `report` against the local world: secrets onboarded by onboard-fleet, rotated by hand (`rotate`: manual,
 * with who) and as the schedule would (the rotation driver, no request), one with an old history that
 * breaks the policy, one drifted and one duplicated; CSV, JSON and the HTML page, which holds no secret value
 * in any form and renders in headless Chromium.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { parse as parseCsv } from 'csv-parse/sync';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LedgerRecord } from '../../lib/ledger/record.js';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import { findLeaks } from '../support/leaks.js';
import { useWorld } from '../support/world.js';
import { cli, knownSecrets, recordSecrets, worldDriver } from './support.js';

const { world } = useWorld();
const dir = mkdtempSync(join(tmpdir(), 'report-'));
const DAY = 86_400_000;
const PREFIX = 'pingone/report/';
const GLOBAL = ['--pingone-region', 'EU'];
let env: string;
const ids: Record<'a' | 'b' | 'c', string> = { a: '', b: '', c: '' };
const arns: Record<string, string> = {};

beforeAll(async () => {
  env = world.createEnvironment('EU');
  for (const key of ['a', 'b', 'c'] as const)
    ids[key] = world.sim.createResource(env, { name: `API ${key}` }).id;
  const manifest = join(dir, 'fleet.json');
  writeFileSync(
    manifest,
    JSON.stringify(
      (['a', 'b', 'c'] as const).map((key) => ({
        secretName: `${PREFIX}${key}`,
        environmentId: env,
        resourceId: ids[key],
        schedule: 'rate(30 days)',
      })),
    ),
  );
  const onboarded = await cli(world, [
    'onboard-fleet',
    '--manifest',
    manifest,
    '--rotation-function-arn',
    LOCAL_ROTATION_LAMBDA_ARN,
    '--yes',
    ...GLOBAL,
  ]);
  expect(onboarded.code, onboarded.out).toBe(0);
  for (const key of ['a', 'b', 'c']) {
    arns[key] = (await world.secretsManager.send(new DescribeSecretCommand({ SecretId: `${PREFIX}${key}` })))
      .ARN!;
  }
  // a: two rotations by hand.
  for (let i = 0; i < 2; i++) {
    const rotated = await cli(world, ['rotate', '--secret-id', `${PREFIX}a`, ...GLOBAL]);
    expect(rotated.code, rotated.out + rotated.err).toBe(0);
  }
  // b: a rotation as Secrets Manager's schedule starts it (no request recorded), then drift.
  const driver = await worldDriver(world);
  expect((await driver.rotate(arns.b!)).ok).toBe(true);
  world.sim.regenerateOutOfBand(env, ids.b);
  // c: rotated 60 and 20 days ago (before this world existed): a 40-day gap.
  const owner = { kind: 'resource', environmentId: env, id: ids.c, region: 'EU' } as const;
  const options = { deadline: Date.now() + 10_000, now: Date.now };
  const record = (await world.ledger.read(owner, options)) as LedgerRecord;
  const run = (days: number, n: number) => ({
    token: `00000000-0000-4000-8000-00000000000${n}`,
    secretArn: arns.c!,
    startedAt: new Date(Date.now() - days * DAY).toISOString(),
    regeneratedAt: new Date(Date.now() - days * DAY + 1_000).toISOString(),
    finishedAt: new Date(Date.now() - days * DAY + 5_000).toISOString(),
    outcome: 'rotated' as const,
  });
  expect(await world.ledger.write(owner, { ...record, history: [run(20, 2), run(60, 1)] }, options)).toBe(
    'written',
  );
  // A second secret naming a's owner: a duplicate.
  const aValue = await world.readSecretJson(`${PREFIX}a`);
  await world.secretsManager.send(
    new CreateSecretCommand({
      Name: `${PREFIX}a-copy`,
      SecretString: JSON.stringify(aValue),
      Tags: [
        { Key: 'pingone:environment-id', Value: env },
        { Key: 'pingone:resource-id', Value: ids.a },
      ],
    }),
  );
  recordSecrets(world);
}, 120_000);

interface JsonReport {
  totals: Record<string, number>;
  secrets: {
    name: string;
    owner?: { id: string };
    inPolicy: boolean;
    policyProblems: string[];
    findings: string[];
    rotations: { trigger: string; requestedBy?: string; outcome: string; versionId: string }[];
    longestGap?: { ms: number };
  }[];
}

function report(args: string[] = []) {
  return cli(world, [
    'report',
    '--prefix',
    PREFIX,
    '--from',
    new Date(Date.now() - 90 * DAY).toISOString(),
    '--policy',
    '31d',
    ...args,
    ...GLOBAL,
  ]);
}

describe('report', () => {
  it('JSON: owners, every rotation with its trigger and outcome, gaps against the policy, findings', async () => {
    const run = await report(['--format', 'json']);
    expect(run.code, run.err).toBe(0);
    const json = JSON.parse(run.out) as JsonReport;
    const by = Object.fromEntries(json.secrets.map((s) => [s.name, s]));
    const a = by[`${PREFIX}a`]!;
    expect(a.owner?.id).toBe(ids.a);
    expect(a.rotations.map((r) => [r.trigger, r.outcome])).toEqual([
      ['manual', 'rotated'],
      ['manual', 'rotated'],
    ]);
    expect(a.rotations[0]?.requestedBy).toMatch(/.@./);
    expect(a.findings.join(' ')).toMatch(/duplicate/);
    // Onboarded moments ago and rotated since: within the policy.
    expect(a.policyProblems).toEqual([]);
    expect(a.inPolicy).toBe(true);
    const b = by[`${PREFIX}b`]!;
    expect(b.rotations.map((r) => [r.trigger, r.outcome])).toEqual([['schedule', 'rotated']]);
    expect(b.findings.join(' ')).toMatch(/^drift: /);
    const c = by[`${PREFIX}c`]!;
    expect(c.rotations).toHaveLength(2);
    expect(c.inPolicy).toBe(false);
    expect(c.policyProblems.join(' ')).toMatch(
      /^longest gap 40\.0 d \(.* to .*\) exceeds the policy's 31\.0 d$/,
    );
    expect(Math.round(c.longestGap!.ms / DAY)).toBe(40);
    expect(by[`${PREFIX}a-copy`]?.policyProblems.join(' ')).toMatch(/no rotation ledger binding/);
    expect(json.totals).toMatchObject({ secrets: 4, rotations: 5, rotated: 5, manual: 2, scheduled: 3 });
    // c (the gap) and a-copy (no rotation, no binding).
    expect(json.totals.outOfPolicy).toBe(2);
  });

  it('CSV: one row per rotation, parseable, no secret value', async () => {
    const out = join(dir, 'report.csv');
    const run = await report(['--out', out]);
    expect(run.code, run.err).toBe(0);
    expect(run.out).toMatch(
      /^Wrote .*report\.csv \(csv\): 4 secrets, 5 rotations \(2 manual, 3 scheduled; 0 failed\)/,
    );
    const text = readFileSync(out, 'utf8');
    const rows = parseCsv(text, { columns: true }) as Record<string, string>[];
    // 2 + 1 + 2 rotations, and one row for the copy that has none.
    expect(rows).toHaveLength(6);
    expect(rows.filter((r) => r.rotation_trigger === 'manual')).toHaveLength(2);
    expect(findLeaks(text, [...knownSecrets(), world.worker.clientSecret])).toEqual([]);
  });

  it('HTML: one self-contained page with the totals and a timeline per secret, no secret value in any form; renders in headless Chromium', async () => {
    const out = join(dir, 'report.html');
    const run = await report(['--out', out]);
    expect(run.code, run.err).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!DOCTYPE html>/);
    expect(html).not.toMatch(/<script|<link|src="http|href="http|@import/i);
    expect(html.match(/<svg class="timeline"/g)).toHaveLength(4);
    expect(html).toContain(`<h2>${PREFIX}c <span class="badge">out of policy</span></h2>`);
    expect(findLeaks(html, [...knownSecrets(), world.worker.clientSecret])).toEqual([]);

    const chromium = ['chromium', 'chromium-browser', 'google-chrome'].find(
      (bin) => spawnSync(bin, ['--version']).status === 0,
    );
    if (!chromium) {
      console.warn(
        'SKIPPED the screenshot: no chromium on PATH (apt-get install chromium); the page was still checked above',
      );
      return;
    }
    const png = join(dir, 'report.png');
    const shot = spawnSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        `--screenshot=${png}`,
        '--window-size=1000,1400',
        `file://${out}`,
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(existsSync(png), shot.stderr).toBe(true);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    // A blank page compresses to a few hundred bytes; the report's text and timelines make it far larger.
    expect(statSync(png).size).toBeGreaterThan(20_000);
    console.log(`report screenshot: ${png} (${statSync(png).size} bytes)`);
  });
});
