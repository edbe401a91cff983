import {
  CreateTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';

/** The rotation ledger table's name in the local world (the deployed stack names its own). */
export const LOCAL_LEDGER_TABLE = 'pingone-rotation-ledger';

/**
 * Creates the rotation ledger table as the stack does (string partition key `pk`, on-demand) and waits
 * until it is active. An existing table is left as it is.
 */
export async function createLedgerTable(client: DynamoDBClient, table = LOCAL_LEDGER_TABLE): Promise<string> {
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client, maxWaitTime: 30, minDelay: 1 }, { TableName: table });
  return table;
}
