/**
 * The rotation handler's AWS neighbours mocked with aws-sdk-client-mock, for handler tests that run without
 * moto: the worker parameter (SSM), the rotation ledger (DynamoDB) and, in memory, Secrets Manager
 * (./secrets-manager-model.ts). Importing this file mocks SSMClient and DynamoDBClient for the whole test file.
 */
import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, type Parameter, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { SecretsManagerModel } from './secrets-manager-model.js';

export const ssmMock = mockClient(SSMClient);
export const ddbMock = mockClient(DynamoDBClient);

/** The ledger of an owner no secret is bound to yet, accepting every write. */
export function unboundLedger(): void {
  ddbMock.reset();
  ddbMock.on(GetItemCommand).resolves({});
  ddbMock.on(BatchGetItemCommand).resolves({});
  ddbMock.on(UpdateItemCommand).resolves({});
}

/** The worker parameter answering with `value` (and the rest of `parameter`). */
export function workerParameter(value: string, parameter: Omit<Parameter, 'Value'> = {}): void {
  ssmMock.reset();
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { ...parameter, Value: value } });
}

/** A secret whose AWSCURRENT (version v1) holds `current`, with a rotation started under `token`. */
export function rotatingSecret(current: Record<string, unknown>, token: string): SecretsManagerModel {
  const sm = new SecretsManagerModel();
  sm.versions.v1 = { stages: ['AWSCURRENT'], value: JSON.stringify(current) };
  sm.startRotation(token);
  return sm;
}
