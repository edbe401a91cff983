/**
 * The forms a credential takes on the wire and in an upstream's echo of a request: request encodings
 * (percent-, form-, JSON-escaped, `Authorization: Basic`) and transport encodings. lib/redact.ts looks for
 * every one of them.
 */

/**
 * How an upstream (a proxy, a gateway, a WAF's block page, a logging layer) may quote a request, or part of
 * it, back: each request form of a credential is looked for in every one of these. The leak scanner in the
 * tests (test/support/leaks.ts) implements each name on its own, so a mistake here is not shared there.
 *
 * Not covered, on purpose: UTF-16 or other non-UTF-8 byte dumps (no HTTP intermediary re-encodes a UTF-8
 * request that way), compression (a compressed echo is not text), and encryption.
 */
export const TRANSPORT_ENCODINGS = [
  {
    name: 'as-sent',
    reason: 'the request form itself, as the request carried it',
    encode: (t: string) => [t],
  },
  {
    name: 'hex',
    reason: 'a proxy or debug layer dumps the request bytes as hex (issue 17, finding 7); either case',
    encode: (t: string) => [Buffer.from(t, 'utf8').toString('hex')],
  },
  {
    name: 'base64',
    reason:
      'gateways and Lambda proxy events carry bodies base64-encoded; the value may sit at any of the 3 byte ' +
      'alignments inside a larger encoded body, padded or not',
    encode: (t: string) => base64Forms(t, 'base64'),
  },
  {
    name: 'base64url',
    reason: 'the same in the URL-safe alphabet (JWT-style bodies, some gateways)',
    encode: (t: string) => base64Forms(t, 'base64url'),
  },
  {
    name: 'double-percent',
    reason: 'a proxy percent-encodes an already percent-encoded URL or body (`%` becomes `%25`)',
    encode: (t: string) => [encodeURIComponent(encodeURIComponent(t))],
  },
  {
    name: 'json-unicode',
    reason: 'a JSON serialiser escaping every character as `\\uXXXX` (some WAF and logging layers do)',
    encode: (t: string) => [
      escapeEach(
        t,
        () => true,
        (c) => `\\u${hex4(c)}`,
      ),
    ],
  },
  {
    name: 'json-html-safe',
    reason: "HTML-safe JSON (Gson, .NET, Jackson options) escapes `< > & = '` as `\\u003c` and so on",
    encode: (t: string) => [
      escapeEach(
        t,
        (ch) => /[<>&=']/.test(ch),
        (c) => `\\u${hex4(c)}`,
      ),
    ],
  },
  {
    name: 'html-entities-hex',
    reason:
      "an HTML error page (a WAF's block page) quoting the request: `&#xHH;` for every non-alphanumeric",
    encode: (t: string) => [escapeEach(t, isNotAlnum, (c) => `&#x${c.toString(16)};`)],
  },
  {
    name: 'html-entities-decimal',
    reason: 'the same with decimal entities `&#DD;`',
    encode: (t: string) => [escapeEach(t, isNotAlnum, (c) => `&#${c};`)],
  },
  {
    name: 'html-entities-all',
    reason: 'an HTML page escaping every character (hex entities), as some block pages do',
    encode: (t: string) => [
      escapeEach(
        t,
        () => true,
        (c) => `&#x${c.toString(16)};`,
      ),
    ],
  },
  {
    name: 'c-hex-escape',
    reason: 'logs that print byte strings with `\\xHH` escapes',
    encode: (t: string) => [
      [...Buffer.from(t, 'utf8')].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''),
    ],
  },
  {
    name: 'quoted-printable',
    reason:
      'MIME bodies (mail or multipart gateways): `=HH` for `=` and non-printables; a soft line break that ' +
      'splits the value is still caught by the 16-character windows of the raw value',
    encode: (t: string) => [quotedPrintable(t)],
  },
] as const satisfies readonly { name: string; reason: string; encode: (text: string) => string[] }[];

export type TransportEncodingName = (typeof TRANSPORT_ENCODINGS)[number]['name'];

