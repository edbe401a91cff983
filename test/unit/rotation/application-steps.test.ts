import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../lib/config.js';
import {
  OwnerNotRotatableError,
  PendingMismatchError,
  PingOneApiError,
  SecretFormatError,
  SecretTestFailedError,
} from '../../../lib/errors.js';
import { clientSecretJwt } from '../../../lib/pingone/client-assertion.js';
import type { RotationDeps } from '../../../lib/rotation/deps.js';
import type { RotationEvent, RotationStep } from '../../../lib/rotation/event.js';
import { runRotationStep } from '../../../lib/rotation/rotate.js';
import { proofFor } from '../../../lib/rotation/test-secret.js';
import { SecretsStore } from '../../../lib/secrets/secrets-store.js';
import { FakePingOne } from '../../support/fake-pingone.js';
import { describeLeaks } from '../../support/leaks.js';
import { MemoryLedger } from '../../support/memory-ledger.js';
import { SecretsManagerModel } from '../../support/secrets-manager-model.js';

/** The rotation steps for an OIDC application's secret, against the in-memory PingOne port. */
const ENV_ID = '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b';
const APP_ID = '3c4d5e6f-7a8b-4c9d-8e0f-1a2b3c4d5e6f';
const RES_ID = '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a';
const NOW = Date.parse('2026-11-26T12:00:00.000Z');
const TOKEN = '11111111-2222-4333-8444-555555555555';

let sm: SecretsManagerModel;
let pingone: FakePingOne;
let initialSecret: string;
let warnings: string[];

function makeDeps(): RotationDeps {
  return {
    secrets: new SecretsStore(sm.client),
    pingone,
    ledger: new MemoryLedger(),
    config: loadConfig({ PINGONE_WORKER_PARAMETER: '/pingone/worker', ROTATION_LEDGER_TABLE: 'ledger' }),
    logger: { info: () => {}, warn: (message) => warnings.push(message) },
    metrics: { count: () => {} },
    now: () => NOW,
    sleep: async () => {},
    deadline: NOW + 60_000,
  };
}

function event(step: RotationStep): RotationEvent {
  return {
    step,
    secretId: 'pingone/web-app',
    token: TOKEN,
    rotationToken: 'rotation-token-0123456789abcdef',
  };
}

function appJson(clientSecret: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    environmentId: ENV_ID,
    applicationId: APP_ID,
    clientSecret,
    region: 'EU',
    ...extra,
  });
}

beforeEach(() => {
  sm = new SecretsManagerModel();
  initialSecret = FakePingOne.newSecret();
  sm.versions.v1 = { stages: ['AWSCURRENT'], value: appJson(initialSecret, { team: 'web' }) };
  sm.startRotation(TOKEN);
  pingone = new FakePingOne(initialSecret);
  pingone.application = { ...pingone.application, id: APP_ID };
  warnings = [];
});

afterEach(() => sm.restore());

