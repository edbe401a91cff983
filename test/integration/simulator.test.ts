import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import {
  type IntrospectEndpointAuthMethod,
  SimulatorClock,
  startPingOneSimulator,
  type WorkerCredentials,
} from '../../local/pingone-simulator/index.js';
import { basicAuth, useSimulator } from '../support/simulator.js';

interface SecretBody {
  environment: { id: string };
  secret: string;
  previous?: { secret: string; expiresAt: string; lastUsed?: string };
}

interface ErrorBody {
  id: string;
  code: string;
  message: string;
  details?: { code: string; target?: string; message: string; innerError?: Record<string, unknown> }[];
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SECRET_FORMAT = /^[A-Za-z0-9\-._~]{64,}$/;
const NOT_FOUND_MESSAGE = 'The request could not be completed. The requested resource was not found.';

// A frozen clock: time moves only when a test moves it, so range boundaries are exact.
const clock = new SimulatorClock({ frozen: true });
const sim = useSimulator({ clock, reset: 'faults-and-requests' });

function requestToken(
  worker: WorkerCredentials,
  via: 'basic' | 'post' = 'basic',
  grantType = 'client_credentials',
) {
  const form = new URLSearchParams({ grant_type: grantType });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (via === 'basic') {
    headers.authorization = basicAuth(worker.clientId, worker.clientSecret);
  } else {
    form.set('client_id', worker.clientId);
    form.set('client_secret', worker.clientSecret);
  }
  return fetch(`${sim.authUrl(worker.region)}/${worker.environmentId}/as/token`, {
    method: 'POST',
    headers,
    body: form.toString(),
  });
}

async function tokenFor(worker: WorkerCredentials): Promise<string> {
  const response = await requestToken(
    worker,
    worker.tokenEndpointAuthMethod === 'CLIENT_SECRET_POST' ? 'post' : 'basic',
  );
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

function callApi(
  accessToken: string,
  method: string,
  region: PingOneRegion,
  path: string,
  body?: string,
  signal?: AbortSignal,
): Promise<Response> {
  return fetch(`${sim.apiUrl(region)}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${accessToken}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body }),
    ...(signal ? { signal } : {}),
  });
}

function introspect(
  region: PingOneRegion,
  environmentId: string,
  credentials: { via: 'basic' | 'post' | 'none'; clientId: string; secret?: string },
): Promise<Response> {
  const form = new URLSearchParams({ token: 'not-a-real-token' });
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (credentials.via === 'basic') {
    headers.authorization = basicAuth(credentials.clientId, credentials.secret ?? '');
  } else {
    form.set('client_id', credentials.clientId);
    if (credentials.via === 'post') form.set('client_secret', credentials.secret ?? '');
  }
  return fetch(`${sim.authUrl(region)}/${environmentId}/as/introspect`, {
    method: 'POST',
    headers,
    body: form.toString(),
  });
}

/** A fresh environment with a CUSTOM resource, a worker and its access token. */
async function newWorld(
  options: { region?: PingOneRegion; introspectEndpointAuthMethod?: IntrospectEndpointAuthMethod } = {},
) {
  const region = options.region ?? 'NA';
  const environment = sim.createEnvironment({ region });
  const resource = sim.createResource(environment.id, {
    introspectEndpointAuthMethod: options.introspectEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC',
  });
  const worker = sim.createWorker(environment.id);
  const accessToken = await tokenFor(worker);
  const secretPath = `/environments/${environment.id}/resources/${resource.id}/secret`;
  const rotate = (body?: string) => callApi(accessToken, 'POST', region, secretPath, body);
  const readSecret = () => callApi(accessToken, 'GET', region, secretPath);
  return { region, environment, resource, worker, accessToken, secretPath, rotate, readSecret };
}

function previousFor(ms: number): string {
  return JSON.stringify({ previous: { expiresAt: new Date(clock.now().getTime() + ms).toISOString() } });
}

describe('token endpoint', () => {
  it('issues a bearer token to a worker authenticating with Basic', async () => {
    // Prepare
    const environment = sim.createEnvironment({ region: 'EU' });
    const worker = sim.createWorker(environment.id);

    // Act
    const response = await requestToken(worker, 'basic');

    // Assess
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 3600 });
    expect(sim.requests).toEqual([
      expect.objectContaining({
        route: 'token',
        region: 'EU',
        environmentId: environment.id,
        clientAuth: 'basic',
      }),
    ]);
  });

  it('issues a token to a CLIENT_SECRET_POST worker authenticating in the body', async () => {
    const environment = sim.createEnvironment({ region: 'CA' });
    const worker = sim.createWorker(environment.id, { tokenEndpointAuthMethod: 'CLIENT_SECRET_POST' });

    const response = await requestToken(worker, 'post');

    expect(response.status).toBe(200);
    expect(sim.requests[0]).toMatchObject({ status: 200, clientAuth: 'post' });
  });

  it('form-decodes Basic credentials, so secrets with reserved characters work', async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id, {
      clientId: 'worker one',
      clientSecret: 'p@ss:w%rd+ &x',
    });

    expect((await requestToken(worker, 'basic')).status).toBe(200);
  });

  it('rejects a wrong secret with 401 invalid_client', async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id);

    const response = await requestToken({ ...worker, clientSecret: `${worker.clientSecret}x` });

    expect(response.status).toBe(401);
    expect(await response.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
  });

  it('rejects the authentication method the worker is not configured for', async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id, { tokenEndpointAuthMethod: 'CLIENT_SECRET_POST' });

    const response = await requestToken(worker, 'basic');

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('rejects a grant other than client_credentials with 400 unsupported_grant_type', async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id);

    const response = await requestToken(worker, 'basic', 'password');

    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: string }).error).toBe('unsupported_grant_type');
  });

  it('answers 404 for the token endpoint of an environment through another region', async () => {
    const environment = sim.createEnvironment({ region: 'AU' });
    const worker = sim.createWorker(environment.id);

    const response = await requestToken({ ...worker, region: 'SG' });

    expect(response.status).toBe(404);
    expect(((await response.json()) as ErrorBody).code).toBe('NOT_FOUND');
  });

  it('lets a token expire by the simulator clock: the API then answers 401 ACCESS_FAILED/INVALID_TOKEN', async () => {
    const world = await newWorld();
    expect((await world.readSecret()).status).toBe(200);

    clock.advance(HOUR);
    const response = await world.readSecret();

    expect(response.status).toBe(401);
    const body = (await response.json()) as ErrorBody;
    expect(body.code).toBe('ACCESS_FAILED');
    expect(body.details?.[0]?.code).toBe('INVALID_TOKEN');
  });

  it('invalidates every issued token on revokeTokens()', async () => {
    const world = await newWorld();

    sim.revokeTokens();

    expect((await world.readSecret()).status).toBe(401);
    expect((await callApi(await tokenFor(world.worker), 'GET', 'NA', world.secretPath)).status).toBe(200);
  });

  it("refuses a token at another region's API with 401 INVALID_TOKEN, and records the use", async () => {
    const home = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(home.id, { environments: [home.id] });
    const accessToken = await tokenFor(worker);
    sim.clearRequests();

    const response = await callApi(accessToken, 'GET', 'AP', `/environments/${home.id}`);

    expect(response.status).toBe(401);
    expect(((await response.json()) as ErrorBody).details?.[0]?.code).toBe('INVALID_TOKEN');
    expect(sim.crossRegionTokenUses()).toEqual([
      expect.objectContaining({
        region: 'AP',
        status: 401,
        crossRegionToken: { issuedIn: 'NA', usedIn: 'AP' },
      }),
    ]);
    expect((await callApi(accessToken, 'GET', 'NA', `/environments/${home.id}`)).status).toBe(200);
    expect(sim.crossRegionTokenUses()).toHaveLength(1);
  });

  it("answers 403 with PingOne's error document for another organization's environment", async () => {
    const home = sim.createEnvironment({ region: 'EU' });
    const worker = sim.createWorker(home.id);
    const elsewhere = sim.createEnvironment({ region: 'EU', organizationId: 'another-organization' });

    const own = await callApi(await tokenFor(worker), 'GET', 'EU', `/environments/${home.id}`);
    const other = await callApi(await tokenFor(worker), 'GET', 'EU', `/environments/${elsewhere.id}`);

    expect(own.status).toBe(200);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({
      id: expect.any(String),
      code: 'ACCESS_FAILED',
      message: expect.any(String),
    });
    expect(() => sim.createEnvironment({ region: 'NA', organizationId: 'another-organization' })).toThrow(
      /organization another-organization lives in region EU/,
    );
  });
});

describe('Management API: environments and resources', () => {
  it('reads an environment', async () => {
    const world = await newWorld({ region: 'EU' });

    const response = await callApi(world.accessToken, 'GET', 'EU', `/environments/${world.environment.id}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: world.environment.id,
      name: world.environment.name,
      region: 'EU',
    });
  });

  it('reads a custom resource with its introspection auth method', async () => {
    const world = await newWorld({ introspectEndpointAuthMethod: 'CLIENT_SECRET_POST' });

    const response = await callApi(
      world.accessToken,
      'GET',
      'NA',
      `/environments/${world.environment.id}/resources/${world.resource.id}`,
    );

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      id: world.resource.id,
      name: expect.any(String),
      type: 'CUSTOM',
      introspectEndpointAuthMethod: 'CLIENT_SECRET_POST',
      audience: expect.any(String),
      accessTokenValiditySeconds: 3600,
      createdAt: clock.now().toISOString(),
      updatedAt: clock.now().toISOString(),
      environment: { id: world.environment.id },
    });
  });

  it('answers 404 NOT_FOUND through another region, for the environment and its secret', async () => {
    const world = await newWorld({ region: 'EU' });
    // A worker of another region that names the environment: its own region's token, the wrong region's path.
    const outsider = sim.createWorker(
      sim.createEnvironment({ region: 'CA', organizationId: world.environment.id }).id,
      {
        environments: [world.environment.id],
      },
    );
    const token = await tokenFor(outsider);

    const environment = await callApi(token, 'GET', 'CA', `/environments/${world.environment.id}`);
    const secret = await callApi(token, 'GET', 'CA', world.secretPath);

    expect(environment.status).toBe(404);
    expect(secret.status).toBe(404);
    expect(((await secret.json()) as ErrorBody).code).toBe('NOT_FOUND');
  });

  it('answers 403 ACCESS_FAILED to a worker without access to the environment', async () => {
    const world = await newWorld();
    const other = sim.createEnvironment({ region: 'NA' });
    const limited = sim.createWorker(world.environment.id, { environments: [other.id] });

    const response = await callApi(await tokenFor(limited), 'GET', 'NA', world.secretPath);

    expect(response.status).toBe(403);
    const body = (await response.json()) as ErrorBody;
    expect(body).toMatchObject({
      code: 'ACCESS_FAILED',
      message: 'The request could not be completed. You do not have access to this resource.',
      details: [expect.objectContaining({ code: 'INSUFFICIENT_PERMISSIONS' })],
    });
    expect((await callApi(await tokenFor(limited), 'GET', 'NA', `/environments/${other.id}`)).status).toBe(
      200,
    );
  });

  it('answers 401 without a bearer token', async () => {
    const world = await newWorld();

    const response = await fetch(`${sim.apiUrl('NA')}${world.secretPath}`);

    expect(response.status).toBe(401);
    expect(((await response.json()) as ErrorBody).code).toBe('ACCESS_FAILED');
  });

  it('answers 404 for an unknown route and 405 for a wrong method', async () => {
    const world = await newWorld();

    const unknown = await callApi(
      world.accessToken,
      'GET',
      'NA',
      `/environments/${world.environment.id}/users`,
    );
    const wrongMethod = await callApi(world.accessToken, 'PUT', 'NA', world.secretPath, '{}');

    expect(unknown.status).toBe(404);
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get('allow')).toBe('GET, POST, DELETE');
  });

  it('puts the correlation-id header into every error body as its id', async () => {
    const world = await newWorld();

    const response = await callApi(world.accessToken, 'GET', 'NA', `${world.secretPath}x`);
    const body = (await response.json()) as ErrorBody;

    expect(body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(response.headers.get('correlation-id')).toBe(body.id);
  });
});

