import { spawn, spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { InvokeFn } from '../../local/driver.js';
import { LocalRotationDriver } from '../../local/driver.js';
import type { ApplicationAuthMethod } from '../../local/pingone-simulator/index.js';
import type { OwnedSecret, RotatableSecret } from '../../local/world.js';
import { watch } from '../support/child.js';
import { committedRegenerates, rotationHarness } from '../support/harness.js';
import { describeLeaks } from '../support/leaks.js';
import { useWorld } from '../support/world.js';

/**
 * Rotations against real servers over HTTP: moto for Secrets Manager and SSM, the PingOne simulator for
 * PingOne, the real AWS SDK and the real handler in between.
 */
const TTL_MS = 7 * 86_400_000;
const { world, authenticates, sensitive, remember, output, logLeaks } = useWorld({ captureLogs: true });
let counter = 0;

async function newSecret(
  spec: { region?: 'EU' | 'NA' | 'AU'; environmentId?: string } = {},
): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({
    name: `pingone/it-${++counter}`,
    region: 'EU',
    ...spec,
  });
  sensitive.add(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);
  return secret;
}

const KINDS = ['resource', 'application'] as const;
type Kind = (typeof KINDS)[number];

/** A resource secret, or an OIDC application's (CLIENT_SECRET_POST, so introspection proves it by POST). */
async function newOwnedSecret(
  kind: Kind,
  spec: { region?: 'EU' | 'NA' | 'AU'; environmentId?: string } = {},
): Promise<OwnedSecret> {
  if (kind === 'resource') return newSecret(spec);
  const secret = await world.createRotatableApplicationSecret({
    name: `pingone/it-app-${++counter}`,
    region: 'EU',
    tokenEndpointAuthMethod: 'CLIENT_SECRET_POST',
    ...spec,
  });
  sensitive.add(world.pingOneSecret(secret).secret);
  return secret;
}

/** Fault-rule and request-record fields for the secret's owner. */
function at(secret: OwnedSecret) {
  return secret.kind === 'resource'
    ? ({ secretRoute: 'secret', ownerRoute: 'resource', target: { resourceId: secret.ownerId } } as const)
    : ({
        secretRoute: 'application-secret',
        ownerRoute: 'application',
        target: { applicationId: secret.ownerId },
      } as const);
}

async function current(secret: OwnedSecret, stage = 'AWSCURRENT'): Promise<string> {
  const value = (await world.readSecretJson(secret.arn, { stage })).clientSecret as string;
  sensitive.add(value);
  return value;
}

/** `node <args>` in a child process, without blocking this one (moto's DynamoDB front runs in it). */
async function node(args: string[]): Promise<{ status: number | null; stderr: string }> {
  const { code, stderr } = await watch(spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] }))
    .done;
  return { status: code, stderr };
}

/** AWSCURRENT/AWSPREVIOUS equal PingOne's current/previous, and only those two labels remain. */
async function expectConverged(secret: OwnedSecret, previousSecret: string): Promise<void> {
  const pingone = world.pingOneSecret(secret);
  expect(await current(secret)).toBe(pingone.secret);
  expect(await current(secret, 'AWSPREVIOUS')).toBe(previousSecret);
  expect(pingone.previous?.secret).toBe(previousSecret);
  expect(
    Object.values(await world.labels(secret.arn))
      .flat()
      .sort(),
  ).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
}

describe('rotations', () => {
  // The bundle is built afresh (a few seconds, more on a loaded machine); asynchronously, since moto's
  // DynamoDB front runs in this process and must keep answering.
  it('rotates through the built bundle, keeping the replaced secret valid for the TTL', {
    timeout: 90_000,
  }, async () => {
    const build = await node(['scripts/build.mjs']);
    expect(build.status, build.stderr).toBe(0);
    Object.assign(process.env, world.awsEnv, world.functionEnv);
    const { handler } = (await import(pathToFileURL('dist/rotate/index.mjs').href)) as { handler: InvokeFn };
    const secret = await newSecret();
    const initial = await current(secret);
    const startedAt = world.sim.clock.now().getTime();

    const report = await new LocalRotationDriver({
      secretsManager: world.secretsManager,
      invoke: handler,
    }).rotate(secret.arn);

    expect(report).toMatchObject({ ok: true, attempts: 1 });
    expect(report.steps.map((s) => s.step)).toEqual([
      'createSecret',
      'setSecret',
      'testSecret',
      'finishSecret',
    ]);
    await expectConverged(secret, initial);
    // Minified, the bundle still names its errors (they appear in logs and in Secrets Manager's record).
    const refused = await handler({ Step: 'nope' } as never, {} as never).catch((e: Error) => e);
    expect((refused as Error).name).toBe('InvalidEventError');
    const pingone = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(pingone.previous?.expiresAt.getTime()).toBeGreaterThanOrEqual(startedAt + TTL_MS);
    expect(pingone.previous?.expiresAt.getTime()).toBeLessThanOrEqual(
      world.sim.clock.now().getTime() + TTL_MS,
    );
    expect(await authenticates(secret, await current(secret))).toBe(true);
    expect(await authenticates(secret, initial)).toBe(true);
    expect(await world.readSecretJson(secret.arn)).toMatchObject({
      environmentId: secret.environmentId,
      resourceId: secret.resourceId,
      region: 'EU',
    });
  });
});

