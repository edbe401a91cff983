import { describe, expect, it } from 'vitest';
import { loadConfig, parseTtl, resolveInUseWindow, resolveTtl } from '../../lib/config.js';
import { ConfigurationError, TagOutOfBoundsError } from '../../lib/errors.js';
import { parseWorkerCredentials } from '../../lib/pingone/worker-credentials.js';
import { parseRotationEvent } from '../../lib/rotation/event.js';
import { describeLeaks } from '../support/leaks.js';

const BASE = { PINGONE_WORKER_PARAMETER: '/pingone/worker', ROTATION_LEDGER_TABLE: 'rotation-ledger' };

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(BASE);
    expect(config).toMatchObject({
      workerParameter: '/pingone/worker',
      workerCacheMaxAgeSeconds: 300,
      defaultRegion: 'NA',
      apiUrlTemplate: 'https://api.pingone.{tld}/v1',
      authUrlTemplate: 'https://auth.pingone.{tld}',
      previousSecretTtl: { ms: 7 * 86_400_000, text: '7d' },
      allowedEnvironments: undefined,
      ledgerTable: 'rotation-ledger',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('requires ROTATION_LEDGER_TABLE, naming it', () => {
    for (const value of [undefined, '', '  ']) {
      expect(() => loadConfig({ PINGONE_WORKER_PARAMETER: '/w', ROTATION_LEDGER_TABLE: value })).toThrow(
        new ConfigurationError(
          'ROTATION_LEDGER_TABLE is not set: it must name the rotation ledger DynamoDB table (the stack output ' +
            'RotationLedgerTableName); the function changes nothing without it',
          { setting: 'ledgerTable' },
        ),
      );
    }
  });

  it('accepts a ledger table name or table ARN and refuses anything else', () => {
    const arn = 'arn:aws:dynamodb:eu-west-1:123456789012:table/pingone-rotation-ledger';
    expect(loadConfig({ ...BASE, ROTATION_LEDGER_TABLE: arn }).ledgerTable).toBe(arn);
    for (const bad of ['ab', 'has space', 'arn:aws:s3:::bucket', 'a/b']) {
      expect(() => loadConfig({ ...BASE, ROTATION_LEDGER_TABLE: bad })).toThrow(
        `ROTATION_LEDGER_TABLE is '${bad}': it must be a DynamoDB table name`,
      );
    }
  });

  it('requires PINGONE_WORKER_PARAMETER', () => {
    expect(() => loadConfig({})).toThrow(
      new ConfigurationError(
        'PINGONE_WORKER_PARAMETER is not set: it must name the SSM SecureString parameter holding the worker credentials (or set PINGONE_WORKERS to name a worker per PingOne organization)',
        { setting: 'workerParameter' },
      ),
    );
  });

  it('refuses an unknown region, naming the accepted ones', () => {
    expect(() => loadConfig({ ...BASE, PINGONE_REGION: 'US' })).toThrow(
      "PINGONE_REGION is 'US': it must be one of NA, EU, CA, AU, SG, AP",
    );
  });

  it.each([
    ['http://api.example.com/v1', /must use https/],
    ['ftp://127.0.0.1/v1', /must use https/],
    ['not a url', /is not a valid URL/],
    ['https://user:pw@proxy.example.com/v1', /must not carry credentials/],
  ])('refuses PINGONE_API_URL=%s', (value, message) => {
    expect(() => loadConfig({ ...BASE, PINGONE_API_URL: value })).toThrow(message);
  });

  it('accepts http only for loopback hosts, and https custom domains with region placeholders', () => {
    expect(
      loadConfig({ ...BASE, PINGONE_API_URL: 'http://127.0.0.1:4010/{region}/api/v1/' }).apiUrlTemplate,
    ).toBe('http://127.0.0.1:4010/{region}/api/v1');
    expect(loadConfig({ ...BASE, PINGONE_AUTH_URL: 'http://localhost:9/auth' }).authUrlTemplate).toBe(
      'http://localhost:9/auth',
    );
    expect(
      loadConfig({ ...BASE, PINGONE_API_URL: 'https://proxy.internal/pingone-{tld}/v1' }).apiUrlTemplate,
    ).toBe('https://proxy.internal/pingone-{tld}/v1');
  });

  it('parses PINGONE_ALLOWED_ENVIRONMENTS and refuses entries that are not UUIDs', () => {
    const config = loadConfig({
      ...BASE,
      PINGONE_ALLOWED_ENVIRONMENTS:
        ' 0B7E3F4A-1C2D-4E5F-8A9B-0C1D2E3F4A5B , 9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
    });
    expect([...(config.allowedEnvironments ?? [])]).toEqual([
      '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      '9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a',
    ]);
    expect(() =>
      loadConfig({ ...BASE, PINGONE_ALLOWED_ENVIRONMENTS: 'prod,0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b' }),
    ).toThrow(/not a UUID: prod/);
  });

  it("reads the rotations' shared PingOne rate: 0 (none) by default, a whole number up to 1000", () => {
    expect(loadConfig(BASE).rotationRequestsPerSecond).toBe(0);
    expect(loadConfig({ ...BASE, ROTATION_PINGONE_REQUESTS_PER_SECOND: '5' }).rotationRequestsPerSecond).toBe(
      5,
    );
    for (const bad of ['-1', '2.5', 'fast', '1001']) {
      expect(() => loadConfig({ ...BASE, ROTATION_PINGONE_REQUESTS_PER_SECOND: bad })).toThrow(
        new RegExp(`ROTATION_PINGONE_REQUESTS_PER_SECOND is '${bad}': it must be a whole number`),
      );
    }
  });

  it('refuses a worker cache age outside 0..3600 s', () => {
    expect(() => loadConfig({ ...BASE, PINGONE_WORKER_CACHE_SECONDS: '-1' })).toThrow(
      /PINGONE_WORKER_CACHE_SECONDS/,
    );
  });
});

