import type { TransportEncodingName } from '../../lib/redact.js';

/**
 * The leak scanner the log and error scans use. It is written apart from lib/redact.ts on purpose (its own
 * encoders, its own list of request forms): a form the redactor forgets, or gets wrong, is still found here.
 * What it shares with the redactor is only the list of transport encodings' names
 * (`TransportEncodingName`): the type below makes this file implement every one, so a new encoding in the
 * redactor cannot go unscanned.
 *
 * For every sensitive value it looks for the forms a credential takes on the wire: raw; percent-encoded
 * (RFC 3986); form-encoded (`+` for space, WHATWG's encode set, and RFC 6749's); JSON-escaped; and any
 * 16-character window of the raw value (a truncated echo). For a Basic pair also `id:secret` (plain and
 * form-encoded) in base64, base64 without padding, base64url and percent-encoded base64, and the decoded
 * pair itself. Each of those request forms is searched in every transport encoding below (hex, base64 at
 * any alignment, double percent-encoding, JSON `\u` escapes, HTML entities, `\x` escapes,
 * quoted-printable), ignoring ASCII case.
 */

/** A value that must never appear, or a client credential sent as `Authorization: Basic`. */
export type Sensitive = string | { readonly id: string; readonly secret: string };

export interface Leak {
  /** Masked: first 4 characters and the length, so a failing assertion does not print the value. */
  readonly value: string;
  /** Which form was found, e.g. `form-encoded`, `basic base64`. */
  readonly form: string;
}

const UNRESERVED = /[A-Za-z0-9\-._~]/;
/** WHATWG application/x-www-form-urlencoded leaves only these unescaped (space becomes `+`). */
const FORM_SAFE = /[A-Za-z0-9*\-._]/;
const MIN_SCANNED = 8;
const WINDOW = 16;