describe.each(KINDS)('a %s secret: rotations and faults at PingOne', (kind) => {
  it('rotates twice in a row', async () => {
    const secret = await newOwnedSecret(kind);
    const harness = rotationHarness(world);
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
    const afterFirst = await current(secret);
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
    await expectConverged(secret, afterFirst);
    expect(committedRegenerates(world.sim, secret.ownerId)).toBe(2);
    remember(harness);
  });

  it('runs testSecret alone (RotateImmediately=false) without changing anything', async () => {
    const secret = await newOwnedSecret(kind);
    const before = world.pingOneSecret(secret);
    const labelsBefore = await world.labels(secret.arn);
    const harness = rotationHarness(world);

    const report = await harness.driver.testOnly(secret.arn);

    expect(report).toMatchObject({ ok: true });
    expect(report.steps.map((s) => s.step)).toEqual(['testSecret']);
    expect(world.sim.count({ route: 'introspect', ...at(secret).target })).toBeGreaterThan(0);
    expect(committedRegenerates(world.sim, secret.ownerId)).toBe(0);
    expect(world.pingOneSecret(secret)).toEqual(before);
    expect(Object.keys(await world.labels(secret.arn))).toEqual(
      expect.arrayContaining(Object.keys(labelsBefore)),
    );
    expect(await current(secret)).toBe(before.secret);
    remember(harness);
  });

  it.each([
    ['the connection drops', { drop: true }],
    ['a 502 comes back', { status: 502 }],
  ])('adopts the committed secret when the regenerate committed but %s', async (_name, fault) => {
    const secret = await newOwnedSecret(kind);
    const initial = await current(secret);
    world.sim.faults.commitThenFail({
      route: at(secret).secretRoute,
      method: 'POST',
      ...at(secret).target,
      ...fault,
    });
    const harness = rotationHarness(world);

    const report = await harness.driver.rotate(secret.arn);

    expect(report).toMatchObject({ ok: true, attempts: 1 });
    expect(committedRegenerates(world.sim, secret.ownerId)).toBe(1);
    expect(
      world.sim.requests.some(
        (r) => (r.resourceId ?? r.applicationId) === secret.ownerId && r.fault?.includes('commitThenFail'),
      ),
    ).toBe(true);
    await expectConverged(secret, initial);
    remember(harness);
  });

  it('completes inside the deadline through a 429 storm with Retry-After and 5xx bursts', async () => {
    const secret = await newOwnedSecret(kind);
    const initial = await current(secret);
    const { faults } = world.sim;
    faults.failNext({ route: 'token', status: 503, count: 2 });
    faults.failNext({
      route: at(secret).secretRoute,
      method: 'GET',
      ...at(secret).target,
      status: 429,
      count: 3,
      retryAfterSeconds: 1,
    });
    faults.failNext({
      route: at(secret).secretRoute,
      method: 'POST',
      ...at(secret).target,
      status: 503,
      count: 1,
    });
    faults.failNext({ route: at(secret).ownerRoute, ...at(secret).target, status: 500, count: 2 });
    faults.failNext({ route: 'introspect', status: 429, count: 2, retryAfterSeconds: 1 });
    const harness = rotationHarness(world, { functionTimeoutMs: 30_000 });

    const report = await harness.driver.rotate(secret.arn);

    expect(report, report.error).toMatchObject({ ok: true, attempts: 1 });
    expect(committedRegenerates(world.sim, secret.ownerId)).toBe(1);
    // Retry-After was honoured: the rate-limited reads were at least a second apart.
    const reads = world.sim.requests.filter(
      (r) =>
        r.method === 'GET' &&
        r.route === at(secret).secretRoute &&
        (r.resourceId ?? r.applicationId) === secret.ownerId,
    );
    expect(reads.slice(0, 4).map((r) => r.status)).toEqual([429, 429, 429, 200]);
    for (let i = 1; i < 4; i++) {
      expect(reads[i]!.at.getTime() - reads[i - 1]!.at.getTime()).toBeGreaterThanOrEqual(990);
    }
    expect(faults.pending()).toEqual([]);
    await expectConverged(secret, initial);
    remember(harness);
  });

  it('fails cleanly when the deadline runs out, and the next retry completes', async () => {
    const secret = await newOwnedSecret(kind);
    const initial = await current(secret);
    world.sim.faults.delay({
      route: at(secret).secretRoute,
      method: 'GET',
      ...at(secret).target,
      ms: 6_000,
      count: 1,
    });
    const afterFirstFailure: { pendingValue?: unknown; regenerates: number }[] = [];
    const harness = rotationHarness(world, {
      functionTimeoutMs: 5_000,
      afterStep: async (boundary, ok) => {
        if (boundary.attempt === 1 && !ok) {
          const pending = await world
            .readSecretJson(secret.arn, { stage: 'AWSPENDING' })
            .catch(() => undefined);
          afterFirstFailure.push({
            pendingValue: pending,
            regenerates: committedRegenerates(world.sim, secret.ownerId),
          });
        }
      },
    });

    const report = await harness.driver.rotate(secret.arn);

    expect(report, JSON.stringify(report)).toMatchObject({ ok: true, attempts: 2 });
    const failed = report.steps.find((s) => !s.ok);
    expect(failed?.step).toBe('createSecret');
    expect(failed?.error).toMatch(/deadline/);
    expect(failed?.error).not.toMatch(/Task timed out/);
    expect(afterFirstFailure).toEqual([{ pendingValue: undefined, regenerates: 0 }]);
    await expectConverged(secret, initial);
    remember(harness);
  });

  it('refuses to rotate after an out-of-band regenerate without grace, changing nothing', async () => {
    const secret = await newOwnedSecret(kind);
    const stored = await current(secret);
    const outOfBand = world.sim.regenerateOutOfBand(secret.environmentId, secret.ownerId, {
      kind: secret.kind,
    });
    sensitive.add(outOfBand.secret);
    const harness = rotationHarness(world, { maxAttempts: 2 });

    const report = await harness.driver.rotate(secret.arn);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/^createSecret: Drift: AWSCURRENT's clientSecret is not the current secret/);
    expect(report.error).toMatch(/PingOne holds no previous secret/);
    expect(committedRegenerates(world.sim, secret.ownerId)).toBe(0);
    expect(world.pingOneSecret(secret)).toEqual(outOfBand);
    expect(await current(secret)).toBe(stored);
    await expect(world.readSecretJson(secret.arn, { stage: 'AWSPENDING' })).rejects.toThrow();
    remember(harness);
  });
});

