import {
  BatchGetItemCommand,
  DynamoDBClient,
  GetItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRotationHandler } from '../../lib/handler.js';
import { basicAuthorization, TRANSPORT_ENCODINGS } from '../../lib/redact.js';
import {
  ECHO_ENCODINGS,
  type EchoEncoding,
  type PingOneSimulator,
  startPingOneSimulator,
} from '../../local/pingone-simulator/index.js';
import { OutputCapture } from '../support/capture-output.js';
import { findLeaks, type Sensitive } from '../support/leaks.js';
import { SecretsManagerModel } from '../support/secrets-manager-model.js';

/**
 * The handler end to end against an upstream that quotes the request back in another encoding (the
 * simulator's echo fault with `encoding`): hex (finding 7 of issue 17), base64 and base64url of the whole
 * quote (so a credential sits at any byte alignment), double percent-encoding, JSON `\u` escapes, HTML
 * entities, `\x` escapes, quoted-printable. For each, neither the log records nor the error the handler
 * returns to Secrets Manager hold any form of the worker secret, the bearer token or the new client secret;
 * and the same echo unredacted is caught by the leak scanner, so each check can fail.
 */
const TOKEN = '11111111-2222-4333-8444-555555555555';
const ROTATION_TOKEN = 'rotation~token.lower-case-0123456789abcdef0123456789';
/** Lower case: the redactor's shape rules let it through, so only its knowledge of every form removes it. */
const WORKER_SECRET = 'worker~secret.lower-case_0123456789abcdef';
const ENCODED = ECHO_ENCODINGS.filter((e): e is Exclude<EchoEncoding, 'none'> => e !== 'none');

const ssm = mockClient(SSMClient);
const ddb = mockClient(DynamoDBClient);
ddb.on(GetItemCommand).resolves({});
ddb.on(BatchGetItemCommand).resolves({});
ddb.on(UpdateItemCommand).resolves({});
const output = new OutputCapture();
let sim: PingOneSimulator;
let sm: SecretsManagerModel;
let sensitive: Sensitive[];
let pingOneSecret: () => string;
let worker: { clientId: string; clientSecret: string; environmentId: string };
let authBase: string;

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

function setUp(tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST') {
  const env = sim.createEnvironment({ region: 'EU' });
  const resource = sim.createResource(env.id, { introspectEndpointAuthMethod: 'CLIENT_SECRET_BASIC' });
  const created = sim.createWorker(env.id, { clientSecret: WORKER_SECRET, tokenEndpointAuthMethod });
  worker = created;
  authBase = `${sim.authUrl('EU')}/${env.id}`;
  pingOneSecret = () => sim.readSecret(env.id, resource.id).secret;
  sim.faults.clear();
  ssm.reset();
  ssm
    .on(GetParameterCommand)
    .resolves({ Parameter: { Value: JSON.stringify({ ...created, tokenEndpointAuthMethod }) } });
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
    { id: created.clientId, secret: created.clientSecret },
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
}

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
  const pending = sm.versions[TOKEN]?.value;
  const extra: Sensitive[] = [...sim.issuedTokens(), pingOneSecret()];
  if (pending) extra.push(JSON.parse(pending).clientSecret as string);
  return findLeaks(text, [...sensitive, ...extra]).map((l) => `${l.value} as ${l.form}`);
}

describe('the encodings', () => {
  it('every encoding the redactor covers has an echo fault, and the other way round', () => {
    const redactor = TRANSPORT_ENCODINGS.map((e) => e.name).filter((n) => n !== 'as-sent');
    const echoed = ENCODED.map((e) => (e === 'hex-upper' ? 'hex' : e));
    expect([...new Set(echoed)].sort()).toEqual([...redactor].sort());
  });
});

describe.each(ENCODED)('an upstream that echoes the request as %s', (encoding) => {
  beforeEach(() => setUp('CLIENT_SECRET_BASIC'));

  it('the scan is real: the echo itself, unredacted, is caught in that encoding', async () => {
    sim.faults.echo({ route: 'token', status: 400, encoding });
    const response = await fetch(`${authBase}/as/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(worker.clientId, worker.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `grant_type=client_credentials&client_secret=${encodeURIComponent(WORKER_SECRET)}`,
    });
    const echoed = (await response.json()) as { error_description: string };
    output.stop();
    const credential = { id: worker.clientId, secret: WORKER_SECRET };
    expect(findLeaks(echoed.error_description, [credential])).toHaveLength(1);
    // …and by the forms of that encoding alone.
    const name = encoding === 'hex-upper' ? 'hex' : encoding;
    expect(findLeaks(echoed.error_description, [credential], { encodings: [name] })).toHaveLength(1);
  });

  it('createSecret: the worker token request (Basic) echoed: no worker secret anywhere', async () => {
    sim.faults.echo({ route: 'token', status: 400, encoding });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'token' && r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: the secret read echoed: no bearer token anywhere', async () => {
    sim.faults.echo({ route: 'secret', method: 'GET', status: 400, encoding });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.issuedTokens().length).toBeGreaterThan(0);
  });

  it('testSecret: the introspection with the new client secret echoed: no form of it anywhere', async () => {
    await step('createSecret');
    await step('setSecret');
    sim.faults.echo({ route: 'introspect', status: 400, count: 10, encoding });
    expect(await leaksOfFailing(() => step('testSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'introspect' && r.fault === 'echo:400')).toBe(true);
  });
});

describe.each(ENCODED)(
  'a worker sending its secret in the body (CLIENT_SECRET_POST), echoed as %s',
  (encoding) => {
    beforeEach(() => setUp('CLIENT_SECRET_POST'));

    it('createSecret: no worker secret in the logs or the returned error', async () => {
      sim.faults.echo({ route: 'token', status: 400, encoding });
      expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    });
  },
);
