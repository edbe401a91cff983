import { describe, expect, it } from 'vitest';
import { parseManifest } from '../../../cli/onboarding/manifest.js';
import type { ItemResult } from '../../../cli/onboarding/onboard-item.js';
import { FleetProgress } from '../../../cli/onboarding/progress.js';
import { buildReport, type ReportInput } from '../../../cli/report/model.js';
import { renderReport } from '../../../cli/report/render.js';

const ENV = '5d3b2a10-1111-4222-8333-444455556666';
const RES = '0a1b2c3d-1234-4567-89ab-cdef01234567';
const APP = '7e6d5c4b-aaaa-4bbb-8ccc-ddddeeeeffff';

describe('manifest', () => {
  it('CSV: header names in any case or spelling, quoted cells, tags, resourceId/applicationId or kind + ownerId', () => {
    const items = parseManifest(
      [
        'Secret-Name,ENVIRONMENT_ID,kind,owner_id,resourceId,schedule,tags,ttl',
        `pingone/a,${ENV},resource,${RES},,"rate(30 days)","team=orders;cost=42",7d`,
        `pingone/b,${ENV},,,${RES},,,`,
      ].join('\n'),
      'f.csv',
    );
    expect(items[0]).toMatchObject({
      secretName: 'pingone/a',
      kind: 'resource',
      ownerId: RES,
      schedule: 'rate(30 days)',
      ttl: '7d',
      tags: { team: 'orders', cost: '42' },
      source: 'f.csv row 2',
    });
    expect(items[1]).toMatchObject({ kind: 'resource', ownerId: RES, source: 'f.csv row 3' });
  });

  it('JSON: an array or {items}, tags as an object', () => {
    const rows = [{ secretName: 'pingone/c', environmentId: ENV, applicationId: APP, tags: { team: 'web' } }];
    expect(parseManifest(JSON.stringify(rows), 'f.json')[0]).toMatchObject({
      kind: 'application',
      ownerId: APP,
    });
    expect(parseManifest(JSON.stringify({ items: rows }), 'f.json')[0]?.tags).toEqual({ team: 'web' });
  });

  it('bad rows are named', () => {
    expect(() => parseManifest(`secretName,environmentId,colour\nx,${ENV},red`, 'f.csv')).toThrow(
      /unknown column 'colour'/,
    );
    expect(() =>
      parseManifest(`secretName,environmentId,resourceId,applicationId\nx,${ENV},${RES},${APP}`, 'f.csv'),
    ).toThrow(/f\.csv row 2 needs exactly one of ownerId \(with kind\), resourceId, applicationId/);
    expect(() => parseManifest('[{"secretName":"x"}]', 'f.json')).toThrow(
      /f\.json item 1 needs secretName and environmentId/,
    );
  });
});

describe('progress', () => {
  const result = (outcome: ItemResult['outcome']): ItemResult => ({
    item: {
      secretName: 'pingone/a',
      environmentId: ENV,
      kind: 'resource',
      ownerId: RES,
      source: 'f.csv row 2',
    },
    outcome,
    changes: outcome === 'onboarded' ? ['created', 'bound'] : [],
    notes: [],
    ...(outcome === 'failed' ? { error: 'PingOne has no such resource' } : {}),
  });

  it('on a terminal: a bar with counts and an ETA under the item lines; elsewhere plain lines only', () => {
    let clock = 0;
    const lines: string[] = [];
    const bar: string[] = [];
    const progress = new FleetProgress(
      { write: (t) => lines.push(t) },
      { isTTY: true, write: (t) => bar.push(t) },
      () => clock,
    );
    clock = 10_000;
    progress.result(result('onboarded'), 1, 4);
    clock = 20_000;
    progress.result(result('failed'), 2, 4);
    expect(lines).toEqual([
      '[1/4] onboarded pingone/a (resource 0a1b2c3d-1234-4567-89ab-cdef01234567, f.csv row 2): created, bound\n',
      '[2/4] failed pingone/a (resource 0a1b2c3d-1234-4567-89ab-cdef01234567, f.csv row 2): PingOne has no such resource\n',
    ]);
    expect(bar.filter((t) => t.startsWith('['))).toEqual([
      `[${'#'.repeat(7)}${'.'.repeat(21)}] 1/4  ok 1  failed 0  ETA 30s`,
      `[${'#'.repeat(14)}${'.'.repeat(14)}] 2/4  ok 1  failed 1  ETA 20s`,
    ]);
    const plain: string[] = [];
    const quiet = new FleetProgress(
      { write: (t) => plain.push(t) },
      { isTTY: false, write: (t) => plain.push(`BAR ${t}`) },
      () => 0,
    );
    quiet.result(result('unchanged'), 1, 1);
    expect(plain).toEqual([
      '[1/1] unchanged pingone/a (resource 0a1b2c3d-1234-4567-89ab-cdef01234567, f.csv row 2): already onboarded, nothing to do\n',
    ]);
  });
});

