import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { CreateSecretCommand, UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { type AuditSettings, runAudit } from '../../lib/audit/audit.js';
import { memoryCursorStore } from '../../lib/audit/cursor.js';
import { createAuditHandler } from '../../lib/audit/handler.js';
import { retirementLedger } from '../../lib/audit/ledger-retirement.js';
import type { RetirementLedger } from '../../lib/audit/retire.js';
import { ledgerKey } from '../../lib/ledger/record.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import type { StatusReport, Verdict } from '../../lib/status/model.js';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import type { RotatableSecret } from '../../local/world.js';
import { rotationHarness } from '../support/harness.js';
import { describeLeaks } from '../support/leaks.js';
import { useWorld } from '../support/world.js';

/**
 * The fleet auditor against a seeded local world (moto + the PingOne simulator): one secret per verdict and
 * warning, found by listing the prefix, judged by the status model, reported as metrics and log lines.
 */
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** createSecret's regenerate POST is its ninth external call (the crash matrix asserts the order). */
const POST_INDEX = 8;
const { world, authenticates, output, logLeaks } = useWorld({ captureLogs: true });
let driver: ReturnType<typeof rotationHarness>['driver'];
let access: ReturnType<typeof createPingOneAccess>;
const seeded = new Map<string, RotatableSecret>();

const settings = (prefix: string, extra: Partial<AuditSettings> = {}): AuditSettings => ({
  secretNamePrefix: prefix,
  rotationFunctionArn: LOCAL_ROTATION_LAMBDA_ARN,
  concurrency: 4,
  nearExpiryMs: DAY,
  stuckAfterMs: 15 * 60_000,
  noRotationService: true,
  ...extra,
});

function audit(
  prefix: string,
  options: { now?: () => number; extra?: Partial<AuditSettings>; ledger?: RetirementLedger } = {},
) {
  const now = options.now ?? Date.now;
  return runAudit(
    {
      secretsManager: world.secretsManager,
      pingone: access,
      now,
      deadline: now() + 60_000,
      rotationLedger: world.ledger,
      ...(options.ledger ? { ledger: options.ledger } : {}),
    },
    settings(prefix, options.extra),
  );
}

async function rotated(name: string, tags: Record<string, string> = {}): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name, region: 'EU', tags });
  const report = await driver.rotate(secret.arn);
  if (!report.ok) throw new Error(`seeding ${name}: ${report.error}`);
  seeded.set(name, secret);
  return secret;
}

