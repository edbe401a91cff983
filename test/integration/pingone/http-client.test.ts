import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  DeadlineExceededError,
  LedgerUnavailableError,
  PingOneApiError,
  PingOneNetworkError,
  WorkerAuthError,
} from '../../../lib/errors.js';
import {
  changeOutcome,
  DELETE_PREVIOUS_OPERATION,
  REGENERATE_OPERATION,
} from '../../../lib/pingone/change-outcome.js';
import { PingOneHttpClient } from '../../../lib/pingone/http-client.js';
import { type PingOneRegion, REGIONS } from '../../../lib/pingone/regions.js';
import { parseRetryAfter } from '../../../lib/pingone/responses.js';
import { NotSentError, nodeTransport, type Transport } from '../../../lib/pingone/transport.js';
import type { SecretOwner } from '../../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../../lib/pingone/worker-credentials.js';
import { describeLeaks } from '../../support/leaks.js';
import { ScriptedServer } from '../../support/scripted-server.js';

const WORKER: WorkerCredentials = {
  environmentId: 'aaaaaaaa-0000-4000-8000-000000000001',
  clientId: 'worker-client',
  clientSecret: 'worker-secret-value',
  region: 'NA',
  tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
};
const OWNER: SecretOwner = {
  kind: 'resource',
  environmentId: 'bbbbbbbb-0000-4000-8000-000000000002',
  id: 'cccccccc-0000-4000-8000-000000000003',
  region: 'NA',
};
const SECRET_PATH = /\/v1\/environments\/bbbbbbbb[^/]*\/resources\/cccccccc[^/]*\/secret$/;
const TOKEN_PATH = /\/as\/token$/;

const server = new ScriptedServer();
let baseUrl: string;
let clock: number;
let sleeps: number[];
let credentialReads: { forceFetch?: boolean }[];

function tokenResponse(token: string, expiresIn = 3600) {
  return { status: 200, body: { access_token: token, token_type: 'Bearer', expires_in: expiresIn } };
}

function client(overrides: Partial<ConstructorParameters<typeof PingOneHttpClient>[0]> = {}) {
  return new PingOneHttpClient({
    apiUrlTemplate: `${baseUrl}/{region}/v1`,
    authUrlTemplate: `${baseUrl}/{region}/auth`,
    workerCredentials: async (options) => {
      credentialReads.push(options ?? {});
      return WORKER;
    },
    now: () => clock,
    sleep: async (ms) => {
      sleeps.push(ms);
      clock += ms;
    },
    random: () => 0.5,
    ...overrides,
  });
}

const far = () => ({ deadline: clock + 60_000 });

beforeAll(async () => {
  baseUrl = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  clock = 1_800_000_000_000;
  sleeps = [];
  credentialReads = [];
});