describe('Management API: resource secret', () => {
  it('reads the current secret with no previous one', async () => {
    const world = await newWorld();

    const response = await world.readSecret();

    expect(response.status).toBe(200);
    const body = (await response.json()) as SecretBody;
    expect(body).toMatchObject({ environment: { id: world.environment.id }, secret: world.resource.secret });
    expect(body.previous).toBeUndefined();
    expect(body.secret).toMatch(SECRET_FORMAT);
  });

  it('regenerates and keeps the old secret as previous until expiresAt, without lastUsed', async () => {
    const world = await newWorld();
    const expiresAt = new Date(clock.now().getTime() + 7 * DAY);

    const response = await world.rotate(JSON.stringify({ previous: { expiresAt: expiresAt.toISOString() } }));

    expect(response.status).toBe(200);
    const body = (await response.json()) as SecretBody;
    expect(body.secret).toMatch(SECRET_FORMAT);
    expect(body.secret).not.toBe(world.resource.secret);
    expect(body.previous).toEqual({ secret: world.resource.secret, expiresAt: expiresAt.toISOString() });
    expect(await (await world.readSecret()).json()).toEqual(body);
  });

  it('has one previous slot: a second rotation overwrites it and the first secret stops working', async () => {
    const world = await newWorld();
    const first = world.resource.secret;
    const second = ((await (await world.rotate(previousFor(DAY))).json()) as SecretBody).secret;

    const third = (await (await world.rotate(previousFor(DAY))).json()) as SecretBody;

    expect(third.previous?.secret).toBe(second);
    const firstAttempt = await introspect('NA', world.environment.id, {
      via: 'basic',
      clientId: world.resource.id,
      secret: first,
    });
    expect(firstAttempt.status).toBe(401);
  });

  it.each([
    ['an empty body', ''],
    ['{}', '{}'],
    ['previous: null', '{"previous":null}'],
  ])('drops the old secret at once when the body is %s', async (_name, body) => {
    const world = await newWorld();
    await world.rotate(previousFor(DAY));

    const response = await world.rotate(body);

    expect(response.status).toBe(200);
    expect(((await response.json()) as SecretBody).previous).toBeUndefined();
    expect(sim.readSecret(world.environment.id, world.resource.id).previous).toBeUndefined();
  });

  it('stops returning the previous secret once the clock passes expiresAt', async () => {
    const world = await newWorld();
    await world.rotate(previousFor(10 * MINUTE));

    clock.advance(10 * MINUTE - 1);
    expect(sim.readSecret(world.environment.id, world.resource.id).previous).toBeDefined();
    clock.advance(1);

    expect(sim.readSecret(world.environment.id, world.resource.id).previous).toBeUndefined();
    const fresh = await callApi(await tokenFor(world.worker), 'GET', 'NA', world.secretPath);
    expect(((await fresh.json()) as SecretBody).previous).toBeUndefined();
  });

  it('accepts expiresAt exactly 1 minute and exactly 30 days from now', async () => {
    const world = await newWorld();

    expect((await world.rotate(previousFor(MINUTE))).status).toBe(200);
    expect((await world.rotate(previousFor(30 * DAY))).status).toBe(200);
  });

  it.each([
    ['less than 1 minute ahead', () => previousFor(MINUTE - 1), 'OUT_OF_RANGE'],
    ['more than 30 days ahead', () => previousFor(30 * DAY + 1), 'OUT_OF_RANGE'],
    ['in the past', () => previousFor(-HOUR), 'OUT_OF_RANGE'],
    ['not a date', () => '{"previous":{"expiresAt":"tomorrow"}}', 'INVALID_VALUE'],
    ['a date without a time', () => '{"previous":{"expiresAt":"2030-01-01"}}', 'INVALID_VALUE'],
    ['an impossible date', () => '{"previous":{"expiresAt":"2030-02-30T00:00:00Z"}}', 'INVALID_VALUE'],
    ['a number', () => '{"previous":{"expiresAt":1893456000000}}', 'INVALID_VALUE'],
    ['missing', () => '{"previous":{}}', 'REQUIRED_VALUE'],
  ])('refuses expiresAt %s with 400 INVALID_DATA and changes nothing', async (_name, body, detailCode) => {
    const world = await newWorld();
    await world.rotate(previousFor(DAY));
    const before = sim.readSecret(world.environment.id, world.resource.id);

    const response = await world.rotate(body());

    expect(response.status).toBe(400);
    const error = (await response.json()) as ErrorBody;
    expect(error).toMatchObject({
      code: 'INVALID_DATA',
      details: [
        expect.objectContaining({
          code: detailCode,
          target: 'previous.expiresAt',
          innerError: expect.any(Object),
        }),
      ],
    });
    expect(sim.readSecret(world.environment.id, world.resource.id)).toEqual(before);
  });

  it('refuses malformed JSON with 400 INVALID_REQUEST and changes nothing', async () => {
    const world = await newWorld();

    const response = await world.rotate('{"previous":');

    expect(response.status).toBe(400);
    expect(((await response.json()) as ErrorBody).code).toBe('INVALID_REQUEST');
    expect(sim.readSecret(world.environment.id, world.resource.id).secret).toBe(world.resource.secret);
  });

  it('deletes the previous secret with 204, and answers 204 again when there is none', async () => {
    const world = await newWorld();
    await world.rotate(previousFor(DAY));

    const first = await callApi(world.accessToken, 'DELETE', 'NA', world.secretPath);
    const second = await callApi(world.accessToken, 'DELETE', 'NA', world.secretPath);

    expect([first.status, second.status]).toEqual([204, 204]);
    expect(await first.text()).toBe('');
    expect(sim.readSecret(world.environment.id, world.resource.id).previous).toBeUndefined();
  });

  it.each(['OPENID_CONNECT', 'PINGONE_API'] as const)(
    'answers 404 NOT_FOUND on every secret method for a %s resource',
    async (type) => {
      const world = await newWorld();
      const builtIn = sim.createResource(world.environment.id, { type });
      const path = `/environments/${world.environment.id}/resources/${builtIn.id}`;

      const resource = await callApi(world.accessToken, 'GET', 'NA', path);
      const secretCalls = await Promise.all(
        ['GET', 'POST', 'DELETE'].map((method) =>
          callApi(world.accessToken, method, 'NA', `${path}/secret`, method === 'POST' ? '{}' : undefined),
        ),
      );

      expect(resource.status).toBe(200);
      expect(await resource.json()).toMatchObject({ type });
      expect(secretCalls.map((response) => response.status)).toEqual([404, 404, 404]);
      expect(await secretCalls[0]?.json()).toMatchObject({ code: 'NOT_FOUND', message: NOT_FOUND_MESSAGE });
      expect(builtIn.secret).toBeUndefined();
    },
  );

  it('answers 404 NOT_FOUND with PingOne’s message for an unknown resource or environment', async () => {
    const world = await newWorld();

    const unknownResource = await callApi(
      world.accessToken,
      'GET',
      'NA',
      `/environments/${world.environment.id}/resources/${randomUUID()}/secret`,
    );
    const unknownEnvironment = await callApi(
      world.accessToken,
      'GET',
      'NA',
      `/environments/${randomUUID()}/resources/${world.resource.id}/secret`,
    );

    expect(unknownResource.status).toBe(404);
    expect(await unknownResource.json()).toMatchObject({ code: 'NOT_FOUND', message: NOT_FOUND_MESSAGE });
    expect(unknownEnvironment.status).toBe(404);
  });

  it('reflects an out-of-band regeneration (drift) in GET', async () => {
    const world = await newWorld();
    const expiresAt = new Date(clock.now().getTime() + HOUR);

    const state = sim.regenerateOutOfBand(world.environment.id, world.resource.id, {
      previousExpiresAt: expiresAt,
    });

    const body = (await (await world.readSecret()).json()) as SecretBody;
    expect(body.secret).toBe(state.secret);
    expect(body.previous).toEqual({ secret: world.resource.secret, expiresAt: expiresAt.toISOString() });
  });
});