function percentEncode(value: string, safe: RegExp, spaceAsPlus: boolean): string {
  let out = '';
  for (const char of value) {
    if (safe.test(char)) out += char;
    else if (char === ' ' && spaceAsPlus) out += '+';
    else
      for (const byte of Buffer.from(char, 'utf8'))
        out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The scanner's own encoders, one per transport encoding the redactor names. */
const TRANSPORT: Record<TransportEncodingName, (text: string) => string[]> = {
  'as-sent': (text) => [text],
  hex: (text) => [
    bytesOf(text)
      .map((b) => b.toString(16).padStart(2, '0'))
      .join(''),
  ],
  base64: (text) => alignedBase64(text, false),
  base64url: (text) => alignedBase64(text, true),
  'double-percent': (text) => [percentEncode(percentEncode(text, UNRESERVED, false), UNRESERVED, false)],
  'json-unicode': (text) => [[...text].map((c) => `\\u${code(c, 4)}`).join('')],
  'json-html-safe': (text) => [text.replace(/[<>&=']/g, (c) => `\\u${code(c, 4)}`)],
  'html-entities-hex': (text) => [text.replace(/[^A-Za-z0-9]/g, (c) => `&#x${code(c, 1)};`)],
  'html-entities-decimal': (text) => [text.replace(/[^A-Za-z0-9]/g, (c) => `&#${c.charCodeAt(0)};`)],
  'html-entities-all': (text) => [[...text].map((c) => `&#x${code(c, 1)};`).join('')],
  'c-hex-escape': (text) => [
    bytesOf(text)
      .map((b) => `\\x${b.toString(16).padStart(2, '0')}`)
      .join(''),
  ],
  'quoted-printable': (text) => [
    bytesOf(text)
      .map((b) =>
        b === 61 || b < 32 || b > 126
          ? `=${b.toString(16).toUpperCase().padStart(2, '0')}`
          : String.fromCharCode(b),
      )
      .join(''),
  ],
};

function bytesOf(text: string): number[] {
  return [...Buffer.from(text, 'utf8')];
}

function code(char: string, width: number): string {
  return char.charCodeAt(0).toString(16).padStart(width, '0');
}

/**
 * Base64 of `text` alone (padded and not) and, for each of the 3 positions it can start at inside a larger
 * encoded stream, the characters that depend on its bytes only: encode it behind 0–2 filler bytes and keep
 * the 4-character groups that lie wholly inside it.
 */
function alignedBase64(text: string, url: boolean): string[] {
  const bytes = Buffer.from(text, 'utf8');
  const toText = (b: Buffer) => {
    const plain = b.toString('base64');
    return url ? plain.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : plain;
  };
  const out = [toText(bytes), toText(bytes).replace(/=+$/, '')];
  for (let filler = 0; filler < 3; filler++) {
    const stream = toText(Buffer.concat([Buffer.alloc(filler, 0x20), bytes]));
    const firstGroup = Math.ceil(filler / 3);
    const lastGroup = Math.floor((filler + bytes.length) / 3);
    if (lastGroup > firstGroup) out.push(stream.slice(firstGroup * 4, lastGroup * 4));
  }
  return out;
}

/** Each request form in every transport encoding, named `<form> in <encoding>`. */
function inTransport(forms: [string, string][]): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, text] of forms) {
    for (const [encoding, encode] of Object.entries(TRANSPORT)) {
      for (const encoded of encode(text)) {
        out.push([encoding === 'as-sent' ? name : `${name} in ${encoding}`, encoded]);
      }
    }
  }
  return out;
}

/** Every form of a plain value, named. */
export function formsOf(value: string): [form: string, text: string][] {
  const forms: [string, string][] = [
    ['raw', value],
    ['percent-encoded', percentEncode(value, UNRESERVED, false)],
    ['form-encoded', percentEncode(value, FORM_SAFE, true)],
    ['rfc6749-encoded', percentEncode(value, UNRESERVED, true)],
    ['json-escaped', JSON.stringify(value).slice(1, -1)],
  ];
  return inTransport(forms);
}

/** Every form of a Basic credential (besides the secret's own forms). */
export function basicFormsOf(id: string, secret: string): [form: string, text: string][] {
  const forms: [string, string][] = [];
  const pairs: [string, string][] = [
    ['plain pair', `${id}:${secret}`],
    ['encoded pair', `${percentEncode(id, UNRESERVED, true)}:${percentEncode(secret, UNRESERVED, true)}`],
  ];
  for (const [name, pair] of pairs) {
    const b64 = Buffer.from(pair, 'utf8').toString('base64');
    forms.push(
      [`basic ${name} decoded`, pair],
      [`basic ${name} base64`, b64],
      [`basic ${name} base64 unpadded`, b64.replace(/=+$/, '')],
      [`basic ${name} base64url`, Buffer.from(pair, 'utf8').toString('base64url')],
      [`basic ${name} base64 percent-encoded`, percentEncode(b64, UNRESERVED, false)],
    );
  }
  return inTransport(forms);
}

/** The leaks of `values` in `text` (an empty list when there are none). Values under 8 characters are skipped. */
export interface ScanOptions {
  /** Search only the forms in these transport encodings (no windows): to show one encoding is caught. */
  readonly encodings?: readonly TransportEncodingName[];
}

/** Forms per value, lower-cased and long enough to scan; kept because the simulation scans after every event. */
const formCache = new Map<string, [string, string][]>();

function scannedForms(key: string, value: Sensitive): [string, string][] {
  let forms = formCache.get(key);
  if (!forms) {
    const all =
      typeof value === 'string'
        ? formsOf(value)
        : [...formsOf(value.secret), ...basicFormsOf(value.id, value.secret)];
    forms = all
      .filter(([, form]) => form.length >= MIN_SCANNED)
      .map(([name, form]): [string, string] => [name, form.toLowerCase()]);
    if (formCache.size > 5_000) formCache.clear();
    formCache.set(key, forms);
  }
  return forms;
}

export function findLeaks(original: string, values: Iterable<Sensitive>, options: ScanOptions = {}): Leak[] {
  // Hex digits, `%XX`, `\\uXXXX` and `&#xHH;` come in either case: search ignoring ASCII case.
  const text = original.toLowerCase();
  const leaks: Leak[] = [];
  const seen = new Set<string>();
  for (const value of values) {
    const secret = typeof value === 'string' ? value : value.secret;
    if (secret.length < MIN_SCANNED) continue;
    const key = typeof value === 'string' ? value : `${value.id}\u0000${value.secret}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const all = scannedForms(key, value);
    const only = options.encodings;
    const forms = only
      ? all.filter(([name]) =>
          only.some((e) => (e === 'as-sent' ? !name.includes(' in ') : name.endsWith(` in ${e}`))),
        )
      : all;
    const masked = `${secret.slice(0, 4)}… (${secret.length} chars)`;
    const found = forms.find(([, form]) => text.includes(form));
    if (found) {
      leaks.push({ value: masked, form: found[0] });
      continue;
    }
    if (only) continue;
    // A truncated echo: windows of the raw value, every 8 characters.
    for (let start = 0; start + WINDOW <= secret.length; start += 8) {
      if (text.includes(secret.slice(start, start + WINDOW).toLowerCase())) {
        leaks.push({ value: masked, form: `16-character window at ${start}` });
        break;
      }
    }
  }
  return leaks;
}

/** `findLeaks` as one line per leak, for `expect(...).toEqual([])`. */
export function describeLeaks(text: string, values: Iterable<Sensitive>): string[] {
  return findLeaks(text, values).map((leak) => `${leak.value} as ${leak.form}`);
}