async function firstSecretOf(secret: RotatableSecret): Promise<string> {
  return (await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' })).clientSecret as string;
}

function byName(reports: readonly StatusReport[]): Record<string, StatusReport> {
  return Object.fromEntries(reports.map((r) => [r.secret.name, r]));
}

beforeAll(async () => {
  driver = rotationHarness(world, { maxAttempts: 1 }).driver;
  access = createPingOneAccess({ env: world.functionEnv, flags: {}, ssm: world.ssm });

  const p = 'pingone/audit/';
  await rotated(`${p}healthy`);
  const drift = await rotated(`${p}drift`);
  world.sim.regenerateOutOfBand(drift.environmentId, drift.resourceId);
  // grace: the function's own regenerate, unfinished (it died after PingOne answered and Secrets Manager gave up
  // on the AWSPENDING). A console regenerate is drift instead (test/integration/audit-ledger.test.ts).
  const grace = await rotated(`${p}grace`);
  const crashed = rotationHarness(world, { maxAttempts: 1, instantRetries: true });
  crashed.boundaries.plan = { step: 'createSecret', index: POST_INDEX, when: 'after' };
  const crash = await crashed.driver.rotate(grace.arn);
  expect(crashed.boundaries.calls.at(-1)).toBe('pingone:POST /resource/secret');
  await world.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: grace.arn,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: crash.token,
    }),
  );
  const stuck = await rotated(`${p}stuck-pending`);
  await driver.startRotation(stuck.arn);
  const broken = await world.secretsManager.send(
    new CreateSecretCommand({ Name: `${p}misconfigured`, SecretString: '{"clientSecret":"zz"}' }),
  );
  await driver.testOnly(broken.ARN ?? '');

  // A secret naming a resource PingOne does not have.
  const missing = await world.secretsManager.send(
    new CreateSecretCommand({
      Name: `${p}pingone-error`,
      SecretString: JSON.stringify({
        environmentId: drift.environmentId,
        resourceId: '00000000-0000-4000-8000-000000000000',
        clientSecret: 'x'.repeat(64),
        region: 'EU',
      }),
    }),
  );
  await driver.testOnly(missing.ARN ?? '');
  // A consumer still uses the previous secret, which expires in 12 hours.
  const near = await rotated(`${p}near-expiry`, { 'pingone:previous-secret-ttl': '12h' });
  expect(await authenticates(near, await firstSecretOf(near))).toBe(true);
  // Two secrets naming one PingOne resource.
  const original = await rotated(`${p}duplicate-a`);
  const copy = await world.secretsManager.send(
    new CreateSecretCommand({
      Name: `${p}duplicate-b`,
      SecretString: JSON.stringify(await world.readSecretJson(original.arn)),
    }),
  );
  // Rotation is on; its test is refused, before PingOne, since the ledger binds the owner to the original.
  expect((await driver.testOnly(copy.ARN ?? '')).error).toContain(`belongs to secret ${original.arn}`);
  // Configuration warnings.
  await rotated(`${p}ttl-30d`, { 'pingone:previous-secret-ttl': '30d' });
  await rotated(`${p}ttl-30m`, { 'pingone:previous-secret-ttl': '30m' });
  // Not this deployment's: no rotation function, and outside the prefix.
  await world.createRotatableSecret({ name: `${p}not-attached`, region: 'EU' });
  await rotated('elsewhere/healthy');
}, 120_000);

