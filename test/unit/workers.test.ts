import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../lib/config.js';
import { ConfigurationError, EnvironmentNotCoveredError, OwnerNotRotatableError } from '../../lib/errors.js';
import { ownerOf } from '../../lib/owner.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../lib/pingone/worker-credentials.js';
import { parseWorkers, WorkerDirectory, workersForEnvironment } from '../../lib/pingone/workers.js';
import { parseSecretValue } from '../../lib/secret-value.js';

const EU_ENV = '11111111-1111-4111-8111-111111111111';
const NA_ENV = '22222222-2222-4222-8222-222222222222';
const OTHER_ENV = '33333333-3333-4333-8333-333333333333';
const RES = '44444444-4444-4444-8444-444444444444';
const BASE = { ROTATION_LEDGER_TABLE: 'ledger', PINGONE_API_URL: 'https://api.example/{region}' };

const WORKERS = JSON.stringify([
  { name: 'eu', region: 'EU', parameter: '/pingone/worker-eu', environments: '*' },
  { name: 'na', region: 'NA', secret: 'pingone/worker-na', environments: [NA_ENV.toUpperCase()] },
]);

function secretFor(environmentId: string, region?: string) {
  return parseSecretValue(
    JSON.stringify({
      environmentId,
      resourceId: RES,
      clientSecret: 'x'.repeat(64),
      ...(region ? { region } : {}),
    }),
    'the secret',
  );
}

