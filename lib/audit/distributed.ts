/**
 * The distributed audit (the stack's AuditEngine=distributed, infra/audit-distributed.yml): one sweep of the
 * whole fleet per execution of a Step Functions state machine whose Distributed Map fans the work out.
 *
 * 1. `listSweep` (the lister function) pages ListSecrets, keeps this deployment's secrets in name order, cuts
 *    them into batches (a ListSecrets page's worth each) and writes each batch to an item of its own in the
 *    ledger table (`audit#batch#<prefix>#<n>`): the Map's items are only the batch numbers, so the state
 *    stays far below Step Functions' 256 KB whatever the fleet's size;
 * 2. `judgeBatch` (the worker function, one child execution per batch, up to MaxConcurrency at once) reads its
 *    batch and judges it with runAudit, the single auditor's code, its PingOne requests drawn from the shared
 *    per-licence limiter (lib/audit/limiter.ts);
 * 3. `finishSweep` (the lister again) adds up the batches' results and, when every secret was started,
 *    records the sweep in the audit cursor (lib/audit/cursor.ts), whose age bound is the OldestAuditAge metric.
 */

import {
  type AttributeValue,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { SecretListEntry, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { AuditIncompleteError, LedgerUnavailableError } from '../errors.js';
import { type AuditDeps, type AuditResult, type AuditSettings, listFleet, runAudit } from './audit.js';
import { advanceCursor, type CursorStore, oldestAuditAgeMs } from './cursor.js';

/** Secrets per batch (one child execution): one ListSecrets page. */
export const DEFAULT_BATCH_SIZE = 100;

export interface BatchEntry {
  readonly name: string;
  readonly arn: string;
}

/** Where the batches of a sweep are kept between the lister and the workers. */
export interface BatchStore {
  put(index: number, entries: readonly BatchEntry[], sweepId: string): Promise<void>;
  get(index: number): Promise<{ entries: BatchEntry[]; sweepId: string } | undefined>;
}

/** The lister's output: the state machine's input to the Map. */
export interface SweepPlan {
  readonly sweepId: string;
  /** Epoch ms: the sweep's start (no secret of it was judged earlier). */
  readonly startedAt: number;
  readonly count: number;
  /** The last name in order (the cursor after a complete sweep). */
  readonly last: string | undefined;
  /** The Map's items: batch numbers. */
  readonly batches: readonly number[];
  /** Child executions at once (the Map's MaxConcurrencyPath). */
  readonly maxConcurrency: number;
  /** The execution holding the sweep lease (lib/audit/sweep-lease.ts), which FinishSweep gives back. */
  readonly execution?: string;
}

/** The lister's output when another execution's sweep is still running: the state machine ends at once. */
export interface SweepSkipped {
  readonly skipped: true;
  /** The running execution (its ARN) and until when its lease holds at most. */
  readonly heldBy: string;
  readonly until: string;
}

/** One batch's result, kept small: the Map gathers one per batch into the state (256 KB at most). */
export interface BatchResult {
  /** The batch number. */
  readonly b: number;
  /** Secrets judged. */
  readonly j: number;
  /** Secrets that could not be judged (read errors). */
  readonly e: number;
  /** Secrets not started before the worker's deadline. */
  readonly u: number;
  /** Early retirements that failed (absent: none, or a worker from before early retirement ran here). */
  readonly f?: number;
}

export async function listSweep(
  deps: {
    readonly secretsManager: SecretsManagerClient;
    readonly batches: BatchStore;
    readonly now: () => number;
  },
  settings: Pick<AuditSettings, 'secretNamePrefix' | 'rotationFunctionArn'> & {
    readonly batchSize?: number;
    readonly maxConcurrency: number;
  },
): Promise<SweepPlan> {
  const startedAt = deps.now();
  const sweepId = new Date(startedAt).toISOString();
  const { mine } = await listFleet(deps.secretsManager, {
    secretNamePrefix: settings.secretNamePrefix,
    rotationFunctionArn: settings.rotationFunctionArn,
    concurrency: 1,
    nearExpiryMs: 0,
    stuckAfterMs: 0,
  });
  const size = settings.batchSize ?? DEFAULT_BATCH_SIZE;
  const batches: number[] = [];
  for (let start = 0, index = 0; start < mine.length; start += size, index++) {
    const entries = mine
      .slice(start, start + size)
      .map((e) => ({ name: e.Name ?? e.ARN ?? '?', arn: e.ARN ?? e.Name ?? '?' }));
    await deps.batches.put(index, entries, sweepId);
    batches.push(index);
  }
  return {
    sweepId,
    startedAt,
    count: mine.length,
    last: mine.at(-1)?.Name,
    batches,
    maxConcurrency: settings.maxConcurrency,
  };
}

/**
 * Judges one batch with runAudit, the single auditor's code, early retirement included when enabled (the same
 * conditions, ledger intent and DELETE handling: lib/audit/retire.ts). A batch written by another sweep (a
 * newer execution overwrote it) is refused rather than judged as if it were this one's.
 */
export async function judgeBatch(
  deps: AuditDeps & { readonly batches: BatchStore },
  settings: Omit<AuditSettings, 'entries' | 'startAfter'>,
  input: { readonly batch: number; readonly sweepId: string },
): Promise<{ result: AuditResult; summary: BatchResult }> {
  const stored = await deps.batches.get(input.batch);
  if (!stored || stored.sweepId !== input.sweepId) {
    throw new AuditIncompleteError(
      `Audit batch ${input.batch} of sweep ${input.sweepId} is ${stored ? `from sweep ${stored.sweepId}` : 'missing'}: ` +
        'a newer sweep started before this one finished (lengthen the audit schedule), or the batch item was deleted',
    );
  }
  const entries: SecretListEntry[] = stored.entries.map((e) => ({ Name: e.name, ARN: e.arn }));
  const result = await runAudit(deps, { ...settings, entries });
  return {
    result,
    summary: {
      b: input.batch,
      j: result.reports.length,
      e: result.errors.length,
      u: result.notAudited.length,
      f: result.retirements.filter((r) => r.outcome === 'failed').length,
    },
  };
}

export interface SweepOutcome {
  readonly count: number;
  readonly judged: number;
  readonly errors: number;
  readonly notAudited: number;
  /** Early retirements that failed: the execution fails (as the single auditor's run), the sweep still counts. */
  readonly retirementsFailed: number;
  /** Batches without a result (their child execution failed, within the Map's tolerance). */
  readonly failedBatches: readonly number[];
  /** Whether every secret was started: the sweep is recorded in the cursor. */
  readonly complete: boolean;
  /** The cursor's bound on the oldest audit, after this sweep (ms). */
  readonly oldestAuditAgeMs: number;
}

/** Adds up the batches' results and records a complete sweep in the cursor. */
export async function finishSweep(
  deps: { readonly cursor: CursorStore; readonly now: () => number },
  plan: SweepPlan,
  results: readonly unknown[],
): Promise<SweepOutcome> {
  const seen = new Map<number, BatchResult>();
  for (const raw of results) {
    const r = raw as Partial<BatchResult> | null;
    if (r && typeof r.b === 'number' && typeof r.j === 'number') seen.set(r.b, r as BatchResult);
  }
  const failedBatches = plan.batches.filter((b) => !seen.has(b));
  const sum = (key: 'j' | 'e' | 'u' | 'f') =>
    [...seen.values()].reduce((total, r) => total + (r[key] ?? 0), 0);
  const judged = sum('j');
  const errors = sum('e');
  const notAudited = sum('u');
  const retirementsFailed = sum('f');
  const complete = failedBatches.length === 0 && notAudited === 0;
  const previous = await deps.cursor.read();
  let state = previous;
  if (complete) {
    // The whole sweep in this execution: it began at the first name at `startedAt` and ended at the last.
    state = advanceCursor(
      previous,
      {
        lastStarted: plan.last,
        sweepBeganAt: plan.startedAt,
        sweepEndedAt: plan.last ?? '',
        beganBeforeEnd: true,
      },
      plan.startedAt,
    );
    const written = await deps.cursor.write(state, previous?.rev ?? 0);
    if (written === 'conflict') state = await deps.cursor.read();
  }
  return {
    count: plan.count,
    judged,
    errors,
    notAudited,
    retirementsFailed,
    failedBatches,
    complete,
    oldestAuditAgeMs: state ? oldestAuditAgeMs(state, deps.now()) : Math.max(0, deps.now() - plan.startedAt),
  };
}

/** The batch's key in the ledger table. */
export function batchKey(prefix: string, index: number): string {
  return `audit#batch#${prefix}#${index}`;
}

/** The batches in the rotation ledger's table (the lister may write, the workers read, only audit#batch#*). */
export function dynamoDbBatchStore(options: {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly prefix: string;
  readonly timeoutMs?: number;
}): BatchStore {
  const { client, table, prefix } = options;
  const signal = () => AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const unavailable = (what: string, index: number, error: unknown) =>
    new LedgerUnavailableError(
      `Audit batch ${index} (item ${batchKey(prefix, index)} of DynamoDB table ${table}) could not be ${what}: ` +
        `${(error as Error)?.name ?? 'error'}. Check the audit role's dynamodb grants on audit#batch# keys`,
    );
  return {
    async put(index, entries, sweepId) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              pk: { S: batchKey(prefix, index) },
              sweepId: { S: sweepId },
              entries: { L: entries.map((e) => ({ M: { name: { S: e.name }, arn: { S: e.arn } } })) },
            },
          }),
          { abortSignal: signal() },
        );
      } catch (error) {
        throw unavailable('written', index, error);
      }
    },
    async get(index) {
      let item: Record<string, AttributeValue> | undefined;
      try {
        const out = await client.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: batchKey(prefix, index) } },
            ConsistentRead: true,
          }),
          { abortSignal: signal() },
        );
        item = out.Item;
      } catch (error) {
        throw unavailable('read', index, error);
      }
      if (!item) return undefined;
      return {
        sweepId: item.sweepId?.S ?? '',
        entries: (item.entries?.L ?? []).flatMap((e) =>
          e.M?.name?.S && e.M?.arn?.S ? [{ name: e.M.name.S, arn: e.M.arn.S }] : [],
        ),
      };
    },
  };
}

/** Batches in memory (the bench, unit tests). */
export function memoryBatchStore(): BatchStore {
  const items = new Map<number, { entries: BatchEntry[]; sweepId: string }>();
  return {
    async put(index, entries, sweepId) {
      items.set(index, { entries: [...entries], sweepId });
    },
    async get(index) {
      return items.get(index);
    },
  };
}