describe('fleet audit', () => {
  it('finds each verdict and warning in a seeded world, only for secrets this deployment rotates', async () => {
    const result = await audit('pingone/audit/');

    const reports = byName(result.reports);
    const verdicts = Object.fromEntries(Object.entries(reports).map(([name, r]) => [name, r.verdict]));
    expect(verdicts).toEqual({
      'pingone/audit/healthy': 'healthy',
      'pingone/audit/drift': 'drift',
      'pingone/audit/grace': 'grace',
      'pingone/audit/stuck-pending': 'stuck-pending',
      'pingone/audit/misconfigured': 'misconfigured',
      'pingone/audit/pingone-error': 'pingone-error',
      'pingone/audit/near-expiry': 'previous-in-use-near-expiry',
      'pingone/audit/duplicate-a': 'duplicate-owner',
      'pingone/audit/duplicate-b': 'duplicate-owner',
      'pingone/audit/ttl-30d': 'healthy',
      'pingone/audit/ttl-30m': 'healthy',
    } satisfies Record<string, Verdict>);
    expect(result.listed).toBe(12);
    expect(result.skipped).toBe(1);
    expect(result.errors).toEqual([]);
    expect(result.notAudited).toEqual([]);
    expect(result.verdicts).toMatchObject({
      healthy: 3,
      'duplicate-owner': 2,
      drift: 1,
      'rotation-overdue': 0,
    });

    expect(reports['pingone/audit/duplicate-a']?.duplicates).toEqual(['pingone/audit/duplicate-b']);
    expect(reports['pingone/audit/duplicate-a']?.reason).toContain('also names PingOne resource');
    expect(reports['pingone/audit/near-expiry']?.reason).toMatch(/last used .* expires .*\(in 11h/);
    expect(reports['pingone/audit/near-expiry']?.pingone?.previous?.inUse).toBe(true);
    expect(reports['pingone/audit/ttl-30d']?.warnings.map((w) => w.code)).toEqual([
      'ttl-not-shorter-than-rotation-interval',
    ]);
    expect(reports['pingone/audit/ttl-30m']?.warnings.map((w) => w.code)).toEqual([
      'ttl-shorter-than-consumer-cache',
    ]);
    expect(reports['pingone/audit/healthy']?.warnings).toEqual([]);
    expect(result.warnings).toEqual({
      'ttl-not-shorter-than-rotation-interval': 1,
      'ttl-shorter-than-consumer-cache': 1,
    });
    expect(describeLeaks(JSON.stringify(result), [world.worker.clientSecret])).toEqual([]);
  });

  it('a secret naming an owner the ledger binds to another secret (outside the prefix) is duplicate-owner', async () => {
    const owner = await rotated('elsewhere/bound-owner');
    const forged = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: 'pingone/forged/copy',
        SecretString: JSON.stringify(await world.readSecretJson(owner.arn)),
      }),
    );
    // Turns rotation on; its testSecret is refused (the ledger binds the owner elsewhere), which is the point.
    await driver.testOnly(forged.ARN ?? '');

    const report = (await audit('pingone/forged/')).reports[0];

    expect(report?.verdict).toBe('duplicate-owner');
    expect(report?.reason).toContain(
      `The rotation ledger binds PingOne resource ${owner.resourceId} to another secret, ${owner.arn}`,
    );
    expect(report?.duplicates).toEqual([`${owner.arn} (bound to this PingOne owner in the rotation ledger)`]);
  });

  it('reports rotation-overdue once the next rotation date has passed', async () => {
    await rotated('pingone/overdue/late');
    // The driver schedules rotation every 30 days; 32 days on, the rotation is overdue.
    const result = await audit('pingone/overdue/', { now: () => Date.now() + 32 * DAY });
    const report = byName(result.reports)['pingone/overdue/late'];
    expect(report?.verdict).toBe('rotation-overdue');
    expect(report?.reason).toMatch(/The next rotation was due .* and has not happened/);
    expect(report?.exitCode).toBe(11);
    expect((await audit('pingone/overdue/')).reports[0]?.verdict).toBe('healthy');
  });

  it('publishes one metric per verdict and one log line per unhealthy secret, and no secret value', async () => {
    output.clear();
    const handler = createAuditHandler({
      env: {
        ...world.functionEnv,
        AUDIT_SECRET_NAME_PREFIX: 'pingone/audit/',
        AUDIT_ROTATION_FUNCTION_ARN: LOCAL_ROTATION_LAMBDA_ARN,
      },
      secretsManager: world.secretsManager,
      ssm: world.ssm,
      dynamodb: world.dynamodb,
    });

    const summary = await handler({}, context());

    expect(summary).toMatchObject({ audited: 11, skipped: 1, errors: 0, notAudited: 0 });
    const records = output.records;
    const emf = records.filter((r) => r._aws !== undefined);
    const perVerdict = Object.fromEntries(
      emf.filter((r) => typeof r.verdict === 'string').map((r) => [r.verdict, r.Secrets]),
    );
    // As deployed there is a rotation service: an AWSPENDING created a minute ago is still in progress.
    expect(perVerdict).toEqual({
      healthy: 3,
      'not-rotating': 0,
      drift: 1,
      grace: 1,
      'rotation-in-progress': 1,
      'stuck-pending': 0,
      'pingone-error': 1,
      misconfigured: 1,
      'previous-in-use-near-expiry': 1,
      'rotation-overdue': 0,
      'duplicate-owner': 2,
    });
    const verdictMetric = emf.find((r) => r.verdict === 'drift') as {
      _aws: { CloudWatchMetrics: { Namespace: string; Dimensions: string[][] }[] };
      service: string;
    };
    expect(verdictMetric._aws.CloudWatchMetrics[0]?.Namespace).toBe('PingOneSecretRotation');
    expect(verdictMetric._aws.CloudWatchMetrics[0]?.Dimensions).toEqual([['service', 'verdict']]);
    expect(verdictMetric.service).toBe('pingone-secret-rotation-audit');
    expect(
      emf.filter((r) => typeof r.warning === 'string').map((r) => [r.warning, r.SecretsWithWarning]),
    ).toEqual([
      ['ttl-not-shorter-than-rotation-interval', 1],
      ['ttl-shorter-than-consumer-cache', 1],
    ]);
    expect(emf.find((r) => r.AuditCompleted !== undefined)?.AuditCompleted).toBe(1);

    const unhealthy = records.filter((r) => r.message === 'secret unhealthy');
    expect(unhealthy.map((r) => r.secretName).sort()).toEqual([
      'pingone/audit/drift',
      'pingone/audit/duplicate-a',
      'pingone/audit/duplicate-b',
      'pingone/audit/grace',
      'pingone/audit/misconfigured',
      'pingone/audit/near-expiry',
      'pingone/audit/pingone-error',
    ]);
    const drift = unhealthy.find((r) => r.secretName === 'pingone/audit/drift');
    expect(drift).toMatchObject({ level: 'WARN', verdict: 'drift', pingone: { kind: 'resource' } });
    expect(records.filter((r) => r.message === 'secret configuration warning')).toHaveLength(2);
    expect(records.find((r) => r.message === 'audit complete')).toMatchObject({ audited: 11 });
  });

  it('a run cut by its deadline names every secret it did not start in bounded log lines, and does not fail', async () => {
    output.clear();
    const cursor = memoryCursorStore();
    const handler = createAuditHandler({
      env: { ...world.functionEnv, AUDIT_SECRET_NAME_PREFIX: 'pingone/audit/' },
      secretsManager: world.secretsManager,
      ssm: world.ssm,
      dynamodb: world.dynamodb,
      cursor,
      // Too little time for even one secret; lines of at most 128 bytes of names (CloudWatch's bound is 256 KB).
      deadlineMarginMs: 0,
      logListMaxBytes: 128,
    });
    const summary = await handler({}, context(5_000));
    expect(summary).toMatchObject({ audited: 0, errors: 0 });
    const lines = output.records.filter((r) => r.message === 'secrets not audited before the deadline');
    expect(lines.length).toBeGreaterThan(1);
    const names = lines.flatMap((r) => r.secrets as string[]);
    expect(names).toHaveLength(summary.notAudited);
    expect(new Set(names).size).toBe(summary.notAudited);
    for (const [index, line] of lines.entries()) {
      expect(line).toMatchObject({
        level: 'WARN',
        count: summary.notAudited,
        part: index + 1,
        parts: lines.length,
      });
      expect(Buffer.byteLength(JSON.stringify(line.secrets))).toBeLessThanOrEqual(128);
    }
    expect(output.records.some((r) => r.AuditFailed !== undefined)).toBe(false);
    // Nothing started: the cursor stays where it was (here: before the first secret).
    expect(cursor.state).toMatchObject({ position: undefined, rev: 1 });
  });

  it('refuses a bad setting with an error naming it', async () => {
    const handler = createAuditHandler({
      env: { ...world.functionEnv, AUDIT_SECRET_NAME_PREFIX: 'pingone/', AUDIT_CONCURRENCY: '0' },
      secretsManager: world.secretsManager,
      ssm: world.ssm,
    });
    await expect(handler({}, context())).rejects.toThrow(
      "AUDIT_CONCURRENCY is '0': it must be a whole number from 1 to 64",
    );
  });
});