describe('report model', () => {
  const DAY = 86_400_000;
  const to = new Date('2026-12-01T00:00:00Z');
  const from = new Date(to.getTime() - 90 * DAY);
  const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pingone/a-AbCdEf';
  const at = (days: number) => new Date(to.getTime() - days * DAY).toISOString();
  const run = (days: number, token: string, outcome?: 'rotated' | 'failed' | 'superseded') => ({
    token,
    secretArn: arn,
    startedAt: at(days),
    ...(outcome ? { finishedAt: at(days), outcome } : {}),
  });
  const input = (history: ReturnType<typeof run>[], extra: Partial<ReportInput> = {}): ReportInput => ({
    from,
    to,
    now: to,
    prefix: 'pingone/',
    toleranceMs: DAY,
    historyLimit: 100,
    owners: [
      {
        owner: { kind: 'resource', environmentId: ENV, id: RES, region: 'EU' },
        record: {
          rev: 3,
          binding: { secretArn: arn, boundAt: at(400), how: 'onboard' },
          intent: undefined,
          history,
        },
      },
    ],
    requests: new Map([
      ['t2', { token: 't2', secretArn: arn, requestedAt: at(45), requestedBy: 'ops@host', via: 'x' }],
    ]),
    secrets: [{ arn, name: 'pingone/a', rotationEnabled: true, scheduleExpression: 'rate(30 days)' }],
    ...extra,
  });

  it('the gap before the period counts from the last rotation before it; manual by request; failed runs are no rotation', () => {
    const report = buildReport(
      input([
        run(5, 't4', 'rotated'),
        run(20, 't3', 'failed'),
        run(45, 't2', 'rotated'),
        run(100, 't1', 'rotated'),
      ]),
    );
    const [s] = report.secrets;
    expect(s?.rotations.map((r) => [r.versionId, r.trigger, r.outcome])).toEqual([
      ['t2', 'manual', 'rotated'],
      ['t3', 'schedule', 'failed'],
      ['t4', 'schedule', 'rotated'],
    ]);
    // 100 days ago (before the period) to 45 days ago: 55 days, over 30 + 1.
    expect(s?.longestGap).toEqual({ ms: 55 * DAY, from: at(100), to: at(45) });
    expect(s?.inPolicy).toBe(false);
    expect(s?.policySource).toBe('schedule');
    expect(report.totals).toMatchObject({
      rotations: 3,
      rotated: 2,
      failed: 1,
      manual: 1,
      scheduled: 2,
      outOfPolicy: 1,
    });
  });

  it('rotations every 30 days are within the schedule + 1 day; a cron schedule needs --policy', () => {
    const history = [
      run(10, 'a', 'rotated'),
      run(40, 'b', 'rotated'),
      run(70, 'c', 'rotated'),
      run(100, 'd', 'rotated'),
    ];
    expect(buildReport(input(history)).secrets[0]?.inPolicy).toBe(true);
    const cron = buildReport(
      input(history, {
        secrets: [{ arn, name: 'pingone/a', rotationEnabled: true, scheduleExpression: 'cron(0 3 1 * ? *)' }],
      }),
    );
    expect(cron.secrets[0]?.policyProblems).toEqual([
      'no policy: the schedule is not an interval (pass --policy)',
    ]);
    const flagged = buildReport(input(history, { policyMs: 20 * DAY }));
    expect(flagged.secrets[0]?.policyProblems[0]).toMatch(
      /^longest gap 30\.0 d .* exceeds the policy's 20\.0 d$/,
    );
  });

  it('a full history that starts inside the period is flagged; text is escaped in HTML', () => {
    const report = buildReport(
      input([run(5, 't9', 'rotated')], {
        historyLimit: 1,
        secrets: [
          { arn, name: 'pingone/<b>a</b>', rotationEnabled: true, scheduleExpression: 'rate(30 days)' },
        ],
      }),
    );
    expect(report.secrets[0]?.historyTruncated).toBe(true);
    const html = renderReport(report, 'html');
    expect(html).toContain('pingone/&lt;b&gt;a&lt;/b&gt;');
    expect(html).not.toContain('<b>a</b>');
    expect(renderReport(report, 'csv').split('\n')[0]).toMatch(/^secret_name,secret_arn,owner_kind,/);
  });
});
