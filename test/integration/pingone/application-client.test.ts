import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OwnerNotRotatableError, PingOneApiError, PingOneNetworkError } from '../../../lib/errors.js';
import { JWT_BEARER_ASSERTION_TYPE } from '../../../lib/pingone/client-assertion.js';
import { PingOneHttpClient } from '../../../lib/pingone/http-client.js';
import { type Transport, TransportError } from '../../../lib/pingone/transport.js';
import type { SecretOwner } from '../../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../../lib/pingone/worker-credentials.js';
import { describeLeaks } from '../../support/leaks.js';
import { ScriptedServer } from '../../support/scripted-server.js';

/** The PingOne client's application calls: read, secret, the client_secret_jwt proof, the own-worker guard. */
const WORKER: WorkerCredentials = {
  environmentId: 'aaaaaaaa-0000-4000-8000-000000000001',
  clientId: 'dddddddd-0000-4000-8000-000000000004',
  clientSecret: 'worker-secret-value',
  region: 'EU',
  tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
};
const APP: SecretOwner = {
  kind: 'application',
  environmentId: 'bbbbbbbb-0000-4000-8000-000000000002',
  id: 'cccccccc-0000-4000-8000-000000000003',
  region: 'EU',
};
const APP_SECRET = 'app-secret-value-0123456789';
const INTROSPECT = /\/as\/introspect$/;

const server = new ScriptedServer();
let baseUrl: string;
let clock: number;

function client() {
  return new PingOneHttpClient({
    apiUrlTemplate: `${baseUrl}/{region}/v1`,
    authUrlTemplate: `${baseUrl}/{region}/auth`,
    workerCredentials: async () => WORKER,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    random: () => 0.5,
  });
}

const far = () => ({ deadline: clock + 60_000 });
const decode = (part: string | undefined) =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));

beforeAll(async () => {
  baseUrl = await server.start();
});
afterAll(() => server.stop());
beforeEach(() => {
  server.reset();
  clock = 1_800_000_000_000;
  server.on(/\/as\/token$/, [], () => ({ status: 200, body: { access_token: 't', expires_in: 3600 } }));
});