describe('worker token', () => {
  it('uses client_credentials with Basic auth at the worker environment and caches the token', async () => {
    server
      .on(TOKEN_PATH, [tokenResponse('t-1')])
      .on(SECRET_PATH, [], () => ({ status: 200, body: { secret: 's' } }));
    const c = client();
    await c.readSecret(OWNER, far());
    await c.readSecret(OWNER, far());

    expect(server.count(TOKEN_PATH)).toBe(1);
    const tokenCall = server.requests[0];
    expect(tokenCall?.path).toBe(`/na/auth/${WORKER.environmentId}/as/token`);
    expect(tokenCall?.body).toBe('grant_type=client_credentials');
    expect(tokenCall?.headers.authorization).toBe(
      `Basic ${Buffer.from('worker-client:worker-secret-value').toString('base64')}`,
    );
    expect(server.requests[1]?.headers.authorization).toBe('Bearer t-1');
  });

  it('concurrent first calls share one token request; a failed one is not cached', async () => {
    server
      .on(TOKEN_PATH, [{ status: 400, body: { error: 'invalid_request' } }, tokenResponse('t-1')])
      .on(SECRET_PATH, [], () => ({ status: 200, body: { secret: 's' } }));
    const c = client();
    const failed = await Promise.allSettled([1, 2, 3].map(() => c.readSecret(OWNER, far())));
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(server.count(TOKEN_PATH)).toBe(1);
    await Promise.all([1, 2, 3, 4, 5].map(() => c.readSecret(OWNER, far())));
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.count(SECRET_PATH)).toBe(5);
  });

  it('sends the credentials in the body for CLIENT_SECRET_POST workers', async () => {
    server.on(TOKEN_PATH, [tokenResponse('t-1')]).on(SECRET_PATH, [{ status: 200, body: { secret: 's' } }]);
    const c = client({
      workerCredentials: async () => ({ ...WORKER, tokenEndpointAuthMethod: 'CLIENT_SECRET_POST' }),
    });
    await c.readSecret(OWNER, far());
    expect(server.requests[0]?.headers.authorization).toBeUndefined();
    expect(new URLSearchParams(server.requests[0]?.body).get('client_secret')).toBe('worker-secret-value');
  });

  it('fetches a new token shortly before expires_in', async () => {
    server.on(TOKEN_PATH, [tokenResponse('t-1', 3600), tokenResponse('t-2', 3600)]);
    server.on(SECRET_PATH, [], () => ({ status: 200, body: { secret: 's' } }));
    const c = client();
    await c.readSecret(OWNER, far());
    clock += 3_480_000;
    await c.readSecret(OWNER, far());
    expect(server.count(TOKEN_PATH)).toBe(1);
    clock += 65_000;
    await c.readSecret(OWNER, far());
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer t-2');
  });

  it('refreshes the token once on a 401 and repeats the call', async () => {
    server.on(TOKEN_PATH, [tokenResponse('stale'), tokenResponse('fresh')]);
    server.on(SECRET_PATH, [
      { status: 401, body: { id: 'req-1', code: 'ACCESS_FAILED', message: 'invalid token' } },
      { status: 200, body: { secret: 's' } },
    ]);
    await expect(client().readSecret(OWNER, far())).resolves.toEqual({ secret: 's' });
    expect(server.count(TOKEN_PATH)).toBe(2);
    expect(server.requests.at(-1)?.headers.authorization).toBe('Bearer fresh');
  });

  it('re-reads the worker parameter once when PingOne says invalid_client, then names the problem', async () => {
    server.on(TOKEN_PATH, [], () => ({
      status: 401,
      body: { error: 'invalid_client', error_description: 'bad' },
    }));
    const error = await client()
      .readSecret(OWNER, far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(WorkerAuthError);
    expect(error.message).toMatch(
      /check the worker parameter's clientId, clientSecret, environmentId and region/,
    );
    expect(describeLeaks(error.message, [WORKER.clientSecret])).toEqual([]);
    expect(credentialReads).toEqual([{}, { forceFetch: true }]);
    expect(server.count(TOKEN_PATH)).toBe(2);
  });
});