describe('many secrets, one warm function', () => {
  it("rotates secrets in two regions from one deployment, each with its region's worker token only", async () => {
    const eu = world.createEnvironment('EU');
    const au = world.createEnvironment('AU');
    const secrets = [
      await newSecret({ region: 'EU', environmentId: eu }),
      await newSecret({ region: 'EU', environmentId: eu }),
      await newSecret({ region: 'AU', environmentId: au }),
      await newSecret({ region: 'AU', environmentId: au }),
    ];
    const initials = await Promise.all(secrets.map((s) => current(s)));
    const tokensBefore = world.sim.count({ route: 'token' });
    const harness = rotationHarness(world);

    for (const secret of secrets) expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);

    // One token per region, from that region's auth service, never presented at another region's API.
    const tokens = world.sim.requests.filter((r) => r.route === 'token').slice(-2);
    expect(world.sim.count({ route: 'token' }) - tokensBefore).toBe(2);
    expect(tokens.map((r) => r.region).sort()).toEqual(['AU', 'EU']);
    expect(world.sim.crossRegionTokenUses()).toEqual([]);
    for (const [i, secret] of secrets.entries()) await expectConverged(secret, initials[i]!);
    const regions = new Set(
      world.sim.requests
        .filter((r) => secrets.some((s) => s.resourceId === r.resourceId))
        .map((r) => r.region),
    );
    expect([...regions].sort()).toEqual(['AU', 'EU']);
    remember(harness);
  });
});

