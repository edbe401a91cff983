/**
 * `import-terraform` against the local world, on a `terraform show -json` state fixture with both resource
 * kinds in nested modules (for_each and count instances): every secret becomes a bound, rotating Secrets
 * Manager secret holding PingOne's current secret (no regenerate), the schedule carried over from its
 * time_rotating; the Terraform it writes parses (HCL parser: `terraform` itself is not installable here) and,
 * applied to the state's shape, leaves no PingOne secret under Terraform.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { parse as parseHcl } from '@cdktf/hcl2json';
import { beforeAll, describe, expect, it } from 'vitest';
import { configAddressOf } from '../../cli/onboarding/terraform.js';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import { useWorld } from '../support/world.js';
import { cli } from './support.js';

const { world } = useWorld();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'import-terraform-'));
});

const FIXTURE = readFileSync(new URL('./fixtures/terraform-state.json', import.meta.url), 'utf8');

interface Fleet {
  environmentId: string;
  ids: Record<'BILLING' | 'API0' | 'API1' | 'LEGACY' | 'WEB_APP', string>;
  secrets: string[];
  file: string;
  state: { values: { root_module: unknown } };
}

/** The fixture with the simulator's ids and secrets (and a previous secret only the state knows). */
function fleet(version?: string): Fleet {
  const environmentId = world.createEnvironment('EU');
  const ids = {
    BILLING: world.sim.createResource(environmentId, { name: 'Billing' }).id,
    API0: world.sim.createResource(environmentId, { name: 'API 0' }).id,
    API1: world.sim.createResource(environmentId, { name: 'API 1' }).id,
    LEGACY: world.sim.createResource(environmentId, { name: 'Reports' }).id,
    WEB_APP: world.sim.createApplication(environmentId, { name: 'Web' }).id,
  };
  const secrets: string[] = [];
  let text = FIXTURE.replaceAll('__ENV__', environmentId);
  for (const [key, id] of Object.entries(ids)) {
    const kind = key === 'WEB_APP' ? 'application' : 'resource';
    const secret = world.sim.readSecret(environmentId, id, kind).secret;
    secrets.push(secret);
    text = text.replaceAll(`__SECRET_${key}__`, secret).replaceAll(`__${key}__`, id);
  }
  const previous = `tf-state-previous-${'x'.repeat(60)}`;
  secrets.push(previous);
  text = text.replaceAll('__PREVIOUS_BILLING__', previous);
  if (version) text = text.replace('"terraform_version": "1.9.8"', `"terraform_version": "${version}"`);
  const file = join(dir, `state-${environmentId}.json`);
  writeFileSync(file, text);
  return { environmentId, ids, secrets, file, state: JSON.parse(text) };
}

const ROTATION = ['--rotation-function-arn', LOCAL_ROTATION_LAMBDA_ARN];

const NAMES = {
  BILLING: 'pingone/billing',
  WEB_APP: 'pingone/apps/web/oidc',
  API0: 'pingone/apps/web/api/api/0',
  API1: 'pingone/apps/web/api/api/1',
  LEGACY: 'pingone/legacy/reports',
} as const;

function expectNoStateSecret(text: string, f: Fleet): void {
  for (const secret of f.secrets)
    expect(text.includes(secret), 'a secret from the state was printed').toBe(false);
}

/** Every managed resource address in a state's root module and its children. */
function stateAddresses(module: unknown): { address: string; type: string }[] {
  const m = module as { resources?: { address: string; type: string }[]; child_modules?: unknown[] };
  return [
    ...(m.resources ?? []).map((r) => ({ address: r.address, type: r.type })),
    ...(m.child_modules ?? []).flatMap(stateAddresses),
  ];
}

