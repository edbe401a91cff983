import {
  CreateSecretCommand,
  PutSecretValueCommand,
  TagResourceCommand,
} from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../cli/commands/status.js';
import { describeLeaks } from '../support/leaks.js';
import { useWorld } from '../support/world.js';
import {
  cli,
  enableRotation,
  HOUR,
  knownSecrets,
  type RunOptions,
  recordAbandonedRotation,
  versionWith,
  worldDriver,
} from './support.js';

const { world, unique: uniqueName } = useWorld({ reset: 'faults' });

/** A secret rotated once through the handler: AWSCURRENT is PingOne's current, AWSPREVIOUS its previous. */
async function rotatedSecret(name = uniqueName('status/rotated')) {
  const secret = await world.createRotatableSecret({ name, region: 'EU' });
  const driver = await worldDriver(world);
  const report = await driver.rotate(secret.arn);
  expect(report.ok).toBe(true);
  return secret;
}

async function statusJson(secretId: string, extra: string[] = [], options: RunOptions = {}) {
  const run = await cli(world, ['status', '--secret-id', secretId, '--json', ...extra], options);
  return { run, report: JSON.parse(run.out) as StatusReport };
}

describe('status', () => {
  it('healthy: AWSCURRENT is PingOne current, previous held by AWSPREVIOUS; exit 0', async () => {
    const secret = await rotatedSecret();
    const run = await cli(world, ['status', '--secret-id', secret.name]);
    expect(run.code).toBe(0);
    expect(run.err).toBe('');
    const lines = run.out.trimEnd().split('\n');
    expect(lines.at(-1)).toMatch(/^Verdict {4}healthy: AWSCURRENT is PingOne's current secret/);
    expect(run.out).toContain(`CUSTOM resource "${secret.name} API" ${secret.resourceId}`);
    expect(run.out).toMatch(/previous secret \(AWSPREVIOUS\) valid until \S+ \(in 6d 23h\), last used never/);
    expect(run.out).toMatch(/Rotation {3}enabled, every 30 days/);
    expect(run.out).toContain('AWSCURRENT');
    expect(run.out).toContain('AWSPREVIOUS');
  });

  it('--json: a machine-readable report without secret values', async () => {
    const secret = await rotatedSecret();
    const { run, report } = await statusJson(secret.arn);
    expect(run.code).toBe(0);
    expect(report).toMatchObject({
      secret: { arn: secret.arn, name: secret.name },
      verdict: 'healthy',
      exitCode: 0,
      rotation: { enabled: true, automaticallyAfterDays: 30 },
      previousSecretTtl: { source: 'function-default' },
      awsCurrent: { environmentId: secret.environmentId, resourceId: secret.resourceId, region: 'EU' },
      pingone: {
        environmentId: secret.environmentId,
        resourceId: secret.resourceId,
        region: 'EU',
        resourceType: 'CUSTOM',
        awsCurrentIs: 'current',
        previous: { heldBy: ['AWSPREVIOUS'] },
      },
    });
    expect(report.pending).toBeUndefined();
    expect(report.secrets).toBeUndefined();
    expect(report.versions.map((v) => v.stages.join(','))).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
    expect(Date.parse(report.pingone!.previous!.expiresAt)).toBeGreaterThan(Date.now() + 6 * 24 * HOUR);
  });

  it('not-rotating: rotation disabled is a note, exit 0; --strict exits 9', async () => {
    const secret = await world.createRotatableSecret({ name: uniqueName('status/plain') });
    const run = await cli(world, ['status', '--secret-id', secret.name]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      /Verdict {4}not-rotating: AWSCURRENT is PingOne's current secret, but rotation is not enabled/,
    );
    expect((await cli(world, ['status', '--secret-id', secret.name, '--strict'])).code).toBe(9);
  });

  it('drift: PingOne regenerated out of band without a previous secret; exit 3 with the recovery', async () => {
    const secret = await rotatedSecret();
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const run = await cli(world, ['status', '--secret-id', secret.name]);
    expect(run.code).toBe(3);
    expect(run.out).toContain("AWSCURRENT matches neither PingOne's current nor its previous secret");
    expect(run.out).toMatch(
      new RegExp(
        `Verdict {4}drift: .*pingone-rotation onboard --secret-name ${secret.name} --environment-id ${secret.environmentId} ` +
          `--resource-id ${secret.resourceId} --pingone-region EU --force`,
      ),
    );
  });

  it('drift on a secret the ledger does not bind (planted): --force is not advised without verifying its origin', async () => {
    // Someone who may create secrets plants one naming an owner nobody has bound yet, with a guessed value.
    const environmentId = world.createEnvironment('EU');
    const resource = world.sim.createResource(environmentId, { name: 'Victim API' });
    const name = uniqueName('status/planted');
    await world.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          environmentId,
          resourceId: resource.id,
          clientSecret: 'guessed',
          region: 'EU',
        }),
      }),
    );
    const { run, report } = await statusJson(name);
    expect(run.code).toBe(3);
    expect(report.verdict).toBe('drift');
    expect(report.ledger?.binding).toBeUndefined();
    // The advice says why forcing is not safe here, before the command.
    const verify = report.reason.indexOf(`Verify where ${name} came from before forcing`);
    const command = report.reason.indexOf('--force`');
    expect(verify).toBeGreaterThan(-1);
    expect(verify).toBeLessThan(command);
    expect(report.reason).toContain('the rotation ledger does not bind the owner to this secret');
    expect(report.reason).toContain('its resource policy, its KMS key');
    expect(report.reason).not.toContain('safe to force');
  });

  it('drift on the secret the ledger binds: --force is advised, and the reason says why it is safe', async () => {
    const secret = await rotatedSecret();
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const { report } = await statusJson(secret.name);
    expect(report.verdict).toBe('drift');
    expect(report.ledger?.binding?.thisSecret).toBe(true);
    expect(report.reason).toMatch(
      /`pingone-rotation onboard [^`]+ --force` \(safe to force: the rotation ledger binds this resource to this secret since \S+, by rotation,/,
    );
    expect(report.reason).not.toContain('Verify where');
  });

  it('grace: AWSCURRENT is PingOne previous (regenerated with a grace period); exit 4 with the expiry', async () => {
    const secret = await rotatedSecret();
    // The regenerate is the function's own: a rotation recorded its intent and died.
    await recordAbandonedRotation(world, secret);
    const expires = new Date(Date.now() + 2 * 24 * HOUR);
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, { previousExpiresAt: expires });
    const { run, report } = await statusJson(secret.name);
    expect(run.code).toBe(4);
    expect(report.verdict).toBe('grace');
    expect(report.pingone?.awsCurrentIs).toBe('previous');
    expect(report.pingone?.previous?.heldBy).toEqual(['AWSCURRENT']);
    expect(report.reason).toContain(`valid until ${expires.toISOString().replace(/\.\d{3}Z$/, 'Z')}`);
    expect(report.reason).toContain(`pingone-rotation rotate --secret-id ${secret.name} --wait`);
  });

  it('half-done rotation (testSecret failed): pending value PingOne uses, AWSCURRENT in grace; in progress, then stuck', async () => {
    const secret = await rotatedSecret();
    world.sim.faults.failNext({ route: 'introspect', status: 401, count: 5 });
    const driver = await worldDriver(world, { maxAttempts: 1 });
    const report = await driver.rotate(secret.arn);
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/^testSecret: PingOne rejected the AWSPENDING secret/);

    // Against real AWS (a rotation service that retries), a young AWSPENDING is a rotation in progress.
    const young = await statusJson(secret.name, [], { local: false });
    expect(young.run.code).toBe(5);
    expect(young.report.verdict).toBe('rotation-in-progress');
    expect(young.report.pending).toMatchObject({
      kind: 'value',
      pingOneUsesIt: true,
      stuck: false,
      unstickWould: 'finish',
    });
    expect(young.report.reason).toMatch(/A rotation may still be running: check again after 1[45]m/);

    const later = await cli(world, ['status', '--secret-id', secret.name], {
      clockOffsetMs: HOUR,
      local: false,
    });
    expect(later.code).toBe(6);
    expect(later.out).toMatch(/\(holds a value, stuck\)/);
    expect(later.out).toContain("AWSPENDING is PingOne's current secret");
    expect(later.out).toMatch(
      /Verdict {4}stuck-pending: AWSPENDING is on version \S+, a value PingOne already uses as its current secret, created \S+ ago; AWSCURRENT is PingOne's previous secret, valid until .* Run `pingone-rotation unstick --secret-id \S+`, which will finish the rotation/,
    );
  });

  it('stuck empty placeholder: RotateSecret registered AWSPENDING and nothing ran; exit 6 when old', async () => {
    const secret = await world.createRotatableSecret({ name: uniqueName('status/placeholder') });
    const driver = await worldDriver(world);
    const token = await driver.startRotation(secret.arn);
    const { run, report } = await statusJson(secret.name, [], { clockOffsetMs: HOUR, local: false });
    expect(run.code).toBe(6);
    expect(report.verdict).toBe('stuck-pending');
    expect(report.pending).toMatchObject({
      versionId: token,
      kind: 'placeholder',
      stuck: true,
      unstickWould: 'remove-label',
    });
    expect(report.pending?.ageSeconds).toBeGreaterThanOrEqual(3600);
    expect(report.reason).toContain('an empty placeholder (createSecret never stored a value)');
    expect(report.reason).toContain("AWSCURRENT is still PingOne's current secret");
    // --stuck-after moves the threshold.
    expect(
      (
        await cli(world, ['status', '--secret-id', secret.name, '--stuck-after', '2h'], {
          clockOffsetMs: HOUR,
          local: false,
        })
      ).code,
    ).toBe(5);
    // In the local world nothing resumes a rotation, so even a young AWSPENDING is stuck.
    const local = await statusJson(secret.name);
    expect(local.run.code).toBe(6);
    expect(local.report.reason).toContain(
      'Nothing resumes it in the local world (no rotation service): run `pingone-rotation unstick',
    );
  });

  it('pingone-error: a resource that is not CUSTOM; exit 7 naming its type', async () => {
    const environmentId = world.createEnvironment('NA');
    const resource = world.sim.createResource(environmentId, { type: 'OPENID_CONNECT', name: 'openid' });
    const name = uniqueName('status/openid');
    await world.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          environmentId,
          resourceId: resource.id,
          clientSecret: 'x'.repeat(64),
          region: 'NA',
        }),
      }),
    );
    const run = await cli(world, ['status', '--secret-id', name]);
    expect(run.code).toBe(7);
    expect(run.out).toMatch(
      /Verdict {4}pingone-error: PingOne resource \S+ in environment \S+ \(NA\) is an OPENID_CONNECT resource, not CUSTOM/,
    );
  });

  it('pingone-error: the resource does not exist; exit 7', async () => {
    const secret = await world.createRotatableSecret({ name: uniqueName('status/gone') });
    const name = uniqueName('status/missing-resource');
    await world.secretsManager.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: JSON.stringify({
          environmentId: secret.environmentId,
          resourceId: '00000000-0000-4000-8000-000000000000',
          clientSecret: 'y'.repeat(64),
        }),
      }),
    );
    const { run, report } = await statusJson(name);
    expect(run.code).toBe(7);
    expect(report.verdict).toBe('pingone-error');
    expect(report.reason).toMatch(
      /^PingOne has no such resource: .* was not found \(PingOne read resource failed: HTTP 404/,
    );
  });

  it('misconfigured: an invalid TTL tag or a malformed AWSCURRENT; exit 8', async () => {
    const secret = await rotatedSecret();
    await enableRotation(world, secret.arn);
    await world.secretsManager.send(
      new TagResourceCommand({
        SecretId: secret.arn,
        Tags: [{ Key: 'pingone:previous-secret-ttl', Value: '90d' }],
      }),
    );
    const run = await cli(world, ['status', '--secret-id', secret.name]);
    expect(run.code).toBe(8);
    expect(run.out).toMatch(
      /Verdict {4}misconfigured: Tag 'pingone:previous-secret-ttl' is '90d', out of range/,
    );

    const other = await world.createRotatableSecret({ name: uniqueName('status/malformed') });
    await world.secretsManager.send(
      new PutSecretValueCommand({ SecretId: other.arn, SecretString: '{"clientSecret":"zz"}' }),
    );
    const bad = await cli(world, ['status', '--secret-id', other.name, '--json']);
    expect(bad.code).toBe(8);
    expect(JSON.parse(bad.out).reason).toMatch(
      /^AWSCURRENT is malformed: environmentId is missing; resourceId or applicationId is missing \(.*\):/,
    );
  });

  it('--show-secrets prints the values, and only with the flag', async () => {
    const secret = await rotatedSecret();
    const state = world.sim.readSecret(secret.environmentId, secret.resourceId);
    const hidden = await cli(world, ['status', '--secret-id', secret.name]);
    expect(describeLeaks(hidden.out, [state.secret])).toEqual([]);
    const shown = await cli(world, ['status', '--secret-id', secret.name, '--show-secrets']);
    expect(shown.code).toBe(0);
    expect(shown.out).toContain(`awsCurrent ${state.secret}`);
    expect(shown.out).toContain(`pingOnePrevious ${state.previous?.secret}`);
    expect(knownSecrets().length).toBeGreaterThan(3);
  });

  it('a secret that does not exist: one line on stderr, exit 1', async () => {
    const run = await cli(world, ['status', '--secret-id', 'no/such/secret']);
    expect(run.code).toBe(1);
    expect(run.out).toBe('');
    expect(run.err).toMatch(
      /^pingone-rotation: Secrets Manager can't find the secret 'no\/such\/secret': check --secret-id, --region and --profile\n$/,
    );
  });

  it('the AWSPENDING version after a failed rotation is the one unstick would act on', async () => {
    const secret = await rotatedSecret();
    const driver = await worldDriver(world);
    const token = await driver.startRotation(secret.arn);
    expect(await versionWith(world, secret.arn, 'AWSPENDING')).toBe(token);
    const { report } = await statusJson(secret.name);
    expect(report.pending?.versionId).toBe(token);
  });
});
