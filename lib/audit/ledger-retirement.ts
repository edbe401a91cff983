/**
 * Early retirement's view of the rotation ledger (lib/ledger): the retirement intent that keeps a
 * regenerate and the auditor's DELETE apart, and a record of each retirement on the owner's item.
 *
 * Both live in attributes of their own (`retirement`, `previousRetired`, `previousRetiredCount`), written
 * with conditional UpdateItems that name nothing the rotation function writes — not its binding, intent,
 * history or revision, not even in a condition: DynamoDB lets a request write every attribute it names, so
 * the auditor's role lists only these (infra/audit.yml) and cannot change which secret owns an owner.
 *
 * Mutual exclusion without a shared revision: the auditor writes its intent (only while no other live one
 * is there), then reads the item back and goes on only if no regenerate intent is live; a rotation writes its
 * regenerate intent only while no retirement is live (lib/ledger/ledger.ts `unlessRetiring`). Each single
 * item operation is atomic, so whichever writes second sees the other and stands back.
 */
import { randomUUID } from 'node:crypto';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../errors.js';
import type { RotationLedger } from '../ledger/ledger.js';
import {
  intentIsLive,
  intentSettlesAt,
  ledgerKey,
  type RetirementIntent,
  retirementIsLive,
  SETTLE_MARGIN_MS,
} from '../ledger/record.js';
import type { SecretOwner } from '../pingone/types.js';
import type { RetirementEntry, RetirementHold, RetirementLedger } from './retire.js';