describe('a mixed fleet: resources and applications, two environments, one warm function', () => {
  it('rotates every kind and auth method with one handler and one worker token per region', async () => {
    const eu = world.createEnvironment('EU');
    const au = world.createEnvironment('AU');
    const app = (
      environmentId: string,
      region: 'EU' | 'AU',
      method: ApplicationAuthMethod,
      type?: 'SERVICE',
    ) =>
      world.createRotatableApplicationSecret({
        name: `pingone/fleet-app-${++counter}`,
        region,
        environmentId,
        tokenEndpointAuthMethod: method,
        ...(type ? { type } : {}),
      });
    const secrets: OwnedSecret[] = [
      await newSecret({ region: 'EU', environmentId: eu }),
      await app(eu, 'EU', 'CLIENT_SECRET_BASIC'),
      await app(eu, 'EU', 'CLIENT_SECRET_JWT', 'SERVICE'),
      await newSecret({ region: 'AU', environmentId: au }),
      await app(au, 'AU', 'CLIENT_SECRET_POST'),
      await app(au, 'AU', 'PRIVATE_KEY_JWT'),
    ];
    const initials = await Promise.all(secrets.map((s) => current(s)));
    const tokensBefore = world.sim.count({ route: 'token' });
    const harness = rotationHarness(world);

    const reports = [];
    for (const secret of secrets) reports.push(await harness.driver.rotate(secret.arn));

    expect(reports.map((r) => [r.ok, r.attempts, r.error])).toEqual(secrets.map(() => [true, 1, undefined]));
    expect(world.sim.count({ route: 'token' }) - tokensBefore).toBe(2);
    expect(world.sim.crossRegionTokenUses()).toEqual([]);
    expect(harness.handlersBuilt.count).toBe(1);
    for (const [i, secret] of secrets.entries()) {
      await expectConverged(secret, initials[i]!);
      expect(committedRegenerates(world.sim, secret.ownerId)).toBe(1);
      const proof = secret.kind === 'application' && secret.tokenEndpointAuthMethod === 'PRIVATE_KEY_JWT';
      if (!proof) expect(await authenticates(secret, await current(secret)), secret.name).toBe(true);
    }
    // Each owner was reached on its own collection; the PRIVATE_KEY_JWT app was compared, not introspected.
    const pkjwt = secrets[5]!;
    expect(world.sim.count({ route: 'introspect', applicationId: pkjwt.ownerId })).toBe(0);
    for (const secret of secrets) {
      const routes = new Set(
        world.sim.requests
          .filter((r) => (r.resourceId ?? r.applicationId) === secret.ownerId)
          .map((r) => r.route),
      );
      const own = secret.kind === 'resource' ? ['resource', 'secret'] : ['application', 'application-secret'];
      expect(
        [...routes].filter((r) => r !== 'introspect' && !own.includes(r)),
        secret.name,
      ).toEqual([]);
    }
    remember(harness);
  });
});

