/**
 * One distributed sweep at a time (lib/audit/distributed.ts): the lister takes the sweep lease — one item of
 * the ledger table, `audit#sweep#<prefix>`, written only with a condition — before it plans a sweep, and the
 * lister's FinishSweep gives it back. A scheduled execution that starts while another still runs (a fleet whose
 * sweep outlasts the schedule) finds the lease held and ends at once, without listing or judging anything: its
 * PingOne load would double the running one's, for verdicts the running one is about to give.
 *
 * Step Functions has no setting that keeps a state machine to one execution at a time, and its
 * ListExecutions is eventually consistent, so the lease is a DynamoDB item with a conditional write. It expires
 * when the holding execution can no longer be running: its start plus the state machine's TimeoutSeconds
 * (infra/audit-state-machine.json), after which Step Functions has stopped it. An execution that ended without
 * FinishSweep (a failure of the lister itself) therefore holds it at most until then.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../errors.js';

export interface SweepLease {
  readonly sweepId: string;
  /** The holding execution's ARN ($$.Execution.Id). */
  readonly execution: string;
  /** Epoch ms: the holding execution's start plus the state machine's timeout (0: released). */
  readonly expiresAt: number;
}

export interface SweepLeaseStore {
  /**
   * Takes the lease for `lease.execution` unless another execution holds an unexpired one (then: that
   * holder). The same execution taking it again (its ListFleet retried) succeeds.
   */
  take(lease: SweepLease, now: number): Promise<'taken' | SweepLease>;
  /** Gives the lease back if `execution` still holds it (a later one that took it after it expired keeps it). */
  release(execution: string): Promise<void>;
  /** Where it lives, for messages. */
  readonly where: string;
}

export function sweepLeaseKey(prefix: string): string {
  return `audit#sweep#${prefix}`;
}

/** The lease in the rotation ledger's table (the lister may read and PutItem only audit#sweep#* there). */
export function dynamoDbSweepLeaseStore(options: {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly prefix: string;
  readonly timeoutMs?: number;
}): SweepLeaseStore {
  const { client, table, prefix } = options;
  const key = sweepLeaseKey(prefix);
  const where = `item ${key} of DynamoDB table ${table}`;
  const signal = () => AbortSignal.timeout(options.timeoutMs ?? 10_000);
  const unavailable = (what: string, error: unknown) =>
    new LedgerUnavailableError(
      `The audit sweep lease (${where}) could not be ${what}: ${(error as Error)?.name ?? 'error'}. ` +
        "Check the audit lister's role (dynamodb:GetItem and PutItem on audit#sweep# keys)",
    );
  const item = (lease: SweepLease): Record<string, AttributeValue> => ({
    pk: { S: key },
    sweepId: { S: lease.sweepId },
    execution: { S: lease.execution },
    expiresAt: { N: String(lease.expiresAt) },
  });
  const put = async (
    lease: SweepLease,
    condition: string,
    names: Record<string, string>,
    values: Record<string, AttributeValue>,
  ) => {
    try {
      await client.send(
        new PutItemCommand({
          TableName: table,
          Item: item(lease),
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
        { abortSignal: signal() },
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  };
  return {
    where,
    async take(lease, now) {
      for (let attempt = 0; attempt < 3; attempt++) {
        let taken: boolean;
        try {
          taken = await put(
            lease,
            'attribute_not_exists(#pk) OR #expiresAt <= :now OR #execution = :execution',
            { '#pk': 'pk', '#expiresAt': 'expiresAt', '#execution': 'execution' },
            { ':now': { N: String(now) }, ':execution': { S: lease.execution } },
          );
        } catch (error) {
          throw unavailable('taken', error);
        }
        if (taken) return 'taken';
        let out: Record<string, AttributeValue> | undefined;
        try {
          out = (
            await client.send(
              new GetItemCommand({ TableName: table, Key: { pk: { S: key } }, ConsistentRead: true }),
              { abortSignal: signal() },
            )
          ).Item;
        } catch (error) {
          throw unavailable('read', error);
        }
        const expiresAt = Number(out?.expiresAt?.N ?? 0);
        // Released or expired between the write and the read: try again.
        if (out && expiresAt > now) {
          return { sweepId: out.sweepId?.S ?? '', execution: out.execution?.S ?? '', expiresAt };
        }
      }
      throw unavailable('taken', { name: 'it changed hands three times in a row' });
    },
    async release(execution) {
      try {
        // Marked released (expiresAt 0), only if this execution still holds it.
        await put(
          { sweepId: '', execution, expiresAt: 0 },
          '#execution = :execution',
          { '#execution': 'execution' },
          { ':execution': { S: execution } },
        );
      } catch (error) {
        throw unavailable('released', error);
      }
    },
  };
}

/** The lease in memory (unit tests, the bench). */
export function memorySweepLeaseStore(): SweepLeaseStore & { lease: SweepLease | undefined } {
  const store = {
    where: 'memory',
    lease: undefined as SweepLease | undefined,
    async take(lease: SweepLease, now: number): Promise<'taken' | SweepLease> {
      const held = store.lease;
      if (held && held.expiresAt > now && held.execution !== lease.execution) return held;
      store.lease = lease;
      return 'taken';
    },
    async release(execution: string): Promise<void> {
      if (store.lease?.execution === execution) store.lease = { ...store.lease, expiresAt: 0 };
    },
  };
  return store;
}