describe('introspection as the resource', () => {
  it.each([
    ['CLIENT_SECRET_BASIC', 'basic'],
    ['CLIENT_SECRET_POST', 'post'],
  ] as const)('with %s: current and previous secrets authenticate, others get 401', async (method, via) => {
    // Prepare
    const world = await newWorld({ introspectEndpointAuthMethod: method });
    const original = world.resource.secret;
    const rotated = ((await (await world.rotate(previousFor(DAY))).json()) as SecretBody).secret;
    const clientId = world.resource.id;
    const envId = world.environment.id;

    // Act
    const current = await introspect('NA', envId, { via, clientId, secret: rotated });
    const afterCurrent = sim.readSecret(envId, clientId).previous?.lastUsed;
    clock.advance(5 * MINUTE);
    const previous = await introspect('NA', envId, { via, clientId, secret: original });
    const wrong = await introspect('NA', envId, { via, clientId, secret: `${rotated}x` });
    const otherMethod = await introspect('NA', envId, {
      via: via === 'basic' ? 'post' : 'basic',
      clientId,
      secret: rotated,
    });

    // Assess
    expect(current.status).toBe(200);
    expect(await current.json()).toEqual({ active: false });
    expect(afterCurrent).toBeUndefined();
    expect(previous.status).toBe(200);
    expect(sim.readSecret(envId, clientId).previous?.lastUsed).toEqual(clock.now());
    const body = (await (
      await callApi(await tokenFor(world.worker), 'GET', 'NA', world.secretPath)
    ).json()) as SecretBody;
    expect(body.previous?.lastUsed).toBe(clock.now().toISOString());
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ error: 'invalid_client', error_description: expect.any(String) });
    expect(otherMethod.status).toBe(401);
    expect(sim.requests.filter((r) => r.route === 'introspect').map((r) => r.clientAuth)).toEqual([
      via,
      via,
      via,
      via === 'basic' ? 'post' : 'basic',
    ]);
  });

  it('does not accept an expired previous secret', async () => {
    const world = await newWorld();
    await world.rotate(previousFor(2 * MINUTE));
    clock.advance(2 * MINUTE);

    const response = await introspect('NA', world.environment.id, {
      via: 'basic',
      clientId: world.resource.id,
      secret: world.resource.secret,
    });

    expect(response.status).toBe(401);
  });

  it('with NONE checks no secret at all', async () => {
    const world = await newWorld({ introspectEndpointAuthMethod: 'NONE' });

    const response = await introspect('NA', world.environment.id, {
      via: 'none',
      clientId: world.resource.id,
    });

    expect(response.status).toBe(200);
    expect(sim.requests.at(-1)).toMatchObject({ clientAuth: 'none', resourceId: world.resource.id });
  });

  it('answers 401 for an unknown client and 404 through another region', async () => {
    const world = await newWorld({ region: 'SG' });
    const credentials = { via: 'basic' as const, clientId: world.resource.id, secret: world.resource.secret };

    const unknown = await introspect('SG', world.environment.id, { ...credentials, clientId: randomUUID() });
    const wrongRegion = await introspect('EU', world.environment.id, credentials);

    expect(unknown.status).toBe(401);
    expect(wrongRegion.status).toBe(404);
  });

  it('reports even a live worker token inactive: its audience is not the resource', async () => {
    const world = await newWorld();
    const form = new URLSearchParams({ token: world.accessToken });

    const response = await fetch(`${sim.authUrl('NA')}/${world.environment.id}/as/introspect`, {
      method: 'POST',
      headers: {
        authorization: basicAuth(world.resource.id, world.resource.secret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: form.toString(),
    });

    expect(await response.json()).toEqual({ active: false });
  });
});

