/**
 * DynamoDB in memory, at the SDK client's `send()`: GetItem, PutItem, UpdateItem and DeleteItem with their
 * condition and update expressions (sim/fakes/expressions.ts), so the real ledger adapter
 * (lib/ledger/ledger.ts) and the auditor's retirement write run unchanged. Faults: throttling the SDK's retry
 * absorbs or surfaces, and an answer slower than the caller's AbortSignal (the write may still have landed).
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
} from '@aws-sdk/client-dynamodb';
import { awsCall, Proc, raceAbort, type SimEnv, withSend } from '../env.js';
import { applyUpdate, evaluateCondition, type Item } from './expressions.js';

/** A call that reached the fake (it acted on it), and how it ended: for comparing the fake with DynamoDB. */
export interface DynamoDbCall {
  readonly name: string;
  readonly table: string;
  readonly input: Record<string, unknown>;
  /** `ok`, or the error's name (ConditionalCheckFailedException, …). */
  readonly outcome: string;
  readonly output?: Record<string, unknown>;
}

export class DynamoDbState {
  /** table → pk → item */
  readonly tables = new Map<string, Map<string, Item>>();
  /** Every write that landed, for invariants: which item, and the item after. */
  onWrite: ((table: string, pk: string, item: Item | undefined, proc: Proc) => void) | undefined;
  /** Every call the fake acted on (test/sim/fakes-vs-moto.test.ts replays them against moto). */
  onCall: ((call: DynamoDbCall) => void) | undefined;

  constructor(private readonly env: SimEnv) {}

  table(name: string): Map<string, Item> {
    let table = this.tables.get(name);
    if (!table) {
      table = new Map();
      this.tables.set(name, table);
    }
    return table;
  }

  client(proc: Proc): DynamoDBClient {
    const send = async (
      command: { constructor: { name: string }; input: unknown },
      options?: { abortSignal?: AbortSignal },
    ) => {
      const name = command.constructor.name.replace(/Command$/, '');
      const input = command.input as Record<string, unknown>;
      const label = `DynamoDB ${name}`;
      const signal = options?.abortSignal;
      const { prng, faults } = this.env;
      for (let attempt = 1; ; attempt++) {
        if (!proc.reliable && faults.has('dynamodb') && prng.chance(faults.rate / 3)) {
          // Throttled: nothing happens; the SDK backs off and tries again, three attempts in all.
          await awsCall(this.env, proc, label, () => undefined, { abortSignal: signal });
          if (attempt < 3) {
            if (
              (await raceAbort(this.env.scheduler.sleep(prng.int(50, 100 * 2 ** attempt)), signal)) === 'ok'
            ) {
              continue;
            }
            throw Object.assign(new Error('Request aborted'), { name: 'AbortError' });
          }
          this.env.trace(proc.name, `${label}: throttled (after 3 attempts)`);
          throw new ProvisionedThroughputExceededException({
            message: 'The level of configured provisioned throughput for the table was exceeded.',
            $metadata: { httpStatusCode: 400, attempts: 3 },
          });
        }
        if (!proc.reliable && faults.has('dynamodb') && prng.chance(faults.rate / 6)) {
          // Slow: the answer takes seconds; the write lands, the caller may have given up.
          await raceAbort(this.env.scheduler.sleep(prng.int(1_000, 40_000)), signal);
        }
        return awsCall(this.env, proc, label, () => this.#recorded(name, input, proc), {
          abortSignal: signal,
        });
      }
    };
    dynamodbclientBase ??= new DynamoDBClient({ region: 'us-east-1' });
    return withSend(dynamodbclientBase, send);
  }

  /** Performs one call on the tables now, with no latency, fault or process (for replaying calls). */
  apply(name: string, input: Record<string, unknown>): unknown {
    return this.#handle(name, input, REPLAY);
  }

  #recorded(name: string, input: Record<string, unknown>, proc: Proc): unknown {
    if (!this.onCall) return this.#handle(name, input, proc);
    const table =
      (input.TableName as string | undefined) ??
      Object.keys((input.RequestItems as object | undefined) ?? {})[0] ??
      '';
    const copy = structuredClone(input);
    try {
      const output = this.#handle(name, input, proc) as Record<string, unknown>;
      this.onCall({ name, table, input: copy, outcome: 'ok', output: structuredClone(output) });
      return output;
    } catch (error) {
      this.onCall({ name, table, input: copy, outcome: (error as Error).name });
      throw error;
    }
  }

  #handle(name: string, input: Record<string, unknown>, proc: Proc): unknown {
    if (name === 'BatchGetItem') {
      // Consistent reads of whole items, every key answered (no UnprocessedKeys).
      const requests = input.RequestItems as Record<string, { Keys: Record<string, AttributeValue>[] }>;
      const Responses: Record<string, Item[]> = {};
      for (const [tableName, { Keys }] of Object.entries(requests)) {
        const table = this.table(tableName);
        Responses[tableName] = Keys.flatMap((k) => {
          const item = table.get(k.pk?.S as string);
          return item ? [structuredClone(item)] : [];
        });
      }
      return { Responses, UnprocessedKeys: {} };
    }
    const tableName = input.TableName as string;
    const table = this.table(tableName);
    const key = input.Key as Record<string, AttributeValue> | undefined;
    const pk = (key?.pk?.S ?? (input.Item as Item | undefined)?.pk?.S) as string;
    const existing = table.get(pk);
    const ctx = {
      names: (input.ExpressionAttributeNames as Record<string, string> | undefined) ?? {},
      values: (input.ExpressionAttributeValues as Record<string, AttributeValue> | undefined) ?? {},
    };
    const checkCondition = () => {
      const condition = input.ConditionExpression as string | undefined;
      if (condition && !evaluateCondition(condition, existing ?? {}, ctx)) {
        throw new ConditionalCheckFailedException({
          message: 'The conditional request failed',
          $metadata: { httpStatusCode: 400 },
        });
      }
    };
    switch (name) {
      case 'GetItem':
        return existing ? { Item: structuredClone(existing) } : {};
      case 'PutItem': {
        checkCondition();
        const item = structuredClone(input.Item as Item);
        table.set(pk, item);
        this.onWrite?.(tableName, pk, item, proc);
        return {};
      }
      case 'UpdateItem': {
        checkCondition();
        const item = applyUpdate(input.UpdateExpression as string, existing ?? { pk: { S: pk } }, ctx);
        table.set(pk, item);
        this.onWrite?.(tableName, pk, item, proc);
        return input.ReturnValues === 'ALL_NEW' ? { Attributes: structuredClone(item) } : {};
      }
      case 'DeleteItem': {
        checkCondition();
        table.delete(pk);
        this.onWrite?.(tableName, pk, undefined, proc);
        return {};
      }
      default:
        throw new Error(`sim: DynamoDB ${name} is not modelled`);
    }
  }
}

const REPLAY = new Proc('replay');

/** One real client per process of the simulator (building one is costly); each caller gets its own `send`. */
let dynamodbclientBase: DynamoDBClient | undefined;