/** Every form of `value` this redactor looks for (exported for tests and for callers that must compare). */
export function credentialForms(value: string): string[] {
  return inTransport(requestForms(value));
}

/** The forms a credential takes in a request: raw, percent-, form- and JSON-escaped. */
function requestForms(value: string): string[] {
  const json = JSON.stringify(value).slice(1, -1);
  return unique([
    value,
    encodeURIComponent(value),
    formEncode(value),
    rfc6749Encode(value),
    // Strict RFC 3986 percent-encoding (Python's quote, most non-JavaScript encoders): `!'()*` escaped too.
    rfc6749Encode(value).replace(/\+/g, '%20'),
    encodeURIComponent(value).replace(/%20/g, '+'),
    json,
    encodeURIComponent(json),
  ]);
}

/** The forms of an `Authorization: Basic` credential for `id` and `secret`, besides the secret's own forms. */
export function basicForms(id: string, secret: string): string[] {
  return inTransport(basicRequestForms(id, secret));
}

/** Each request form in every transport encoding. */
function inTransport(forms: readonly string[]): string[] {
  return unique(forms.flatMap((form) => TRANSPORT_ENCODINGS.flatMap((encoding) => encoding.encode(form))));
}

function basicRequestForms(id: string, secret: string): string[] {
  const lenient = (v: string) => encodeURIComponent(v).replace(/%20/g, '+');
  const pairs = unique([
    `${rfc6749Encode(id)}:${rfc6749Encode(secret)}`,
    `${lenient(id)}:${lenient(secret)}`,
    `${formEncode(id)}:${formEncode(secret)}`,
    `${id}:${secret}`,
  ]);
  return unique(
    pairs.flatMap((pair) => {
      const b64 = Buffer.from(pair, 'utf8').toString('base64');
      const b64url = Buffer.from(pair, 'utf8').toString('base64url');
      // The padding-free prefix still identifies the credential when a proxy trims or re-pads it.
      return [pair, b64, b64.replace(/=+$/, ''), b64url, encodeURIComponent(b64), formEncode(b64)];
    }),
  );
}

/** `Authorization: Basic` value per RFC 6749 §2.3.1 (id and secret form-encoded, then base64). */
export function basicAuthorization(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${rfc6749Encode(id)}:${rfc6749Encode(secret)}`).toString('base64')}`;
}

/** WHATWG application/x-www-form-urlencoded, as URLSearchParams writes a value. */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

/**
 * RFC 6749 §2.3.1 / Appendix B: application/x-www-form-urlencoded with `+` for spaces and every character
 * outside RFC 3986's unreserved set escaped (encodeURIComponent leaves `!'()*` alone; escape them too).
 */
function rfc6749Encode(value: string): string {
  return encodeURIComponent(value)
    .replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, '+');
}

/**
 * Base64 of `text` on its own (padded and not), and the part of its encoding that is the same wherever it
 * sits in a larger encoded stream: at each of the 3 byte alignments, the whole 3-byte groups inside it.
 */
function base64Forms(text: string, alphabet: 'base64' | 'base64url'): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const whole = bytes.toString(alphabet);
  const forms = [whole, whole.replace(/=+$/, '')];
  for (let offset = 0; offset < 3; offset++) {
    const start = (3 - offset) % 3;
    const groups = Math.floor((bytes.length - start) / 3);
    if (groups > 0) forms.push(bytes.subarray(start, start + groups * 3).toString(alphabet));
  }
  return unique(forms);
}

function escapeEach(text: string, needs: (char: string) => boolean, as: (code: number) => string): string {
  let out = '';
  for (const char of text) out += needs(char) ? as(char.codePointAt(0) ?? 0) : char;
  return out;
}

function isNotAlnum(char: string): boolean {
  return !/^[A-Za-z0-9]$/.test(char);
}

function hex4(code: number): string {
  return code.toString(16).padStart(4, '0');
}

/** Quoted-printable (RFC 2045) without soft line breaks: `=HH` for `=`, controls and non-ASCII bytes. */
function quotedPrintable(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out +=
      byte === 0x3d || byte < 0x20 || byte > 0x7e
        ? `=${byte.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(byte);
  }
  return out;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
