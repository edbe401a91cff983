import {
  CreateSecretCommand,
  DescribeSecretCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { useWorld } from '../support/world.js';
import { cli, pingOneResource, worldDriver } from './support.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';
const { world, unique: uniqueName } = useWorld({ namePrefix: 'pingone/' });

const customResource = (region: 'NA' | 'EU' = 'EU') => pingOneResource(world, { region });

async function describe_(secretId: string) {
  return world.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
}

describe('onboard', () => {
  it("creates the secret with PingOne's current secret, the region and the tags; status is not-rotating", async () => {
    const { environmentId, resourceId, secret } = customResource();
    const name = uniqueName('onboard/plain');
    const run = await cli(world, [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
      '--pingone-region',
      'EU',
      '--previous-secret-ttl',
      '14d',
    ]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `PingOne: CUSTOM resource "Orders API" ${resourceId} in environment ${environmentId} (EU)`,
    );
    expect(run.out).toMatch(
      new RegExp(`Created secret ${name} \\(arn:aws:secretsmanager:\\S+\\), version \\S+ AWSCURRENT`),
    );
    expect(run.out).toContain('Rotation not attached');
    expect(await world.readSecretJson(name)).toEqual({
      environmentId,
      resourceId,
      clientSecret: secret,
      region: 'EU',
    });
    const out = await describe_(name);
    expect(Object.fromEntries((out.Tags ?? []).map((t) => [t.Key, t.Value]))).toEqual({
      'pingone:environment-id': environmentId,
      'pingone:resource-id': resourceId,
      'pingone:previous-secret-ttl': '14d',
    });
    expect(out.RotationEnabled).toBeFalsy();
    const status = await cli(world, ['status', '--secret-id', name]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/Verdict {4}not-rotating:/);
  });

  it('attaches rotation without rotating: testSecret runs (locally), PingOne is not regenerated, status is healthy', async () => {
    const { environmentId, resourceId, secret } = customResource();
    const name = uniqueName('onboard/rotating');
    world.sim.clearRequests();
    const run = await cli(world, [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
      '--pingone-region',
      'EU',
      '--rotation-function-arn',
      FUNCTION_ARN,
      '--schedule',
      'rate(30 days)',
      '--window',
      '4h',
    ]);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `Local world: moto has no Lambda runtime; it recorded ${FUNCTION_ARN} with AutomaticallyAfterDays=30`,
    );
    expect(run.out).toMatch(
      /Ran testSecret as Secrets Manager would \(in lib\/handler.ts's createRotationHandler .*\): PingOne accepts AWSCURRENT/,
    );
    expect(world.sim.count({ method: 'POST', route: 'secret' })).toBe(0);
    expect(world.sim.count({ route: 'introspect', status: 200 })).toBe(1);
    expect(world.sim.readSecret(environmentId, resourceId).secret).toBe(secret);
    const out = await describe_(name);
    expect(out.RotationEnabled).toBe(true);
    expect(out.RotationLambdaARN).toBe(FUNCTION_ARN);
    expect(Object.values(out.VersionIdsToStages ?? {}).filter((s) => s.length > 0)).toEqual([['AWSCURRENT']]);
    const status = await cli(world, ['status', '--secret-id', name]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/Verdict {4}healthy:/);
  });

  it('refuses a resource that is not CUSTOM, naming its type; creates nothing', async () => {
    const environmentId = world.createEnvironment('NA');
    const resource = world.sim.createResource(environmentId, { type: 'PINGONE_API', name: 'PingOne API' });
    const name = uniqueName('onboard/not-custom');
    const run = await cli(world, [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      environmentId,
      '--resource-id',
      resource.id,
    ]);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toBe(
      `pingone-rotation: PingOne resource ${resource.id} in environment ${environmentId} (NA) ("PingOne API") is a ` +
        'PINGONE_API resource, not CUSTOM: only CUSTOM resources have a client secret to rotate; check --resource-id\n',
    );
    await expect(describe_(name)).rejects.toThrow(/can't find the specified secret/);
  });

  it('refuses a resource PingOne does not have (wrong region), with what to check', async () => {
    const { environmentId, resourceId } = customResource('EU');
    const run = await cli(world, [
      'onboard',
      '--secret-name',
      uniqueName('onboard/wrong-region'),
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
      '--pingone-region',
      'CA',
    ]);
    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /^pingone-rotation: PingOne has no such resource: .* \(CA\) was not found .*: check the environment id, resource id and PingOne region: nothing was created or changed\n$/,
    );
  });

  it('refuses an existing secret without --force; --force stores PingOne current secret (the drift fix)', async () => {
    const { environmentId, resourceId } = customResource();
    const name = uniqueName('onboard/existing');
    const args = [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
      '--pingone-region',
      'EU',
    ];
    expect((await cli(world, args)).code).toBe(0);
    // Someone edits the value (keeping an owner key), then PingOne is regenerated out of band: drift.
    const edited = { ...(await world.readSecretJson(name)), owner: 'team-orders' };
    await world.secretsManager.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: JSON.stringify(edited) }),
    );
    world.sim.regenerateOutOfBand(environmentId, resourceId);
    expect((await cli(world, ['status', '--secret-id', name])).code).toBe(3);

    const refused = await cli(world, args);
    expect(refused.code).toBe(1);
    expect(refused.err).toBe(
      `pingone-rotation: secret ${name} already exists: pass --force to store PingOne's current secret in it ` +
        '(a new AWSCURRENT version), or choose another --secret-name\n',
    );

    const forced = await cli(world, [
      ...args,
      '--force',
      '--previous-secret-ttl',
      '1d',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);
    expect(forced.code).toBe(0);
    expect(forced.out).toMatch(
      new RegExp(`Stored PingOne's current secret in ${name} \\(\\S+\\) as version \\S+ AWSCURRENT`),
    );
    expect(await world.readSecretJson(name)).toEqual({
      environmentId,
      resourceId,
      clientSecret: world.sim.readSecret(environmentId, resourceId).secret,
      region: 'EU',
      owner: 'team-orders',
    });
    const tags = Object.fromEntries(((await describe_(name)).Tags ?? []).map((t) => [t.Key, t.Value]));
    expect(tags['pingone:previous-secret-ttl']).toBe('1d');

    // Again: the value is already right, nothing new is stored.
    const again = await cli(world, [
      ...args,
      '--force',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);
    expect(again.code).toBe(0);
    expect(again.out).toContain(
      `${name} already holds PingOne's current secret for this resource: value unchanged.`,
    );
  });

  it('--force after rotations (the drift fix as status advises it): one AWSCURRENT, healthy again', async () => {
    const secret = await world.createRotatableSecret({
      name: uniqueName('onboard/rotated-drift'),
      region: 'EU',
    });
    const driver = await worldDriver(world);
    expect((await driver.rotate(secret.arn)).ok).toBe(true);
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const drift = await cli(world, ['status', '--secret-id', secret.name]);
    expect(drift.code).toBe(3);
    const advice = /`pingone-rotation (onboard [^`]+)`/.exec(drift.out)?.[1];
    expect(advice).toBeDefined();
    const fix = await cli(world, [
      ...advice!.split(' '),
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);
    expect(fix.code).toBe(0);
    const labels = Object.values(await world.labels(secret.arn)).filter((stages) => stages.length > 0);
    expect(labels.filter((stages) => stages.includes('AWSCURRENT'))).toHaveLength(1);
    expect(labels.filter((stages) => stages.includes('AWSPREVIOUS'))).toHaveLength(1);
    expect((await world.readSecretJson(secret.arn)).clientSecret).toBe(
      world.sim.readSecret(secret.environmentId, secret.resourceId).secret,
    );
    const healthy = await cli(world, ['status', '--secret-id', secret.name]);
    expect(healthy.code).toBe(0);
    expect(healthy.out).toMatch(/Verdict {4}healthy/);
    // …and the next rotation works from it.
    expect((await cli(world, ['rotate', '--secret-id', secret.name, '--wait'])).code).toBe(0);
  });

  it('--force into a planted secret shows who else can read it and writes nothing without a matching --accept-readers or a yes (issue 17, finding 4)', async () => {
    const { environmentId, resourceId } = customResource();
    const name = uniqueName('onboard/planted');
    // Planted by someone outside: readable by another account through its resource policy.
    await world.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({ environmentId, resourceId, clientSecret: 'guessed', region: 'EU' }),
      }),
    );
    const outsider = 'arn:aws:iam::999999999999:root';
    await world.secretsManager.send(
      new PutResourcePolicyCommand({
        SecretId: name,
        ResourcePolicy: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: outsider },
              Action: 'secretsmanager:GetSecretValue',
              Resource: '*',
            },
          ],
        }),
      }),
    );
    const args = [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
    ];
    args.push('--pingone-region', 'EU', '--force');
    const spec = `policy=${outsider};kms=aws/secretsmanager`;
    const untouched = async () => {
      expect((await world.readSecretJson(name)).clientSecret).toBe('guessed');
      expect(
        await world.ledger.read(
          { kind: 'resource', environmentId, id: resourceId, region: 'EU' },
          { deadline: Date.now() + 10_000, now: Date.now },
        ),
      ).toBeUndefined();
    };

    const refused = await cli(world, args);
    expect(refused.code).toBe(2);
    expect(refused.out).toContain(`Who can read ${name}: a resource policy allowing ${outsider}`);
    expect(refused.err).toContain('stdin is not a terminal');
    expect(refused.err).toContain(`re-run with --accept-readers '${spec}'`);
    await untouched();

    const cancelled = await cli(world, args, { answer: 'n' });
    expect(cancelled.code).toBe(1);
    expect(cancelled.prompts).toEqual([`Write PingOne's current secret into ${name}? [y/N] `]);
    await untouched();

    const wrong = await cli(world, [...args, '--accept-readers', 'policy=none;kms=aws/secretsmanager']);
    expect(wrong.code).toBe(1);
    expect(wrong.err).toContain(`does not match who can read ${name} ('${spec}')`);
    await untouched();

    const accepted = await cli(world, [...args, '--accept-readers', spec]);
    expect(accepted.code, accepted.err).toBe(0);
    expect((await world.readSecretJson(name)).clientSecret).toBe(
      world.sim.readSecret(environmentId, resourceId).secret,
    );
  });

  it('usage errors: bad TTL, bad ids, rotation without a schedule; exit 2', async () => {
    const { environmentId, resourceId } = customResource();
    const base = [
      'onboard',
      '--secret-name',
      uniqueName('onboard/usage'),
      '--environment-id',
      environmentId,
      '--resource-id',
      resourceId,
    ];
    const ttl = await cli(world, [...base, '--previous-secret-ttl', '45d']);
    expect(ttl.code).toBe(2);
    expect(ttl.err).toMatch(/^pingone-rotation: --previous-secret-ttl is '45d', out of range/);
    const id = await cli(world, [
      'onboard',
      '--secret-name',
      'x',
      '--environment-id',
      'prod',
      '--resource-id',
      resourceId,
    ]);
    expect(id.code).toBe(2);
    expect(id.err).toBe(
      "pingone-rotation: --environment-id 'prod' is not a UUID: pass the PingOne environment's id\n",
    );
    const schedule = await cli(world, [...base, '--rotation-function-arn', FUNCTION_ARN]);
    expect(schedule.code).toBe(2);
    expect(schedule.err).toMatch(/needs both --rotation-function-arn and --schedule/);
    const missing = await cli(world, ['onboard', '--secret-name', 'x']);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe(
      'pingone-rotation: onboard needs --environment-id, --resource-id or --application-id: see pingone-rotation onboard --help\n',
    );
  });
});
