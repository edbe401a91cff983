import { describe, expect, it } from 'vitest';
import { basicAuthorization, REDACTED, Redactor, redactText } from '../../lib/redact.js';
import { describeLeaks, findLeaks } from '../support/leaks.js';

/**
 * The redactor and the leak scanner, against each other and against fixed vectors. The vectors were
 * computed outside Node (Python's urllib/base64, with WHATWG's form encoding of `~`), so neither the
 * scanner nor the redactor can agree with the other by sharing a mistake.
 */
const ID = 'worker:id';
const SECRET = 'Ab~c d+e/f=g!h*0123456789xyz';
const VECTORS: Record<string, string> = {
  raw: SECRET,
  'percent-encoded': 'Ab~c%20d%2Be%2Ff%3Dg%21h%2A0123456789xyz',
  'percent-encoded, lower-case hex': 'Ab~c%20d%2be%2ff%3dg%21h%2a0123456789xyz',
  'form-encoded (WHATWG)': 'Ab%7Ec+d%2Be%2Ff%3Dg%21h*0123456789xyz',
  'form-encoded (RFC 6749)': 'Ab~c+d%2Be%2Ff%3Dg%21h%2A0123456789xyz',
  'json-escaped': 'Ab~c d+e/f=g!h*0123456789xyz',
  'basic base64': 'd29ya2VyJTNBaWQ6QWJ+YytkJTJCZSUyRmYlM0RnJTIxaCUyQTAxMjM0NTY3ODl4eXo=',
  'basic base64 of the plain pair': 'd29ya2VyOmlkOkFifmMgZCtlL2Y9ZyFoKjAxMjM0NTY3ODl4eXo=',
  'basic base64url': 'd29ya2VyJTNBaWQ6QWJ-YytkJTJCZSUyRmYlM0RnJTIxaCUyQTAxMjM0NTY3ODl4eXo',
  'basic base64, percent-encoded': 'd29ya2VyJTNBaWQ6QWJ%2BYytkJTJCZSUyRmYlM0RnJTIxaCUyQTAxMjM0NTY3ODl4eXo%3D',
  'basic decoded pair': 'worker%3Aid:Ab~c+d%2Be%2Ff%3Dg%21h%2A0123456789xyz',
  'truncated echo': SECRET.slice(4, 24),
  // The transport encodings (lib/redact.ts TRANSPORT_ENCODINGS), computed with Python's binascii, base64,
  // urllib and str formatting.
  hex: '41627e6320642b652f663d6721682a3031323334353637383978797a',
  'hex, upper case': '41627E6320642B652F663D6721682A3031323334353637383978797A',
  'base64 of the value': 'QWJ+YyBkK2UvZj1nIWgqMDEyMzQ1Njc4OXh5eg==',
  'base64 of a body it sits in (offset 1)': 'eEFifmMgZCtlL2Y9ZyFoKjAxMjM0NTY3ODl4eXomeT0x',
  'base64 of a body it sits in (offset 2)': 'eHlBYn5jIGQrZS9mPWchaCowMTIzNDU2Nzg5eHl6Jnk9MQ==',
  'base64url of a body it sits in': 'Ym9keTogQWJ-YyBkK2UvZj1nIWgqMDEyMzQ1Njc4OXh5eg',
  'double percent-encoded': 'Ab~c%2520d%252Be%252Ff%253Dg%2521h%252A0123456789xyz',
  'json \\u escapes':
    '\\u0041\\u0062\\u007e\\u0063\\u0020\\u0064\\u002b\\u0065\\u002f\\u0066\\u003d\\u0067\\u0021\\u0068\\u002a\\u0030\\u0031\\u0032\\u0033\\u0034\\u0035\\u0036\\u0037\\u0038\\u0039\\u0078\\u0079\\u007a',
  'json html-safe': 'Ab~c d+e/f\\u003dg!h*0123456789xyz',
  'html entities (hex)': 'Ab&#x7E;c&#x20;d&#x2B;e&#x2F;f&#x3D;g&#x21;h&#x2A;0123456789xyz',
  'html entities (decimal)': 'Ab&#126;c&#32;d&#43;e&#47;f&#61;g&#33;h&#42;0123456789xyz',
  'html entities (every character)':
    '&#x41;&#x62;&#x7e;&#x63;&#x20;&#x64;&#x2b;&#x65;&#x2f;&#x66;&#x3d;&#x67;&#x21;&#x68;&#x2a;&#x30;&#x31;&#x32;&#x33;&#x34;&#x35;&#x36;&#x37;&#x38;&#x39;&#x78;&#x79;&#x7a;',
  '\\x escapes':
    '\\x41\\x62\\x7e\\x63\\x20\\x64\\x2b\\x65\\x2f\\x66\\x3d\\x67\\x21\\x68\\x2a\\x30\\x31\\x32\\x33\\x34\\x35\\x36\\x37\\x38\\x39\\x78\\x79\\x7a',
  'quoted-printable': 'Ab~c d+e/f=3Dg!h*0123456789xyz',
};
const credential = { id: ID, secret: SECRET };
const TOKEN = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrZXIifQ.c2lnbmF0dXJlLWJ5dGVz';

describe('leak scanner', () => {
  it.each(Object.entries(VECTORS))('catches a planted leak: %s', (_form, planted) => {
    const text = `{"level":"ERROR","message":"PingOne worker token failed: ${planted} [request id x]"}`;
    expect(findLeaks(text, [credential])).toHaveLength(1);
  });

  it('reports a leak masked, and nothing for clean text', () => {
    const leaks = describeLeaks(`x ${SECRET} y`, [credential]);
    expect(leaks).toEqual(['Ab~c… (28 chars) as raw']);
    expect(leaks.join()).not.toContain(SECRET);
    expect(findLeaks('PingOne worker token failed: HTTP 401 invalid_client', [credential, TOKEN])).toEqual(
      [],
    );
  });

  it('the Basic header the client sends is one of the forms it knows', () => {
    expect(findLeaks(basicAuthorization(ID, SECRET), [credential])).toHaveLength(1);
  });
});

