import { randomUUID } from 'node:crypto';
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { StateMachine } from 'aws-local-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { cursorKey } from '../../lib/audit/cursor.js';
import { createAuditListHandler, createAuditWorkerHandler } from '../../lib/audit/distributed-handler.js';
import { type BucketStore, limiterKey, memoryBucketStore } from '../../lib/audit/limiter.js';
import { sweepLeaseKey } from '../../lib/audit/sweep-lease.js';
import { ledgerKey } from '../../lib/ledger/record.js';
import type { Transport } from '../../lib/pingone/transport.js';
import { nodeTransport } from '../../lib/pingone/transport.js';
import { lambdaContext } from '../../local/driver.js';
import type { RotatableSecret } from '../../local/world.js';
import { rotationHarness } from '../support/harness.js';
import {
  polyfillPromiseWithResolvers,
  auditStateMachineDefinition as stateMachineDefinition,
  validateAsl as validator,
} from '../support/state-machine.js';
import { useWorld } from '../support/world.js';

/**
 * The distributed audit's state machine (infra/audit-state-machine.json, as deployed) run in-process by
 * aws-local-stepfunctions, its Task states answered by the real lister and worker handlers against moto and
 * the PingOne simulator: the fleet is listed into batches, every batch judged by a worker, the sweep recorded.
 *
 * The local interpreter runs the Distributed Map as a Map over ItemsPath (it ignores ProcessorConfig and
 * ToleratedFailurePercentage, which the template tests and asl-validator check); MaxConcurrencyPath it honours.
 */
polyfillPromiseWithResolvers();

const PREFIX = 'pingone/fleet/';
const EXECUTIONS = 'arn:aws:states:us-east-1:123456789012:execution:pingone-secret-rotation-ci-audit';
const RETIRE_PREFIX = 'pingone/fleet-retire/';
const FLEET = 7;
const BATCH = 2;
const fleet: RotatableSecret[] = [];
/** Rotated once by the real rotation function (its ledger binds them), under RETIRE_PREFIX. */
const rotated: RotatableSecret[] = [];
const { world, sensitive, output, logLeaks } = useWorld({ captureLogs: true });

beforeAll(async () => {
  for (let i = 0; i < FLEET; i++) {
    fleet.push(await world.createRotatableSecret({ name: `${PREFIX}app-${i}`, region: 'EU' }));
  }
  const { driver } = rotationHarness(world, { maxAttempts: 1 });
  for (let i = 0; i < 2; i++) {
    const secret = await world.createRotatableSecret({ name: `${RETIRE_PREFIX}app-${i}`, region: 'EU' });
    const report = await driver.rotate(secret.arn);
    if (!report.ok) throw new Error(`seeding ${secret.name}: ${report.error}`);
    rotated.push(secret);
  }
}, 120_000);

interface SweepResult {
  plan: { count: number; batches: number[] };
  results: { b: number; j: number; e: number; u: number; f?: number }[];
  outcome: { complete: boolean; judged: number; count: number; failedBatches: number[] };
}

/**
 * One execution of the state machine, its Task states answered by the real handlers (lambda:invoke as Step
 * Functions calls it: {FunctionName, Payload} in, {Payload: result} out).
 */
async function sweep(
  env: Record<string, string | undefined>,
  extra: { now?: () => number; buckets?: BucketStore } = {},
  run: { execution?: string; beforeBatch?: () => Promise<void> } = {},
) {
  const inner = nodeTransport();
  const transport: Transport = async (request) => {
    const auth = request.headers.authorization;
    if (auth?.startsWith('Bearer ')) sensitive.add(auth.slice(7));
    const response = await inner(request);
    if (response.body.includes('access_token')) {
      const token = (JSON.parse(response.body) as { access_token?: string }).access_token;
      if (token) sensitive.add(token);
    }
    return response;
  };
  const aws = { secretsManager: world.secretsManager, ssm: world.ssm, dynamodb: world.dynamodb };
  const list = createAuditListHandler({ env, ...aws, ...extra });
  const worker = createAuditWorkerHandler({ env, ...aws, transport, ...extra });
  const invoked: { state: string; payload: unknown }[] = [];
  let running = 0;
  let mostRunning = 0;
  const invoke =
    (state: string, handler: (event: never, context: ReturnType<typeof lambdaContext>) => Promise<unknown>) =>
    async (input: { FunctionName: string; Payload: unknown }) => {
      invoked.push({ state, payload: input.Payload });
      if (state === 'JudgeBatch') await run.beforeBatch?.();
      running++;
      mostRunning = Math.max(mostRunning, running);
      try {
        return {
          StatusCode: 200,
          Payload: await handler(input.Payload as never, lambdaContext(Date.now(), 900_000)),
        };
      } finally {
        running--;
      }
    };
  const machine = new StateMachine(stateMachineDefinition() as never);
  const execution = machine.run(
    {},
    {
      // The context object Step Functions gives an execution ($$.Execution.Id: its ARN).
      context: { Execution: { Id: `${EXECUTIONS}:${run.execution ?? randomUUID()}` } },
      overrides: {
        taskResourceLocalHandlers: {
          ListFleet: invoke('ListFleet', list) as never,
          JudgeBatch: invoke('JudgeBatch', worker) as never,
          FinishSweep: invoke('FinishSweep', list) as never,
        },
      },
    },
  );
  const result = (await execution.result) as unknown as SweepResult;
  return { result, invoked, mostRunning };
}

