import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { UpdateSecretVersionStageCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { runCli } from '../../cli/run.js';
import { createAuditHandler } from '../../lib/audit/handler.js';
import type { StatusReport, Verdict } from '../../lib/status/model.js';
import { LOCAL_ROTATION_LAMBDA_ARN, lambdaContext } from '../../local/driver.js';
import { freePort } from '../../local/moto.js';
import { LOCAL_AWS, type RotatableSecret } from '../../local/world.js';
import { cli, expectNoSecrets, knownSecrets, recordSecrets, worldDeps } from '../cli/support.js';
import { rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * The auditor (the Lambda and `pingone-rotation audit`) and `pingone-rotation status` judge a secret from the
 * same rotation ledger, so they give the same verdict: a regenerate the function made and did not finish is
 * grace, one made in the PingOne console is drift, though PingOne's state is the same for both. Without the
 * ledger the auditor does not guess: the secret is reported not judged, naming the table, and nothing changes.
 */
const PREFIX = 'pingone/agree/';
const DAY = 86_400_000;
const { world, sensitive, output, logLeaks } = useWorld({ captureLogs: true });
let functionGrace: RotatableSecret;
let consoleRegenerate: RotatableSecret;
let healthy: RotatableSecret;

/** createSecret's regenerate POST is its ninth external call (the crash matrix asserts the order). */
const POST_INDEX = 8;
const POST_SECRET = 'pingone:POST /resource/secret';

function remember(harness: ReturnType<typeof rotationHarness>): void {
  for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive]) sensitive.add(token);
}

async function rotated(name: string): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name: `${PREFIX}${name}`, region: 'EU' });
  const harness = rotationHarness(world, { maxAttempts: 1 });
  const report = await harness.driver.rotate(secret.arn);
  expect(report.ok, report.error).toBe(true);
  remember(harness);
  return secret;
}

beforeAll(async () => {
  healthy = await rotated('healthy');

  // The function's own regenerate: a rotation regenerated at PingOne and died before storing the new secret;
  // Secrets Manager gave up on it (the AWSPENDING label is gone). The ledger records the unfinished run.
  functionGrace = await rotated('function-made');
  const crashed = rotationHarness(world, { maxAttempts: 1, instantRetries: true });
  crashed.boundaries.plan = { step: 'createSecret', index: POST_INDEX, when: 'after' };
  const crash = await crashed.driver.rotate(functionGrace.arn);
  expect(crash.ok).toBe(false);
  expect(crashed.boundaries.calls.at(-1)).toBe(POST_SECRET);
  remember(crashed);
  await world.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: functionGrace.arn,
      VersionStage: 'AWSPENDING',
      RemoveFromVersionId: crash.token,
    }),
  );

  // Someone regenerated in the PingOne console, keeping the old secret valid for two days.
  consoleRegenerate = await rotated('console');
  world.sim.regenerateOutOfBand(consoleRegenerate.environmentId, consoleRegenerate.resourceId, {
    previousExpiresAt: new Date(Date.now() + 2 * DAY),
  });

  // PingOne's state is the same for both: AWSCURRENT is its previous secret, the current one is in no version.
  for (const secret of [functionGrace, consoleRegenerate]) {
    const pingone = world.pingOneSecret(secret);
    const current = (await world.readSecretJson(secret.arn)).clientSecret;
    expect(pingone.previous?.secret).toBe(current);
    expect(pingone.secret).not.toBe(current);
  }
  for (const { secret, previous } of world.sim
    .snapshot()
    .resources.flatMap((r) => (r.secret ? [r.secret] : []))) {
    sensitive.add(secret);
    if (previous) sensitive.add(previous.secret);
  }
}, 120_000);

async function statusVerdict(secret: RotatableSecret): Promise<Verdict> {
  const run = await cli(world, ['status', '--secret-id', secret.name, '--json']);
  return (JSON.parse(run.out) as StatusReport).verdict;
}

