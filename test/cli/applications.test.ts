import { CreateSecretCommand, DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { ApplicationAuthMethod } from '../../local/pingone-simulator/index.js';
import { useWorld } from '../support/world.js';
import { cli, onboardArgs, secretExists, versionWith, worldDriver } from './support.js';

/** The operator CLI on OIDC application secrets: onboard --application-id, status, rotate, unstick. */
const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';
const { world, unique: uniqueName } = useWorld({ reset: 'faults', namePrefix: 'pingone/' });

function application(
  method: ApplicationAuthMethod = 'CLIENT_SECRET_JWT',
  type: 'WEB_APP' | 'SERVICE' = 'WEB_APP',
) {
  const environmentId = world.createEnvironment('EU');
  const app = world.sim.createApplication(environmentId, {
    name: 'Storefront',
    type,
    tokenEndpointAuthMethod: method,
  });
  return { environmentId, applicationId: app.id, secret: app.secret };
}

const onboardApplication = (
  name: string,
  environmentId: string,
  applicationId: string,
  extra: string[] = [],
) => onboardArgs(name, { environmentId, applicationId }, ...extra);

describe('onboard --application-id', () => {
  it('stores an OIDC application secret with its tags, attaches rotation, and status says it is an application', async () => {
    const { environmentId, applicationId, secret } = application();
    const name = uniqueName('apps/storefront');
    world.sim.clearRequests();

    const run = await cli(
      world,
      onboardApplication(name, environmentId, applicationId, [
        '--rotation-function-arn',
        FUNCTION_ARN,
        '--schedule',
        'rate(30 days)',
      ]),
    );

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `PingOne: OIDC application "Storefront" (WEB_APP, CLIENT_SECRET_JWT) ${applicationId} in environment ${environmentId} (EU)`,
    );
    expect(run.out).toContain('PingOne accepts AWSCURRENT');
    expect(await world.readSecretJson(name)).toEqual({
      environmentId,
      applicationId,
      clientSecret: secret,
      region: 'EU',
    });
    const tags = (await world.secretsManager.send(new DescribeSecretCommand({ SecretId: name }))).Tags ?? [];
    expect(Object.fromEntries(tags.map((t) => [t.Key, t.Value]))).toEqual({
      'pingone:environment-id': environmentId,
      'pingone:application-id': applicationId,
    });
    // testSecret proved AWSCURRENT with a client assertion; nothing was regenerated.
    expect(world.sim.count({ route: 'introspect', applicationId })).toBe(1);
    expect(world.sim.count({ route: 'application-secret', method: 'POST' })).toBe(0);

    const status = await cli(world, ['status', '--secret-id', name]);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(
      new RegExp(
        `PingOne {4}OIDC application "Storefront" \\(WEB_APP, CLIENT_SECRET_JWT\\) ${applicationId} in environment`,
      ),
    );
    expect(status.out).toContain('testSecret proves a new secret by token introspection (CLIENT_SECRET_JWT)');
    expect(status.out).toMatch(/Verdict {4}healthy:/);
    const json = JSON.parse((await cli(world, ['status', '--secret-id', name, '--json'])).out);
    expect(json.awsCurrent).toMatchObject({ kind: 'application', applicationId, environmentId });
    expect(json.pingone).toMatchObject({
      kind: 'application',
      applicationId,
      applicationName: 'Storefront',
      protocol: 'OPENID_CONNECT',
      applicationType: 'WEB_APP',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
      secretTest: { proof: 'introspection', method: 'CLIENT_SECRET_JWT' },
      awsCurrentIs: 'current',
    });
    expect(json.pingone).not.toHaveProperty('resourceId');
  });

  it('warns at onboard and in status when the auth method cannot prove the secret (PRIVATE_KEY_JWT)', async () => {
    const { environmentId, applicationId } = application('PRIVATE_KEY_JWT', 'SERVICE');
    const name = uniqueName('apps/pkjwt');

    const run = await cli(world, onboardApplication(name, environmentId, applicationId));
    const status = await cli(world, ['status', '--secret-id', name, '--json']);

    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      /Note: its tokenEndpointAuthMethod is PRIVATE_KEY_JWT, which does not use the client secret/,
    );
    const report = JSON.parse(status.out);
    expect(report.pingone.secretTest).toEqual({ proof: 'comparison', method: 'PRIVATE_KEY_JWT' });
    expect(report.notes).toContainEqual(
      expect.stringMatching(
        /^testSecret cannot prove a new secret at PingOne: this application's auth method PRIVATE_KEY_JWT/,
      ),
    );
  });

  it('refuses a SAML application: nothing created, its secret never read', async () => {
    const environmentId = world.createEnvironment('EU');
    const saml = world.sim.createApplication(environmentId, { protocol: 'SAML', name: 'Payroll SSO' });
    const name = uniqueName('apps/saml');
    world.sim.clearRequests();

    const run = await cli(world, onboardApplication(name, environmentId, saml.id));

    expect(run.code).toBe(1);
    expect(run.err).toMatch(
      /is a SAML application \(WEB_APP\); only OPENID_CONNECT applications have a client secret to rotate: nothing was created or changed; check --application-id/,
    );
    expect(await secretExists(world, name)).toBe(false);
    expect(world.sim.requests.filter((r) => r.applicationId === saml.id).map((r) => r.route)).toEqual([
      'application',
    ]);
  });

  it("refuses the rotation function's own worker application, with no call about it", async () => {
    const name = uniqueName('apps/own-worker');
    world.sim.clearRequests();

    const run = await cli(world, [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      world.worker.environmentId,
      '--application-id',
      world.worker.clientId,
    ]);

    expect(run.code).toBe(1);
    expect(run.err).toMatch(/is this function's own worker application/);
    expect(run.err).toMatch(/second worker app or by hand/);
    expect(await secretExists(world, name)).toBe(false);
    expect(world.sim.requests.filter((r) => r.applicationId === world.worker.clientId)).toEqual([]);
  });

  it('refuses --resource-id together with --application-id (usage, exit 2)', async () => {
    const { environmentId, applicationId } = application();
    const run = await cli(world, [
      ...onboardApplication(uniqueName('apps/both'), environmentId, applicationId),
      '--resource-id',
      applicationId,
    ]);

    expect(run.code).toBe(2);
    expect(run.err).toMatch(/pass either --resource-id or --application-id, not both/);
  });

  it('--force turns a resource secret into an application secret: the resource id and its tag go', async () => {
    const resourceSecret = await world.createRotatableSecret({
      name: uniqueName('apps/was-resource'),
      region: 'EU',
      extra: { team: 'web' },
    });
    const { applicationId, secret } = (() => {
      const app = world.sim.createApplication(resourceSecret.environmentId, {
        tokenEndpointAuthMethod: 'CLIENT_SECRET_POST',
      });
      return { applicationId: app.id, secret: app.secret };
    })();

    const run = await cli(world, [
      ...onboardApplication(resourceSecret.name, resourceSecret.environmentId, applicationId),
      '--force',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);

    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `named resource ${resourceSecret.resourceId}; it now names application ${applicationId} instead`,
    );
    expect(await world.readSecretJson(resourceSecret.name)).toEqual({
      environmentId: resourceSecret.environmentId,
      applicationId,
      clientSecret: secret,
      region: 'EU',
      team: 'web',
    });
  });
});

