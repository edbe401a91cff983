import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRotationHandler } from '../../lib/handler.js';
import { nodeTransport, type Transport } from '../../lib/pingone/transport.js';
import { rotatingSecret, ssmMock, unboundLedger, workerParameter } from '../support/aws-mocks.js';
import { OutputCapture } from '../support/capture-output.js';
import { describeLeaks } from '../support/leaks.js';
import type { SecretsManagerModel } from '../support/secrets-manager-model.js';
import { testContext, useSimulator } from '../support/simulator.js';

const ENV_ID = '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const RES_ID = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const TOKEN = '11111111-2222-4333-8444-555555555555';
const ROTATION_TOKEN = 'rt-sensitive-0123456789abcdef0123456789abcdef';
const CLIENT_SECRET = 'current-client-secret-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ';
const WORKER_SECRET = 'worker-secret-0123456789abcdef';

const ssm = ssmMock;
let sm: SecretsManagerModel;
let fetchCalls: { method: string; url: string }[];
const output = new OutputCapture();

const spyTransport: Transport = async (request) => {
  fetchCalls.push({ method: request.method, url: request.url });
  return { status: 500, ok: false, headers: { get: () => null }, body: '{"code":"UNEXPECTED_ERROR"}' };
};

const context = testContext;

function handlerWith(env: Record<string, string>) {
  return createRotationHandler({
    env: { PINGONE_WORKER_PARAMETER: '/pingone/worker', ROTATION_LEDGER_TABLE: 'rotation-ledger', ...env },
    secretsManager: sm.client,
    ssm: new SSMClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    transport: spyTransport,
    sleep: async () => {},
  });
}

const event = (overrides: Record<string, unknown> = {}) => ({
  Step: 'createSecret',
  SecretId: 'pingone/app',
  ClientRequestToken: TOKEN,
  RotationToken: ROTATION_TOKEN,
  ...overrides,
});

/** Secrets, bearer tokens and RotationTokens seen by this file's runs: none may appear in the logs. */
const sensitive = new Set([ROTATION_TOKEN, CLIENT_SECRET, WORKER_SECRET]);
const realTransport = nodeTransport();

beforeAll(() => output.start());
afterAll(() => {
  output.stop();
});

beforeEach(() => {
  sm = rotatingSecret({ environmentId: ENV_ID, resourceId: RES_ID, clientSecret: CLIENT_SECRET }, TOKEN);
  unboundLedger();
  workerParameter(
    JSON.stringify({ environmentId: ENV_ID, clientId: 'worker', clientSecret: WORKER_SECRET }),
    {
      Name: '/pingone/worker',
      Type: 'SecureString',
    },
  );
  fetchCalls = [];
  output.clear();
});

afterEach(() => sm.restore());

/** Asserts the invocation failed with `message`, and changed nothing in Secrets Manager or PingOne. */
async function expectRefused(promise: Promise<unknown>, message: RegExp): Promise<void> {
  await expect(promise).rejects.toThrow(message);
  expect(sm.writes()).toBe(0);
  expect(fetchCalls.filter((c) => c.method === 'POST' && c.url.includes('/secret'))).toEqual([]);
  const failure = output.records.find((r) => r.message === 'rotation step failed');
  expect(failure).toBeDefined();
}