async function cliAuditVerdicts(): Promise<Record<string, Verdict>> {
  const run = await cli(world, ['audit', '--prefix', PREFIX, '--json']);
  const result = JSON.parse(run.out) as { reports: StatusReport[]; errors: unknown[] };
  expect(result.errors).toEqual([]);
  return Object.fromEntries(result.reports.map((r) => [r.secret.name, r.verdict]));
}

function auditHandler(env: Record<string, string> = {}, dynamodb = world.dynamodb) {
  return createAuditHandler({
    env: {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: PREFIX,
      AUDIT_ROTATION_FUNCTION_ARN: LOCAL_ROTATION_LAMBDA_ARN,
      ...env,
    },
    secretsManager: world.secretsManager,
    ssm: world.ssm,
    dynamodb,
  });
}

/** What the Lambda's log lines say of each unhealthy secret. */
function loggedVerdicts(): Record<string, unknown> {
  return Object.fromEntries(
    output.records.filter((r) => r.message === 'secret unhealthy').map((r) => [r.secretName, r.verdict]),
  );
}

/** Everything that could change: PingOne's secrets and every secret's labels. */
async function everything(): Promise<unknown> {
  const labels = [];
  for (const secret of [healthy, functionGrace, consoleRegenerate])
    labels.push(await world.labels(secret.arn));
  return { pingone: world.sim.snapshot().resources, labels };
}

describe('audit and status agree (the rotation ledger)', () => {
  it("the function's unfinished regenerate is grace, a console regenerate drift: in status, the CLI audit and the Lambda", async () => {
    const expected = {
      [healthy.name]: 'healthy',
      [functionGrace.name]: 'grace',
      [consoleRegenerate.name]: 'drift',
    };
    const status = {
      [healthy.name]: await statusVerdict(healthy),
      [functionGrace.name]: await statusVerdict(functionGrace),
      [consoleRegenerate.name]: await statusVerdict(consoleRegenerate),
    };
    expect(status).toEqual(expected);

    expect(await cliAuditVerdicts()).toEqual(expected);

    output.clear();
    const summary = await auditHandler()({}, lambdaContext(Date.now(), 120_000));
    expect(summary).toMatchObject({ audited: 3, errors: 0, notAudited: 0 });
    expect(summary.verdicts).toMatchObject({ healthy: 1, grace: 1, drift: 1 });
    expect(loggedVerdicts()).toEqual({ [functionGrace.name]: 'grace', [consoleRegenerate.name]: 'drift' });
    const drift = output.records.find((r) => r.secretName === consoleRegenerate.name);
    expect(drift?.reason).toContain('the rotation ledger records no regenerate by the rotation function');
    const grace = output.records.find((r) => r.secretName === functionGrace.name);
    expect(grace?.reason).toContain('a rotation of this secret regenerated it and did not finish');
    expect(grace?.reason).toContain("the rotation adopts PingOne's current secret");
  });
});