describe('one secret per application', () => {
  it('refuses an application another secret carries in its pingone:application-id tag (onboarded, never rotated)', async () => {
    const { environmentId, applicationId } = application();
    // What onboard leaves behind before the first rotation: the tags, and no rotation of its own yet. The
    // binding is not there (a secret created by hand, or the ledger was recreated), so only the tag says it.
    const tagged = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: uniqueName('apps/tagged'),
        SecretString: JSON.stringify({
          environmentId,
          applicationId,
          clientSecret: 'x'.repeat(40),
          region: 'EU',
        }),
        Tags: [
          { Key: 'pingone:environment-id', Value: environmentId },
          { Key: 'pingone:application-id', Value: applicationId },
        ],
      }),
    );
    const second = uniqueName('apps/second');
    world.sim.clearRequests();

    const run = await cli(world, onboardApplication(second, environmentId, applicationId));

    expect(run.code).toBe(1);
    expect(run.err).toContain(
      `PingOne application ${applicationId} in environment ${environmentId} (EU) is already held by secret ` +
        `${tagged.ARN} (tag pingone:application-id=${applicationId})`,
    );
    expect(run.err).toContain('otherwise onboard another application');
    expect(await secretExists(world, second)).toBe(false);
    expect(await ledgerRecord(environmentId, applicationId)).toBeUndefined();
    expect(world.sim.requests.filter((r) => r.method !== 'GET' && !r.route.includes('token'))).toEqual([]);

    // --rebind takes it over (after confirmation) and binds the application to the new secret.
    const rebind = await cli(
      world,
      onboardApplication(second, environmentId, applicationId, ['--rebind', '--yes']),
    );
    expect(rebind.code, rebind.err).toBe(0);
    expect(rebind.out).toContain(`(tag pingone:application-id=${applicationId})`);
    expect((await ledgerRecord(environmentId, applicationId))?.binding).toMatchObject({ how: 'rebind' });
  });

  it('a resource tag with the same id does not hold the application (the tags name different kinds of owner)', async () => {
    const { environmentId, applicationId } = application();
    await world.secretsManager.send(
      new CreateSecretCommand({
        Name: uniqueName('apps/resource-tagged'),
        SecretString: '{}',
        Tags: [{ Key: 'pingone:resource-id', Value: applicationId }],
      }),
    );
    const run = await cli(world, onboardApplication(uniqueName('apps/first'), environmentId, applicationId));
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
  });
});

