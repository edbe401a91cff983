import {
  type AttributeValue,
  BatchGetItemCommand,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { DeadlineExceededError, LedgerLegacyConflictError, LedgerUnavailableError } from '../errors.js';
import type { PingOneRegion } from '../pingone/regions.js';
import type { SecretOwner } from '../pingone/types.js';
import {
  type BindingHow,
  HISTORY_LIMIT,
  type LedgerBinding,
  type LedgerIntent,
  type LedgerRecord,
  type LedgerRun,
  ledgerKey,
  legacyLedgerKeys,
  type RetirementIntent,
  type RunOutcome,
  SETTLE_MARGIN_MS,
} from './record.js';

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

function bindingItem(binding: LedgerBinding, region: PingOneRegion): Record<string, AttributeValue> {
  return {
    secretArn: { S: binding.secretArn },
    boundAt: { S: binding.boundAt },
    how: { S: binding.how },
    region: { S: binding.region ?? region },
  };
}

/**
 * The legacy items of one owner as one record at revision 0 (see DynamoDbLedger's #readLegacy): the
 * binding they agree on (the latest, if the same secret was bound under two regions), the intent that
 * settles last, and their runs, newest first.
 */
function mergeLegacy(
  items: readonly { readonly key: string; readonly record: LedgerRecord }[],
  table: string,
  owner: SecretOwner,
): LedgerRecord {
  const bound = items.filter((i) => i.record.binding !== undefined);
  const secrets = new Set(bound.map((i) => i.record.binding?.secretArn));
  if (secrets.size > 1) {
    const list = bound.map((i) => `${i.record.binding?.secretArn} (item ${i.key})`).join(' and ');
    throw new LedgerLegacyConflictError(
      `The rotation ledger (DynamoDB table ${table}) binds ${owner.kind} ${owner.id} in environment ` +
        `${owner.environmentId} to two secrets under its old region-bearing keys: ${list}. One of them was ` +
        'bound through another region alias, which the ledger no longer allows; nothing is sent to PingOne ' +
        "for this owner until one item is deleted. Find the secret that should own it (it holds PingOne's " +
        'current secret and its region is right), then delete the other item: aws dynamodb delete-item ' +
        `--table-name ${table} --key '{"pk":{"S":"<that item's key>"}}'`,
    );
  }
  const latest = <T>(values: readonly T[], at: (value: T) => string): T | undefined =>
    values.reduce<T | undefined>(
      (best, value) => (best === undefined || Date.parse(at(value)) > Date.parse(at(best)) ? value : best),
      undefined,
    );
  const binding = latest(
    bound.map((i) => i.record.binding as LedgerBinding),
    (b) => b.boundAt,
  );
  const intent = latest(
    items.flatMap((i) => (i.record.intent ? [i.record.intent] : [])),
    (x) => x.postUntil,
  );
  const seen = new Set<string>();
  const history = items
    .flatMap((i) => i.record.history)
    .filter((run) => {
      const id = `${run.secretArn}#${run.token}`;
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    })
    .sort((a, b) => Date.parse(b.startedAt) - Date.parse(a.startedAt))
    .slice(0, HISTORY_LIMIT);
  return { rev: 0, binding, intent, history };
}

function intentItem(intent: LedgerIntent): Record<string, AttributeValue> {
  return {
    token: { S: intent.token },
    secretArn: { S: intent.secretArn },
    startedAt: { S: intent.startedAt },
    postUntil: { S: intent.postUntil },
  };
}

function runItem(run: LedgerRun): Record<string, AttributeValue> {
  const item: Record<string, AttributeValue> = {
    token: { S: run.token },
    secretArn: { S: run.secretArn },
    startedAt: { S: run.startedAt },
  };
  if (run.regeneratedAt) item.regeneratedAt = { S: run.regeneratedAt };
  if (run.finishedAt) item.finishedAt = { S: run.finishedAt };
  if (run.outcome) item.outcome = { S: run.outcome };
  return item;
}

const HOWS: readonly BindingHow[] = ['rotation', 'onboard', 'rebind'];
const OUTCOMES: readonly RunOutcome[] = ['rotated', 'superseded', 'failed'];

/** Parses an item; anything malformed is reported (the table is written only by this code). */
export function parseItem(item: Record<string, AttributeValue>, table: string): LedgerRecord {
  const bad = (what: string) =>
    new LedgerUnavailableError(
      `The rotation ledger (DynamoDB table ${table}) holds a malformed item for ${item.pk?.S ?? 'an owner'}: ${what}. ` +
        'Nothing was changed at PingOne',
    );
  const str = (map: Record<string, AttributeValue> | undefined, key: string, where: string): string => {
    const value = map?.[key]?.S;
    if (typeof value !== 'string' || value === '') throw bad(`${where}.${key} is missing`);
    return value;
  };
  const optionalStr = (map: Record<string, AttributeValue>, key: string): string | undefined =>
    typeof map[key]?.S === 'string' ? map[key].S : undefined;
  const rev = Number(item.rev?.N);
  if (!Number.isInteger(rev) || rev < 1) throw bad('rev is missing');
  const bindingMap = item.binding?.M;
  let binding: LedgerBinding | undefined;
  if (bindingMap) {
    const how = str(bindingMap, 'how', 'binding') as BindingHow;
    if (!HOWS.includes(how)) throw bad('binding.how is unknown');
    binding = {
      secretArn: str(bindingMap, 'secretArn', 'binding'),
      boundAt: str(bindingMap, 'boundAt', 'binding'),
      how,
    };
  }
  const intentMap = item.intent?.M;
  if (binding) {
    // The region of the proof: the binding's own, else the item's (written with every record).
    const region = optionalStr(bindingMap as Record<string, AttributeValue>, 'region') ?? item.region?.S;
    if (region) binding = { ...binding, region: region as PingOneRegion };
  }
  const intent: LedgerIntent | undefined = intentMap
    ? {
        token: str(intentMap, 'token', 'intent'),
        secretArn: str(intentMap, 'secretArn', 'intent'),
        startedAt: str(intentMap, 'startedAt', 'intent'),
        postUntil: str(intentMap, 'postUntil', 'intent'),
      }
    : undefined;
  const retirementMap = item.retirement?.M;
  let retirement: RetirementIntent | undefined;
  if (retirementMap) {
    retirement = {
      token: str(retirementMap, 'token', 'retirement'),
      secretArn: str(retirementMap, 'secretArn', 'retirement'),
      startedAt: str(retirementMap, 'startedAt', 'retirement'),
      deleteUntil: str(retirementMap, 'deleteUntil', 'retirement'),
    };
    if (!Number.isFinite(Date.parse(retirement.deleteUntil)))
      throw bad('retirement.deleteUntil is not a time');
  }
  const history = (item.history?.L ?? []).map((entry, i): LedgerRun => {
    const map = entry.M;
    if (!map) throw bad(`history[${i}] is not a map`);
    const outcome = optionalStr(map, 'outcome') as RunOutcome | undefined;
    if (outcome !== undefined && !OUTCOMES.includes(outcome)) throw bad(`history[${i}].outcome is unknown`);
    return {
      token: str(map, 'token', `history[${i}]`),
      secretArn: str(map, 'secretArn', `history[${i}]`),
      startedAt: str(map, 'startedAt', `history[${i}]`),
      regeneratedAt: optionalStr(map, 'regeneratedAt'),
      finishedAt: optionalStr(map, 'finishedAt'),
      outcome,
    };
  });
  return { rev, binding, intent, history, ...(retirement ? { retirement } : {}) };
}