describe('the secret JSON', () => {
  it.each([
    [
      'both resourceId and applicationId',
      { environmentId: ENV_ID, resourceId: RES_ID, applicationId: APP_ID, clientSecret: 's' },
      /names both resourceId and applicationId/,
    ],
    [
      'neither',
      { environmentId: ENV_ID, clientSecret: 's' },
      /resourceId or applicationId is missing \(name exactly one/,
    ],
    [
      'an applicationId that is not a UUID',
      { environmentId: ENV_ID, applicationId: 'web-app', clientSecret: 's' },
      /applicationId must be a UUID/,
    ],
  ])('refuses %s before any call, changing nothing', async (_name, doc, message) => {
    sm.versions.v1 = { stages: ['AWSCURRENT'], value: JSON.stringify(doc) };

    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(SecretFormatError);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('"s"');
    expect(pingone.reads + pingone.applicationReads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });
});

describe('createSecret for an application', () => {
  it('reads the application first, regenerates once and carries the owner keys into AWSPENDING', async () => {
    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('regenerated');

    expect(pingone.applicationReads).toBe(1);
    expect(pingone.regenerates).toBe(1);
    expect(JSON.parse(sm.versions[TOKEN]?.value ?? '{}')).toEqual({
      environmentId: ENV_ID,
      applicationId: APP_ID,
      clientSecret: pingone.state.secret,
      region: 'EU',
      team: 'web',
    });
  });

  it.each([
    ['SAML', 'WEB_APP'],
    ['WS_FED', 'WEB_APP'],
  ])('refuses a %s application before reading or regenerating its secret', async (protocol, type) => {
    pingone.application = { id: APP_ID, name: 'Payroll SSO', protocol, type };

    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(OwnerNotRotatableError);
    expect(error.message).toMatch(
      new RegExp(
        `application ${APP_ID} .*"Payroll SSO"\\) is a ${protocol} application.*only OPENID_CONNECT`,
      ),
    );
    expect(pingone.reads + pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('refuses an application PingOne returns no secret for (404), changing nothing', async () => {
    pingone.readFaults.push(
      new PingOneApiError('PingOne read secret failed: HTTP 404 NOT_FOUND', { status: 404 }),
    );

    const error = await runRotationStep(makeDeps(), event('createSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(OwnerNotRotatableError);
    expect(error.message).toMatch(/PingOne returns no client secret for PingOne application/);
    expect(pingone.regenerateRequests).toBe(0);
    expect(sm.writes()).toBe(0);
  });

  it('adopts after a lost regenerate response, as for resources', async () => {
    pingone.regenerateFaults.push({ kind: 'commit-then-network-error' });

    await expect(runRotationStep(makeDeps(), event('createSecret'))).resolves.toBe('adopted');
    expect(pingone.regenerates).toBe(1);
  });
});

describe('setSecret for an application', () => {
  it('refuses an AWSPENDING that names a resource with the same id (another kind of owner)', async () => {
    sm.versions[TOKEN] = {
      stages: ['AWSPENDING'],
      value: JSON.stringify({ environmentId: ENV_ID, resourceId: APP_ID, clientSecret: 'x', region: 'EU' }),
    };

    const error = await runRotationStep(makeDeps(), event('setSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(PendingMismatchError);
    expect(error.message).toMatch(
      /AWSPENDING names PingOne resource .* but AWSCURRENT names PingOne application/,
    );
  });
});

describe("testSecret proves an application's secret by its tokenEndpointAuthMethod", () => {
  it.each(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST', 'CLIENT_SECRET_JWT'] as const)(
    'with %s: introspection with the candidate secret',
    async (method) => {
      pingone.application = { ...pingone.application, tokenEndpointAuthMethod: method };
      await runRotationStep(makeDeps(), event('createSecret'));

      await expect(runRotationStep(makeDeps(), event('testSecret'))).resolves.toBe('tested');

      expect(pingone.introspections).toEqual([{ secret: pingone.state.secret, method }]);
      expect(warnings).toEqual([]);
    },
  );

  it('fails when PingOne rejects the candidate at introspection', async () => {
    pingone.application = { ...pingone.application, tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT' };
    sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: appJson('not-the-secret') };

    const error = await runRotationStep(makeDeps(), event('testSecret')).catch((e) => e);

    expect(error).toBeInstanceOf(SecretTestFailedError);
    expect(error.message).toMatch(/rejected the AWSPENDING secret .* \(CLIENT_SECRET_JWT\)/);
  });

  it.each(['PRIVATE_KEY_JWT', 'NONE'])(
    'with %s: warns, and compares with PingOne’s current secret instead',
    async (method) => {
      pingone.application = { ...pingone.application, tokenEndpointAuthMethod: method };
      await runRotationStep(makeDeps(), event('createSecret'));

      await expect(runRotationStep(makeDeps(), event('testSecret'))).resolves.toBe('tested');
      expect(pingone.introspections).toEqual([]);
      expect(warnings.some((w) => /does not use the secret.*comparing with PingOne/.test(w))).toBe(true);

      sm.versions[TOKEN] = { stages: ['AWSPENDING'], value: appJson(initialSecret) };
      await expect(runRotationStep(makeDeps(), event('testSecret'))).rejects.toBeInstanceOf(
        SecretTestFailedError,
      );
    },
  );

  it('refuses a SAML application in testSecret alone (RotateImmediately=false), read-only', async () => {
    pingone.application = { id: APP_ID, protocol: 'SAML', type: 'WEB_APP' };

    await expect(runRotationStep(makeDeps(), event('testSecret'))).rejects.toBeInstanceOf(
      OwnerNotRotatableError,
    );
    expect(pingone.introspections.length + pingone.reads + pingone.regenerateRequests).toBe(0);
  });
});

describe('proofFor', () => {
  it('maps every auth method to what testSecret can prove', () => {
    expect(proofFor('resource', undefined)).toEqual({ kind: 'introspection', method: 'CLIENT_SECRET_BASIC' });
    expect(proofFor('resource', 'CLIENT_SECRET_POST')).toEqual({
      kind: 'introspection',
      method: 'CLIENT_SECRET_POST',
    });
    expect(proofFor('resource', 'CLIENT_SECRET_JWT')).toEqual({
      kind: 'comparison',
      method: 'CLIENT_SECRET_JWT',
    });
    expect(proofFor('application', 'CLIENT_SECRET_JWT')).toEqual({
      kind: 'introspection',
      method: 'CLIENT_SECRET_JWT',
    });
    expect(proofFor('application', 'PRIVATE_KEY_JWT')).toEqual({
      kind: 'comparison',
      method: 'PRIVATE_KEY_JWT',
    });
    expect(proofFor('application', 'NONE')).toEqual({ kind: 'comparison', method: 'NONE' });
    expect(proofFor('application', undefined)).toEqual({ kind: 'comparison', method: 'NONE' });
    expect(proofFor('application', 'SOMETHING_NEW')).toEqual({ kind: 'comparison', method: 'SOMETHING_NEW' });
  });
});

describe('clientSecretJwt', () => {
  it('is an HS256 JWT signed with the secret: iss = sub = client id, aud, jti, iat and a one-minute exp', () => {
    const jwt = clientSecretJwt({
      clientId: APP_ID,
      clientSecret: initialSecret,
      audience: 'https://auth.pingone.eu/env/as/introspect',
      now: NOW + 999,
    });
    const [header = '', payload = '', signature = ''] = jwt.split('.');
    const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

    expect(decode(header)).toEqual({ alg: 'HS256', typ: 'JWT' });
    expect(decode(payload)).toEqual({
      iss: APP_ID,
      sub: APP_ID,
      aud: 'https://auth.pingone.eu/env/as/introspect',
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: NOW / 1000,
      exp: NOW / 1000 + 60,
    });
    expect(signature).toBe(
      createHmac('sha256', initialSecret).update(`${header}.${payload}`).digest('base64url'),
    );
    expect(signature).not.toBe(
      createHmac('sha256', `${initialSecret}x`).update(`${header}.${payload}`).digest('base64url'),
    );
    expect(describeLeaks(jwt, [initialSecret])).toEqual([]);
    const again = clientSecretJwt({ clientId: APP_ID, clientSecret: initialSecret, audience: 'a', now: NOW });
    expect(decode(again.split('.')[1] ?? '').jti).not.toBe(decode(payload).jti);
  });
});