/** An in-memory ledger binding owners to secrets, recording retirements. */
class MemoryLedger implements RetirementLedger {
  readonly bindings = new Map<string, string>();
  readonly retirements: { owner: SecretOwner; secretArn: string }[] = [];
  bind(secret: RotatableSecret, arn = secret.arn): void {
    this.bindings.set(`${secret.environmentId}/${secret.resourceId}`, arn);
  }
  async begin(owner: SecretOwner, args: { secretArn: string; deleteUntil: number }) {
    const bound = this.bindings.get(`${owner.environmentId}/${owner.id}`);
    if (bound === args.secretArn) return { token: 'memory', deleteUntil: args.deleteUntil };
    return {
      refused: bound
        ? `the ledger binds this PingOne owner to another secret (${bound})`
        : 'the ledger binds no secret to this PingOne owner',
    };
  }
  async end(owner: SecretOwner, _hold: unknown, entry?: { secretArn: string }): Promise<void> {
    if (entry) this.retirements.push({ owner, secretArn: entry.secretArn });
  }
}

describe('early retirement', () => {
  const later = () => Date.now() + 4 * HOUR;
  const retire = { retireUnusedPreviousAfterMs: 3 * HOUR };

  it('is off by default: nothing is deleted', async () => {
    const secret = await rotated('pingone/retire-off/a');
    const ledger = new MemoryLedger();
    ledger.bind(secret);
    const result = await audit('pingone/retire-off/', { now: later, ledger });
    expect(result.retirements).toEqual([]);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous).toBeDefined();
  });

  it('deletes only the previous secret when every condition holds, and records it in the ledger', async () => {
    const secret = await rotated('pingone/retire/unused');
    const first = await firstSecretOf(secret);
    const before = world.sim.readSecret(secret.environmentId, secret.resourceId);
    const ledger = new MemoryLedger();
    ledger.bind(secret);

    const result = await audit('pingone/retire/', { now: later, ledger, extra: retire });

    expect(result.retirements).toEqual([
      {
        secret: 'pingone/retire/unused',
        outcome: 'retired',
        previousExpiresAt: before.previous?.expiresAt.toISOString(),
      },
    ]);
    const after = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect(after.previous).toBeUndefined();
    expect(after.secret).toBe(before.secret);
    expect(await authenticates(secret, after.secret)).toBe(true);
    expect(await authenticates(secret, first)).toBe(false);
    expect(ledger.retirements).toEqual([
      { owner: expect.objectContaining({ id: secret.resourceId }), secretArn: secret.arn },
    ]);
  });

  it('with the rotation ledger: the binding the rotation wrote allows it, and the retirement is recorded beside it', async () => {
    const secret = await rotated('pingone/retire-ledger/unused');
    const owner: SecretOwner = {
      kind: 'resource',
      environmentId: secret.environmentId,
      id: secret.resourceId,
      region: secret.region,
    };
    const call = { now: Date.now, deadline: Date.now() + 30_000 };
    const before = await world.ledger.read(owner, call);
    expect(before?.binding?.secretArn).toBe(secret.arn);
    const ledger = retirementLedger({
      ledger: world.ledger,
      client: world.dynamodb,
      now: Date.now,
      deadline: () => Date.now() + 30_000,
    });

    const result = await audit('pingone/retire-ledger/', { now: later, ledger, extra: retire });

    expect(result.retirements).toMatchObject([{ outcome: 'retired' }]);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous).toBeUndefined();
    const item = await world.dynamodb.send(
      new GetItemCommand({
        TableName: world.ledgerTable,
        Key: { pk: { S: ledgerKey(owner) } },
        ConsistentRead: true,
      }),
    );
    expect(item.Item?.previousRetired?.M?.secretArn?.S).toBe(secret.arn);
    expect(item.Item?.previousRetiredCount?.N).toBe('1');
    // The rotation function's own record is untouched: same revision, binding and history.
    expect(await world.ledger.read(owner, call)).toEqual(before);
  });

  it.each([
    ['the previous secret was used within the period', 'used less than RETIRE_UNUSED_PREVIOUS_AFTER ago'],
    ['the rotation is younger than the period', 'less than RETIRE_UNUSED_PREVIOUS_AFTER old'],
    // The retirement ledger is read again just before deleting (here it disagrees with the rotation ledger).
    ['the ledger binds the owner to another secret', 'binds this PingOne owner to another secret'],
    ['the ledger binds nothing', 'binds no secret to this PingOne owner'],
    ['there is no ledger', 'no rotation ledger is configured'],
    ['the secret is not healthy', 'the verdict is stuck-pending'],
  ])('keeps the previous secret when %s', async (condition, why) => {
    const prefix = `pingone/keep-${seeded.size}/`;
    const secret = await rotated(`${prefix}s`);
    const ledger = new MemoryLedger();
    let now = later;
    let withLedger: RetirementLedger | undefined = ledger;
    if (condition.includes('used within')) {
      world.sim.markPreviousUsed(secret.environmentId, secret.resourceId, new Date(later() - 2 * HOUR));
    }
    if (condition.includes('younger')) now = Date.now;
    if (condition.includes('another')) ledger.bind(secret, `${secret.arn}-other`);
    else if (!condition.includes('binds nothing')) ledger.bind(secret);
    if (condition.includes('no ledger')) withLedger = undefined;
    if (condition.includes('not healthy')) await driver.startRotation(secret.arn);
    const before = world.sim.readSecret(secret.environmentId, secret.resourceId);

    const result = await audit(prefix, { now, ...(withLedger ? { ledger: withLedger } : {}), extra: retire });

    expect(result.retirements).toHaveLength(1);
    expect(result.retirements[0]).toMatchObject({ outcome: 'kept' });
    expect((result.retirements[0] as { why: string }).why).toContain(why);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId)).toEqual(before);
    expect(ledger.retirements).toEqual([]);
  });
});

