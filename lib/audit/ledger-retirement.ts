/**
 * Early retirement's view of the rotation ledger (lib/ledger): which secret the ledger binds to a PingOne
 * owner, and a record of each retirement on the owner's item.
 *
 * The retirement record lives in its own attributes (`previousRetired`, `previousRetiredCount`), written with
 * one conditional UpdateItem that names nothing the rotation function writes (its revision counter
 * included), so it never races a rotation's optimistic-concurrency writes and the auditor's role cannot
 * change the binding (infra/audit.yml). It is written only on an existing owner item.
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../errors.js';
import type { RotationLedger } from '../ledger/ledger.js';
import { ledgerKey } from '../ledger/record.js';
import type { SecretOwner } from '../pingone/types.js';
import type { RetirementLedger } from './retire.js';

/** The attributes the auditor may write (its role's dynamodb:Attributes condition lists the same). */
export const RETIREMENT_ATTRIBUTES = ['pk', 'previousRetired', 'previousRetiredCount'] as const;

export function retirementLedger(options: {
  readonly ledger: RotationLedger;
  readonly client: DynamoDBClient;
  readonly now: () => number;
  readonly deadline: () => number;
}): RetirementLedger {
  const { ledger, client, now } = options;
  const call = () => ({ now, deadline: options.deadline(), consequence: 'Nothing was deleted at PingOne' });
  return {
    async boundSecret(owner: SecretOwner) {
      return (await ledger.read(owner, call()))?.binding?.secretArn;
    },
    async recordRetirement(owner, entry) {
      try {
        await client.send(
          new UpdateItemCommand({
            TableName: ledger.table,
            Key: { pk: { S: ledgerKey(owner) } },
            UpdateExpression: 'SET #retired = :retired ADD #count :one',
            // Only on an existing owner item, and naming nothing the rotation function writes: DynamoDB lets a
            // request write every attribute it names, a condition's included (the role lists these only).
            ConditionExpression: 'attribute_exists(#pk)',
            ExpressionAttributeNames: {
              '#pk': 'pk',
              '#retired': 'previousRetired',
              '#count': 'previousRetiredCount',
            },
            ExpressionAttributeValues: {
              ':retired': {
                M: {
                  at: { S: entry.at },
                  secretArn: { S: entry.secretArn },
                  previousExpiresAt: { S: entry.previousExpiresAt },
                  ...(entry.previousLastUsed ? { previousLastUsed: { S: entry.previousLastUsed } } : {}),
                },
              },
              ':one': { N: '1' },
            },
          }),
          { abortSignal: AbortSignal.timeout(Math.max(250, options.deadline() - now())) },
        );
      } catch (error) {
        const name =
          error instanceof ConditionalCheckFailedException
            ? 'the owner has no ledger item'
            : (error as Error).name;
        // No cause: an AWS error message is not carried into logs.
        throw new LedgerUnavailableError(
          `The rotation ledger (DynamoDB table ${ledger.table}) did not record the early retirement of the previous ` +
            `secret: ${name}. PingOne's previous secret was already deleted; the next audit finds no previous secret`,
        );
      }
    },
  };
}
