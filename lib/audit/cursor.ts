/**
 * The auditor's cursor: where the last run stopped in the fleet's name order, so that each run continues there
 * (wrapping round to the first name) and no secret is left behind by a fleet larger than one run can judge.
 *
 * It also dates the sweeps (passes through the whole order, from the first name to the last), run by run,
 * which bounds the age of the oldest audit: every secret after the cursor was judged in the last completed
 * sweep, the first of them longest ago, by the run whose checkpoint comes first after the cursor.
 * That age is the `OldestAuditAge` metric, alarmed on by AuditCoverageAlarm (infra/audit.yml).
 *
 * Stored in the rotation ledger's table under a key of its own, `audit#cursor#<prefix>` (the rotation
 * function's keys start with `resource#` or `application#`; the auditor's role may write only `audit#*`
 * keys, infra/audit.yml), written with a condition on its revision so two runs never interleave their cursors.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  type GetItemCommandOutput,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../errors.js';
import { revisionCondition } from './revision.js';

/**
 * One run's part of a sweep: it judged the secrets up to `to` (in name order), starting at `at` or later.
 * A sweep's checkpoints are in name order, so the run that judged a name is the first whose `to` is not before it.
 */
export interface Checkpoint {
  readonly to: string;
  readonly at: number;
}

export interface CursorState {
  /** The name of the last secret started by the last run; undefined: from the first. */
  readonly position: string | undefined;
  /** The runs of the sweep in progress (it began at the first name). */
  readonly sweepRuns: readonly Checkpoint[];
  /** The runs of the last completed sweep; empty: none has completed yet. */
  readonly lastSweepRuns: readonly Checkpoint[];
  /** When the auditor first ran with a cursor. */
  readonly firstRunAt: number;
  /** The item's revision (0: none stored). */
  readonly rev: number;
}

/** What one run did in the fleet's order (from runAudit). */
export interface RunProgress {
  /** The name of the last secret the run started; undefined: it started none. */
  readonly lastStarted: string | undefined;
  /** When the run started the first secret of the order, if it did. */
  readonly sweepBeganAt: number | undefined;
  /** The last name of the order, if the run started it (a sweep ended). */
  readonly sweepEndedAt: string | undefined;
  /** Both happened and the beginning came first (the run began at the first secret and reached the last). */
  readonly beganBeforeEnd: boolean;
}

export interface CursorStore {
  /** Where it is kept, for messages. */
  readonly where: string;
  read(): Promise<CursorState | undefined>;
  /** Writes `next` as revision `expectedRev + 1` if the stored one is still `expectedRev`. */
  write(next: CursorState, expectedRev: number): Promise<'written' | 'conflict'>;
}

/** A sweep keeps at most this many checkpoints (the item stays small); beyond, neighbours merge. */
export const MAX_CHECKPOINTS = 200;

/**
 * Merges neighbouring checkpoints, keeping the earlier time and the later name: for any name the merged
 * checkpoint's time is no later than the run that judged it, so the age it gives is still an upper bound.
 */
function capped(runs: readonly Checkpoint[]): Checkpoint[] {
  if (runs.length <= MAX_CHECKPOINTS) return [...runs];
  const merged: Checkpoint[] = [];
  for (let i = 0; i < runs.length; i += 2) {
    const a = runs[i] as Checkpoint;
    const b = runs[i + 1];
    merged.push(b ? { to: b.to, at: Math.min(a.at, b.at) } : a);
  }
  return merged;
}

/** The cursor after a run that started at `runStartedAt`. */
export function advanceCursor(
  previous: CursorState | undefined,
  progress: RunProgress,
  runStartedAt: number,
): CursorState {
  let current: readonly Checkpoint[] = previous?.sweepRuns ?? [];
  let last: readonly Checkpoint[] = previous?.lastSweepRuns ?? [];
  const { lastStarted, sweepBeganAt, sweepEndedAt } = progress;
  if (sweepEndedAt !== undefined && sweepBeganAt !== undefined && progress.beganBeforeEnd) {
    // The whole sweep in this run.
    last = [{ to: sweepEndedAt, at: sweepBeganAt }];
    current = [];
  } else {
    if (sweepEndedAt !== undefined) {
      last = capped([...current, { to: sweepEndedAt, at: runStartedAt }]);
      current = [];
    }
    if (sweepBeganAt !== undefined && lastStarted !== undefined)
      current = [{ to: lastStarted, at: sweepBeganAt }];
    else if (sweepEndedAt === undefined && lastStarted !== undefined)
      current = capped([...current, { to: lastStarted, at: runStartedAt }]);
  }
  return {
    position: lastStarted ?? previous?.position,
    sweepRuns: current,
    lastSweepRuns: last,
    firstRunAt: previous?.firstRunAt ?? runStartedAt,
    rev: (previous?.rev ?? 0) + 1,
  };
}

