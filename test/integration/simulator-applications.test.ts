import { createHmac, randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { clientSecretJwt, JWT_BEARER_ASSERTION_TYPE } from '../../lib/pingone/client-assertion.js';
import {
  type ApplicationAuthMethod,
  SimulatorClock,
  type WorkerCredentials,
} from '../../local/pingone-simulator/index.js';
import { basicAuth, useSimulator } from '../support/simulator.js';

/** The simulator's PingOne applications: the Management API, their secrets, introspection, faults, record. */
interface SecretBody {
  secret: string;
  previous?: { secret: string; expiresAt: string; lastUsed?: string };
  _links: Record<string, { href: string }>;
}

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const clock = new SimulatorClock({ frozen: true });
const sim = useSimulator({ clock, reset: 'faults-and-requests' });

async function tokenFor(worker: WorkerCredentials, secret = worker.clientSecret): Promise<Response> {
  return fetch(`${sim.authUrl(worker.region)}/${worker.environmentId}/as/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: basicAuth(worker.clientId, secret),
    },
    body: 'grant_type=client_credentials',
  });
}

async function accessToken(worker: WorkerCredentials): Promise<string> {
  const response = await tokenFor(worker);
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

async function newWorld(options: { method?: ApplicationAuthMethod } = {}) {
  const environment = sim.createEnvironment({ region: 'EU' });
  const app = sim.createApplication(environment.id, {
    tokenEndpointAuthMethod: options.method ?? 'CLIENT_SECRET_BASIC',
  });
  const worker = sim.createWorker(environment.id);
  const token = await accessToken(worker);
  const api = (method: string, path: string, body?: string) =>
    fetch(`${sim.apiUrl('EU')}/environments/${environment.id}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body }),
    });
  const secretPath = `/applications/${app.id}/secret`;
  const rotate = (ms = DAY) =>
    api(
      'POST',
      secretPath,
      JSON.stringify({ previous: { expiresAt: new Date(clock.now().getTime() + ms).toISOString() } }),
    );
  return { environment, app, worker, token, api, secretPath, rotate };
}

const introspectUrl = (environmentId: string) => `${sim.authUrl('EU')}/${environmentId}/as/introspect`;

function introspect(
  environmentId: string,
  form: Record<string, string>,
  headers: Record<string, string> = {},
) {
  return fetch(introspectUrl(environmentId), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ token: 'not-a-real-token', ...form }).toString(),
  });
}

/** A hand-made HS256 JWT, to build assertions the client would never send. */
function jwt(header: Record<string, unknown>, claims: Record<string, unknown>, secret: string): string {
  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const signingInput = `${enc(header)}.${enc(claims)}`;
  return `${signingInput}.${createHmac('sha256', secret).update(signingInput).digest('base64url')}`;
}

function withAssertion(clientId: string, assertion: string) {
  return {
    client_id: clientId,
    client_assertion_type: JWT_BEARER_ASSERTION_TYPE,
    client_assertion: assertion,
  };
}

