import { describe, expect, it } from 'vitest';
import { licenceOfRequest } from '../../../lib/audit/licence.js';
import { limitedTransport, memoryBucketStore, sharedLimiter } from '../../../lib/audit/limiter.js';
import { ConfigurationError } from '../../../lib/errors.js';
import { DEFAULT_API_URL_TEMPLATE, DEFAULT_AUTH_URL_TEMPLATE } from '../../../lib/pingone/regions.js';
import type { Transport, TransportResponse } from '../../../lib/pingone/transport.js';
import { parseWorkers } from '../../../lib/pingone/workers.js';
import { Scheduler } from '../../../sim/kernel.js';

const START = Date.UTC(2026, 11, 1);
const ENV_A = '0a1b2c3d-0000-4000-8000-00000000000a';
const ENV_B = '0a1b2c3d-0000-4000-8000-00000000000b';
const ENV_C = '0a1b2c3d-0000-4000-8000-00000000000c';
const ORG = '5d3b2a10-1111-4111-8111-111111111111';

/** Two workers of one organization (each covering one environment) and a worker of another licence. */
function mapping(organization: string | undefined) {
  const org = organization === undefined ? {} : { organization };
  return {
    workers: parseWorkers(
      JSON.stringify([
        { name: 'eu-a', region: 'EU', parameter: '/w/a', environments: [ENV_A], ...org },
        { name: 'eu-b', region: 'EU', parameter: '/w/b', environments: [ENV_B], ...org },
        { name: 'eu-c', region: 'EU', parameter: '/w/c', environments: [ENV_C], organization: 'other-org' },
      ]),
      'PINGONE_WORKERS',
    ),
    defaultRegion: 'EU' as const,
    apiUrlTemplate: DEFAULT_API_URL_TEMPLATE,
    authUrlTemplate: DEFAULT_AUTH_URL_TEMPLATE,
  };
}

const api = (env: string) => `https://api.pingone.eu/v1/environments/${env}/resources/r/secret`;
const token = (env: string) => `https://auth.pingone.eu/${env}/as/token`;

function response(status: number, headers: Record<string, string> = {}): TransportResponse {
  return { status, ok: status < 400, headers: { get: (n) => headers[n.toLowerCase()] ?? null }, body: '' };
}

describe('the limiter bucket is keyed by PingOne organization (licence), not by worker', () => {
  it('PINGONE_WORKERS takes an optional organization per worker (lower-cased), and refuses a malformed one', () => {
    const [a] = mapping(ORG.toUpperCase()).workers;
    expect(a?.organization).toBe(ORG);
    expect(mapping(undefined).workers[0]?.organization).toBeUndefined();
    expect(() =>
      parseWorkers(
        JSON.stringify([
          { name: 'x', region: 'EU', parameter: '/w', environments: '*', organization: 'a b' },
        ]),
        'PINGONE_WORKERS',
      ),
    ).toThrow(ConfigurationError);
    expect(() =>
      parseWorkers(
        JSON.stringify([{ name: 'x', region: 'EU', parameter: '/w', environments: '*', organization: 7 }]),
        'PINGONE_WORKERS',
      ),
    ).toThrow(/worker 'x' has organization 7/);
  });

  it('two workers of one organization draw on one bucket (API calls and tokens alike); another licence on its own', () => {
    const licenceOf = licenceOfRequest(mapping(ORG));
    expect(licenceOf(api(ENV_A))).toBe(`org:${ORG}`);
    expect(licenceOf(api(ENV_B))).toBe(`org:${ORG}`);
    expect(licenceOf(token(ENV_B))).toBe(`org:${ORG}`);
    expect(licenceOf(api(ENV_C))).toBe('org:other-org');
    // Without an organization each worker is a licence of its own (the fallback, documented).
    const perWorker = licenceOfRequest(mapping(undefined));
    expect([perWorker(api(ENV_A)), perWorker(api(ENV_B))]).toEqual(['worker:eu-a', 'worker:eu-b']);
  });

  it("the region comes from the URL's host: a '*' worker per region, each of its own organization", () => {
    const licenceOf = licenceOfRequest({
      workers: parseWorkers(
        JSON.stringify([
          { name: 'eu', region: 'EU', parameter: '/w/eu', environments: '*', organization: 'org-eu' },
          { name: 'na', region: 'NA', parameter: '/w/na', environments: '*', organization: 'org-na' },
        ]),
        'PINGONE_WORKERS',
      ),
      defaultRegion: 'EU',
      apiUrlTemplate: DEFAULT_API_URL_TEMPLATE,
      authUrlTemplate: DEFAULT_AUTH_URL_TEMPLATE,
    });
    expect(licenceOf(`https://api.pingone.com/v1/environments/${ENV_A}/applications/x`)).toBe('org:org-na');
    expect(licenceOf(`https://auth.pingone.com/${ENV_A}/as/token`)).toBe('org:org-na');
    expect(licenceOf(`https://api.pingone.eu/v1/environments/${ENV_A}/applications/x`)).toBe('org:org-eu');
  });

  it('one 429 seen through one worker pauses the requests of the other worker of its organization, not another licence', async () => {
    const scheduler = new Scheduler(START);
    const store = memoryBucketStore();
    // Two Lambda containers (two limiters) on one store, as two distributed workers.
    const [first, second] = [0, 1].map(() =>
      sharedLimiter({
        store,
        requestsPerSecond: 100,
        now: scheduler.now,
        sleep: scheduler.sleep,
        random: () => 0.5,
      }),
    ) as [ReturnType<typeof sharedLimiter>, ReturnType<typeof sharedLimiter>];
    let refused = false;
    const inner: Transport = async () => {
      if (!refused) {
        refused = true;
        return response(429, { 'retry-after': '3' });
      }
      return response(200);
    };
    const licenceOf = licenceOfRequest(mapping(ORG));
    const viaFirst = limitedTransport(inner, {
      limiter: first,
      licenceOf,
      now: scheduler.now,
      random: () => 0.5,
    });
    const viaSecond = limitedTransport(inner, {
      limiter: second,
      licenceOf,
      now: scheduler.now,
      random: () => 0.5,
    });
    const get = (url: string) => ({ method: 'GET' as const, url, headers: {}, timeoutMs: 10_000 });
    const seen: Record<string, number> = {};
    let done = false;
    const work = (async () => {
      // Worker eu-a's environment answers 429 ...
      expect((await viaFirst(get(api(ENV_A)))).status).toBe(429);
      // ... so worker eu-b's environment (same organization) waits it out; the other licence does not.
      await Promise.all([
        viaSecond(get(api(ENV_B))).then(() => {
          seen.sameOrganization = scheduler.now() - START;
        }),
        viaSecond(get(api(ENV_C))).then(() => {
          seen.otherLicence = scheduler.now() - START;
        }),
      ]);
    })().finally(() => {
      done = true;
    });
    await scheduler.run(START + 60_000, () => (done ? 'done' : undefined));
    await work;
    expect(seen.sameOrganization).toBeGreaterThanOrEqual(3_000);
    expect(seen.otherLicence).toBeLessThan(100);
    expect([...store.items.keys()].sort()).toEqual([`org:${ORG}`, 'org:other-org']);
  });
});