describe('previous-secret TTL', () => {
  it.each([
    ['1m', 60_000],
    ['90m', 5_400_000],
    ['12h', 43_200_000],
    ['30d', 2_592_000_000],
  ])('accepts %s', (text, ms) => {
    expect(parseTtl(text, 'PREVIOUS_SECRET_TTL').ms).toBe(ms);
  });

  it.each(['0m', '59s', '31d', '721h', '43201m', '7', 'd7', '1.5d', '', '-1d'])(
    'refuses %j naming the variable and range',
    (text) => {
      expect(() => loadConfig({ ...BASE, PREVIOUS_SECRET_TTL: text || ' x' })).toThrow(
        /^PREVIOUS_SECRET_TTL is '.*'.*written <n>m, <n>h or <n>d, from 1m to 30d/,
      );
    },
  );

  it('takes the pingone:previous-secret-ttl tag over the default', () => {
    const config = loadConfig({ ...BASE, PREVIOUS_SECRET_TTL: '2d', TAG_MIN_PREVIOUS_SECRET_TTL: '1m' });
    expect(resolveTtl(config, {}).text).toBe('2d');
    expect(resolveTtl(config, { 'pingone:previous-secret-ttl': '3h' }).ms).toBe(3 * 3_600_000);
    expect(() => resolveTtl(config, { 'pingone:previous-secret-ttl': '40d' })).toThrow(
      "Tag 'pingone:previous-secret-ttl' is '40d', out of range",
    );
  });
});

describe('the bounds on what tags may do (issue 17, finding 6)', () => {
  it('by default a tag may only make things safer: a TTL at least the function’s, a window at least its own', () => {
    const config = loadConfig({ ...BASE, PREVIOUS_SECRET_TTL: '2d' });
    expect(config.tagBounds).toEqual({
      minTtl: { ms: 2 * 86_400_000, text: '2d' },
      inUseWindowMay: 'lengthen',
    });
    expect(resolveTtl(config, { 'pingone:previous-secret-ttl': '2d' }).text).toBe('2d');
    expect(resolveTtl(config, { 'pingone:previous-secret-ttl': '30d' }).text).toBe('30d');
    expect(() => resolveTtl(config, { 'pingone:previous-secret-ttl': '1m' })).toThrow(TagOutOfBoundsError);
    expect(() => resolveTtl(config, { 'pingone:previous-secret-ttl': '47h' })).toThrow(
      "Tag 'pingone:previous-secret-ttl' is '47h', shorter than the stack allows a tag to set: at least 2d",
    );
    expect(resolveInUseWindow(config, { 'pingone:previous-secret-in-use-window': '6h' })).toMatchObject({
      ms: 6 * 3_600_000,
      source: 'tag',
    });
    expect(() => resolveInUseWindow(config, { 'pingone:previous-secret-in-use-window': '0' })).toThrow(
      "Tag 'pingone:previous-secret-in-use-window' is '0', which switches the in-use guard off",
    );
    expect(() => resolveInUseWindow(config, { 'pingone:previous-secret-in-use-window': '59m' })).toThrow(
      "is '59m', shorter than the function's window 1h",
    );
  });

  it('the deployer may widen them: TAG_MIN_PREVIOUS_SECRET_TTL, TAG_IN_USE_WINDOW_MAY=shorten|switch-off', () => {
    const shorten = loadConfig({
      ...BASE,
      TAG_MIN_PREVIOUS_SECRET_TTL: '1h',
      TAG_IN_USE_WINDOW_MAY: 'shorten',
    });
    expect(resolveTtl(shorten, { 'pingone:previous-secret-ttl': '1h' }).text).toBe('1h');
    expect(() => resolveTtl(shorten, { 'pingone:previous-secret-ttl': '59m' })).toThrow(TagOutOfBoundsError);
    expect(resolveInUseWindow(shorten, { 'pingone:previous-secret-in-use-window': '5m' }).ms).toBe(300_000);
    expect(() => resolveInUseWindow(shorten, { 'pingone:previous-secret-in-use-window': '0' })).toThrow(
      TagOutOfBoundsError,
    );
    const off = loadConfig({ ...BASE, TAG_IN_USE_WINDOW_MAY: 'switch-off' });
    expect(resolveInUseWindow(off, { 'pingone:previous-secret-in-use-window': '0' }).ms).toBe(0);
  });

  it('refuses bad bounds, naming the variable', () => {
    expect(() => loadConfig({ ...BASE, TAG_IN_USE_WINDOW_MAY: 'always' })).toThrow(
      "TAG_IN_USE_WINDOW_MAY is 'always': it must be one of lengthen, shorten, switch-off",
    );
    expect(() => loadConfig({ ...BASE, TAG_MIN_PREVIOUS_SECRET_TTL: '0m' })).toThrow(
      "TAG_MIN_PREVIOUS_SECRET_TTL is '0m', out of range",
    );
  });
});