describe('redactor', () => {
  const redactor = Redactor.none.basic(ID, SECRET).bearer(TOKEN);

  it.each(Object.entries(VECTORS))('removes every form of a known credential: %s', (_form, planted) => {
    const text = `upstream said: ${planted} (request 0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b)`;
    const clean = redactor.text(text);
    expect(findLeaks(clean, [credential])).toEqual([]);
    expect(clean).toContain(REDACTED);
    expect(clean).toContain('0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b');
  });

  it('removes the bearer token and the whole Basic header', () => {
    const text = `Authorization: Bearer ${TOKEN}; Authorization: ${basicAuthorization(ID, SECRET)}`;
    const clean = redactor.text(text);
    expect(findLeaks(clean, [credential, TOKEN])).toEqual([]);
  });

  it('masks credential shapes it was not told about, keeping what on-call needs', () => {
    const unknownSecret = 'Zq8~xW2.vR5_tY7-uI9oP1aS3dF4gH6jK8lM0nB2vC4xZ6';
    const text =
      `HTTP 400 INVALID_DATA previous.expiresAt: value ${unknownSecret} out of range; ` +
      `client_secret=lowercaseonly-secret-value&grant_type=client_credentials; ` +
      `{"clientSecret":"another-secret"} Basic d29ya2VyOnNlY3JldA== ` +
      `[PingOne request id 0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b] secret pingone/orders-api-2024 in us-east-1; ` +
      `see pingone/OrdersApiProduction2024Secret`;
    const clean = redactText(text);
    expect(findLeaks(clean, [unknownSecret, 'lowercaseonly-secret-value', 'another-secret'])).toEqual([]);
    expect(clean).not.toContain('d29ya2VyOnNlY3JldA');
    for (const kept of [
      'HTTP 400 INVALID_DATA previous.expiresAt',
      'grant_type=client_credentials',
      '[PingOne request id 0b7e3f4a-1c2d-4e5f-8a9b-0c1d2e3f4a5b]',
      'secret pingone/orders-api-2024 in us-east-1',
      'pingone/OrdersApiProduction2024Secret',
    ]) {
      expect(clean).toContain(kept);
    }
  });

  it('scrubs an error in place: message, stack, properties and the cause chain; the class stays', () => {
    class UpstreamError extends Error {
      readonly body = `echo ${SECRET}`;
      readonly details = [{ target: 'client_secret', message: VECTORS['form-encoded (WHATWG)'] }];
    }
    const root = new TypeError(`socket hang up while sending ${VECTORS['basic base64']}`);
    const middle = new UpstreamError(`rejected ${TOKEN}`, { cause: root });
    const outer = new RangeError(`wrapped: ${SECRET}`, { cause: middle });
    const scrubbed = redactor.error(outer);
    expect(scrubbed).toBe(outer);
    expect(scrubbed).toBeInstanceOf(RangeError);
    expect(middle).toBeInstanceOf(UpstreamError);
    const everything = [outer, middle, root]
      .map((e) => `${e.message}\n${e.stack}\n${JSON.stringify(e)}`)
      .join('\n');
    expect(findLeaks(everything, [credential, TOKEN])).toEqual([]);
    expect(root.message).toBe(`socket hang up while sending ${REDACTED}`);
  });

  it('a planted leak past the redactor is caught (the scan of redacted text can fail)', () => {
    const clean = redactor.text(`message ${SECRET}`);
    expect(findLeaks(`${clean} ${VECTORS['basic base64url']}`, [credential])).toHaveLength(1);
  });
});

describe('CLI error line', () => {
  it('an AWS SDK error quoting a secret value prints without it (and the scan of the raw message fails)', async () => {
    const { describeError } = await import('../../cli/errors.js');
    const secret = 'Zq8~xW2.vR5_tY7-uI9oP1aS3dF4gH6jK8lM0nB2vC4xZ6';
    const error = Object.assign(
      new Error(`1 validation error detected: Value '{"clientSecret":"${secret}"}' at 'secretString' failed`),
      { name: 'ValidationException', $metadata: { httpStatusCode: 400 } },
    );
    expect(findLeaks(error.message, [secret])).toHaveLength(1);
    const { line } = describeError(error);
    expect(line).toMatch(/^AWS ValidationException: 1 validation error detected/);
    expect(findLeaks(line, [secret])).toEqual([]);
  });
});

describe('shape rules on random credentials', () => {
  /** A seeded generator: the sample is the same on every run, so the figure below cannot flake. */
  function mulberry32(seed: number): () => number {
    let a = seed;
    return () => {
      a = (a + 0x6d2b79f5) | 0;
      let t = Math.imul(a ^ (a >>> 15), 1 | a);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }
  const ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';
  const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

  it.each([
    ['PingOne-generated secrets (64 characters)', ALPHABET, 64],
    ['opaque access tokens (43 base64url characters)', B64URL, 43],
  ])('mask nearly every one of 1,000 %s even when nobody registered them', (_what, alphabet, length) => {
    const random = mulberry32(length);
    let masked = 0;
    for (let i = 0; i < 1000; i++) {
      const value = Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join('');
      if (!redactText(`upstream said ${value}.`).includes(value.slice(8, 24))) masked++;
    }
    // A safety net only (a secret without a digit, say, passes): the per-request knowledge is what removes them.
    expect(masked).toBeGreaterThanOrEqual(990);
  });
});