describe('fault injection', () => {
  it('failNext 429 answers REQUEST_LIMITED with Retry-After and then lets requests through', async () => {
    const world = await newWorld();
    sim.faults.failNext({ route: 'secret', method: 'GET', status: 429, retryAfterSeconds: 2 });

    const limited = await world.readSecret();
    const next = await world.readSecret();

    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toMatchObject({
      code: 'REQUEST_LIMITED',
      details: [{ code: 'LIMIT_EXCEEDED', innerError: { retryAfter: 2 } }],
    });
    expect(next.status).toBe(200);
    expect(sim.requests.map((r) => r.fault)).toEqual([undefined, 'failNext:429', undefined]);
  });

  it('failNext 503 on the regenerate does not change the secret', async () => {
    const world = await newWorld();
    sim.faults.failNext({ route: 'secret', method: 'POST', status: 503 });

    const response = await world.rotate(previousFor(DAY));

    expect(response.status).toBe(503);
    expect(((await response.json()) as ErrorBody).code).toBe('UNEXPECTED_ERROR');
    expect(sim.readSecret(world.environment.id, world.resource.id)).toEqual({
      secret: world.resource.secret,
    });
  });

  it('failNext matches by environment and applies count times, with a custom body if given', async () => {
    const world = await newWorld();
    const other = await newWorld();
    sim.faults.failNext({
      route: 'secret',
      environmentId: world.environment.id,
      status: 500,
      count: 2,
      body: { oops: 1 },
    });

    const otherResponse = await other.readSecret();
    const first = await world.readSecret();
    const second = await world.readSecret();
    const third = await world.readSecret();

    expect([otherResponse.status, first.status, second.status, third.status]).toEqual([200, 500, 500, 200]);
    expect(await first.json()).toEqual({ oops: 1 });
    expect(sim.faults.pending()).toEqual([]);
  });

  it('failNext on the token endpoint answers in OAuth form', async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id);
    sim.faults.failNext({ route: 'token', status: 401 });

    const response = await requestToken(worker);

    expect(response.status).toBe(401);
    expect(((await response.json()) as { error: string }).error).toBe('invalid_client');
  });

  it('commitThenFail commits the regenerate, then answers 502', async () => {
    const world = await newWorld();
    sim.faults.commitThenFail({ route: 'secret', status: 502 });

    const response = await world.rotate(previousFor(DAY));

    expect(response.status).toBe(502);
    const state = sim.readSecret(world.environment.id, world.resource.id);
    expect(state.secret).not.toBe(world.resource.secret);
    expect(state.previous?.secret).toBe(world.resource.secret);
    expect(sim.requests.at(-1)).toMatchObject({
      route: 'secret',
      method: 'POST',
      status: 502,
      fault: 'commitThenFail:502',
    });
  });

  it('commitThenFail with drop commits, then resets the connection without a response', async () => {
    const world = await newWorld();
    sim.faults.commitThenFail({ route: 'secret', drop: true });

    await expect(world.rotate(previousFor(DAY))).rejects.toThrow();

    expect(sim.readSecret(world.environment.id, world.resource.id).previous?.secret).toBe(
      world.resource.secret,
    );
    expect(sim.requests.at(-1)).toMatchObject({ status: 0, fault: 'commitThenFail:drop' });
  });

  it('commitThenFail waits for a request that succeeds (a 401 does not use it up)', async () => {
    const world = await newWorld();
    sim.faults.commitThenFail({ route: 'secret' });

    const refused = await callApi('stale-token', 'POST', 'NA', world.secretPath, '{}');
    const failed = await world.rotate('{}');

    expect([refused.status, failed.status]).toEqual([401, 502]);
  });

  it('delay commits first and answers late, so a client that times out has still rotated', async () => {
    const world = await newWorld();
    sim.faults.delay({ route: 'secret', method: 'POST', ms: 400 });

    await expect(
      callApi(world.accessToken, 'POST', 'NA', world.secretPath, previousFor(DAY), AbortSignal.timeout(100)),
    ).rejects.toThrow();

    expect(sim.readSecret(world.environment.id, world.resource.id).previous?.secret).toBe(
      world.resource.secret,
    );
    expect(sim.requests.at(-1)).toMatchObject({ status: 200, fault: 'delay:400ms' });
  });

  it('delay holds a response back for the given time', async () => {
    const world = await newWorld();
    sim.faults.delay({ route: 'secret', ms: 200 });

    const started = performance.now();
    const response = await world.readSecret();

    expect(response.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
  });

  it('matches introspection faults by the introspecting resource', async () => {
    const world = await newWorld();
    sim.faults.failNext({ route: 'introspect', resourceId: world.resource.id, status: 500 });

    const response = await introspect('NA', world.environment.id, {
      via: 'basic',
      clientId: world.resource.id,
      secret: world.resource.secret,
    });

    expect(response.status).toBe(500);
  });

  it('clear() removes every pending rule', () => {
    sim.faults.failNext({ route: 'secret', status: 500 });
    sim.faults.delay({ route: 'token', ms: 10 });

    sim.faults.clear();

    expect(sim.faults.pending()).toEqual([]);
  });
});

