import { randomUUID } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { createAuditHandler } from '../../lib/audit/handler.js';
import { retirementLedger } from '../../lib/audit/ledger-retirement.js';
import {
  ledgerKey,
  legacyLedgerKeys,
  MAX_RETIRE_WINDOW_MS,
  SETTLE_MARGIN_MS,
  withRegenerateIntent,
} from '../../lib/ledger/record.js';
import { nodeTransport, type Transport, type TransportRequest } from '../../lib/pingone/transport.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import {
  ALL_STEPS,
  LOCAL_ROTATION_LAMBDA_ARN,
  lambdaContext,
  type RotationReport,
} from '../../local/driver.js';
import { LOCAL_AWS, type RotatableSecret } from '../../local/world.js';
import { rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * Early retirement racing a rotation (issue 17, finding 1), against moto and the PingOne simulator with the
 * real auditor and rotation handlers. PingOne's DELETE removes whatever is previous *at that moment*: if a
 * regenerate lands between the auditor's judgement and its DELETE, the DELETE removes the secret AWSCURRENT
 * holds and every consumer is locked out. The auditor's retirement intent in the ledger closes that window:
 * no regenerate is sent while it is live, and an unknown DELETE outcome is never answered with a second DELETE.
 */
const HOUR = 3_600_000;
const { world, output, authenticates } = useWorld({ captureLogs: true });
let harness: ReturnType<typeof rotationHarness>;
let seq = 0;

beforeAll(async () => {
  harness = rotationHarness(world, { maxAttempts: 1 });
}, 60_000);

/** A rotated secret (AWSCURRENT is PingOne's current secret, AWSPREVIOUS its previous), judged hours later. */
async function rotatedSecret(): Promise<{ secret: RotatableSecret; prefix: string }> {
  const prefix = `pingone/retire-race-${++seq}/`;
  const secret = await world.createRotatableSecret({ name: `${prefix}orders`, region: 'EU' });
  const report = await harness.driver.rotate(secret.arn);
  expect(report.ok, report.error).toBe(true);
  // Two hours on: the previous secret has been unused for longer than RETIRE_UNUSED_PREVIOUS_AFTER (1h).
  world.sim.clock.advance(2 * HOUR);
  return { secret, prefix };
}

/** The auditor with early retirement on, its PingOne calls passing through `hook`. */
function auditor(
  prefix: string,
  hook: (request: TransportRequest, phase: 'before' | { status: number }) => Promise<void>,
  extra: { env?: Record<string, string>; ssm?: SSMClient } = {},
) {
  const inner = nodeTransport();
  const transport: Transport = async (request) => {
    await hook(request, 'before');
    const response = await inner(request);
    await hook(request, { status: response.status });
    return response;
  };
  const handler = createAuditHandler({
    env: {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: prefix,
      AUDIT_ROTATION_FUNCTION_ARN: LOCAL_ROTATION_LAMBDA_ARN,
      RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
      ...extra.env,
    },
    secretsManager: world.secretsManager,
    ssm: extra.ssm ?? world.ssm,
    dynamodb: world.dynamodb,
    transport,
    now: () => world.sim.clock.now().getTime(),
  });
  return async () => {
    output.clear();
    const result = await handler({}, lambdaContext(Date.now(), 120_000)).then(
      (summary) => ({ summary, error: undefined }),
      (error: unknown) => ({ summary: undefined, error }),
    );
    const lines = output.records;
    return { ...result, lines };
  };
}

const isDelete = (request: TransportRequest, secret: RotatableSecret) =>
  request.method === 'DELETE' && request.url.includes(secret.resourceId);

/** A rotation of the secret starts and runs createSecret (Secrets Manager's first step) once. */
async function startRotation(secret: RotatableSecret): Promise<{ token: string; report: RotationReport }> {
  const token = await harness.driver.startRotation(secret.arn);
  const report = await harness.driver.run(secret.arn, token, ['createSecret'], 1);
  return { token, report };
}

async function currentSecret(secret: RotatableSecret): Promise<string> {
  return (await world.readSecretJson(secret.arn)).clientSecret as string;
}

/** DELETEs the auditor sent (PingOne's later performance of a gateway-answered one is not a second). */
function deletesOf(secret: RotatableSecret): number {
  return world.sim.requests.filter(
    (r) => r.method === 'DELETE' && r.resourceId === secret.resourceId && r.fault !== 'lateCommit:committed',
  ).length;
}

function claimedRetirement(lines: Record<string, unknown>[], secret: RotatableSecret): boolean {
  return lines.some(
    (line) => line.message === 'previous secret retired early' && line.secret === secret.name,
  );
}

describe('early retirement and a rotation of the same owner', () => {
  it('DELETE answered 429 with Retry-After and a rotation regenerating meanwhile: AWSCURRENT still authenticates, no retirement is claimed, no second DELETE', async () => {
    const { secret, prefix } = await rotatedSecret();
    const judgedCurrent = await currentSecret(secret);
    world.sim.faults.failNext({
      route: 'secret',
      method: 'DELETE',
      resourceId: secret.resourceId,
      status: 429,
      retryAfterSeconds: 1,
    });
    let rotation: { token: string; report: RotationReport } | undefined;
    const audit = auditor(prefix, async (request, phase) => {
      if (rotation || phase === 'before' || phase.status !== 429 || !isDelete(request, secret)) return;
      // While the auditor would wait out Retry-After, a scheduled rotation of the owner begins.
      rotation = await startRotation(secret);
    });

    const { summary, lines } = await audit();

    expect(rotation).toBeDefined();
    // Consumers holding AWSCURRENT still authenticate: the secret was not removed under them.
    expect(await currentSecret(secret)).toBe(judgedCurrent);
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
    // The DELETE was sent once, and no retirement is claimed in the logs or the summary.
    expect(deletesOf(secret)).toBe(1);
    expect(claimedRetirement(lines, secret)).toBe(false);
    expect(summary?.retired ?? 0).toBe(0);
    expect(lines.find((l) => l.message === 'previous secret not retired')).toMatchObject({
      secret: secret.name,
      why: expect.stringMatching(
        /PingOne did not delete the previous secret \(.*429.*\); the next audit tries again/,
      ),
    });
    // The rotation sent nothing while the retirement was in progress, and said why.
    expect(rotation?.report.ok).toBe(false);
    expect(rotation?.report.error).toMatch(/retiring PingOne's previous secret early/);

    // Once the retirement's window has passed, Secrets Manager's retry rotates the secret normally.
    world.sim.clock.advance(MAX_RETIRE_WINDOW_MS + SETTLE_MARGIN_MS + 1_000);
    const retried = await harness.driver.run(secret.arn, rotation?.token ?? '', ALL_STEPS, 1);
    expect(retried.ok, retried.error).toBe(true);
    expect(await authenticates(secret, await currentSecret(secret))).toBe(true);
    expect(await authenticates(secret, judgedCurrent)).toBe(true); // now AWSPREVIOUS, within its grace
  });

  it('DELETE answered by a gateway (plain-text 503) and performed by PingOne a second later: the intent outlives it, the rotation after it keeps AWSPREVIOUS valid', async () => {
    const { secret, prefix } = await rotatedSecret();
    const judgedCurrent = await currentSecret(secret);
    world.sim.faults.lateCommit({
      route: 'secret',
      method: 'DELETE',
      resourceId: secret.resourceId,
      afterMs: 1_000,
    });
    const audit = auditor(prefix, async () => {});

    const { error, lines } = await audit();
    // A rotation of the owner right after the audit, then PingOne performs the DELETE.
    const rotation = await startRotation(secret);
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    // The secret AWSCURRENT held was not removed: the rotation sent nothing while the DELETE could land.
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
    expect(rotation.report.ok).toBe(false);
    expect(rotation.report.error).toMatch(/retiring PingOne's previous secret early/);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous).toBeUndefined();
    // The DELETE's outcome was unknown and PingOne still showed the previous secret: failed, not claimed,
    // not sent again.
    expect(error).toBeDefined();
    expect(claimedRetirement(lines, secret)).toBe(false);
    expect(JSON.stringify(lines)).toMatch(/unknown outcome/);
    expect(deletesOf(secret)).toBe(1);
    // After the intent's window the retried rotation goes on; both AWSCURRENT and AWSPREVIOUS authenticate.
    world.sim.clock.advance(MAX_RETIRE_WINDOW_MS + SETTLE_MARGIN_MS + 1_000);
    const retried = await harness.driver.run(secret.arn, rotation.token, ALL_STEPS, 1);
    expect(retried.ok, retried.error).toBe(true);
    expect(await authenticates(secret, await currentSecret(secret))).toBe(true);
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
  });

  it('a rotation regenerating between the auditor’s read and its DELETE is held back by the retirement intent', async () => {
    const { secret, prefix } = await rotatedSecret();
    const judgedCurrent = await currentSecret(secret);
    const first = (await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' })).clientSecret as string;
    let rotation: { token: string; report: RotationReport } | undefined;
    const audit = auditor(prefix, async (request, phase) => {
      if (rotation || phase !== 'before' || !isDelete(request, secret)) return;
      // The auditor has read PingOne and decided; before its DELETE goes out, a rotation begins.
      rotation = await startRotation(secret);
    });

    const { summary, error, lines } = await audit();

    // Consumers holding AWSCURRENT still authenticate; the retirement removed the previous secret it judged.
    expect(await currentSecret(secret)).toBe(judgedCurrent);
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
    expect(await authenticates(secret, first)).toBe(false);
    expect(error).toBeUndefined();
    expect(rotation?.report.ok).toBe(false);
    expect(rotation?.report.error).toMatch(/retiring PingOne's previous secret early/);
    expect(summary?.retired).toBe(1);
    expect(claimedRetirement(lines, secret)).toBe(true);
    expect(deletesOf(secret)).toBe(1);
    // The intent is cleared with the retirement recorded: the retried rotation goes on at once.
    const item = await world.ledger.read(
      { kind: 'resource', environmentId: secret.environmentId, id: secret.resourceId, region: secret.region },
      { now: () => world.sim.clock.now().getTime(), deadline: world.sim.clock.now().getTime() + 10_000 },
    );
    expect(item?.retirement).toBeUndefined();
    const retried = await harness.driver.run(secret.arn, rotation?.token ?? '', ALL_STEPS, 1);
    expect(retried.ok, retried.error).toBe(true);
    expect(await authenticates(secret, await currentSecret(secret))).toBe(true);
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
  });
});

describe('the retirement intent in the ledger (DynamoDB conditional writes on moto)', () => {
  const now = () => world.sim.clock.now().getTime();
  const call = () => ({ now, deadline: now() + 10_000 });
  const ownerOf = (secret: RotatableSecret): SecretOwner => ({
    kind: 'resource',
    environmentId: secret.environmentId,
    id: secret.resourceId,
    region: secret.region,
  });
  const retirements = () =>
    retirementLedger({ ledger: world.ledger, client: world.dynamodb, now, deadline: () => now() + 10_000 });

  it('a regenerate intent computed before the retirement began is refused by its write condition, and allowed once the retirement lapses', async () => {
    const { secret } = await rotatedSecret();
    const owner = ownerOf(secret);
    // A rotation reads the record (no retirement yet)...
    const seen = await world.ledger.read(owner, call());
    if (!seen) throw new Error('no ledger record');
    // ...the auditor takes its intent...
    const hold = await retirements().begin(owner, { secretArn: secret.arn, deleteUntil: now() + 5_000 });
    expect(hold).toMatchObject({ deleteUntil: expect.any(Number) });
    // ...and the rotation's intent write, computed from what it read, does not go through.
    const intent = withRegenerateIntent(seen, {
      secretArn: secret.arn,
      token: randomUUID(),
      now: now(),
      postUntil: now() + 60_000,
    });
    expect(await world.ledger.write(owner, intent, { ...call(), unlessRetiring: true })).toBe('conflict');
    expect((await world.ledger.read(owner, call()))?.intent).toBeUndefined();
    // Past the retirement's window and settle margin, the same write goes through.
    world.sim.clock.advance(5_000 + SETTLE_MARGIN_MS);
    expect(await world.ledger.write(owner, intent, { ...call(), unlessRetiring: true })).toBe('written');
    // The retirement attribute is the auditor's: the rotation's write left it, and a new one is refused now.
    const record = await world.ledger.read(owner, call());
    expect(record?.retirement?.secretArn).toBe(secret.arn);
    expect(await retirements().begin(owner, { secretArn: secret.arn, deleteUntil: now() + 5_000 })).toEqual({
      refused: expect.stringMatching(/a rotation's regenerate may be in flight/),
    });
  });

  it("refuses a retirement while the owner's binding is still under a pre-upgrade key, writing nothing", async () => {
    const { secret } = await rotatedSecret();
    const owner = ownerOf(secret);
    // Move the owner's item to its pre-issue-17 key, as a table from before the upgrade holds it.
    const item = await world.dynamodb.send(
      new GetItemCommand({
        TableName: world.ledgerTable,
        Key: { pk: { S: ledgerKey(owner) } },
        ConsistentRead: true,
      }),
    );
    if (!item.Item) throw new Error('no ledger item');
    const legacy = legacyLedgerKeys(owner).find((l) => l.region === secret.region)?.key ?? '';
    await world.dynamodb.send(
      new PutItemCommand({ TableName: world.ledgerTable, Item: { ...item.Item, pk: { S: legacy } } }),
    );
    await world.dynamodb.send(
      new DeleteItemCommand({ TableName: world.ledgerTable, Key: { pk: { S: ledgerKey(owner) } } }),
    );
    expect((await world.ledger.read(owner, call()))?.binding?.secretArn).toBe(secret.arn);

    expect(await retirements().begin(owner, { secretArn: secret.arn, deleteUntil: now() + 5_000 })).toEqual({
      refused: expect.stringMatching(/still under its pre-upgrade key; its next rotation moves it/),
    });
    const after = await world.dynamodb.send(
      new GetItemCommand({
        TableName: world.ledgerTable,
        Key: { pk: { S: ledgerKey(owner) } },
        ConsistentRead: true,
      }),
    );
    expect(after.Item).toBeUndefined();
  });

  it('refuses a retirement for a secret the ledger does not bind, and a second one while the first is live', async () => {
    const { secret } = await rotatedSecret();
    const owner = ownerOf(secret);
    expect(
      await retirements().begin(owner, { secretArn: `${secret.arn}-copy`, deleteUntil: now() + 5_000 }),
    ).toEqual({ refused: `the ledger binds this PingOne owner to another secret (${secret.arn})` });
    const hold = await retirements().begin(owner, { secretArn: secret.arn, deleteUntil: now() + 5_000 });
    expect(await retirements().begin(owner, { secretArn: secret.arn, deleteUntil: now() + 5_000 })).toEqual({
      refused: 'another early retirement of this PingOne owner is in progress',
    });
    if ('refused' in hold) throw new Error(hold.refused);
    await retirements().end(owner, hold);
    const record = await world.ledger.read(owner, call());
    expect(record?.retirement).toBeUndefined();
    expect(record?.binding?.secretArn).toBe(secret.arn);
  });
});

describe("the auditor's own worker (AUDIT_WORKER_PARAMETER)", () => {
  /** A worker whose roles allow only `secretActions` on client secrets, stored as an SSM parameter. */
  async function auditWorker(name: string, secretActions: ('read' | 'update' | 'delete')[]): Promise<string> {
    // The secrets are in EU: the auditor's worker belongs to EU's organization (a token serves its region only).
    const environment = world.sim.createEnvironment({ name: `Audit ${name}`, region: 'EU' });
    const worker = world.sim.createWorker(environment.id, { environments: 'all', secretActions });
    const parameter = `/pingone/audit-worker-${name}`;
    await world.ssm.send(
      new PutParameterCommand({
        Name: parameter,
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({
          environmentId: worker.environmentId,
          clientId: worker.clientId,
          clientSecret: worker.clientSecret,
          region: 'EU',
        }),
      }),
    );
    return parameter;
  }

  /** An SSM client recording the parameters the auditor reads. */
  function recordingSsm(read: string[]): SSMClient {
    const ssm = new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url });
    ssm.middlewareStack.add(
      (next) => async (args) => {
        read.push(String((args.input as { Name?: unknown }).Name));
        return next(args);
      },
      { step: 'initialize', name: 'recordParameters' },
    );
    return ssm;
  }

  it('with read-only roles it judges the fleet from its own worker alone; early retirement is refused by PingOne, nothing deleted, and says what the worker lacks', async () => {
    const { secret, prefix } = await rotatedSecret();
    const parameter = await auditWorker('read-only', ['read']);
    const read: string[] = [];
    const before = world.sim.readSecret(secret.environmentId, secret.resourceId);
    const audit = auditor(prefix, async () => {}, {
      env: { AUDIT_WORKER_PARAMETER: parameter },
      ssm: recordingSsm(read),
    });

    const { error, lines } = await audit();

    expect([...new Set(read)]).toEqual([parameter]);
    expect(error).toBeDefined(); // the failed retirement fails the run (auditor-errors alarm)
    const failure = lines.find((l) => l.message === 'early retirement failed');
    expect(failure?.error).toMatch(/PingOne refused to delete the previous secret \(nothing deleted\)/);
    expect(failure?.error).toMatch(/needs a worker whose roles allow deleting the previous secret/);
    expect(lines.find((l) => l.message === 'audit complete')).toMatchObject({ audited: 1, errors: 0 });
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId)).toEqual(before);
    // Its intent is cleared: a rotation goes on at once.
    expect((await harness.driver.rotate(secret.arn)).ok).toBe(true);
  });

  it('with read and delete-secret roles it retires; such a worker cannot regenerate', async () => {
    const { secret, prefix } = await rotatedSecret();
    const parameter = await auditWorker('read-delete', ['read', 'delete']);
    const judgedCurrent = await currentSecret(secret);
    const audit = auditor(prefix, async () => {}, { env: { AUDIT_WORKER_PARAMETER: parameter } });

    const { summary, error } = await audit();

    expect(error).toBeUndefined();
    expect(summary?.retired).toBe(1);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).previous).toBeUndefined();
    expect(await authenticates(secret, judgedCurrent)).toBe(true);
    // The same worker's regenerate is refused by PingOne (403): the auditor cannot evict AWSCURRENT.
    const { client } = createPingOneAccess({
      env: { ...world.functionEnv, PINGONE_WORKERS: undefined, PINGONE_WORKER_PARAMETER: parameter },
      flags: {},
      ssm: world.ssm,
    });
    const owner: SecretOwner = {
      kind: 'resource',
      environmentId: secret.environmentId,
      id: secret.resourceId,
      region: secret.region,
    };
    const now = world.sim.clock.now().getTime();
    await expect(
      client.regenerateSecret(owner, new Date(now + 3_600_000), { deadline: Date.now() + 10_000 }),
    ).rejects.toMatchObject({ status: 403 });
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).secret).toBe(judgedCurrent);
  });
});