describe('the ledger unavailable', () => {
  it('the Lambda judges no secret that needs it: each is not audited, naming the table, the run fails, nothing changes', async () => {
    const before = await everything();
    output.clear();
    // With early retirement on and hours later, the healthy secret would be retired if it were judged.
    const handler = auditHandler({
      ROTATION_LEDGER_TABLE: 'no-such-ledger',
      RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
    });

    const error = await handler({}, lambdaContext(Date.now(), 120_000)).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'AuditIncompleteError' });
    expect((error as Error).message).toContain('3 could not be read');
    const failures = output.records.filter((r) => r.message === 'secret not audited');
    expect(failures.map((r) => r.secret).sort()).toEqual(
      [consoleRegenerate.name, functionGrace.name, healthy.name].sort(),
    );
    for (const failure of failures) {
      expect(failure.error).toMatch(
        /^The rotation ledger \(DynamoDB table no-such-ledger\) could not be read: the table does not exist .*Not judged/,
      );
    }
    expect(loggedVerdicts()).toEqual({});
    expect(output.records.find((r) => r.message === 'audit complete')).toMatchObject({
      audited: 0,
      errors: 3,
      retired: 0,
      verdicts: { healthy: 0, grace: 0, drift: 0 },
    });
    const emf = output.records.filter((r) => r._aws !== undefined);
    expect(emf.find((r) => r.AuditErrors !== undefined)?.AuditErrors).toBe(3);
    expect(emf.find((r) => r.AuditFailed !== undefined)?.AuditFailed).toBe(1);
    expect(emf.some((r) => r.AuditCompleted !== undefined)).toBe(false);
    expect(await everything()).toEqual(before);
  });

  it('the Lambda with DynamoDB unreachable: the same, with the network error', async () => {
    const before = await everything();
    output.clear();
    const dead = new DynamoDBClient({
      ...LOCAL_AWS,
      endpoint: `http://127.0.0.1:${await freePort()}`,
      maxAttempts: 1,
    });
    const error = await auditHandler({}, dead)({}, lambdaContext(Date.now(), 120_000)).catch((e: Error) => e);
    dead.destroy();

    expect(error).toMatchObject({ name: 'AuditIncompleteError' });
    const failures = output.records.filter((r) => r.message === 'secret not audited');
    expect(failures).toHaveLength(3);
    for (const failure of failures) {
      expect(failure.error).toContain(
        `The rotation ledger (DynamoDB table ${world.ledgerTable}) could not be read: ECONNREFUSED`,
      );
    }
    expect(await everything()).toEqual(before);
  });

  it('pingone-rotation status still answers for one secret, but says the ledger was not read and does not claim the regenerate', async () => {
    recordSecrets(world);
    const { deps, out, err } = worldDeps(world);
    const access = createPingOneAccess({
      env: world.functionEnv,
      flags: { ledgerTable: 'no-such-ledger' },
      ssm: world.ssm,
    });
    const code = await runCli(
      ['status', '--secret-id', consoleRegenerate.name, '--json'],
      { out, err },
      () => ({ ...deps, config: () => access.config, pingone: () => access }),
    );
    expectNoSecrets(out.text + err.text);

    const report = JSON.parse(out.text) as StatusReport;
    expect(code).toBe(4);
    expect(report.verdict).toBe('grace');
    expect(report.ledger?.problem).toMatch(
      /^The rotation ledger \(DynamoDB table no-such-ledger\) could not be read/,
    );
    expect(report.notes).toContainEqual(expect.stringMatching(/^rotation ledger not read: /));
    expect(report.reason).toContain('without the rotation ledger it cannot be told which');
    expect(report.reason).toContain('else it refuses: UnexplainedRegenerate');
  });

  it('pingone-rotation audit exits 1 with one line per secret naming the table', async () => {
    const before = await everything();
    recordSecrets(world);
    // As main.ts builds it from --ledger-table (the in-process helper's deps ignore the global flags).
    const { deps, out, err } = worldDeps(world);
    const access = createPingOneAccess({
      env: world.functionEnv,
      flags: { ledgerTable: 'no-such-ledger' },
      ssm: world.ssm,
    });
    const code = await runCli(['audit', '--prefix', PREFIX], { out, err }, () => ({
      ...deps,
      config: () => access.config,
      pingone: () => access,
    }));
    const run = { code, out: out.text, err: err.text };
    expectNoSecrets(run.out + run.err);

    expect(run.code).toBe(1);
    expect(run.err).toBe('');
    expect(run.out).toMatch(/^Audited 0 secrets under pingone\/agree\//);
    for (const secret of [healthy, functionGrace, consoleRegenerate]) {
      expect(run.out).toContain(
        `${secret.name}  not audited: The rotation ledger (DynamoDB table no-such-ledger) could not be read: the table does not exist`,
      );
    }
    expect(await everything()).toEqual(before);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  const text = output.captured;
  expect(text).toContain('"message":"secret not audited"');
  expect(logLeaks(knownSecrets())).toEqual([]);
});