describe('request record', () => {
  it('records each request without any secret, token or Authorization header', async () => {
    // Prepare
    const world = await newWorld({ introspectEndpointAuthMethod: 'CLIENT_SECRET_POST' });
    const rotated = ((await (await world.rotate(previousFor(DAY))).json()) as SecretBody).secret;

    // Act
    await introspect('NA', world.environment.id, {
      via: 'post',
      clientId: world.resource.id,
      secret: rotated,
    });
    await world.readSecret();

    // Assess
    expect(sim.requests).toEqual([
      expect.objectContaining({ method: 'POST', route: 'token', status: 200, clientAuth: 'basic' }),
      expect.objectContaining({
        method: 'POST',
        path: `/na/api/v1${world.secretPath}`,
        route: 'secret',
        region: 'NA',
        environmentId: world.environment.id,
        resourceId: world.resource.id,
        status: 200,
        clientAuth: 'bearer',
      }),
      expect.objectContaining({
        route: 'introspect',
        resourceId: world.resource.id,
        status: 200,
        clientAuth: 'post',
      }),
      expect.objectContaining({ method: 'GET', route: 'secret', status: 200 }),
    ]);
    const recorded = JSON.stringify(sim.requests);
    for (const secretValue of [
      world.resource.secret,
      rotated,
      world.worker.clientSecret,
      world.accessToken,
    ]) {
      expect(recorded).not.toContain(secretValue);
    }
    expect(recorded).not.toMatch(/Basic |Bearer /);
    expect(sim.count({ route: 'secret' })).toBe(2);
    expect(sim.count({ method: 'post', route: 'secret' })).toBe(1);
  });

  it('records unknown routes and clears on clearRequests()', async () => {
    await fetch(`${sim.baseUrl}/nowhere`);

    expect(sim.requests).toEqual([expect.objectContaining({ route: 'unknown', status: 404 })]);
    sim.clearRequests();
    expect(sim.requests).toEqual([]);
  });
});

