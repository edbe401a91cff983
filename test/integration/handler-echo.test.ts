import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRotationHandler } from '../../lib/handler.js';
import { type PingOneSimulator, startPingOneSimulator } from '../../local/pingone-simulator/index.js';
import { OutputCapture } from '../support/capture-output.js';
import { findLeaks, type Sensitive } from '../support/leaks.js';
import { SecretsManagerModel } from '../support/secrets-manager-model.js';

/**
 * The handler end to end with an upstream that quotes requests back: PingOne (the simulator's echo fault)
 * and Secrets Manager (a ValidationException quoting the SecretString and the RotationToken, as AWS
 * validation errors quote request values). Neither the log records nor the error the handler returns —
 * what Secrets Manager records as the rotation failure — holds any form of any credential.
 */
const TOKEN = '11111111-2222-4333-8444-555555555555';
const ROTATION_TOKEN = 'rotation~token.lower-case-0123456789abcdef0123456789';
const ssm = mockClient(SSMClient);
// The rotation ledger: an unbound owner, every write accepted.
const ddb = mockClient(DynamoDBClient);
ddb.on(GetItemCommand).resolves({});
ddb.on(BatchGetItemCommand).resolves({});
ddb.on(UpdateItemCommand).resolves({});
const output = new OutputCapture();
let sim: PingOneSimulator;
let sm: SecretsManagerModel;
let sensitive: Sensitive[];
let pingOneSecret: () => string;
let resourceId: string;

function context(): Context {
  return {
    functionName: 'pingone-rotate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotate',
    memoryLimitInMB: '256',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/pingone-rotate',
    logStreamName: 's',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => 30_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

beforeAll(async () => {
  sim = await startPingOneSimulator();
});
afterAll(() => sim.stop());

let handler: ReturnType<typeof createRotationHandler>;
beforeEach(() => {
  const env = sim.createEnvironment({ region: 'EU' });
  const resource = sim.createResource(env.id);
  const worker = sim.createWorker(env.id, { clientSecret: 'worker~secret.lower-case_0123456789abcdef' });
  resourceId = resource.id;
  pingOneSecret = () => sim.readSecret(env.id, resource.id).secret;
  sim.faults.clear();
  ssm.reset();
  ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(worker) } });
  sm = new SecretsManagerModel();
  sm.versions.v1 = {
    stages: ['AWSCURRENT'],
    value: JSON.stringify({
      environmentId: env.id,
      resourceId: resource.id,
      clientSecret: resource.secret,
      region: 'EU',
    }),
  };
  sm.startRotation(TOKEN);
  sensitive = [
    ROTATION_TOKEN,
    resource.secret,
    { id: worker.clientId, secret: worker.clientSecret },
    { id: resource.id, secret: resource.secret },
  ];
  handler = createRotationHandler({
    env: {
      PINGONE_WORKER_PARAMETER: '/pingone/worker',
      ROTATION_LEDGER_TABLE: 'rotation-ledger',
      PINGONE_API_URL: sim.apiUrlTemplate,
      PINGONE_AUTH_URL: sim.authUrlTemplate,
    },
    secretsManager: sm.client,
    ssm: new SSMClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    sleep: async () => {},
  });
  output.start();
  output.clear();
});

const step = (Step: string) =>
  handler(
    { Step, SecretId: 'pingone/app', ClientRequestToken: TOKEN, RotationToken: ROTATION_TOKEN } as never,
    context(),
  );

/** The handler's returned error (message, stack, causes) and this test's log output, scanned. */
async function leaksOfFailing(run: () => Promise<unknown>): Promise<string[]> {
  const error = await run().then(
    () => {
      throw new Error('expected the step to fail');
    },
    (e: unknown) => e,
  );
  output.stop();
  const chain: string[] = [];
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    chain.push(e.message, e.stack ?? '', JSON.stringify(e));
  }
  const text = `${chain.join('\n')}\n${output.text}`;
  expect(output.text).toContain('"message":"rotation step failed"');
  // Pending secrets and bearer tokens of this run are known only now.
  const pending = sm.versions[TOKEN]?.value;
  const extra: Sensitive[] = [...sim.issuedTokens(), pingOneSecret()];
  if (pending) extra.push(JSON.parse(pending).clientSecret as string);
  return findLeaks(text, [...sensitive, ...extra]).map((l) => `${l.value} as ${l.form}`);
}

describe('the handler against echoing upstreams', () => {
  it('createSecret: the worker token request is echoed back', async () => {
    sim.faults.echo({ route: 'token', status: 400 });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: the secret read is echoed back (bearer token)', async () => {
    sim.faults.echo({ route: 'secret', method: 'GET', status: 400 });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
  });

  it('testSecret: the introspection with the pending secret is echoed back', async () => {
    await step('createSecret');
    await step('setSecret');
    sim.faults.echo({ route: 'introspect', status: 400, count: 10 });
    expect(await leaksOfFailing(() => step('testSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'introspect' && r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: Secrets Manager refuses PutSecretValue quoting the SecretString and the RotationToken', async () => {
    sm.mock.on(PutSecretValueCommand).callsFake((input) => {
      const error = new Error(
        `1 validation error detected: Value '${input.SecretString}' at 'secretString' failed to satisfy ` +
          `constraint; RotationToken '${input.RotationToken}' is not valid`,
      );
      error.name = 'ValidationException';
      throw error;
    });
    const leaks = await leaksOfFailing(() => step('createSecret'));
    // The value PingOne generated for this rotation (its current secret now) was quoted, and is scanned for.
    expect(output.text).toContain('ValidationException');
    expect(leaks).toEqual([]);
    const regenerated = sim.requests.filter(
      (r) => r.method === 'POST' && r.route === 'secret' && r.resourceId === resourceId,
    );
    expect(regenerated).toHaveLength(1);
  });

  it('the last line of defence: any error quoting the RotationToken (here from SSM) is scrubbed by the handler', async () => {
    ssm.reset();
    ssm.on(GetParameterCommand).rejects(
      Object.assign(new Error(`Parameter read failed for request with RotationToken ${ROTATION_TOKEN}`), {
        name: 'InternalServerError',
      }),
    );
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(output.text).toContain('Worker parameter');
  });
});