describe('import-terraform', () => {
  it('imports both kinds from nested modules into bound, rotating secrets; the removed blocks leave Terraform nothing to regenerate', async () => {
    const f = fleet();
    const out = join(dir, 'removed.tf');
    world.sim.clearRequests();
    const args = [
      'import-terraform',
      f.file,
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--schedule',
      'rate(45 days)',
      '--out',
      out,
      '--yes',
      '--pingone-region',
      'EU',
    ];
    const run = await cli(world, args);
    expectNoStateSecret(run.out + run.err, f);
    expect(run.code, run.out + run.err).toBe(0);
    expect(run.out).toContain(`Terraform state ${f.file} (Terraform 1.9.8): 5 PingOne secrets.`);
    expect(run.out).toContain(
      `  pingone_resource_secret.billing -> pingone/billing: resource ${f.ids.BILLING}; schedule rate(30 days) from time_rotating.root (rotation_days = 30, found by depends_on)`,
    );
    expect(run.out).toContain(
      `  module.apps["web"].pingone_application_secret.oidc -> pingone/apps/web/oidc: application ${f.ids.WEB_APP}; schedule rate(90 days) from module.apps["web"].time_rotating.app (rotation_months = 3, found by depends_on); months counted as 30 days, years as 365`,
    );
    expect(run.out).toContain(
      `  module.apps["web"].module.api.pingone_resource_secret.api[1] -> pingone/apps/web/api/api/1: resource ${f.ids.API1}; schedule rate(12 hours) from module.apps["web"].module.api.time_rotating.api (rotation_hours = 12, found by value)`,
    );
    expect(run.out).toContain(
      `  module.legacy.pingone_resource_secret.reports -> pingone/legacy/reports: resource ${f.ids.LEGACY}; schedule rate(45 days) (no time_rotating found; from --schedule)`,
    );
    expect(run.out).toMatch(/^Onboarded 5, completed 0, unchanged 0, failed 0 of 5 /m);
    expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
    for (const [key, name] of Object.entries(NAMES)) {
      const id = f.ids[key as keyof typeof NAMES];
      const kind = key === 'WEB_APP' ? 'application' : 'resource';
      const value = await world.readSecretJson(name);
      expect(value.clientSecret).toBe(world.sim.readSecret(f.environmentId, id, kind).secret);
      const described = await world.secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
      expect(described.RotationEnabled).toBe(true);
      const record = await world.ledger.read(
        { kind, environmentId: f.environmentId, id, region: 'EU' },
        { deadline: Date.now() + 10_000, now: Date.now },
      );
      expect(record?.binding).toMatchObject({ secretArn: described.ARN, how: 'onboard' });
    }
    const status = await cli(world, [
      'status',
      '--secret-id',
      NAMES.WEB_APP,
      '--json',
      '--pingone-region',
      'EU',
    ]);
    expect(JSON.parse(status.out).verdict).toBe('healthy');

    // The Terraform: printed and written; parsed by an HCL parser.
    const tf = readFileSync(out, 'utf8');
    expect(run.out).toContain(tf.trim());
    expectNoStateSecret(tf, f);
    const hcl = (await parseHcl('removed.tf', tf)) as {
      removed: { from: string; lifecycle: { destroy: boolean }[] }[];
    };
    const removed = hcl.removed.map((block) => {
      expect(block.lifecycle).toEqual([{ destroy: false }]);
      return block.from.replace(/^\$\{(.*)\}$/, '$1');
    });
    expect(removed.sort()).toEqual(
      [
        'module.apps.module.api.pingone_resource_secret.api',
        'module.apps.module.api.time_rotating.api',
        'module.apps.pingone_application_secret.oidc',
        'module.apps.time_rotating.app',
        'module.legacy.pingone_resource_secret.reports',
        'pingone_resource_secret.billing',
      ].sort(),
    );
    // time_rotating.root also drives terraform_data.rotation_reminder: kept, and said so.
    expect(tf).toContain('# Kept: time_rotating.root also drives terraform_data.rotation_reminder;');
    expect(tf).toContain('#   lifecycle {\n#     ignore_changes = [regenerate_trigger_values]\n#   }');

    // Applied to the state's shape: every PingOne secret instance is forgotten (destroy = false), so no
    // plan can regenerate one; nothing else is touched.
    const plan = stateAddresses(f.state.values.root_module).map((r) => ({
      ...r,
      action: removed.includes(configAddressOf(r.address)) ? 'forget' : 'no-op',
    }));
    expect(plan.filter((r) => r.type.startsWith('pingone_') && r.action !== 'forget')).toEqual([]);
    expect(plan.filter((r) => r.action === 'forget').map((r) => r.address)).toHaveLength(7);
    expect(plan.find((r) => r.address === 'terraform_data.rotation_reminder')?.action).toBe('no-op');

    // Again: nothing to do, nothing read from PingOne's secrets, the same Terraform.
    world.sim.clearRequests();
    const again = await cli(world, [...args, '--json']);
    expect(again.code).toBe(0);
    const report = JSON.parse(again.out);
    expect(report.totals).toMatchObject({ items: 5, unchanged: 5, failed: 0 });
    expect(report.items.map((i: { source: string }) => i.source)).toContain(
      'module.apps["web"].module.api.pingone_resource_secret.api[0]',
    );
    expect(report.terraform.forgotten).toHaveLength(4);
    expect(world.sim.count({ route: 'secret' })).toBe(0);
    expectNoStateSecret(again.out + again.err, f);
  });

  it('--dry-run shows the whole plan and the Terraform, reads no PingOne secret and creates nothing', async () => {
    const f = fleet();
    world.sim.clearRequests();
    const run = await cli(world, [
      'import-terraform',
      f.file,
      '--dry-run',
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--pingone-region',
      'EU',
    ]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^Plan: onboard 5 secrets under pingone\//m);
    expect(run.out).toMatch(/^ {2}5\. pingone\/legacy\/reports <- resource /m);
    expect(run.out).toContain(
      'The Terraform it would write to pingone-rotation-removed.tf (not written in a dry run):',
    );
    expect(run.out).toContain('removed {\n  from = module.apps.pingone_application_secret.oidc\n');
    expect(run.out).toMatch(/^Dry run: nothing was read or changed\.$/m);
    expectNoStateSecret(run.out + run.err, f);
    expect(world.sim.requests).toEqual([]);
    const missing = await world.secretsManager
      .send(new DescribeSecretCommand({ SecretId: NAMES.BILLING }))
      .then(() => 'exists')
      .catch(() => 'missing');
    // (An earlier test may have created pingone/billing for another environment: check the owner tag.)
    if (missing === 'exists') {
      const tags = (await world.secretsManager.send(new DescribeSecretCommand({ SecretId: NAMES.BILLING })))
        .Tags;
      expect(tags?.find((t) => t.Key === 'pingone:resource-id')?.Value).not.toBe(f.ids.BILLING);
    }
  });

  it('without --yes on a pipe it asks for confirmation naming the count, and changes nothing', async () => {
    const f = fleet();
    const run = await cli(world, [
      'import-terraform',
      f.file,
      '--name-template',
      'pingone/confirm/{path}',
      ...ROTATION,
      '--pingone-region',
      'EU',
    ]);
    expect(run.code).toBe(2);
    expect(run.err).toBe(
      'pingone-rotation: onboarding of 5 secrets needs confirmation, but stdin is not a terminal: nothing was ' +
        'changed; re-run with --yes to carry out the plan above\n',
    );
    const asked = await cli(
      world,
      [
        'import-terraform',
        f.file,
        '--name-template',
        'pingone/confirm/{path}',
        ...ROTATION,
        '--pingone-region',
        'EU',
      ],
      { answer: 'n' },
    );
    expect(asked.prompts).toEqual(['Proceed? [y/N] ']);
    expect(asked.err).toBe('pingone-rotation: onboarding of 5 secrets cancelled: nothing was changed\n');
    expect(world.sim.count({ route: 'secret' })).toBe(0);
  });

  it('Terraform older than 1.7: terraform state rm commands, one per instance, valid sh', async () => {
    const f = fleet('1.5.7');
    const out = join(dir, 'state-rm.sh');
    const run = await cli(world, [
      'import-terraform',
      f.file,
      '--name-template',
      'pingone/old/{path}',
      ...ROTATION,
      '--out',
      out,
      '--yes',
      '--pingone-region',
      'EU',
    ]);
    expect(run.code, run.out + run.err).toBe(0);
    const script = readFileSync(out, 'utf8');
    const commands = script.split('\n').filter((l) => l.startsWith('terraform state rm '));
    expect(commands.sort()).toEqual(
      [
        `terraform state rm 'module.apps["web"].module.api.pingone_resource_secret.api[0]'`,
        `terraform state rm 'module.apps["web"].module.api.pingone_resource_secret.api[1]'`,
        `terraform state rm 'module.apps["web"].module.api.time_rotating.api'`,
        `terraform state rm 'module.apps["web"].pingone_application_secret.oidc'`,
        `terraform state rm 'module.apps["web"].time_rotating.app'`,
        `terraform state rm 'module.legacy.pingone_resource_secret.reports'`,
        `terraform state rm 'pingone_resource_secret.billing'`,
      ].sort(),
    );
    const { spawnSync } = await import('node:child_process');
    expect(spawnSync('sh', ['-n', out]).status).toBe(0);
    expect(script).not.toContain('removed {');
  });
});