describe('admin API', () => {
  async function admin(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${sim.adminUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });
  }

  it('sets up a world, moves the clock, injects a fault and lists requests', async () => {
    const environment = (await (await admin('POST', '/environments', { region: 'eu' })).json()) as {
      id: string;
    };
    const resource = (await (
      await admin('POST', `/environments/${environment.id}/resources`, {})
    ).json()) as {
      id: string;
      secret: string;
    };
    const worker = (await (
      await admin('POST', `/environments/${environment.id}/workers`, {})
    ).json()) as WorkerCredentials;
    expect(worker.region).toBe('EU');
    const secretPath = `/environments/${environment.id}/resources/${resource.id}/secret`;

    const regenerated = await admin('POST', secretPath, {
      previousExpiresAt: new Date(clock.now().getTime() + HOUR).toISOString(),
    });
    expect(((await regenerated.json()) as SecretBody).previous?.secret).toBe(resource.secret);
    const before = clock.now().getTime();
    const advanced = (await (await admin('POST', '/clock/advance', { ms: HOUR })).json()) as { now: string };
    expect(Date.parse(advanced.now) - before).toBe(HOUR);
    expect(((await (await admin('GET', secretPath)).json()) as SecretBody).previous).toBeUndefined();

    expect((await admin('POST', '/faults/fail-next', { route: 'secret', status: 503 })).status).toBe(204);
    expect(await (await admin('GET', '/faults')).json()).toEqual([
      { kind: 'failNext', fault: { route: 'secret', status: 503 }, remaining: 1 },
    ]);
    expect((await callApi(await tokenFor(worker), 'GET', 'EU', secretPath)).status).toBe(503);

    const requests = (await (await admin('GET', '/requests')).json()) as { route: string; status: number }[];
    expect(requests.map((r) => [r.route, r.status])).toEqual([
      ['token', 200],
      ['secret', 503],
    ]);
    const state = (await (await admin('GET', '/state')).json()) as { environments: { id: string }[] };
    expect(state.environments.map((e) => e.id)).toContain(environment.id);
  });

  it('answers 400 for a bad request and 404 for an unknown route', async () => {
    expect((await admin('POST', '/environments', { region: 'XX' })).status).toBe(400);
    expect((await admin('POST', '/clock/advance', { ms: 'soon' })).status).toBe(400);
    expect((await admin('GET', '/nothing')).status).toBe(404);
    expect((await admin('GET', `/environments/${randomUUID()}/resources/x/secret`)).status).toBe(404);
  });
});