export function retirementLedger(options: {
  readonly ledger: RotationLedger;
  readonly client: DynamoDBClient;
  readonly now: () => number;
  readonly deadline: () => number;
}): RetirementLedger {
  const { ledger, client, now } = options;
  const table = ledger.table;
  const call = () => ({ now, deadline: options.deadline(), consequence: 'Nothing was deleted at PingOne' });
  const send = (command: UpdateItemCommand) =>
    client.send(command, { abortSignal: AbortSignal.timeout(Math.max(250, options.deadline() - now())) });
  const unavailable = (what: string, error: unknown, consequence: string) =>
    // No cause: an AWS error message is not carried into logs.
    new LedgerUnavailableError(
      `The rotation ledger (DynamoDB table ${table}) ${what}: ${(error as Error)?.name ?? 'error'}. ${consequence}`,
    );

  /** Removes the intent if it is still `token`'s; with `entry`, records the retirement in the same write. */
  const end = async (owner: SecretOwner, token: string, entry: RetirementEntry | undefined) => {
    const names: Record<string, string> = { '#retirement': 'retirement', '#token': 'token' };
    const values: Record<string, AttributeValue> = { ':token': { S: token } };
    let update = 'REMOVE #retirement';
    if (entry) {
      Object.assign(names, { '#retired': 'previousRetired', '#count': 'previousRetiredCount' });
      Object.assign(values, { ':retired': { M: entryItem(entry) }, ':one': { N: '1' } });
      update = 'SET #retired = :retired ADD #count :one REMOVE #retirement';
    }
    try {
      await send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: ledgerKey(owner) } },
          UpdateExpression: update,
          ConditionExpression: '#retirement.#token = :token',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) {
        throw unavailable(
          entry ? 'did not record the early retirement' : 'did not clear the retirement intent',
          error,
          entry
            ? "PingOne's previous secret was already deleted; the next audit finds no previous secret"
            : `Nothing was deleted at PingOne; the intent lapses by itself ${SETTLE_MARGIN_MS / 1000} s after its window`,
        );
      }
    }
    // The intent is no longer this retirement's (it lapsed and another took its place): the record alone.
    if (!entry) return;
    try {
      await send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: ledgerKey(owner) } },
          UpdateExpression: 'SET #retired = :retired ADD #count :one',
          ConditionExpression: 'attribute_exists(#pk)',
          ExpressionAttributeNames: {
            '#pk': 'pk',
            '#retired': 'previousRetired',
            '#count': 'previousRetiredCount',
          },
          ExpressionAttributeValues: { ':retired': { M: entryItem(entry) }, ':one': { N: '1' } },
        }),
      );
    } catch (error) {
      throw unavailable(
        'did not record the early retirement',
        error instanceof ConditionalCheckFailedException ? { name: 'the owner has no ledger item' } : error,
        "PingOne's previous secret was already deleted; the next audit finds no previous secret",
      );
    }
  };

  return {
    async begin(owner, { secretArn, deleteUntil }) {
      const record = await ledger.read(owner, call());
      const refused = (why: string) => ({ refused: why });
      const bound = record?.binding?.secretArn;
      if (bound !== secretArn) {
        return refused(
          bound
            ? `the ledger binds this PingOne owner to another secret (${bound})`
            : 'the ledger binds no secret to this PingOne owner',
        );
      }
      // Revision 0: the binding comes from an item under a pre-issue-17 key (lib/ledger/ledger.ts), which the
      // owner's next rotation moves to its key. The intent needs the item under the key rotations write to.
      if (!record || record.rev === 0) {
        return refused(
          "the owner's ledger item is still under its pre-upgrade key; its next rotation moves it, then the " +
            'previous secret can be retired',
        );
      }
      const startedAt = now();
      if (intentIsLive(record.intent, startedAt)) {
        return refused(
          `a rotation's regenerate may be in flight (version ${record.intent.token}, until ` +
            `${intentSettlesAt(record.intent).toISOString()})`,
        );
      }
      if (retirementIsLive(record.retirement, startedAt)) {
        return refused('another early retirement of this PingOne owner is in progress');
      }
      const intent: RetirementIntent = {
        token: randomUUID(),
        secretArn,
        startedAt: new Date(startedAt).toISOString(),
        deleteUntil: new Date(deleteUntil).toISOString(),
      };
      try {
        await send(
          new UpdateItemCommand({
            TableName: table,
            Key: { pk: { S: ledgerKey(owner) } },
            UpdateExpression: 'SET #retirement = :intent',
            ConditionExpression:
              'attribute_exists(#pk) AND (attribute_not_exists(#retirement) OR #retirement.#deleteUntil <= :settled)',
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#retirement': 'retirement',
              '#deleteUntil': 'deleteUntil',
            },
            ExpressionAttributeValues: {
              ':intent': {
                M: {
                  token: { S: intent.token },
                  secretArn: { S: intent.secretArn },
                  startedAt: { S: intent.startedAt },
                  deleteUntil: { S: intent.deleteUntil },
                },
              },
              ':settled': { S: new Date(startedAt - SETTLE_MARGIN_MS).toISOString() },
            },
          }),
        );
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          return refused(
            "the owner's ledger item changed meanwhile (another early retirement began, or the item is gone)",
          );
        }
        throw unavailable('did not take the retirement intent', error, 'Nothing was deleted at PingOne');
      }
      // Read back: a rotation that wrote its regenerate intent before ours was written is seen here.
      const after = await ledger.read(owner, call());
      const why =
        after?.retirement?.token !== intent.token
          ? 'the retirement intent was replaced meanwhile'
          : after.binding?.secretArn !== secretArn
            ? 'the ledger binding changed meanwhile'
            : intentIsLive(after.intent, now())
              ? `a rotation's regenerate began meanwhile (version ${after.intent.token})`
              : undefined;
      if (why) {
        await end(owner, intent.token, undefined);
        return refused(why);
      }
      return { token: intent.token, deleteUntil };
    },
    async end(owner: SecretOwner, hold: RetirementHold, entry?: RetirementEntry) {
      await end(owner, hold.token, entry);
    },
  };
}

function entryItem(entry: RetirementEntry): Record<string, AttributeValue> {
  return {
    at: { S: entry.at },
    secretArn: { S: entry.secretArn },
    previousExpiresAt: { S: entry.previousExpiresAt },
    ...(entry.previousLastUsed ? { previousLastUsed: { S: entry.previousLastUsed } } : {}),
    ...(entry.confirmedBy ? { confirmedBy: { S: entry.confirmedBy } } : {}),
  };
}