async function ledgerRecord(environmentId: string, applicationId: string) {
  return world.ledger.read(
    { kind: 'application', environmentId, id: applicationId, region: 'EU' },
    { deadline: Date.now() + 10_000, now: Date.now },
  );
}

describe('rotate and unstick for an application secret', () => {
  it('rotate --wait rotates it end to end; the old secret stays PingOne’s previous', async () => {
    const { environmentId, applicationId, secret } = application('CLIENT_SECRET_BASIC');
    const name = uniqueName('apps/rotate');
    expect(
      (
        await cli(
          world,
          onboardApplication(name, environmentId, applicationId, [
            '--rotation-function-arn',
            FUNCTION_ARN,
            '--schedule',
            'rate(30 days)',
          ]),
        )
      ).code,
    ).toBe(0);

    const run = await cli(world, ['rotate', '--secret-id', name, '--wait']);

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/\[4\/4\] finishSecret ✓/);
    const pingone = world.sim.readSecret(environmentId, applicationId, 'application');
    expect((await world.readSecretJson(name)).clientSecret).toBe(pingone.secret);
    expect(pingone.previous?.secret).toBe(secret);
    expect((await cli(world, ['status', '--secret-id', name])).out).toMatch(/Verdict {4}healthy:/);
  });

  it('unstick finishes a rotation whose testSecret failed, saying it is an application', async () => {
    const secret = await world.createRotatableApplicationSecret({
      name: uniqueName('apps/half-done'),
      region: 'EU',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
    });
    world.sim.faults.failNext({
      route: 'introspect',
      applicationId: secret.applicationId,
      status: 401,
      count: 5,
    });
    const report = await (await worldDriver(world, { maxAttempts: 1 })).rotate(secret.arn);
    expect(report.ok).toBe(false);
    world.sim.faults.clear();

    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes']);

    expect(run.code).toBe(0);
    expect(run.out).toContain(`PingOne application ${secret.applicationId}`);
    expect(run.out).toContain('Plan: finish the rotation. Nothing changes at PingOne.');
    expect(await versionWith(world, secret.name, 'AWSCURRENT')).toBe(report.token);
    expect((await world.readSecretJson(secret.arn)).clientSecret).toBe(world.pingOneSecret(secret).secret);
  });
});
