import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  PingOneApiError,
  PingOneNetworkError,
  type RotationError,
  WorkerAuthError,
} from '../../../lib/errors.js';
import { PingOneHttpClient } from '../../../lib/pingone/http-client.js';
import { type Transport, TransportError } from '../../../lib/pingone/transport.js';
import type { SecretOwner } from '../../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../../lib/pingone/worker-credentials.js';
import { basicAuthorization } from '../../../lib/redact.js';
import { OutputCapture } from '../../support/capture-output.js';
import { findLeaks, type Sensitive } from '../../support/leaks.js';
import { useSimulator } from '../../support/simulator.js';

/**
 * An upstream that quotes the request back in its errors (the simulator's `echo` fault: every header,
 * Authorization included, the raw body, each form field, the decoded Basic pair). For each call the client
 * makes — worker token (Basic and POST), secret read, regenerate, introspection (Basic and POST) — the
 * returned error, its whole cause chain and the log records hold no form of any credential, while status,
 * PingOne code, request id and field names survive.
 */

/**
 * Two sets of secrets, with `~` (percent- and form-encoded differently), `.`, `_` and `-`. The first looks like
 * a PingOne-generated secret, which the redactor's shape rules would mask even unknown. The second is all
 * lower case (an imported secret may be), which the shape rules let through: only the per-request knowledge
 * of every form removes it, so that knowledge is tested on its own.
 */
const SECRET_SETS = {
  generated: {
    worker: 'Wk~r.9_Secret-Value~0123456789abcdefGHIJKLmnopQRSTuvwxyz~._-ABCDEFGHIJ',
    resource: 'Rs~pending.Secret_0123456789-abcdefGHIJKLmnopQRSTuvwxyz~._-KLMNOPQRST',
  },
  'lower-case': {
    worker: 'worker~secret.value_lower-case~0123456789abcdef',
    resource: 'pending~resource.secret_lower-case~0123456789',
  },
};
let WORKER_SECRET: string;
let RESOURCE_SECRET: string;

const sim = useSimulator();
let envId: string;
let owner: SecretOwner;
const output = new OutputCapture();
const logger = new Logger({ serviceName: 'echo-test', logLevel: 'DEBUG' });
const stepLogger = {
  warn: (message: string, extra?: Record<string, unknown>) => logger.warn(message, extra ?? {}),
};

beforeAll(() => {
  envId = sim.createEnvironment({ region: 'EU' }).id;
});

beforeEach(() => {
  sim.faults.clear();
  const resource = sim.createResource(envId, { introspectEndpointAuthMethod: 'CLIENT_SECRET_BASIC' });
  owner = { kind: 'resource', environmentId: envId, id: resource.id, region: 'EU' };
  output.start();
  output.clear();
});

afterEach(() => {
  output.stop();
});

function workerWith(method: WorkerCredentials['tokenEndpointAuthMethod']): WorkerCredentials {
  const created = sim.createWorker(envId, { clientSecret: WORKER_SECRET, tokenEndpointAuthMethod: method });
  return { ...created, tokenEndpointAuthMethod: method };
}

function clientFor(worker: WorkerCredentials) {
  return new PingOneHttpClient({
    apiUrlTemplate: sim.apiUrlTemplate,
    authUrlTemplate: sim.authUrlTemplate,
    workerCredentials: async () => worker,
    sleep: async () => {},
    retry: { maxAttempts: 3 },
    logger: stepLogger,
  });
}

const soon = () => ({ deadline: Date.now() + 20_000 });

/** The error as the handler logs it (Powertools serialises the cause chain), plus its message. */
async function failureOf(call: () => Promise<unknown>): Promise<RotationError> {
  const error = await call().then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => e as RotationError,
  );
  logger.error('rotation step failed', { errorCode: error.code, error });
  return error;
}

