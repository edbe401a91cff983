/** The ledger's DynamoDB items: a record written as attributes and read back (checked), legacy items merged. */

import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { LedgerLegacyConflictError, LedgerUnavailableError } from '../errors.js';
import type { PingOneRegion } from '../pingone/regions.js';
import type { SecretOwner } from '../pingone/types.js';
import {
  type BindingHow,
  HISTORY_LIMIT,
  type LedgerBinding,
  type LedgerIntent,
  type LedgerRecord,
  type LedgerRun,
  type RetirementIntent,
  type RunOutcome,
} from './record.js';

export function bindingItem(binding: LedgerBinding, region: PingOneRegion): Record<string, AttributeValue> {
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
export function mergeLegacy(
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

export function intentItem(intent: LedgerIntent): Record<string, AttributeValue> {
  return {
    token: { S: intent.token },
    secretArn: { S: intent.secretArn },
    startedAt: { S: intent.startedAt },
    postUntil: { S: intent.postUntil },
  };
}

export function runItem(run: LedgerRun): Record<string, AttributeValue> {
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
