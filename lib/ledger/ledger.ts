import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DeadlineExceededError, LedgerUnavailableError } from '../errors.js';
import type { PingOneRegion } from '../pingone/regions.js';
import type { SecretOwner } from '../pingone/types.js';
import { bindingItem, intentItem, mergeLegacy, parseItem, runItem } from './items.js';
import { type LedgerRecord, ledgerKey, legacyLedgerKeys, SETTLE_MARGIN_MS } from './record.js';

export interface LedgerCallOptions {
  /** Absolute time (epoch ms, on the caller's clock) by which the call must be done. */
  readonly deadline: number;
  /** The caller's clock (tests share a simulator's). */
  readonly now: () => number;
  /** What a failure leaves behind, for the error message. Default: nothing was changed at PingOne. */
  readonly consequence?: string;
}

export interface LedgerWriteOptions extends LedgerCallOptions {
  /**
   * Written only while no early retirement of the owner is live (`retirementIsLive`): a regenerate intent.
   * A live one makes the write a `conflict`, like a changed revision.
   */
  readonly unlessRetiring?: boolean;
}

export type LedgerWriteResult = 'written' | 'conflict';

/**
 * The rotation ledger, as the rotation function uses it: one consistent read, one conditional write.
 * A write succeeds only if the item still has the revision the new record was computed from (or, for a new
 * item, does not exist yet); otherwise it reports `conflict` and changes nothing.
 */
export interface RotationLedger {
  /** The table, for messages. */
  readonly table: string;
  read(owner: SecretOwner, options: LedgerCallOptions): Promise<LedgerRecord | undefined>;
  /**
   * Writes `record` as revision `record.rev + 1`, if the item is still at `record.rev` (0: absent). The
   * auditor's `retirement` attribute is never written here.
   */
  write(owner: SecretOwner, record: LedgerRecord, options: LedgerWriteOptions): Promise<LedgerWriteResult>;
}

/**
 * The rotation ledger the configuration names (ROTATION_LEDGER_TABLE, or the CLI's --ledger-table), on a
 * DynamoDB client: the one place the function, the auditor, the CLI and the local world build it.
 */
export function ledgerFromConfig(
  dynamodb: DynamoDBClient,
  config: { readonly ledgerTable: string },
): RotationLedger {
  return new DynamoDbLedger(dynamodb, config.ledgerTable);
}

/**
 * The ledger on a DynamoDB table with a string partition key `pk`, on an injected SDK client (whose own
 * retry and endpoint handling apply: AWS_ENDPOINT_URL_DYNAMODB, AWS_MAX_ATTEMPTS, …). Every call is bounded
 * by the caller's deadline.
 *
 * Failures become LedgerUnavailableError naming the table, the operation and the AWS error's name and HTTP
 * status only: an error message is not quoted (a proxy may echo the signed request into it).
 */
export class DynamoDbLedger implements RotationLedger {
  readonly #client: DynamoDBClient;
  readonly table: string;

  constructor(client: DynamoDBClient, table: string) {
    this.#client = client;
    this.table = table;
  }