describe('refused before anything changes', () => {
  async function storeSecret(name: string, document: Record<string, unknown>): Promise<string> {
    const out = await world.secretsManager.send(
      new CreateSecretCommand({ Name: name, SecretString: JSON.stringify(document) }),
    );
    return out.ARN ?? name;
  }

  /** Rotates and returns the report, the PingOne requests it made and whether AWSPENDING got a value. */
  async function rotateRefused(arn: string) {
    const before = world.sim.requests.length;
    const valueBefore = await world.readSecretJson(arn);
    const harness = rotationHarness(world, { maxAttempts: 2 });
    const report = await harness.driver.rotate(arn);
    remember(harness);
    const pending = await world.readSecretJson(arn, { stage: 'AWSPENDING' }).catch(() => undefined);
    expect(await world.readSecretJson(arn)).toEqual(valueBefore);
    return { report, requests: world.sim.requests.slice(before), pending };
  }

  it('a SAML application: only the application is read; its secret is neither read nor regenerated', async () => {
    const eu = world.createEnvironment('EU');
    const saml = world.sim.createApplication(eu, { protocol: 'SAML', name: 'Payroll SSO' });
    const arn = await storeSecret(`pingone/saml-${++counter}`, {
      environmentId: eu,
      applicationId: saml.id,
      clientSecret: 'a-secret-nobody-issued',
      region: 'EU',
    });

    const { report, requests, pending } = await rotateRefused(arn);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(
      /^createSecret: PingOne application .* \("Payroll SSO"\) is a SAML application \(WEB_APP\); only OPENID_CONNECT applications have a client secret to rotate/,
    );
    expect(requests.filter((r) => r.applicationId === saml.id).map((r) => `${r.method} ${r.route}`)).toEqual([
      'GET application',
      'GET application',
    ]);
    expect(requests.some((r) => r.route === 'application-secret' || r.route === 'secret')).toBe(false);
    expect(pending).toBeUndefined();
  });

  it('a secret in an environment no worker covers: refused before any PingOne call, naming it and the workers', async () => {
    const covered = world.createEnvironment('EU');
    const uncovered = world.createEnvironment('EU');
    const secret = await newSecret({ region: 'EU', environmentId: uncovered });
    const eu = world.regionWorkers.find((w) => w.region === 'EU')!;
    const env = {
      PINGONE_WORKERS: JSON.stringify([
        { name: 'eu-payments', region: 'EU', parameter: eu.parameter, environments: [covered] },
      ]),
    };
    const before = world.sim.requests.length;
    const harness = rotationHarness(world, { env, maxAttempts: 1 });

    const report = await harness.driver.rotate(secret.arn);
    remember(harness);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(
      new RegExp(`^createSecret: No worker covers PingOne environment ${uncovered} in region EU`),
    );
    expect(report.error).toContain(
      `The workers this function knows: eu-payments (EU, environments ${covered})`,
    );
    expect(world.sim.requests.slice(before)).toEqual([]);
    await expect(world.readSecretJson(secret.arn, { stage: 'AWSPENDING' })).rejects.toThrow();
  });

  it("the function's own worker application: no PingOne call about it at all", async () => {
    const arn = await storeSecret(`pingone/own-worker-${++counter}`, {
      environmentId: world.worker.environmentId,
      applicationId: world.worker.clientId,
      clientSecret: world.worker.clientSecret,
      region: world.worker.region,
    });
    const workerSecret = world.pingOneSecret({
      kind: 'application',
      environmentId: world.worker.environmentId,
      ownerId: world.worker.clientId,
    } as OwnedSecret);

    const { report, requests, pending } = await rotateRefused(arn);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(
      /^createSecret: PingOne application .* is this function's own worker application/,
    );
    expect(report.error).toMatch(/PingOne does not let a worker read its own application secret/);
    expect(describeLeaks(report.error ?? '', [world.worker.clientSecret])).toEqual([]);
    expect(requests.filter((r) => r.route !== 'token')).toEqual([]);
    expect(pending).toBeUndefined();
    expect(world.sim.readSecret(world.worker.environmentId, world.worker.clientId, 'application')).toEqual(
      workerSecret,
    );
  });

  it('a secret naming both resourceId and applicationId: a format error naming both, no PingOne call', async () => {
    const eu = world.createEnvironment('EU');
    const resource = world.sim.createResource(eu);
    const app = world.sim.createApplication(eu);
    const arn = await storeSecret(`pingone/both-${++counter}`, {
      environmentId: eu,
      resourceId: resource.id,
      applicationId: app.id,
      clientSecret: resource.secret,
      region: 'EU',
    });
    sensitive.add(resource.secret);
    sensitive.add(app.secret);

    const { report, requests, pending } = await rotateRefused(arn);

    expect(report.ok).toBe(false);
    expect(report.error).toMatch(
      /^createSecret: AWSCURRENT is malformed: it names both resourceId and applicationId/,
    );
    expect(describeLeaks(report.error ?? '', [resource.secret])).toEqual([]);
    expect(requests).toEqual([]);
    expect(pending).toBeUndefined();
    expect(world.sim.readSecret(eu, resource.id)).toEqual({ secret: resource.secret });
    expect(world.sim.readSecret(eu, app.id, 'application')).toEqual({ secret: app.secret });
  });
});

describe('an independent client', () => {
  it('reads the rotated secret with the aws CLI', async () => {
    const secret = await newSecret();
    const harness = rotationHarness(world);
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
    remember(harness);

    const cli = spawnSync(
      'aws',
      // --version-stage: moto 5.2.1 answers a stage-less GetSecretValue from a default version that
      // UpdateSecretVersionStage does not move (AWS answers AWSCURRENT). Consumers name the stage anyway.
      // moto itself: its DynamoDB front runs in this process, which spawnSync blocks.
      [
        '--endpoint-url',
        world.moto.directUrl,
        '--output',
        'json',
        'secretsmanager',
        'get-secret-value',
        '--secret-id',
        secret.name,
        '--version-stage',
        'AWSCURRENT',
      ],
      { encoding: 'utf8', env: { ...process.env, ...world.awsEnv, AWS_PAGER: '' }, timeout: 30_000 },
    );
    expect(cli.status, cli.stderr).toBe(0);
    const fromCli = JSON.parse(JSON.parse(cli.stdout).SecretString);
    expect(JSON.parse(cli.stdout).Name).toBe(secret.name);
    expect(fromCli.clientSecret).toBe(world.sim.readSecret(secret.environmentId, secret.resourceId).secret);
    expect(JSON.parse(cli.stdout).VersionStages).toEqual(['AWSCURRENT']);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  const text = output.captured;
  expect(text).toContain('"message":"rotation step succeeded"');
  expect(text).toContain('"message":"rotation step failed"');
  expect(logLeaks()).toEqual([]);
});