describe('rotation handler: bad input changes nothing', () => {
  it.each([
    ['a non-object event', 'not an event', /not a Secrets Manager rotation event/],
    [
      'an event without ClientRequestToken',
      { Step: 'createSecret', SecretId: 'pingone/app' },
      /missing ClientRequestToken/,
    ],
    ['an unknown step', event({ Step: 'rotateEverything' }), /unknown Step 'rotateEverything'/],
  ])('refuses %s', async (_name, raw, message) => {
    await expectRefused(handlerWith({})(raw as never, context()), message);
    expect(fetchCalls).toEqual([]);
  });

  it.each([
    [{ PINGONE_WORKER_PARAMETER: '' }, /PINGONE_WORKER_PARAMETER is not set/],
    [
      { PREVIOUS_SECRET_TTL: '45d' },
      /PREVIOUS_SECRET_TTL is '45d', out of range: it must be written <n>m, <n>h or <n>d, from 1m to 30d/,
    ],
    [{ PINGONE_REGION: 'MARS' }, /PINGONE_REGION is 'MARS'/],
    [{ PINGONE_API_URL: 'http://pingone.example.com/v1' }, /PINGONE_API_URL must use https/],
  ])('refuses bad configuration %j', async (env, message) => {
    await expectRefused(handlerWith(env)(event(), context()), message);
    expect(fetchCalls).toEqual([]);
  });

  it('refuses a malformed worker parameter without quoting it', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: `{"clientSecret":"${WORKER_SECRET}"` } });
    await expectRefused(
      handlerWith({})(event(), context()),
      /Worker parameter '\/pingone\/worker' is not valid JSON/,
    );
    expect(fetchCalls).toEqual([]);
  });

  it('refuses a missing worker parameter, naming it', async () => {
    const notFound = Object.assign(new Error('Parameter not found'), { name: 'ParameterNotFound' });
    ssm.on(GetParameterCommand).rejects(notFound);
    await expectRefused(
      handlerWith({})(event(), context()),
      /Worker parameter '\/pingone\/worker' does not exist/,
    );
  });

  it('refuses a malformed secret value', async () => {
    sm.versions.v1 = { stages: ['AWSCURRENT'], value: '{"environmentId": 1}' };
    await expectRefused(
      handlerWith({})(event(), context()),
      /AWSCURRENT is malformed: environmentId must be a UUID/,
    );
    expect(fetchCalls).toEqual([]);
  });

  it('refuses a secret outside PINGONE_ALLOWED_ENVIRONMENTS before any PingOne call', async () => {
    await expectRefused(
      handlerWith({ PINGONE_ALLOWED_ENVIRONMENTS: '7a1b2c3d-0000-4000-8000-000000000001' })(
        event(),
        context(),
      ),
      /not in PINGONE_ALLOWED_ENVIRONMENTS/,
    );
    expect(fetchCalls).toEqual([]);
  });

  it('surfaces PingOne errors and stores nothing', async () => {
    await expectRefused(
      handlerWith({ PINGONE_API_URL: 'http://127.0.0.1:9/v1', PINGONE_AUTH_URL: 'http://127.0.0.1:9' })(
        event(),
        context(),
      ),
      /PingOne worker token: no time left to retry|HTTP 500/,
    );
  });

  it('logs the failure once, with the step keys and without the event', async () => {
    await handlerWith({ PREVIOUS_SECRET_TTL: 'x' })(event(), context()).catch(() => {});
    const failures = output.records.filter((r) => r.level === 'ERROR');
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({
      message: 'rotation step failed',
      errorCode: 'Configuration',
      secretId: 'pingone/app',
      step: 'createSecret',
      versionId: TOKEN,
    });
    expect(output.text).not.toContain('RotationToken');
  });

  it('emits EMF metrics for the failed step', async () => {
    await handlerWith({ PREVIOUS_SECRET_TTL: 'x' })(event(), context()).catch(() => {});
    const emf = output.records.find((r) => r._aws !== undefined && 'StepFailed' in r);
    expect(emf).toMatchObject({ step: 'createSecret', StepFailed: 1 });
  });
});

describe('rotation handler: a full rotation against a loopback PingOne', () => {
  const sim = useSimulator();

  it('rotates through all four steps and logs each with its keys, no secret material', async () => {
    const env = sim.createEnvironment({ region: 'EU' });
    const resource = sim.createResource(env.id);
    const worker = sim.createWorker(env.id);
    sensitive.add(resource.secret as string);
    sensitive.add(worker.clientSecret);
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(worker) } });
    sm.versions.v1 = {
      stages: ['AWSCURRENT'],
      value: JSON.stringify({
        environmentId: env.id,
        resourceId: resource.id,
        clientSecret: resource.secret,
        region: 'EU',
      }),
    };
    const bearerTokens: string[] = [];
    const handler = createRotationHandler({
      env: {
        PINGONE_WORKER_PARAMETER: '/pingone/worker',
        ROTATION_LEDGER_TABLE: 'rotation-ledger',
        PINGONE_API_URL: sim.apiUrlTemplate,
        PINGONE_AUTH_URL: sim.authUrlTemplate,
      },
      secretsManager: sm.client,
      ssm: new SSMClient({ region: 'us-east-1' }),
      dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
      transport: async (request) => {
        const auth = request.headers.authorization;
        if (auth?.startsWith('Bearer ')) bearerTokens.push(auth.slice(7));
        return realTransport(request);
      },
    });

    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await handler(event({ Step }) as never, context());
    }

    const rotated = JSON.parse(sm.current().value).clientSecret as string;
    sensitive.add(rotated);
    for (const token of bearerTokens) sensitive.add(token);
    expect(bearerTokens.length).toBeGreaterThan(0);
    expect(rotated).toBe(sim.readSecret(env.id, resource.id).secret);
    expect(sim.readSecret(env.id, resource.id).previous?.secret).toBe(resource.secret);
    const successes = output.records.filter((r) => r.message === 'rotation step succeeded');
    expect(successes.map((r) => [r.step, r.outcome, r.versionId, r.secretId])).toEqual([
      ['createSecret', 'regenerated', TOKEN, 'pingone/app'],
      ['setSecret', 'verified', TOKEN, 'pingone/app'],
      ['testSecret', 'tested', TOKEN, 'pingone/app'],
      ['finishSecret', 'promoted', TOKEN, 'pingone/app'],
    ]);
    const emf = output.records.filter((r) => r._aws !== undefined && 'SecretRegenerated' in r);
    expect(emf).toHaveLength(1);
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', () => {
  const text = output.captured;
  // The capture saw the function's logs, failing and succeeding runs alike…
  expect(text).toContain('"message":"rotation step failed"');
  expect(text).toContain('"message":"rotation step succeeded"');
  // …and none of them holds a secret value, a bearer token, a worker credential or a RotationToken.
  expect(describeLeaks(text, [...sensitive])).toEqual([]);
});