describe('PINGONE_WORKERS', () => {
  const config = loadConfig({ ...BASE, PINGONE_WORKERS: WORKERS });

  it('parses workers with their region, credential store and environments', () => {
    expect(config.workerParameter).toBeUndefined();
    expect(config.workers).toEqual([
      {
        name: 'eu',
        region: 'EU',
        credential: { store: 'ssm', parameter: '/pingone/worker-eu' },
        environments: '*',
      },
      {
        name: 'na',
        region: 'NA',
        credential: { store: 'secretsmanager', secretId: 'pingone/worker-na' },
        environments: [NA_ENV],
      },
    ]);
  });

  it('keeps the single worker as the simple case', () => {
    const single = loadConfig({ ...BASE, PINGONE_WORKER_PARAMETER: '/pingone/worker' });
    expect(single.workers).toEqual([
      {
        name: '/pingone/worker',
        region: undefined,
        credential: { store: 'ssm', parameter: '/pingone/worker' },
        environments: '*',
      },
    ]);
    expect(ownerOf(secretFor(NA_ENV, 'EU'), single).region).toBe('EU');
  });

  it.each([
    ['not JSON', '[', /is not valid JSON/],
    ['empty', '[]', /is not a non-empty JSON array/],
    [
      'bad region',
      '[{"name":"a","region":"XX","parameter":"/p","environments":"*"}]',
      /worker 'a' has region "XX"/,
    ],
    [
      'both stores',
      '[{"name":"a","region":"EU","parameter":"/p","secret":"s","environments":"*"}]',
      /exactly one of "parameter"/,
    ],
    [
      'bad environment',
      '[{"name":"a","region":"EU","parameter":"/p","environments":["nope"]}]',
      /environment UUIDs/,
    ],
    [
      'duplicate names',
      '[{"name":"a","region":"EU","parameter":"/p","environments":"*"},{"name":"a","region":"NA","parameter":"/q","environments":"*"}]',
      /used twice/,
    ],
  ])('refuses %s, naming PINGONE_WORKERS', (_, text, message) => {
    const error = (() => {
      try {
        parseWorkers(text, 'PINGONE_WORKERS');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as ConfigurationError).message).toMatch(/^PINGONE_WORKERS /);
    expect((error as ConfigurationError).message).toMatch(message);
    expect((error as ConfigurationError).setting).toBe('workers');
  });

  it('refuses both PINGONE_WORKERS and PINGONE_WORKER_PARAMETER, but a flag wins over the other variable', () => {
    expect(() => loadConfig({ ...BASE, PINGONE_WORKERS: WORKERS, PINGONE_WORKER_PARAMETER: '/p' })).toThrow(
      /PINGONE_WORKER_PARAMETER and PINGONE_WORKERS are both set/,
    );
    const flagged = loadConfig({ ...BASE, PINGONE_WORKERS: WORKERS }, { workerParameter: '/p' });
    expect(flagged.workers.map((w) => w.name)).toEqual(['/p']);
  });

  it("calls an owner in its covering worker's region: a listed environment wins over '*'", () => {
    expect(ownerOf(secretFor(NA_ENV), config).region).toBe('NA');
    expect(ownerOf(secretFor(EU_ENV), config).region).toBe('EU');
    expect(workersForEnvironment(config, NA_ENV, undefined).candidates.map((w) => w.name)).toEqual(['na']);
  });

  it('refuses an environment no worker covers (or covered in another region), naming it and the workers', () => {
    const narrow = loadConfig({
      ...BASE,
      PINGONE_WORKERS: JSON.stringify([
        { name: 'na', region: 'NA', parameter: '/p', environments: [NA_ENV] },
      ]),
    });
    const refusal = (() => {
      try {
        ownerOf(secretFor(OTHER_ENV), narrow);
      } catch (e) {
        return e as Error;
      }
    })();
    expect(refusal).toBeInstanceOf(EnvironmentNotCoveredError);
    expect(refusal?.message).toMatch(new RegExp(`^No worker covers PingOne environment ${OTHER_ENV}\\.`));
    expect(refusal?.message).toMatch(/The workers this function knows: na \(NA, environments 22222222-/);
    expect(refusal?.message).toMatch(/Nothing was sent to PingOne/);
    // The secret says EU, but the environment's worker is in NA: no EU worker covers it.
    expect(() => ownerOf(secretFor(NA_ENV, 'EU'), narrow)).toThrow(EnvironmentNotCoveredError);
  });
});

describe('WorkerDirectory', () => {
  const cred = (clientId: string, region: 'EU' | 'NA'): WorkerCredentials => ({
    environmentId: EU_ENV,
    clientId,
    clientSecret: `secret-of-${clientId}`,
    region,
    tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
  });
  const pair = loadConfig({
    ...BASE,
    PINGONE_WORKERS: JSON.stringify([
      { name: 'a', region: 'EU', secret: 'worker-a', environments: '*' },
      { name: 'b', region: 'EU', secret: 'worker-b', environments: '*' },
    ]),
  });
  const A = '55555555-5555-4555-8555-555555555555';
  const B = '66666666-6666-4666-8666-666666666666';
  const directory = new WorkerDirectory(pair, (spec) => async () => cred(spec.name === 'a' ? A : B, 'EU'));
  const app = (id: string): SecretOwner => ({ kind: 'application', environmentId: EU_ENV, id, region: 'EU' });

  it("rotates a worker's own application through the other worker of its organization", async () => {
    expect((await directory.workerFor(app(A))).name).toBe('b');
    expect((await directory.workerFor(app(B))).name).toBe('a');
    expect((await directory.workerFor({ ...app(RES), kind: 'resource' })).name).toBe('a');
  });

  it('refuses a worker with no partner (OwnerNotRotatable stays)', async () => {
    const alone = new WorkerDirectory(
      loadConfig({
        ...BASE,
        PINGONE_WORKERS: JSON.stringify([{ name: 'a', region: 'EU', secret: 's', environments: '*' }]),
      }),
      () => async () => cred(A, 'EU'),
    );
    await expect(alone.workerFor(app(A))).rejects.toThrow(OwnerNotRotatableError);
    await expect(alone.workerFor(app(A))).rejects.toThrow(/this function's own worker application/);
  });

  it('refuses a worker whose credential names another region than its configuration', async () => {
    const wrong = new WorkerDirectory(pair, () => async () => cred(A, 'NA'));
    await expect(wrong.workerFor(app(RES))).rejects.toThrow(/configured in region EU .* names region NA/);
  });

  it("never sends the single worker's token to another region's API: refused before any request", async () => {
    const requests: string[] = [];
    const client = new PingOneHttpClient({
      apiUrlTemplate: 'https://api.example/{region}',
      authUrlTemplate: 'https://auth.example/{region}',
      workerCredentials: async () => cred(A, 'NA'),
      transport: async (request) => {
        requests.push(request.url);
        throw new Error('no request may be sent');
      },
    });
    await expect(
      client.readSecret(
        { kind: 'resource', environmentId: EU_ENV, id: RES, region: 'EU' },
        { deadline: Date.now() + 5_000 },
      ),
    ).rejects.toThrow(EnvironmentNotCoveredError);
    expect(requests).toEqual([]);
  });
});