describe('Management API: applications', () => {
  it('reads an OIDC application with its protocol, type, auth method and grant types', async () => {
    const world = await newWorld({ method: 'CLIENT_SECRET_POST' });
    const service = sim.createApplication(world.environment.id, { type: 'SERVICE' });

    const web = (await (await world.api('GET', `/applications/${world.app.id}`)).json()) as Record<
      string,
      unknown
    >;
    const svc = (await (await world.api('GET', `/applications/${service.id}`)).json()) as Record<
      string,
      unknown
    >;

    expect(web).toMatchObject({
      id: world.app.id,
      protocol: 'OPENID_CONNECT',
      type: 'WEB_APP',
      enabled: true,
      tokenEndpointAuthMethod: 'CLIENT_SECRET_POST',
      grantTypes: ['AUTHORIZATION_CODE', 'REFRESH_TOKEN'],
      environment: { id: world.environment.id },
    });
    expect(svc).toMatchObject({ type: 'SERVICE', grantTypes: ['CLIENT_CREDENTIALS'] });
    expect(JSON.stringify(web)).not.toContain(world.app.secret);
  });

  it('reads a SAML application without OIDC properties, and 404s its secret for GET, POST and DELETE', async () => {
    const world = await newWorld();
    const saml = sim.createApplication(world.environment.id, { protocol: 'SAML' });
    expect(saml.secret).toBeUndefined();

    const app = (await (await world.api('GET', `/applications/${saml.id}`)).json()) as Record<
      string,
      unknown
    >;
    const statuses = await Promise.all(
      ['GET', 'POST', 'DELETE'].map(
        async (method) =>
          (await world.api(method, `/applications/${saml.id}/secret`, method === 'POST' ? '{}' : undefined))
            .status,
      ),
    );

    expect(app).toMatchObject({ protocol: 'SAML', type: 'WEB_APP' });
    expect(app).not.toHaveProperty('tokenEndpointAuthMethod');
    expect(statuses).toEqual([404, 404, 404]);
  });

  it('404s the secret of an OIDC application PingOne has no secret for, and of an unknown application', async () => {
    const world = await newWorld();
    const bare = sim.createApplication(world.environment.id, { withoutSecret: true });

    expect((await world.api('GET', `/applications/${bare.id}/secret`)).status).toBe(404);
    expect((await world.api('GET', `/applications/${randomUUID()}`)).status).toBe(404);
  });

  it('regenerates with one previous slot that expires, like a resource secret', async () => {
    const world = await newWorld();
    const original = world.app.secret;

    const first = (await (await world.rotate(DAY)).json()) as SecretBody;
    const second = (await (await world.rotate(DAY)).json()) as SecretBody;
    const read = (await (await world.api('GET', world.secretPath)).json()) as SecretBody;

    expect(first.previous?.secret).toBe(original);
    expect(second.previous?.secret).toBe(first.secret);
    expect(read).toMatchObject({ secret: second.secret, previous: { secret: first.secret } });
    expect(read._links.application?.href).toMatch(new RegExp(`/applications/${world.app.id}$`));
    expect((await world.api('DELETE', world.secretPath)).status).toBe(204);
    expect(
      ((await (await world.api('GET', world.secretPath)).json()) as SecretBody).previous,
    ).toBeUndefined();
    await world.rotate(2 * MINUTE);
    clock.advance(2 * MINUTE);
    expect(
      ((await (await world.api('GET', world.secretPath)).json()) as SecretBody).previous,
    ).toBeUndefined();
  });

  it('shows a worker as a WORKER application but refuses the worker its own secret (403), changing nothing', async () => {
    const world = await newWorld();
    const ownPath = `/applications/${world.worker.clientId}`;

    const app = (await (await world.api('GET', ownPath)).json()) as Record<string, unknown>;
    const read = await world.api('GET', `${ownPath}/secret`);
    const rotate = await world.api('POST', `${ownPath}/secret`, '{}');

    expect(app).toMatchObject({
      type: 'WORKER',
      protocol: 'OPENID_CONNECT',
      grantTypes: ['CLIENT_CREDENTIALS'],
    });
    expect(read.status).toBe(403);
    expect(rotate.status).toBe(403);
    expect(JSON.stringify(await rotate.json())).toMatch(/cannot read or change its own application secret/);
    expect(sim.readSecret(world.environment.id, world.worker.clientId, 'application').secret).toBe(
      world.worker.clientSecret,
    );
  });

  it("lets a second worker rotate the first worker's secret; the first keeps working on its previous one", async () => {
    const world = await newWorld();
    const second = sim.createWorker(world.environment.id);
    const secondToken = await accessToken(second);

    const rotated = await fetch(
      `${sim.apiUrl('EU')}/environments/${world.environment.id}/applications/${world.worker.clientId}/secret`,
      {
        method: 'POST',
        headers: { authorization: `Bearer ${secondToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          previous: { expiresAt: new Date(clock.now().getTime() + DAY).toISOString() },
        }),
      },
    );
    const body = (await rotated.json()) as SecretBody;

    expect(rotated.status).toBe(200);
    expect((await tokenFor(world.worker)).status).toBe(200); // the old secret, now previous
    expect((await tokenFor(world.worker, body.secret)).status).toBe(200);
    clock.advance(DAY);
    expect((await tokenFor(world.worker)).status).toBe(401);
  });
});

describe('introspection as an application', () => {
  it.each([
    ['CLIENT_SECRET_BASIC', 'basic'],
    ['CLIENT_SECRET_POST', 'post'],
  ] as const)('with %s: current and previous secrets authenticate, others get 401', async (method, via) => {
    const world = await newWorld({ method });
    const original = world.app.secret;
    const rotated = ((await (await world.rotate()).json()) as SecretBody).secret;
    const as = (secret: string, how: 'basic' | 'post' = via) =>
      how === 'basic'
        ? introspect(world.environment.id, {}, { authorization: basicAuth(world.app.id, secret) })
        : introspect(world.environment.id, { client_id: world.app.id, client_secret: secret });

    const current = await as(rotated);
    const previous = await as(original);
    const wrong = await as(`${rotated}x`);
    const otherMethod = await as(rotated, via === 'basic' ? 'post' : 'basic');

    expect([current.status, previous.status, wrong.status, otherMethod.status]).toEqual([200, 200, 401, 401]);
    expect(await current.json()).toEqual({ active: false });
    expect(sim.readSecret(world.environment.id, world.app.id, 'application').previous?.lastUsed).toEqual(
      clock.now(),
    );
    expect(sim.requests.filter((r) => r.route === 'introspect').map((r) => r.applicationId)).toEqual([
      world.app.id,
      world.app.id,
      world.app.id,
      world.app.id,
    ]);
  });

  describe('with CLIENT_SECRET_JWT', () => {
    it('accepts an HS256 assertion signed with the current or the previous secret', async () => {
      const world = await newWorld({ method: 'CLIENT_SECRET_JWT' });
      const original = world.app.secret;
      const rotated = ((await (await world.rotate()).json()) as SecretBody).secret;
      const assertion = (secret: string) =>
        clientSecretJwt({
          clientId: world.app.id,
          clientSecret: secret,
          audience: introspectUrl(world.environment.id),
          now: clock.now().getTime(),
        });

      const current = await introspect(world.environment.id, withAssertion(world.app.id, assertion(rotated)));
      expect(
        sim.readSecret(world.environment.id, world.app.id, 'application').previous?.lastUsed,
      ).toBeUndefined();
      const previous = await introspect(
        world.environment.id,
        withAssertion(world.app.id, assertion(original)),
      );

      expect(current.status).toBe(200);
      expect(previous.status).toBe(200);
      expect(sim.readSecret(world.environment.id, world.app.id, 'application').previous?.lastUsed).toEqual(
        clock.now(),
      );
      expect(sim.requests.filter((r) => r.route === 'introspect').map((r) => r.clientAuth)).toEqual([
        'jwt',
        'jwt',
      ]);
    });

    it('refuses a wrong signature, audience, issuer, algorithm, an expired or long-lived assertion, and a replay', async () => {
      const world = await newWorld({ method: 'CLIENT_SECRET_JWT' });
      const id = world.app.id;
      const now = Math.floor(clock.now().getTime() / 1000);
      const good = {
        iss: id,
        sub: id,
        aud: introspectUrl(world.environment.id),
        jti: randomUUID(),
        iat: now,
        exp: now + 60,
      };
      const header = { alg: 'HS256', typ: 'JWT' };
      const cases: [string, string][] = [
        ['wrong secret', jwt(header, { ...good, jti: randomUUID() }, `${world.app.secret}x`)],
        [
          'wrong audience',
          jwt(
            header,
            { ...good, jti: randomUUID(), aud: `${sim.authUrl('EU')}/x/as/token` },
            world.app.secret,
          ),
        ],
        [
          'issuer is not the client',
          jwt(header, { ...good, jti: randomUUID(), iss: randomUUID() }, world.app.secret),
        ],
        [
          'alg none',
          `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify({ ...good, jti: randomUUID() })).toString('base64url')}.`,
        ],
        ['expired', jwt(header, { ...good, jti: randomUUID(), exp: now - 1 }, world.app.secret)],
        ['valid for a day', jwt(header, { ...good, jti: randomUUID(), exp: now + 86_400 }, world.app.secret)],
        ['no jti', jwt(header, { ...good, jti: undefined }, world.app.secret)],
      ];

      const statuses: number[] = [];
      for (const [, assertion] of cases) {
        statuses.push((await introspect(world.environment.id, withAssertion(id, assertion))).status);
      }
      const once = jwt(header, good, world.app.secret);
      const first = await introspect(world.environment.id, withAssertion(id, once));
      const replay = await introspect(world.environment.id, withAssertion(id, once));
      const plainSecret = await introspect(world.environment.id, {
        client_id: id,
        client_secret: world.app.secret,
      });

      expect(Object.fromEntries(cases.map(([name], i) => [name, statuses[i]]))).toEqual(
        Object.fromEntries(cases.map(([name]) => [name, 401])),
      );
      expect(first.status).toBe(200);
      expect(replay.status).toBe(401);
      expect(plainSecret.status).toBe(401);
    });
  });

  it('with PRIVATE_KEY_JWT the secret authenticates nothing; with NONE no secret is checked', async () => {
    const world = await newWorld({ method: 'PRIVATE_KEY_JWT' });
    const none = sim.createApplication(world.environment.id, {
      type: 'SINGLE_PAGE_APP',
      tokenEndpointAuthMethod: 'NONE',
    });
    const assertion = clientSecretJwt({
      clientId: world.app.id,
      clientSecret: world.app.secret,
      audience: introspectUrl(world.environment.id),
      now: clock.now().getTime(),
    });

    const privateKey = await introspect(world.environment.id, withAssertion(world.app.id, assertion));
    const basic = await introspect(
      world.environment.id,
      {},
      { authorization: basicAuth(world.app.id, world.app.secret) },
    );
    const noSecret = await introspect(world.environment.id, { client_id: none.id });

    expect([privateKey.status, basic.status, noSecret.status]).toEqual([401, 401, 200]);
  });

  it('refuses a SAML application as a client', async () => {
    const world = await newWorld();
    const saml = sim.createApplication(world.environment.id, { protocol: 'SAML' });

    const response = await introspect(world.environment.id, { client_id: saml.id, client_secret: 'x' });

    expect(response.status).toBe(401);
  });
});

describe('faults and the request record for applications', () => {
  it('failNext by applicationId fails only that application, and a 503 regenerate changes nothing', async () => {
    const world = await newWorld();
    const other = sim.createApplication(world.environment.id);
    sim.faults.failNext({
      route: 'application-secret',
      method: 'POST',
      applicationId: world.app.id,
      status: 503,
    });

    const failed = await world.rotate();
    const otherRotated = await world.api('POST', `/applications/${other.id}/secret`, '{}');

    expect(failed.status).toBe(503);
    expect(otherRotated.status).toBe(200);
    expect(sim.readSecret(world.environment.id, world.app.id, 'application')).toEqual({
      secret: world.app.secret,
    });
    expect(sim.faults.pending()).toEqual([]);
  });

  it('commitThenFail commits an application regenerate, then resets the connection', async () => {
    const world = await newWorld();
    sim.faults.commitThenFail({ route: 'application-secret', applicationId: world.app.id, drop: true });

    await expect(world.rotate()).rejects.toThrow();

    expect(sim.readSecret(world.environment.id, world.app.id, 'application').previous?.secret).toBe(
      world.app.secret,
    );
    expect(sim.requests.at(-1)).toMatchObject({
      route: 'application-secret',
      applicationId: world.app.id,
      status: 0,
      fault: 'commitThenFail:drop',
    });
  });

  it('matches introspection faults by the introspecting application', async () => {
    const world = await newWorld();
    sim.faults.failNext({ route: 'introspect', applicationId: world.app.id, status: 429 });

    const limited = await introspect(
      world.environment.id,
      {},
      { authorization: basicAuth(world.app.id, world.app.secret) },
    );
    const next = await introspect(
      world.environment.id,
      {},
      { authorization: basicAuth(world.app.id, world.app.secret) },
    );

    expect([limited.status, next.status]).toEqual([429, 200]);
  });

  it('records application requests by id and route, never a secret or an assertion', async () => {
    const world = await newWorld({ method: 'CLIENT_SECRET_JWT' });
    const rotated = ((await (await world.rotate()).json()) as SecretBody).secret;
    const assertion = clientSecretJwt({
      clientId: world.app.id,
      clientSecret: rotated,
      audience: introspectUrl(world.environment.id),
      now: clock.now().getTime(),
    });
    await world.api('GET', `/applications/${world.app.id}`);
    await introspect(world.environment.id, withAssertion(world.app.id, assertion));

    expect(sim.requests.map((r) => [r.route, r.applicationId, r.status])).toEqual([
      ['token', undefined, 200],
      ['application-secret', world.app.id, 200],
      ['application', world.app.id, 200],
      ['introspect', world.app.id, 200],
    ]);
    const recorded = JSON.stringify(sim.requests);
    for (const value of [world.app.secret, rotated, assertion, world.token, world.worker.clientSecret]) {
      expect(recorded).not.toContain(value);
    }
    expect(sim.count({ applicationId: world.app.id })).toBe(3);
  });
});

describe('admin API for applications', () => {
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${sim.adminUrl}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    });

  it('creates applications, regenerates and reads their secret out of band', async () => {
    const environment = sim.createEnvironment({ region: 'EU' });
    const created = (await (
      await admin('POST', `/environments/${environment.id}/applications`, {
        type: 'SERVICE',
        tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
        grantTypes: ['CLIENT_CREDENTIALS'],
      })
    ).json()) as { id: string; secret: string };
    const saml = await admin('POST', `/environments/${environment.id}/applications`, { protocol: 'SAML' });
    const path = `/environments/${environment.id}/applications/${created.id}/secret`;

    const regenerated = (await (await admin('POST', path, {})).json()) as {
      secret: string;
      previous?: unknown;
    };
    const read = (await (await admin('GET', path)).json()) as { secret: string };
    const state = (await (await admin('GET', '/state')).json()) as {
      applications: { id: string; type: string }[];
    };

    expect(created.secret).toMatch(/^[A-Za-z0-9\-._~]{64,}$/);
    expect(await saml.json()).not.toHaveProperty('secret');
    expect(regenerated.secret).not.toBe(created.secret);
    expect(regenerated.previous).toBeUndefined();
    expect(read.secret).toBe(regenerated.secret);
    expect(state.applications).toContainEqual(expect.objectContaining({ id: created.id, type: 'SERVICE' }));
    expect(
      (await admin('POST', `/environments/${environment.id}/applications`, { type: 'WORKER' })).status,
    ).toBe(400);
  });
});
