/**
 * `onboard-worker-pair` (issue 19): onboarding a worker pair is one command, against moto and the PingOne
 * simulator. It stores both workers' current secrets (never regenerating), tags them, binds them in the
 * rotation ledger and attaches rotation; the printed workers setting then rotates each worker's secret through
 * the other. A rerun changes nothing; a refusal for one worker leaves the other untouched; a worker never
 * reads its own secret (when the configured worker is one of the pair, its partner's credential reads it).
 */
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { runCli } from '../../cli/run.js';
import { TTL_TAG } from '../../lib/config.js';
import { ledgerFromConfig } from '../../lib/ledger/ledger.js';
import { rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';
import { cli, expectNoSecrets, recordSecrets, worldDeps } from './support.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';
const fx = useWorld({ namePrefix: 'pingone/', workerRegions: ['EU'] });
const { world } = fx;

/** Two worker apps in a new EU environment (the world's EU worker covers every EU environment). */
function workerApps() {
  const home = world.sim.createEnvironment({ region: 'EU', name: 'Workers' });
  const a = world.sim.createWorker(home.id);
  const b = world.sim.createWorker(home.id);
  fx.sensitive.add(a.clientSecret);
  fx.sensitive.add(b.clientSecret);
  return { home, a, b };
}

const pairArgs = (environmentId: string, a: string, b: string, extra: readonly string[] = []) => [
  'onboard-worker-pair',
  '--environment-id',
  environmentId,
  '--worker-a',
  a,
  '--worker-b',
  b,
  '--pingone-region',
  'EU',
  '--rotation-function-arn',
  FUNCTION_ARN,
  '--schedule',
  'rate(30 days)',
  '--previous-secret-ttl',
  '2m',
  ...extra,
];

interface PairDocument {
  ok: boolean;
  exitCode: number;
  changed: boolean;
  workers: { worker: string; clientId: string; secret: { name: string; arn: string }; changes: string[] }[];
  workersSetting: {
    name: string;
    region: string;
    secret: string;
    environments: string;
    organization?: string;
  }[];
  error?: { code: string; setting?: string };
}

/** What Secrets Manager holds for a secret: versions with their labels, tags and rotation. */
async function stateOf(secretId: string) {
  const out = await world.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
  return {
    versions: out.VersionIdsToStages,
    tags: Object.fromEntries((out.Tags ?? []).map((t) => [t.Key, t.Value])),
    rotation: { enabled: out.RotationEnabled, lambda: out.RotationLambdaARN, rules: out.RotationRules },
  };
}

describe('onboard-worker-pair', () => {
  it('onboards both workers in one command, a rerun changes nothing, and the pair then rotates each other', async () => {
    const { home, a, b } = workerApps();
    world.sim.clearRequests();
    const run = await cli(world, [...pairArgs(home.id, a.clientId, b.clientId), '--json']);
    expect(run.code, run.err).toBe(0);
    const doc = JSON.parse(run.out) as PairDocument;
    expect(doc).toMatchObject({ ok: true, exitCode: 0, changed: true });
    expect(doc.workers.map((w) => [w.worker, w.clientId, w.changes])).toEqual([
      ['a', a.clientId, ['created', 'bound', 'rotation-attached']],
      ['b', b.clientId, ['created', 'bound', 'rotation-attached']],
    ]);
    const [nameA, nameB] = [`pingone/workers/${a.clientId}`, `pingone/workers/${b.clientId}`];
    expect(doc.workersSetting).toEqual([
      { name: `worker-${a.clientId.slice(0, 8)}`, region: 'EU', secret: nameA, environments: '*' },
      { name: `worker-${b.clientId.slice(0, 8)}`, region: 'EU', secret: nameB, environments: '*' },
    ]);
    // PingOne's current secrets, never regenerated; the tags; the ledger binding; rotation on.
    for (const [name, worker] of [
      [nameA, a],
      [nameB, b],
    ] as const) {
      expect(await world.readSecretJson(name)).toEqual({
        environmentId: home.id,
        applicationId: worker.clientId,
        clientSecret: worker.clientSecret,
        region: 'EU',
      });
      const state = await stateOf(name);
      expect(state.tags).toEqual({
        'pingone:environment-id': home.id,
        'pingone:application-id': worker.clientId,
        [TTL_TAG]: '2m',
      });
      expect(state.rotation).toMatchObject({ enabled: true, lambda: FUNCTION_ARN });
      const record = await ledgerFromConfig(world.dynamodb, {
        ledgerTable: world.functionEnv.ROTATION_LEDGER_TABLE!,
      }).read(
        { kind: 'application', environmentId: home.id, id: worker.clientId, region: 'EU' },
        { deadline: Date.now() + 10_000, now: Date.now, consequence: 'test' },
      );
      expect(record?.binding?.secretArn).toBe(
        doc.workers.find((w) => w.clientId === worker.clientId)?.secret.arn,
      );
    }
    // Nothing was regenerated: the only requests that are not reads are tokens and introspections (testSecret).
    expect(
      world.sim.requests.filter((r) => r.method !== 'GET' && r.route !== 'token' && r.route !== 'introspect'),
    ).toEqual([]);

    // The same command again: nothing changes, in Secrets Manager, the ledger or PingOne.
    const before = [await stateOf(nameA), await stateOf(nameB)];
    const again = await cli(world, [...pairArgs(home.id, a.clientId, b.clientId), '--json']);
    expect(again.code, again.err).toBe(0);
    const second = JSON.parse(again.out) as PairDocument;
    expect(second.changed).toBe(false);
    expect(second.workers.map((w) => w.changes)).toEqual([[], []]);
    expect([await stateOf(nameA), await stateOf(nameB)]).toEqual(before);
    const human = await cli(world, pairArgs(home.id, a.clientId, b.clientId));
    expect(human.code, human.err).toBe(0);
    expect(human.out).toContain('The worker pair was onboarded already: nothing changed.');
    // Without --organization-id the entries name no organization, and the text says what that costs.
    expect(doc.workersSetting.every((w) => !('organization' in w))).toBe(true);
    expect(human.out).toContain(
      'Add "organization": "<the PingOne organization\'s id>" to both entries (or rerun with --organization-id) ' +
        'so the pair shares one PingOne rate budget',
    );
    // With it, both entries carry the organization (lower-cased, as PINGONE_WORKERS keeps it), and the hint goes.
    const withOrg = await cli(world, [
      ...pairArgs(home.id, a.clientId, b.clientId, ['--organization-id', 'Org-7.eu']),
      '--json',
    ]);
    expect(withOrg.code, withOrg.err).toBe(0);
    const orgDoc = JSON.parse(withOrg.out) as PairDocument;
    expect(orgDoc.changed).toBe(false);
    expect(orgDoc.workersSetting).toEqual(
      doc.workersSetting.map((entry) => ({ ...entry, organization: 'org-7.eu' })),
    );
    expect(withOrg.err).not.toContain('rate budget');
    const humanOrg = await cli(
      world,
      pairArgs(home.id, a.clientId, b.clientId, ['--organization-id', 'org-7.eu']),
    );
    expect(humanOrg.out).toContain('"organization":"org-7.eu"');
    expect(humanOrg.out).not.toContain('rate budget');

    // The printed setting (with the organization) is what the function needs: each worker's secret rotates
    // through the other.
    const harness = rotationHarness(world, {
      env: { PINGONE_WORKERS: JSON.stringify(orgDoc.workersSetting), PINGONE_WORKER_CACHE_SECONDS: '3600' },
    });
    for (const [name, worker] of [
      [nameA, a],
      [nameB, b],
    ] as const) {
      const report = await harness.driver.rotate(name);
      expect(report.ok, report.error).toBe(true);
      const pingone = world.sim.readSecret(home.id, worker.clientId, 'application');
      expect(pingone.secret).not.toBe(worker.clientSecret);
      expect(await fx.storedSecret(name)).toBe(pingone.secret);
    }
    fx.remember(harness);
    recordSecrets(world);
  });

  it("reads a configured worker's own secret with its partner's credential, never its own", async () => {
    const { home, a, b } = workerApps();
    // The CLI runs as worker a (kept in SSM under the stack's worker path).
    await world.ssm.send(
      new PutParameterCommand({
        Name: '/pingone/workers/pair-a',
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({
          environmentId: home.id,
          clientId: a.clientId,
          clientSecret: a.clientSecret,
          region: 'EU',
        }),
      }),
    );
    const workers = JSON.stringify([
      { name: 'a', region: 'EU', parameter: '/pingone/workers/pair-a', environments: [home.id] },
    ]);
    const { deps, out, err } = worldDeps(world);
    const access = createPingOneAccess({ env: world.functionEnv, flags: { workers }, ssm: world.ssm });
    const asA = { ...deps, pingone: () => access, config: () => access.config };
    world.sim.clearRequests();
    const code = await runCli(pairArgs(home.id, a.clientId, b.clientId), { out, err }, () => asA);
    recordSecrets(world);
    expectNoSecrets(out.text + err.text);
    expect(code, err.text).toBe(0);
    expect(out.text).toContain(`is a configured worker: its secret is read with its partner's credential`);
    expect((await world.readSecretJson(`pingone/workers/${a.clientId}`)).clientSecret).toBe(a.clientSecret);
    expect((await world.readSecretJson(`pingone/workers/${b.clientId}`)).clientSecret).toBe(b.clientSecret);
    // a's secret was read, and PingOne refuses a worker reading its own secret (403): so b's token read it.
    const readsOfA = world.sim.requests.filter(
      (r) => r.route === 'application-secret' && r.applicationId === a.clientId,
    );
    expect(readsOfA.map((r) => r.status)).toEqual([200]);
  });

  it('a refusal for one worker is found before anything is written for either', async () => {
    const { home, a, b } = workerApps();
    const nameB = fx.unique('workers/taken');
    await world.secrets.create({ name: nameB, secretString: '{"note":"someone else\'s"}' });
    const run = await cli(world, [
      ...pairArgs(home.id, a.clientId, b.clientId, ['--secret-name-b', nameB]),
      '--json',
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toContain(
      `secret ${nameB} exists but does not hold worker B's (${b.clientId}) current secret`,
    );
    const doc = JSON.parse(run.out) as PairDocument;
    expect(doc).toMatchObject({ ok: false, changed: false, workers: [] });
    await expect(world.secrets.view(`pingone/workers/${a.clientId}`)).rejects.toThrow();
    expect(await world.readSecretJson(nameB)).toEqual({ note: "someone else's" });
  });

  it('a bad flag exits 2 naming it, before AWS or PingOne is asked', async () => {
    const { home, a } = workerApps();
    const bad = await cli(world, [...pairArgs(home.id, a.clientId, 'not-a-uuid'), '--json']);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--worker-b 'not-a-uuid' is not a UUID");
    expect(JSON.parse(bad.out)).toMatchObject({ ok: false, error: { code: 'Usage', setting: '--worker-b' } });
    const same = await cli(world, pairArgs(home.id, a.clientId, a.clientId));
    expect(same.code).toBe(2);
    expect(same.err).toContain('--worker-b is the same app as --worker-a');
    const org = await cli(world, [
      ...pairArgs(home.id, a.clientId, home.id, ['--organization-id', 'my org']),
      '--json',
    ]);
    expect(org.code).toBe(2);
    expect(org.err).toContain("--organization-id 'my org' is not a PingOne organization id");
    expect(JSON.parse(org.out)).toMatchObject({ error: { code: 'Usage', setting: '--organization-id' } });
    const outside = await cli(
      world,
      pairArgs(home.id, a.clientId, home.id, ['--secret-name-a', 'payroll/a']),
    );
    expect(outside.code).toBe(2);
    expect(outside.err).toContain(
      "--secret-name-a 'payroll/a' is outside the stack's secret-name prefix 'pingone/'",
    );
  });
});