describe('retries of idempotent calls', () => {
  beforeEach(() => {
    server.on(TOKEN_PATH, [], () => tokenResponse('t'));
  });

  it('honours Retry-After on 429', async () => {
    server.on(SECRET_PATH, [
      {
        status: 429,
        headers: { 'retry-after': '2' },
        body: { id: 'r', code: 'REQUEST_LIMITED', message: 'slow down' },
      },
      { status: 200, body: { secret: 's' } },
    ]);
    await expect(client().readSecret(OWNER, far())).resolves.toEqual({ secret: 's' });
    // Never earlier than Retry-After, plus jitter over a window as long as it: random() = 0.5 → 2 s + 1 s.
    expect(sleeps).toEqual([3_000]);
  });

  it("keeps waiting through PingOne's 429s past the attempt budget, within the deadline", async () => {
    const limited = {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { id: 'r', code: 'REQUEST_LIMITED', message: 'slow down' },
    };
    server.on(SECRET_PATH, [
      ...Array.from({ length: 8 }, () => limited),
      { status: 200, body: { secret: 's' } },
    ]);
    await expect(client().readSecret(OWNER, far())).resolves.toEqual({ secret: 's' });
    expect(sleeps).toHaveLength(8);
  });

  it('still stops after the attempt budget when the failures are not rate limits', async () => {
    server.on(SECRET_PATH, [], () => ({ status: 503, body: { id: 'r', code: 'X', message: 'down' } }));
    const error = await client()
      .readSecret(OWNER, far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(PingOneApiError);
    expect(sleeps).toHaveLength(5);
  });

  it('two containers told the same Retry-After do not come back at the same instant', async () => {
    const limited = {
      status: 429,
      headers: { 'retry-after': '1' },
      body: { id: 'r', code: 'REQUEST_LIMITED', message: 'slow down' },
    };
    server.on(SECRET_PATH, [limited, limited, { status: 200, body: { secret: 's' } }], () => ({
      status: 200,
      body: { secret: 's' },
    }));
    // Two containers, refused at the same moment, each with its own random source.
    const retriesAt: number[] = [];
    const container = (random: () => number) => {
      let now = clock;
      return client({
        now: () => now,
        random,
        sleep: async (ms) => {
          now += ms;
          retriesAt.push(now);
        },
      });
    };
    await Promise.all([
      container(() => 0.1).readSecret(OWNER, far()),
      container(() => 0.8).readSecret(OWNER, far()),
    ]);
    expect(retriesAt).toHaveLength(2);
    const [a, b] = retriesAt as [number, number];
    expect(a).not.toBe(b);
    expect(Math.abs(a - b)).toBeGreaterThanOrEqual(500);
    for (const at of retriesAt) expect(at - clock).toBeGreaterThanOrEqual(1_000);
  });

  it("cuts the jitter to fit the deadline, never the server's Retry-After", async () => {
    server.on(SECRET_PATH, [
      {
        status: 429,
        headers: { 'retry-after': '2' },
        body: { id: 'r', code: 'REQUEST_LIMITED', message: 'x' },
      },
      { status: 200, body: { secret: 's' } },
    ]);
    // 2 s + 0.9 · 2 s = 3.8 s would end past the deadline (3 s, less 250 ms for the attempt itself).
    const c = client({ random: () => 0.9 });
    await expect(c.readSecret(OWNER, { deadline: clock + 3_000 })).resolves.toEqual({ secret: 's' });
    expect(sleeps).toEqual([2_750]);
  });

  it('retries 5xx with growing, jittered backoff, then succeeds', async () => {
    server.on(SECRET_PATH, [
      { status: 503, body: {} },
      { status: 502, body: {} },
      { status: 500, body: { code: 'UNEXPECTED_ERROR' } },
      {
        status: 200,
        body: { secret: 's', previous: { secret: 'p', expiresAt: '2030-01-01T00:00:00.000Z' } },
      },
    ]);
    await expect(client().readSecret(OWNER, far())).resolves.toEqual({
      secret: 's',
      previous: { secret: 'p', expiresAt: '2030-01-01T00:00:00.000Z' },
    });
    // Full jitter over [125 ms, ceiling], ceilings 250, 500, 1000 ms; random() = 0.5 → the middle.
    expect(sleeps).toEqual([188, 313, 563]);
  });

  it('does not retry a 4xx, and surfaces PingOne’s code, message, details and request id', async () => {
    server.on(SECRET_PATH, [
      {
        status: 404,
        body: {
          id: '5a1b2c3d-request',
          code: 'NOT_FOUND',
          message: 'The request could not be completed. The requested resource was not found.',
          details: [{ code: 'INVALID_VALUE', target: 'resourceId', message: 'unknown' }],
        },
      },
    ]);
    const error = await client()
      .readSecret(OWNER, far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(PingOneApiError);
    expect(error).toMatchObject({ status: 404, pingOneCode: 'NOT_FOUND', requestId: '5a1b2c3d-request' });
    expect(error.message).toContain('HTTP 404 NOT_FOUND: The request could not be completed');
    expect(error.message).toContain('INVALID_VALUE resourceId unknown');
    expect(error.message).toContain('[PingOne request id 5a1b2c3d-request]');
    expect(server.count(SECRET_PATH)).toBe(1);
  });

  it('repeats the regenerate POST only after a 401, with a fresh token (a 401 is refused before processing)', async () => {
    server.on(
      SECRET_PATH,
      [
        { status: 401, body: { id: 'req-401', code: 'ACCESS_FAILED', message: 'expired' } },
        { status: 200, body: { secret: 'new', previous: { secret: 'old', expiresAt: 'x' } } },
      ],
      undefined,
      'POST',
    );
    await expect(client().regenerateSecret(OWNER, new Date(clock + 60_000), far())).resolves.toMatchObject({
      secret: 'new',
    });
    expect(server.count(SECRET_PATH, 'POST')).toBe(2);
    expect(server.count(TOKEN_PATH)).toBe(2);
  });

  /** A transport that sends everything but the regenerate POST, which it reports as never sent (`error`). */
  function regenerateNotSent(error: NotSentError): Transport {
    const inner = nodeTransport();
    return async (request) => {
      if (request.method === 'POST' && !TOKEN_PATH.test(new URL(request.url).pathname)) throw error;
      return inner(request);
    };
  }

  it('reports a POST its transport provably did not send (no turn in a rate budget) as not started', async () => {
    server.on(TOKEN_PATH, [tokenResponse('t-1')]);
    const transport = regenerateNotSent(
      new NotSentError(
        "not sent: licence x's PingOne rate budget had no turn for it within its 10000 ms timeout",
      ),
    );
    const error = await client({ transport })
      .regenerateSecret(OWNER, new Date(clock + 60_000), far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(changeOutcome(error, REGENERATE_OPERATION)).toBe('not-sent');
    expect(server.count(SECRET_PATH, 'POST')).toBe(0);
  });

  it("reports a POST whose rate limiter failed before sending as that limiter's error, not started", async () => {
    server.on(TOKEN_PATH, [tokenResponse('t-1')]);
    const unavailable = new LedgerUnavailableError(
      'The PingOne rate limiter could not be used: TimeoutError',
    );
    const transport = regenerateNotSent(
      new NotSentError(`not sent: ${unavailable.message}`, { cause: unavailable }),
    );
    const error = await client({ transport })
      .regenerateSecret(OWNER, new Date(clock + 60_000), far())
      .catch((e) => e);
    expect(error).toBe(unavailable);
    expect(changeOutcome(error, REGENERATE_OPERATION)).toBe('not-sent');
    expect(server.count(SECRET_PATH, 'POST')).toBe(0);
  });

  it('never retries the regenerate POST', async () => {
    server.on(SECRET_PATH, [{ status: 503, body: { code: 'UNEXPECTED_ERROR' } }], undefined, 'POST');
    const error = await client()
      .regenerateSecret(OWNER, new Date(clock + 60_000), far())
      .catch((e) => e);
    expect(error).toMatchObject({ status: 503 });
    expect(server.count(SECRET_PATH, 'POST')).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("does not repeat the regenerate POST after a 401 that is not PingOne's (a proxy's)", async () => {
    server.on(SECRET_PATH, [{ status: 401, text: 'Unauthorized' }], undefined, 'POST');
    const error = await client()
      .regenerateSecret(OWNER, new Date(clock + 60_000), far())
      .catch((e) => e);
    expect(error).toMatchObject({ status: 401, fromPingOne: false, operation: 'regenerate secret' });
    expect(server.count(SECRET_PATH, 'POST')).toBe(1);
  });

  it.each([
    ['PingOne', { id: 'r-1', code: 'UNEXPECTED_ERROR', message: 'The service is unavailable.' }, true],
    ['a proxy (its own JSON)', { message: 'Service Unavailable' }, false],
    ['a proxy (HTML)', '<html><body>503 Service Temporarily Unavailable</body></html>', false],
    ['a proxy (plain text)', 'upstream connect error or disconnect/reset before headers', false],
  ])('says whether a 503 is PingOne’s own answer: %s', async (_who, body, fromPingOne) => {
    server.on(
      SECRET_PATH,
      [
        typeof body === 'string'
          ? { status: 503, text: body, headers: { 'content-type': 'text/html' } }
          : { status: 503, body },
      ],
      undefined,
      'POST',
    );
    const error = await client()
      .regenerateSecret(OWNER, new Date(clock + 60_000), far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(PingOneApiError);
    expect(error).toMatchObject({ status: 503, fromPingOne, operation: 'regenerate secret' });
    expect(error.message.includes("not PingOne's error document")).toBe(!fromPingOne);
    expect(changeOutcome(error, REGENERATE_OPERATION)).toBe(fromPingOne ? 'not-applied' : 'unknown');
    expect(server.count(SECRET_PATH, 'POST')).toBe(1);
  });

  it.each([
    [503, { status: 503, body: { id: 'r', code: 'UNEXPECTED_ERROR', message: 'unavailable' } }],
    [
      429,
      {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { id: 'r', code: 'REQUEST_LIMITED', message: 'slow' },
      },
    ],
    [502, { status: 502, text: 'Bad Gateway' }],
  ] as const)('never repeats the previous-secret DELETE (here after a %i)', async (status, answer) => {
    server.on(SECRET_PATH, [answer, { status: 204 }], undefined, 'DELETE');
    const error = await client()
      .deletePreviousSecret(OWNER, far())
      .catch((e) => e);
    expect(error).toMatchObject({ status, operation: 'delete previous secret' });
    expect(server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('a reset during the DELETE is reported once, as a network error of that operation', async () => {
    server.on(SECRET_PATH, [{ status: 204, destroy: true }], undefined, 'DELETE');
    const error = await client()
      .deletePreviousSecret(OWNER, far())
      .catch((e) => e);
    expect(error).toBeInstanceOf(PingOneNetworkError);
    expect(changeOutcome(error, DELETE_PREVIOUS_OPERATION)).toBe('unknown');
    expect(server.requests.filter((r) => r.method === 'DELETE')).toHaveLength(1);
  });

  it('deletes the previous secret with one DELETE and no body', async () => {
    server.on(SECRET_PATH, [{ status: 204 }], undefined, 'DELETE');
    await client().deletePreviousSecret(OWNER, far());
    const deletes = server.requests.filter((r) => r.method === 'DELETE' && SECRET_PATH.test(r.path));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.headers.authorization).toBe('Bearer t');
    expect(deletes[0]?.body).toBe('');
  });

  it('sends previous.expiresAt in the regenerate body', async () => {
    server.on(SECRET_PATH, [
      { status: 200, body: { secret: 'new', previous: { secret: 'old', expiresAt: 'x' } } },
    ]);
    const expiresAt = new Date('2030-05-06T07:08:09.000Z');
    await client().regenerateSecret(OWNER, expiresAt, far());
    const post = server.requests.find((r) => r.method === 'POST' && SECRET_PATH.test(r.path));
    expect(JSON.parse(post?.body ?? '')).toEqual({ previous: { expiresAt: '2030-05-06T07:08:09.000Z' } });
    expect(post?.headers['content-type']).toBe('application/json');
  });
});

describe('deadline', () => {
  beforeEach(() => {
    server.on(TOKEN_PATH, [], () => tokenResponse('t'));
  });

  it('accepts a fractional deadline (AbortSignal.timeout needs whole milliseconds)', async () => {
    server.on(SECRET_PATH, [{ status: 200, body: { secret: 's' } }]);
    await expect(client().readSecret(OWNER, { deadline: clock + 5_000.67 })).resolves.toEqual({
      secret: 's',
    });
  });

  it('does not start a call with too little time left', async () => {
    const error = await client()
      .readSecret(OWNER, { deadline: clock + 100 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(server.requests).toHaveLength(0);
  });

  it('does not wait for a Retry-After that ends past the deadline', async () => {
    server.on(SECRET_PATH, [
      { status: 429, headers: { 'retry-after': '10' }, body: { code: 'REQUEST_LIMITED' } },
    ]);
    const error = await client()
      .readSecret(OWNER, { deadline: clock + 5_000 })
      .catch((e) => e);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.message).toMatch(/no time left to retry/);
    expect(sleeps).toEqual([]);
  });

  it('cuts a slow response off at the deadline (real time)', async () => {
    server.on(SECRET_PATH, [{ status: 200, delayMs: 3_000, body: { secret: 's' } }]);
    const c = client({ now: Date.now, sleep: (ms) => new Promise((r) => setTimeout(r, ms)) });
    const started = Date.now();
    const error = await c.readSecret(OWNER, { deadline: Date.now() + 800 }).catch((e) => e);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error).toBeInstanceOf(DeadlineExceededError);
    expect(error.cause).toBeInstanceOf(PingOneNetworkError);
  });
});

describe('introspection', () => {
  it.each([
    ['CLIENT_SECRET_BASIC', 200, true],
    ['CLIENT_SECRET_POST', 200, true],
    ['CLIENT_SECRET_BASIC', 401, false],
  ] as const)('authenticates as the resource with %s (HTTP %i → %s)', async (method, status, expected) => {
    server.on(/\/as\/introspect$/, [
      { status, body: status === 200 ? { active: false } : { error: 'invalid_client' } },
    ]);
    await expect(client().introspectWithSecret(OWNER, 'resource-secret', method, far())).resolves.toBe(
      expected,
    );
    const call = server.requests[0];
    expect(call?.path).toBe(`/na/auth/${OWNER.environmentId}/as/introspect`);
    const form = new URLSearchParams(call?.body);
    expect(form.get('token')).toMatch(/^pingone-rotation-probe-/);
    if (method === 'CLIENT_SECRET_BASIC') {
      expect(call?.headers.authorization).toBe(
        `Basic ${Buffer.from(`${OWNER.id}:resource-secret`).toString('base64')}`,
      );
    } else {
      expect(call?.headers.authorization).toBeUndefined();
      expect([form.get('client_id'), form.get('client_secret')]).toEqual([OWNER.id, 'resource-secret']);
    }
  });
});

describe('regions', () => {
  const hosts: Record<PingOneRegion, string> = {
    NA: 'pingone.com',
    EU: 'pingone.eu',
    CA: 'pingone.ca',
    AU: 'pingone.com.au',
    SG: 'pingone.sg',
    AP: 'pingone.asia',
  };

  it.each(REGIONS)('calls the %s hosts', async (region) => {
    const urls: string[] = [];
    const fakeTransport: Transport = async (request) => {
      urls.push(request.url);
      const body = request.url.endsWith('/as/token')
        ? { access_token: 't', expires_in: 3600 }
        : { secret: 's' };
      return { status: 200, ok: true, headers: { get: () => null }, body: JSON.stringify(body) };
    };
    const c = new PingOneHttpClient({
      apiUrlTemplate: 'https://api.pingone.{tld}/v1',
      authUrlTemplate: 'https://auth.pingone.{tld}',
      workerCredentials: async () => ({ ...WORKER, region }),
      transport: fakeTransport,
    });
    await c.readSecret({ ...OWNER, region }, { deadline: Date.now() + 10_000 });
    expect(urls).toEqual([
      `https://auth.${hosts[region]}/${WORKER.environmentId}/as/token`,
      `https://api.${hosts[region]}/v1/environments/${OWNER.environmentId}/resources/${OWNER.id}/secret`,
    ]);
  });
});

describe('parseRetryAfter', () => {
  it('reads seconds and HTTP dates', () => {
    expect(parseRetryAfter('3', 0)).toBe(3_000);
    expect(parseRetryAfter(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter('soon', 0)).toBeUndefined();
  });
});