describe('the distributed audit state machine', () => {
  it('is valid ASL (asl-validator), with a Distributed Map of STANDARD child executions over the batches', () => {
    const definition = stateMachineDefinition();
    expect(validator(definition)).toMatchObject({ isValid: true, errors: [] });
    const map = (definition.States as Record<string, Record<string, unknown>>).JudgeBatches;
    expect(map).toMatchObject({
      Type: 'Map',
      ItemsPath: '$.plan.batches',
      MaxConcurrencyPath: '$.plan.maxConcurrency',
      ItemProcessor: { ProcessorConfig: { Mode: 'DISTRIBUTED', ExecutionType: 'STANDARD' } },
    });
    // The sweep lease expires when the execution must have stopped: the timeout it is given is the machine's.
    const list = (definition.States as Record<string, { Parameters: { Payload: Record<string, unknown> } }>)
      .ListFleet;
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    expect(list?.Parameters.Payload).toMatchObject({
      'execution.$': '$$.Execution.Id',
      'startedAt.$': '$$.Execution.StartTime',
      timeoutSeconds: definition.TimeoutSeconds,
    });
    // A broken definition is refused: the check can fail.
    const broken = structuredClone(definition) as { States: { FinishSweep: Record<string, unknown> } };
    broken.States.FinishSweep.Next = 'Nowhere';
    expect(validator(broken).isValid).toBe(false);
  });

  it('runs with the real lister and workers: every secret judged once, in batches, the sweep recorded', async () => {
    output.clear();
    const env = {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: PREFIX,
      AUDIT_BATCH_SIZE: String(BATCH),
      AUDIT_MAX_CONCURRENCY: '2',
      AUDIT_PINGONE_REQUESTS_PER_SECOND: '50',
    };
    const started = Date.now();
    const { result, invoked, mostRunning } = await sweep(env);

    expect(result.plan).toMatchObject({ count: FLEET, batches: [0, 1, 2, 3] });
    expect(result.results.map((r) => r.b).sort()).toEqual([0, 1, 2, 3]);
    expect(result.outcome).toEqual({ complete: true, judged: FLEET, count: FLEET, failedBatches: [] });
    // Each worker judged its own batch: the batch inputs are the Map's items with the sweep's id.
    const batches = invoked
      .filter((i) => i.state === 'JudgeBatch')
      .map((i) => i.payload as { batch: number });
    expect(batches.map((b) => b.batch).sort()).toEqual([0, 1, 2, 3]);
    expect(result.results.reduce((n, r) => n + r.j, 0)).toBe(FLEET);

    // The sweep is in the cursor; its age bound is published; the licence's bucket lives beside it.
    const cursor = await world.dynamodb.send(
      new GetItemCommand({ TableName: world.ledgerTable, Key: { pk: { S: cursorKey(PREFIX) } } }),
    );
    expect(cursor.Item?.position?.S).toBe(fleet.at(-1)?.name);
    expect(Number(cursor.Item?.lastSweepRuns?.L?.[0]?.M?.at?.N)).toBeGreaterThanOrEqual(started);
    const emf = output.records.filter((r) => r._aws !== undefined);
    expect(emf.find((r) => r.OldestAuditAge !== undefined)?.OldestAuditAge).toBeLessThan(120);
    expect(emf.find((r) => r.AuditCompleted !== undefined)?.AuditCompleted).toBe(1);
    const bucket = await world.dynamodb.send(
      new GetItemCommand({
        TableName: world.ledgerTable,
        // The world's workers (PINGONE_WORKERS, one per region) name no organization: the EU worker's own bucket.
        Key: { pk: { S: limiterKey('worker:eu') } },
      }),
    );
    expect(Number(bucket.Item?.rev?.N)).toBeGreaterThanOrEqual(2 * FLEET);
    // Two workers at once, never more (the Map's MaxConcurrencyPath from AUDIT_MAX_CONCURRENCY).
    expect(mostRunning).toBe(2);
  });

  it('with early retirement on, the workers retire unused previous secrets as the single auditor does (ledger intent, record)', async () => {
    output.clear();
    const env = {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: RETIRE_PREFIX,
      AUDIT_BATCH_SIZE: '1',
      AUDIT_MAX_CONCURRENCY: '2',
      AUDIT_PINGONE_REQUESTS_PER_SECOND: '50',
      RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
    };
    const before = rotated.map((s) => world.sim.readSecret(s.environmentId, s.resourceId));
    expect(before.every((state) => state.previous !== undefined)).toBe(true);
    // Two hours after the rotations: nobody used the previous secrets since.
    // Its limiter bucket apart: the shifted clock would leave the shared one's reservations two hours ahead.
    const { result } = await sweep(env, {
      now: () => world.sim.clock.now().getTime() + 2 * 3_600_000,
      buckets: memoryBucketStore(),
    });

    expect(result.outcome).toEqual({ complete: true, judged: 2, count: 2, failedBatches: [] });
    for (const [i, secret] of rotated.entries()) {
      const after = world.sim.readSecret(secret.environmentId, secret.resourceId);
      // Only the previous secret is gone: the current one (AWSCURRENT) is untouched.
      expect(after.previous).toBeUndefined();
      expect(after.secret).toBe(before[i]?.secret);
      const item = await world.dynamodb.send(
        new GetItemCommand({
          TableName: world.ledgerTable,
          Key: {
            pk: {
              S: ledgerKey({ kind: 'resource', environmentId: secret.environmentId, id: secret.resourceId }),
            },
          },
        }),
      );
      // Recorded on the owner's item, the intent cleared, as lib/audit/ledger-retirement.ts does for both engines.
      expect(item.Item?.previousRetired?.M?.secretArn?.S).toBe(secret.arn);
      expect(item.Item?.retirement).toBeUndefined();
    }
    const retired = output.records
      .filter((r) => r._aws !== undefined && r.PreviousSecretRetired !== undefined)
      .reduce((n, r) => n + Number(r.PreviousSecretRetired), 0);
    expect(retired).toBe(2);
    expect(output.captured).toContain('previous secret retired early');
  });

  it("keys the limiter's bucket by the workers' PingOne organization (PINGONE_WORKERS organization)", async () => {
    const organization = '5d3b2a10-1111-4111-8111-111111111111';
    // The world's workers, one per region; the EU one names its organization.
    const workers = (JSON.parse(world.functionEnv.PINGONE_WORKERS ?? '[]') as { region: string }[]).map(
      (w) => (w.region === 'EU' ? { ...w, organization } : w),
    );
    const env = {
      ...world.functionEnv,
      PINGONE_WORKERS: JSON.stringify(workers),
      AUDIT_SECRET_NAME_PREFIX: RETIRE_PREFIX,
      AUDIT_PINGONE_REQUESTS_PER_SECOND: '50',
    };
    const { result } = await sweep(env);
    expect(result.outcome).toMatchObject({ complete: true, judged: 2 });
    const bucket = await world.dynamodb.send(
      new GetItemCommand({
        TableName: world.ledgerTable,
        Key: { pk: { S: limiterKey(`org:${organization}`) } },
      }),
    );
    // Every request of the sweep (2 secrets: a token and 2 GETs each, at least) drew on the organization's bucket.
    expect(Number(bucket.Item?.rev?.N)).toBeGreaterThanOrEqual(4);
  });

  it('a second execution started while a sweep runs ends at once (SweepAlreadyRunning): nothing listed or judged twice', async () => {
    output.clear();
    const env = {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: PREFIX,
      AUDIT_BATCH_SIZE: String(BATCH),
      AUDIT_MAX_CONCURRENCY: '2',
      AUDIT_PINGONE_REQUESTS_PER_SECOND: '50',
    };
    // The first execution's workers wait at a gate until the second has run: a long sweep, still running.
    let openGate = () => {};
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    let inWorker = () => {};
    const judging = new Promise<void>((resolve) => {
      inWorker = resolve;
    });
    const first = sweep(
      env,
      {},
      {
        execution: 'long',
        beforeBatch: async () => {
          inWorker();
          await gate;
        },
      },
    );
    await judging;
    const second = await sweep(env, {}, { execution: 'overlapping' });
    openGate();
    const long = await first;

    // The second listed nothing and started no worker: its only task was ListFleet, and it succeeded.
    expect(second.invoked.map((i) => i.state)).toEqual(['ListFleet']);
    expect(second.result).toMatchObject({ plan: { skipped: true, heldBy: `${EXECUTIONS}:long` } });
    expect(output.captured).toContain('audit sweep not started: another sweep is still running');
    expect(
      output.records.find((r) => r._aws !== undefined && r.AuditSweepSkipped !== undefined)
        ?.AuditSweepSkipped,
    ).toBe(1);
    // The running one was not disturbed (its batches were not rewritten under it) and gave the lease back.
    expect(long.result.outcome).toEqual({ complete: true, judged: FLEET, count: FLEET, failedBatches: [] });
    const lease = await world.dynamodb.send(
      new GetItemCommand({ TableName: world.ledgerTable, Key: { pk: { S: sweepLeaseKey(PREFIX) } } }),
    );
    expect(lease.Item?.execution?.S).toBe(`${EXECUTIONS}:long`);
    expect(lease.Item?.expiresAt?.N).toBe('0');
  }, 60_000);

  it('the captured logs hold no secret, bearer token or worker credential', () => {
    expect(output.captured).toContain('audit sweep finished');
    expect(logLeaks()).toEqual([]);
  });
});