describe('consumers and rate limits', () => {
  it('markPreviousUsed stamps lastUsed like a use of the previous secret, and refuses without one', async () => {
    const world = await newWorld();
    expect(() => sim.markPreviousUsed(world.environment.id, world.resource.id)).toThrow(
      /has no unexpired previous secret/,
    );
    await world.rotate(previousFor(DAY));
    const at = new Date(clock.now().getTime() - 3 * HOUR);

    sim.markPreviousUsed(world.environment.id, world.resource.id, at);

    const body = (await (await world.readSecret()).json()) as SecretBody;
    expect(body.previous?.lastUsed).toBe(at.toISOString());
  });

  it("a token request with an application's previous secret stamps its lastUsed, as introspection does", async () => {
    const environment = sim.createEnvironment({ region: 'NA' });
    const worker = sim.createWorker(environment.id);
    const regenerated = sim.regenerateOutOfBand(environment.id, worker.clientId, {
      previousExpiresAt: new Date(clock.now().getTime() + DAY),
      kind: 'application',
    });
    expect(sim.readSecret(environment.id, worker.clientId, 'application').previous?.lastUsed).toBeUndefined();

    const withCurrent = await requestToken({ ...worker, clientSecret: regenerated.secret });
    expect(withCurrent.status).toBe(200);
    expect(sim.readSecret(environment.id, worker.clientId, 'application').previous?.lastUsed).toBeUndefined();
    clock.advance(MINUTE);
    const withPrevious = await requestToken(worker);

    expect(withPrevious.status).toBe(200);
    expect(sim.readSecret(environment.id, worker.clientId, 'application').previous?.lastUsed).toEqual(
      clock.now(),
    );
  });

  it('answers requests over the rate limit with 429 REQUEST_LIMITED and Retry-After, without performing them', async () => {
    const world = await newWorld();
    const before = sim.readSecret(world.environment.id, world.resource.id);
    sim.limitRate({ requestsPerSecond: 3 });
    try {
      // Within one real-time second (a frozen simulator clock does not matter: the limit is on real time).
      while (Date.now() % 1000 > 600) await new Promise((resolve) => setTimeout(resolve, 20));
      const answers = await Promise.all([1, 2, 3, 4, 5].map(() => world.rotate(previousFor(DAY))));
      const limited = answers.filter((r) => r.status === 429);
      expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
      expect(limited).toHaveLength(2);
      const [first] = limited;
      if (!first) throw new Error('no 429');
      expect(first.headers.get('retry-after')).toBe('1');
      expect(((await first.json()) as ErrorBody).code).toBe('REQUEST_LIMITED');
      expect(sim.requests.filter((r) => r.fault === 'rateLimit').map((r) => r.status)).toEqual([429, 429]);
      expect(sim.readSecret(world.environment.id, world.resource.id).secret).not.toBe(before.secret);
    } finally {
      sim.limitRate(undefined);
    }
    expect((await world.readSecret()).status).toBe(200);
    expect(() => sim.limitRate({ requestsPerSecond: 0 })).toThrow(/positive integer/);
  });
});