describe('parseRotationEvent', () => {
  const valid = {
    Step: 'createSecret',
    SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/app-AbCdEf',
    ClientRequestToken: '11111111-2222-4333-8444-555555555555',
    RotationToken: 'rt-0123456789abcdef0123456789abcdef',
  };

  it('accepts a rotation event, with or without RotationToken', () => {
    expect(parseRotationEvent(valid)).toEqual({
      step: 'createSecret',
      secretId: valid.SecretId,
      token: valid.ClientRequestToken,
      rotationToken: valid.RotationToken,
    });
    const { RotationToken: _, ...withoutToken } = valid;
    expect(parseRotationEvent(withoutToken).rotationToken).toBeUndefined();
  });

  it.each([
    [null, /not a Secrets Manager rotation event/],
    ['createSecret', /not a Secrets Manager rotation event/],
    [[valid], /not a Secrets Manager rotation event/],
    [{ ...valid, Step: undefined }, /missing Step/],
    [{ Step: 'createSecret' }, /missing SecretId, ClientRequestToken/],
    [
      { ...valid, Step: 'create_secret' },
      /unknown Step 'create_secret': expected one of createSecret, setSecret, testSecret, finishSecret/,
    ],
    [{ ...valid, ClientRequestToken: 'a b' }, /malformed ClientRequestToken/],
    [{ ...valid, RotationToken: 42 }, /malformed RotationToken/],
  ])('refuses %j', (raw, message) => {
    expect(() => parseRotationEvent(raw)).toThrow(message);
  });

  it('never quotes the RotationToken in an error', () => {
    const error = (() => {
      try {
        parseRotationEvent({ ...valid, Step: 'nope' });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(describeLeaks(error?.message ?? '', [valid.RotationToken])).toEqual([]);
  });
});

describe('parseWorkerCredentials', () => {
  it('parses the worker JSON, defaulting region and auth method', () => {
    expect(
      parseWorkerCredentials(
        JSON.stringify({
          environmentId: '0B7E3F4A-1C2D-4E5F-8A9B-0C1D2E3F4A5B',
          clientId: 'c',
          clientSecret: 's',
        }),
        '/w',
        'EU',
      ),
    ).toEqual({
      environmentId: '0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
      clientId: 'c',
      clientSecret: 's',
      region: 'EU',
      tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
    });
  });

  it.each([
    ['{not json', /Worker parameter '\/w' is not valid JSON/],
    ['"x"', /must be a JSON object/],
    [
      '{"environmentId":"e","clientId":"","clientSecret":"top-secret-value"}',
      /environmentId must be a UUID; clientId must be a non-empty string/,
    ],
  ])('refuses %s without quoting it', (raw, message) => {
    const error = (() => {
      try {
        parseWorkerCredentials(raw, '/w', 'NA');
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error?.message).toMatch(message);
    expect(describeLeaks(error?.message ?? '', ['top-secret-value'])).toEqual([]);
  });
});