function context(remainingMs = 120_000): Context {
  return {
    functionName: 'pingone-secret-rotation-test-audit',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:pingone-secret-rotation-test-audit',
    memoryLimitInMB: '256',
    awsRequestId: 'audit-request',
    logGroupName: '/aws/lambda/pingone-secret-rotation-test-audit',
    logStreamName: 'stream',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  } as Context;
}

describe('application secrets in the fleet', () => {
  it('judges OIDC application secrets like resource secrets: healthy, duplicate-owner, a SAML app as pingone-error', async () => {
    const p = 'pingone/audit-apps/';
    const app = await world.createRotatableApplicationSecret({
      name: `${p}storefront`,
      region: 'EU',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
    });
    expect((await driver.rotate(app.arn)).ok).toBe(true);
    const copy = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: `${p}storefront-copy`,
        SecretString: JSON.stringify(await world.readSecretJson(app.arn)),
      }),
    );
    await driver.testOnly(copy.ARN ?? '');
    const saml = world.sim.createApplication(app.environmentId, { protocol: 'SAML', name: 'Payroll SSO' });
    const samlSecret = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: `${p}saml`,
        SecretString: JSON.stringify({
          environmentId: app.environmentId,
          applicationId: saml.id,
          clientSecret: 'x'.repeat(64),
          region: 'EU',
        }),
      }),
    );
    await driver.testOnly(samlSecret.ARN ?? '');

    const reports = byName((await audit(p)).reports);

    expect(reports[`${p}storefront`]?.pingone).toMatchObject({
      kind: 'application',
      applicationId: app.applicationId,
    });
    expect(reports[`${p}storefront`]?.verdict).toBe('duplicate-owner');
    expect(reports[`${p}storefront-copy`]?.verdict).toBe('duplicate-owner');
    expect(reports[`${p}storefront`]?.duplicates).toEqual([`${p}storefront-copy`]);
    expect(reports[`${p}saml`]?.verdict).toBe('pingone-error');
    expect(reports[`${p}saml`]?.reason).toMatch(
      /is a SAML application \(WEB_APP\); only OPENID_CONNECT applications/,
    );
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold no secret, bearer token, worker credential or RotationToken', () => {
  // Every secret PingOne holds now (current and previous) and the worker's.
  expect(logLeaks()).toEqual([]);
});