/**
 * An upper bound on the age of the oldest audit at `now`. The oldest is the first secret after the cursor:
 * judged in the last completed sweep by the run whose checkpoint is the first after the cursor, no earlier
 * than that run started. Before any sweep completed: the time since the first run (the secrets not yet
 * reached have waited that long).
 */
export function oldestAuditAgeMs(state: CursorState, now: number): number {
  const [first] = state.lastSweepRuns;
  if (!first) return Math.max(0, now - state.firstRunAt);
  const position = state.position;
  const run = position === undefined ? first : (state.lastSweepRuns.find((c) => c.to > position) ?? first);
  return Math.max(0, now - run.at);
}

/** The cursor's key in the ledger table for the auditor of `prefix`. */
export function cursorKey(prefix: string): string {
  return `audit#cursor#${prefix}`;
}

/** The cursor in the rotation ledger's DynamoDB table. */
export function dynamoDbCursorStore(options: {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly prefix: string;
  /** Each call is bounded by this (ms). */
  readonly timeoutMs?: number;
  readonly now?: () => number;
}): CursorStore {
  const { client, table } = options;
  const key = { pk: { S: cursorKey(options.prefix) } };
  const where = `the audit cursor (item ${cursorKey(options.prefix)} of DynamoDB table ${table})`;
  const signal = () => AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const unavailable = (operation: string, error: unknown) =>
    // No cause: an AWS error message is not carried into logs (a proxy may echo the request into it).
    new LedgerUnavailableError(
      `${where} could not be ${operation}: ${(error as Error)?.name ?? 'error'}. The run judged the fleet from ` +
        'the first secret; check the auditor role (dynamodb:GetItem and PutItem on audit#* keys) and the table',
    );
  const number = (value: AttributeValue | undefined) =>
    value?.N === undefined ? undefined : Number(value.N);
  const checkpoints = (value: AttributeValue | undefined): Checkpoint[] =>
    (value?.L ?? []).flatMap((entry) => {
      const to = entry.M?.to?.S;
      const at = number(entry.M?.at);
      return to !== undefined && at !== undefined && Number.isFinite(at) ? [{ to, at }] : [];
    });
  const checkpointsItem = (runs: readonly Checkpoint[]): AttributeValue => ({
    L: runs.map((c) => ({ M: { to: { S: c.to }, at: { N: String(c.at) } } })),
  });
  return {
    where,
    async read() {
      let item: GetItemCommandOutput;
      try {
        item = await client.send(new GetItemCommand({ TableName: table, Key: key, ConsistentRead: true }), {
          abortSignal: signal(),
        });
      } catch (error) {
        throw unavailable('read', error);
      }
      const found = item.Item;
      if (!found) return undefined;
      return {
        position: found.position?.S,
        sweepRuns: checkpoints(found.sweepRuns),
        lastSweepRuns: checkpoints(found.lastSweepRuns),
        firstRunAt: number(found.firstRunAt) ?? 0,
        rev: number(found.rev) ?? 0,
      };
    },
    async write(next, expectedRev) {
      const item: Record<string, AttributeValue> = {
        ...key,
        rev: { N: String(expectedRev + 1) },
        firstRunAt: { N: String(next.firstRunAt) },
        sweepRuns: checkpointsItem(next.sweepRuns),
        lastSweepRuns: checkpointsItem(next.lastSweepRuns),
        updatedAt: { S: new Date((options.now ?? Date.now)()).toISOString() },
      };
      if (next.position !== undefined) item.position = { S: next.position };
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: item,
            ...revisionCondition(expectedRev),
          }),
          { abortSignal: signal() },
        );
        return 'written';
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 'conflict';
        throw unavailable('written', error);
      }
    },
  };
}

/** A cursor kept in memory (the CLI's local world, tests, the bench). */
export function memoryCursorStore(initial?: CursorState): CursorStore & { state: CursorState | undefined } {
  const store = {
    where: 'the audit cursor (in memory)',
    state: initial,
    async read() {
      return store.state;
    },
    async write(next: CursorState, expectedRev: number) {
      if ((store.state?.rev ?? 0) !== expectedRev) return 'conflict' as const;
      store.state = { ...next, rev: expectedRev + 1 };
      return 'written' as const;
    },
  };
  return store;
}