/** Every form of every credential these calls carried, in the error, its causes and the captured logs. */
function leaks(error: unknown, worker: WorkerCredentials, extra: Sensitive[] = []): string[] {
  const chain: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current instanceof Error && depth < 10; depth++) {
    chain.push(current.message, current.stack ?? '', JSON.stringify(current));
    current = current.cause;
  }
  const sensitive: Sensitive[] = [
    { id: worker.clientId, secret: worker.clientSecret },
    basicAuthorization(worker.clientId, worker.clientSecret),
    ...sim.issuedTokens(),
    ...extra,
  ];
  return findLeaks(`${chain.join('\n')}\n${output.text}`, sensitive).map((l) => `${l.value} as ${l.form}`);
}

/** The upstream really did quote the credential back: the scan has something to find. */
function expectEchoed(route: 'token' | 'introspect' | 'secret'): void {
  expect(sim.requests.at(-1)?.fault).toMatch(/^echo:/);
  expect(sim.requests.at(-1)?.route).toBe(route);
}

describe.each(Object.entries(SECRET_SETS))(
  'an upstream that echoes the request in its errors (%s secrets)',
  (_name, secrets) => {
    beforeEach(() => {
      WORKER_SECRET = secrets.worker;
      RESOURCE_SECRET = secrets.resource;
    });

    it.each(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'] as const)(
      'worker token (%s): no credential form in the error or the logs; status, code and field names kept',
      async (method) => {
        const worker = workerWith(method);
        sim.faults.echo({ route: 'token', status: 400 });
        const error = await failureOf(() => clientFor(worker).readSecret(owner, soon()));
        expectEchoed('token');
        expect(error).toBeInstanceOf(WorkerAuthError);
        const cause = error.cause as PingOneApiError;
        expect(cause.status).toBe(400);
        expect(cause.pingOneCode).toBe('invalid_request');
        expect(cause.requestId).toMatch(/^[0-9a-f-]{36}$/);
        expect(cause.details.map((d) => d.target)).toEqual(
          expect.arrayContaining(
            method === 'CLIENT_SECRET_BASIC' ? ['Authorization', 'grant_type'] : ['client_secret'],
          ),
        );
        expect(error.message).toContain('(400 invalid_request)');
        expect(leaks(error, worker)).toEqual([]);
      },
    );

    it('worker token answered 401 twice (the client re-reads the credential): nothing leaks', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      sim.faults.echo({ route: 'token', status: 401, count: 2 });
      const error = await failureOf(() => clientFor(worker).readSecret(owner, soon()));
      expectEchoed('token');
      expect(error).toBeInstanceOf(WorkerAuthError);
      expect((error.cause as PingOneApiError).pingOneCode).toBe('invalid_client');
      expect(leaks(error, worker)).toEqual([]);
    });

    it('worker token answered 503 until the retries run out: nothing leaks into the retry warnings', async () => {
      const worker = workerWith('CLIENT_SECRET_POST');
      sim.faults.echo({ route: 'token', status: 503, count: 3 });
      const error = await failureOf(() => clientFor(worker).readSecret(owner, soon()));
      expect(error).toBeInstanceOf(PingOneApiError);
      expect(output.text).toContain('PingOne call will be retried');
      expect(leaks(error, worker)).toEqual([]);
    });

    it('secret read (bearer token): nothing leaks; PingOne request id and code kept', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      sim.faults.echo({ route: 'secret', method: 'GET', status: 400 });
      const error = (await failureOf(() => clientFor(worker).readSecret(owner, soon()))) as PingOneApiError;
      expectEchoed('secret');
      expect(error).toBeInstanceOf(PingOneApiError);
      expect(error.status).toBe(400);
      expect(error.pingOneCode).toBe('INVALID_REQUEST');
      expect(error.message).toMatch(/\[PingOne request id [0-9a-f-]{36}\]$/);
      expect(error.details.map((d) => d.target)).toContain('Authorization');
      expect(sim.issuedTokens().length).toBeGreaterThan(0);
      expect(leaks(error, worker)).toEqual([]);
    });

    it('regenerate: nothing leaks; the field name previous.expiresAt is kept', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      sim.faults.echo({ route: 'secret', method: 'POST', status: 400 });
      const error = (await failureOf(() =>
        clientFor(worker).regenerateSecret(owner, new Date(Date.now() + 86_400_000), soon()),
      )) as PingOneApiError;
      expectEchoed('secret');
      expect(error.details.map((d) => d.target)).toContain('previous.expiresAt');
      expect(sim.readSecret(envId, owner.id).previous).toBeUndefined();
      expect(leaks(error, worker)).toEqual([]);
    });

    it.each(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'] as const)(
      'introspection (%s) with the pending secret: no form of that secret leaks',
      async (method) => {
        const worker = workerWith('CLIENT_SECRET_BASIC');
        sim.faults.echo({ route: 'introspect', status: 400 });
        const error = (await failureOf(() =>
          clientFor(worker).introspectWithSecret(owner, RESOURCE_SECRET, method, soon()),
        )) as PingOneApiError;
        expectEchoed('introspect');
        expect(error.status).toBe(400);
        expect(error.pingOneCode).toBe('invalid_request');
        expect(error.details.map((d) => d.target)).toContain(
          method === 'CLIENT_SECRET_BASIC' ? 'Authorization' : 'client_secret',
        );
        expect(leaks(error, worker, [{ id: owner.id, secret: RESOURCE_SECRET }])).toEqual([]);
      },
    );

    it('introspection (CLIENT_SECRET_JWT): neither the secret nor the signed client assertion leaks', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      sim.faults.echo({ route: 'introspect', status: 400 });
      const error = (await failureOf(() =>
        clientFor(worker).introspectWithSecret(owner, RESOURCE_SECRET, 'CLIENT_SECRET_JWT', soon()),
      )) as PingOneApiError;
      expectEchoed('introspect');
      expect(error.details.map((d) => d.target)).toContain('client_assertion');
      expect(leaks(error, worker, [RESOURCE_SECRET])).toEqual([]);
      // The assertion (a JWT signed with the secret, replayable until it expires) is not in the text either.
      const jwt = /eyJ[\w-]+\.[\w-]+\.[\w-]+/;
      expect(jwt.test(`${error.message}\n${JSON.stringify(error.details)}\n${output.text}`)).toBe(false);
    });

    it('a transport error that quotes the request (message and nested causes) is scrubbed', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      // Basic: the Authorization header itself is quoted by the transport's error.
      const quoting: Transport = async (request) => {
        const headers = JSON.stringify(request.headers);
        const root = new Error(`connect ECONNRESET while writing ${headers} ${String(request.body)}`);
        throw new TransportError(`request to ${request.url} failed with ${headers}`, { cause: root });
      };
      const client = new PingOneHttpClient({
        apiUrlTemplate: sim.apiUrlTemplate,
        authUrlTemplate: sim.authUrlTemplate,
        workerCredentials: async () => worker,
        sleep: async () => {},
        retry: { maxAttempts: 2 },
        transport: quoting,
      });
      const error = await failureOf(() =>
        client.introspectWithSecret(owner, RESOURCE_SECRET, 'CLIENT_SECRET_BASIC', soon()),
      );
      expect(error).toBeInstanceOf(PingOneNetworkError);
      expect(error.message).toContain(`request to 127.0.0.1:${sim.port} failed`);
      expect(leaks(error, worker, [{ id: owner.id, secret: RESOURCE_SECRET }])).toEqual([]);
    });

    it('the scan is real: the same echo, unredacted, is caught', async () => {
      const worker = workerWith('CLIENT_SECRET_BASIC');
      sim.faults.echo({ route: 'token', status: 400 });
      const response = await fetch(`${sim.authUrl('EU')}/${envId}/as/token`, {
        method: 'POST',
        headers: {
          authorization: basicAuthorization(worker.clientId, worker.clientSecret),
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: 'grant_type=client_credentials',
      });
      const echoed = await response.text();
      logger.error('planted', { body: echoed });
      expect(leaks(undefined, worker).length).toBeGreaterThan(0);
    });
  },
);