describe('application reads', () => {
  it('reads the application and its secret from the applications collection', async () => {
    server
      .on(/\/applications\/cccccccc[^/]*$/, [
        {
          status: 200,
          body: {
            id: APP.id,
            name: 'Web',
            protocol: 'OPENID_CONNECT',
            type: 'WEB_APP',
            tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
            grantTypes: ['AUTHORIZATION_CODE', 7],
            enabled: true,
          },
        },
      ])
      .on(/\/applications\/cccccccc[^/]*\/secret$/, [{ status: 200, body: { secret: APP_SECRET } }]);

    const application = await client().readApplication(APP, far());
    const state = await client().readSecret(APP, far());

    expect(application).toEqual({
      id: APP.id,
      name: 'Web',
      protocol: 'OPENID_CONNECT',
      type: 'WEB_APP',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
      grantTypes: ['AUTHORIZATION_CODE'],
      enabled: true,
    });
    expect(state).toEqual({ secret: APP_SECRET });
    expect(server.requests.filter((r) => !/token$/.test(r.path)).map((r) => r.path)).toEqual([
      `/eu/v1/environments/${APP.environmentId}/applications/${APP.id}`,
      `/eu/v1/environments/${APP.environmentId}/applications/${APP.id}/secret`,
    ]);
  });

  it('refuses a body without protocol', async () => {
    server.on(/\/applications\//, [{ status: 200, body: { id: APP.id, type: 'WEB_APP' } }]);
    await expect(client().readApplication(APP, far())).rejects.toThrow(/no id, protocol or type/);
  });
});

describe("the function's own worker application", () => {
  it.each([
    ['read the application', (c: PingOneHttpClient, o: SecretOwner) => c.readApplication(o, far())],
    ['read its secret', (c: PingOneHttpClient, o: SecretOwner) => c.readSecret(o, far())],
    [
      'regenerate its secret',
      (c: PingOneHttpClient, o: SecretOwner) => c.regenerateSecret(o, new Date(clock + 86_400_000), far()),
    ],
  ])('is refused before any request: %s', async (_name, call) => {
    const own: SecretOwner = { ...APP, id: WORKER.clientId.toUpperCase() };

    const error = await call(client(), own).catch((e) => e);

    expect(error).toBeInstanceOf(OwnerNotRotatableError);
    expect(error.message).toMatch(/is this function's own worker application/);
    expect(error.message).toMatch(/cut the function off/);
    expect(error.message).toMatch(/PingOne does not let a worker read its own application secret/);
    expect(describeLeaks(error.message, [WORKER.clientSecret])).toEqual([]);
    expect(server.requests).toEqual([]);
  });

  it('is not confused with a resource of the same id', async () => {
    server.on(/\/resources\//, [{ status: 200, body: { secret: 's' } }]);
    await expect(
      client().readSecret({ ...APP, kind: 'resource', id: WORKER.clientId }, far()),
    ).resolves.toEqual({
      secret: 's',
    });
  });
});

describe('introspection with CLIENT_SECRET_JWT', () => {
  it('sends an RFC 7523 assertion signed with the candidate secret, aud = the introspection endpoint', async () => {
    server.on(INTROSPECT, [{ status: 200, body: { active: false } }]);

    await expect(client().introspectWithSecret(APP, APP_SECRET, 'CLIENT_SECRET_JWT', far())).resolves.toBe(
      true,
    );

    const call = server.requests[0];
    const form = new URLSearchParams(call?.body);
    const assertion = form.get('client_assertion') ?? '';
    const [header, payload, signature] = assertion.split('.');
    expect(call?.headers.authorization).toBeUndefined();
    expect(form.get('client_assertion_type')).toBe(JWT_BEARER_ASSERTION_TYPE);
    expect(form.get('client_id')).toBe(APP.id);
    expect(form.get('client_secret')).toBeNull();
    expect(form.get('token')).toMatch(/^pingone-rotation-probe-/);
    expect(decode(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decode(payload)).toMatchObject({
      iss: APP.id,
      sub: APP.id,
      aud: `${baseUrl}/eu/auth/${APP.environmentId}/as/introspect`,
      iat: Math.floor(clock / 1000),
      exp: Math.floor(clock / 1000) + 60,
    });
    expect(signature).toBe(
      createHmac('sha256', APP_SECRET).update(`${header}.${payload}`).digest('base64url'),
    );
    expect(call?.body).not.toContain(APP_SECRET);
  });

  it('answers false on invalid_client', async () => {
    server.on(INTROSPECT, [{ status: 401, body: { error: 'invalid_client' } }]);
    await expect(client().introspectWithSecret(APP, APP_SECRET, 'CLIENT_SECRET_JWT', far())).resolves.toBe(
      false,
    );
  });

  it('builds a fresh assertion (new jti, iat, exp) for every retried attempt', async () => {
    server.on(
      INTROSPECT,
      [
        { status: 503, body: {} },
        { status: 429, headers: { 'retry-after': '2' } },
      ],
      () => ({
        status: 200,
        body: { active: false },
      }),
    );

    await expect(client().introspectWithSecret(APP, APP_SECRET, 'CLIENT_SECRET_JWT', far())).resolves.toBe(
      true,
    );

    const claims = server.requests.map((r) =>
      decode(new URLSearchParams(r.body).get('client_assertion')?.split('.')[1]),
    );
    expect(claims).toHaveLength(3);
    expect(new Set(claims.map((c) => c.jti)).size).toBe(3);
    expect(claims[2].iat).toBeGreaterThan(claims[0].iat);
  });

  it('does not treat a 400 other than invalid_client as a rejection', async () => {
    server.on(INTROSPECT, [{ status: 400, body: { error: 'invalid_request' } }]);
    await expect(
      client().introspectWithSecret(APP, APP_SECRET, 'CLIENT_SECRET_JWT', far()),
    ).rejects.toBeInstanceOf(PingOneApiError);
  });
});

describe('the client assertion is a registered credential', () => {
  it('a fragment of it quoted by a failing transport is redacted (shorter than any shape rule matches)', async () => {
    let fragment = '';
    const quoting: Transport = async (request) => {
      const assertion = new URLSearchParams(request.body).get('client_assertion') ?? '';
      // 20 characters from inside the signature: too short for the "random run" shape rule (24+), but they
      // hold one of the 16-character windows (every 8th offset of the assertion) a registered credential is
      // matched by, so only the registration can catch them.
      const signatureStart = assertion.lastIndexOf('.') + 1;
      const start = Math.ceil(signatureStart / 8) * 8;
      fragment = assertion.slice(start, start + 20);
      throw new TransportError(`upstream reset while sending ... ${fragment} ...`);
    };
    const c = new PingOneHttpClient({
      apiUrlTemplate: `${baseUrl}/{region}/v1`,
      authUrlTemplate: `${baseUrl}/{region}/auth`,
      workerCredentials: async () => WORKER,
      now: () => clock,
      sleep: async () => {},
      retry: { maxAttempts: 1 },
      transport: quoting,
    });

    const error = await c.introspectWithSecret(APP, APP_SECRET, 'CLIENT_SECRET_JWT', far()).catch((e) => e);

    expect(fragment).toHaveLength(20);
    expect(error).toBeInstanceOf(PingOneNetworkError);
    const text = `${error.message}\n${String(error.cause?.message)}\n${error.stack}\n${error.cause?.stack}`;
    expect(text).not.toContain(fragment);
    expect(text).toContain('[redacted]');
  });
});