describe('SimulatorClock', () => {
  it('follows real time unless frozen, shifted by advance and set', async () => {
    const ticking = new SimulatorClock({ start: new Date('2030-01-01T00:00:00Z') });
    ticking.advance(DAY);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const elapsed = ticking.now().getTime() - Date.parse('2030-01-02T00:00:00Z');
    expect(elapsed).toBeGreaterThanOrEqual(15);
    expect(elapsed).toBeLessThan(5_000);

    const frozen = new SimulatorClock({ start: new Date('2030-01-01T00:00:00Z'), frozen: true });
    frozen.set(new Date('2031-06-01T12:00:00Z'));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(frozen.now().toISOString()).toBe('2031-06-01T12:00:00.000Z');
  });
});

describe('stop()', () => {
  it('closes promptly despite keep-alive connections and held-back responses', async () => {
    const own = await startPingOneSimulator();
    const environment = own.createEnvironment({ region: 'NA' });
    await fetch(`${own.baseUrl}/na/api/v1/environments/${environment.id}`); // leaves a keep-alive connection
    own.faults.delay({ route: 'environment', ms: 10_000 });
    const pending = fetch(`${own.baseUrl}/na/api/v1/environments/${environment.id}`).catch(
      (error: unknown) => error,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = performance.now();
    await own.stop();

    expect(performance.now() - started).toBeLessThan(1_000);
    expect(await pending).toBeInstanceOf(Error);
  });
});