  async read(owner: SecretOwner, options: LedgerCallOptions): Promise<LedgerRecord | undefined> {
    const out = await this.#call('read', options, (abortSignal) =>
      this.#client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { pk: { S: ledgerKey(owner) } },
          ConsistentRead: true,
        }),
        { abortSignal },
      ),
    );
    if (out.Item) return parseItem(out.Item, this.table);
    return this.#readLegacy(owner, options);
  }

  /**
   * Tables deployed before issue 17 keyed items by `<kind>#<region>#<environmentId>#<ownerId>`, the region
   * taken from the secret's JSON. Their items must still count: a binding, a live intent or an unfinished
   * regenerate recorded there protects the owner as before. Chosen: read them on a miss and migrate on the
   * next write, rather than migrating the table up front. On a miss at the owner's key (a new owner, or one
   * not written since the upgrade) the legacy keys of every region are read in one BatchGetItem; what they
   * hold is returned as the owner's record at revision 0, so the next write (the rotation's intent, an
   * operator's binding) creates the item under the new key, conditional on its absence, carrying the
   * legacy binding, intent and history. From then on the new key is read first and the legacy items are
   * never consulted again (they are left in place: no role here may delete items). Two legacy items binding
   * the owner to different secrets (the region-alias copy this change closes) are not guessed between: the
   * read fails (LedgerLegacyConflictError, naming both) until an operator deletes the wrong item.
   */
  async #readLegacy(owner: SecretOwner, options: LedgerCallOptions): Promise<LedgerRecord | undefined> {
    const legacy = legacyLedgerKeys(owner);
    const regionOf = new Map(legacy.map((l) => [l.key, l.region]));
    let keys: Record<string, AttributeValue>[] = legacy.map((l) => ({ pk: { S: l.key } }));
    const items: Record<string, AttributeValue>[] = [];
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0)
        await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 50 * 2 ** attempt)));
      const out = await this.#call('read', options, (abortSignal) =>
        this.#client.send(
          new BatchGetItemCommand({
            RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } },
          }),
          { abortSignal },
        ),
      );
      items.push(...(out.Responses?.[this.table] ?? []));
      keys = out.UnprocessedKeys?.[this.table]?.Keys ?? [];
    }
    if (items.length === 0) return undefined;
    const records = items.map((item) => {
      const region = regionOf.get(item.pk?.S ?? '') as PingOneRegion;
      const record = parseItem(item, this.table);
      return {
        key: item.pk?.S ?? '',
        record: record.binding
          ? { ...record, binding: { ...record.binding, region: record.binding.region ?? region } }
          : record,
      };
    });
    return mergeLegacy(records, this.table, owner);
  }

  async write(
    owner: SecretOwner,
    record: LedgerRecord,
    options: LedgerWriteOptions,
  ): Promise<LedgerWriteResult> {
    const names: Record<string, string> = {
      '#rev': 'rev',
      '#kind': 'ownerKind',
      '#region': 'region',
      '#env': 'environmentId',
      '#owner': 'ownerId',
      '#updated': 'updatedAt',
      '#history': 'history',
      '#binding': 'binding',
      '#intent': 'intent',
    };
    const values: Record<string, AttributeValue> = {
      ':rev': { N: String(record.rev + 1) },
      ':kind': { S: owner.kind },
      ':region': { S: owner.region },
      ':env': { S: owner.environmentId.toLowerCase() },
      ':owner': { S: owner.id.toLowerCase() },
      ':updated': { S: new Date(options.now()).toISOString() },
      ':history': { L: record.history.map((run) => ({ M: runItem(run) })) },
    };
    const set = [
      '#rev = :rev',
      '#kind = :kind',
      '#region = :region',
      '#env = :env',
      '#owner = :owner',
      '#updated = :updated',
      '#history = :history',
    ];
    const remove: string[] = [];
    if (record.binding) {
      set.push('#binding = :binding');
      values[':binding'] = { M: bindingItem(record.binding, owner.region) };
    } else remove.push('#binding');
    if (record.intent) {
      set.push('#intent = :intent');
      values[':intent'] = { M: intentItem(record.intent) };
    } else remove.push('#intent');
    let condition = 'attribute_not_exists(#pk)';
    if (record.rev === 0) names['#pk'] = 'pk';
    else {
      condition = '#rev = :expected';
      values[':expected'] = { N: String(record.rev) };
      if (options.unlessRetiring) {
        // Not live: its DELETE was given up on at least SETTLE_MARGIN_MS ago (ISO-8601 strings, both from
        // toISOString, compare in time order).
        condition += ' AND (attribute_not_exists(#retirement) OR #retirement.#deleteUntil <= :settled)';
        names['#retirement'] = 'retirement';
        names['#deleteUntil'] = 'deleteUntil';
        values[':settled'] = { S: new Date(options.now() - SETTLE_MARGIN_MS).toISOString() };
      }
    }
    try {
      await this.#call('write', options, (abortSignal) =>
        this.#client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { pk: { S: ledgerKey(owner) } },
            UpdateExpression: `SET ${set.join(', ')}${remove.length ? ` REMOVE ${remove.join(', ')}` : ''}`,
            ConditionExpression: condition,
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: values,
          }),
          { abortSignal },
        ),
      );
      return 'written';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'conflict';
      throw error;
    }
  }

  async #call<T>(
    operation: 'read' | 'write',
    options: LedgerCallOptions,
    send: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const remaining = options.deadline - options.now();
    if (remaining < MIN_CALL_MS) {
      throw new DeadlineExceededError(
        `The rotation ledger (DynamoDB table ${this.table}) ${operation}: not started, only ` +
          `${Math.max(0, Math.floor(remaining))} ms left before the Lambda deadline. ` +
          (options.consequence ?? NOTHING_CHANGED),
      );
    }
    try {
      return await send(AbortSignal.timeout(remaining));
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw error;
      const name = (error as { name?: unknown })?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new DeadlineExceededError(
          `The rotation ledger (DynamoDB table ${this.table}) ${operation}: no answer before the Lambda ` +
            `deadline. ${options.consequence ?? NOTHING_CHANGED}`,
        );
      }
      throw unavailable(this.table, operation, error, options.consequence ?? NOTHING_CHANGED);
    }
  }
}

/** A ledger call is not started with less time than this left (as for PingOne calls). */
const MIN_CALL_MS = 250;

const NOTHING_CHANGED = 'Nothing was changed at PingOne; Secrets Manager retries the rotation';

function unavailable(
  table: string,
  operation: 'read' | 'write',
  error: unknown,
  consequence: string,
): LedgerUnavailableError {
  const code = (error as { code?: unknown })?.code;
  const rawName = (error as { name?: unknown })?.name;
  // Network failures come as a plain Error with a code (ECONNREFUSED, ENOTFOUND): the code says more.
  const name = rawName === 'Error' && typeof code === 'string' ? code : rawName;
  const status = (error as { $metadata?: { httpStatusCode?: unknown } })?.$metadata?.httpStatusCode;
  const what =
    name === 'ResourceNotFoundException'
      ? 'the table does not exist (check ROTATION_LEDGER_TABLE and the stack)'
      : `${typeof name === 'string' ? name : 'error'}${typeof status === 'number' ? ` (HTTP ${status})` : ''}`;
  // No cause: the AWS error's message is not carried into logs.
  return new LedgerUnavailableError(
    `The rotation ledger (DynamoDB table ${table}) could not be ${operation === 'read' ? 'read' : 'written'}: ${what}. ${consequence}`,
  );
}
