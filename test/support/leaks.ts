/**
 * The leak scanner the log and error scans use. It is written apart from lib/redact.ts on purpose (its own
 * percent-encoder, its own list of forms): a form the redactor forgets is still found here.
 *
 * For every sensitive value it looks for the forms a credential takes on the wire and in an echoed error:
 * raw; percent-encoded (RFC 3986, upper- or lower-case hex); form-encoded (`+` for space, WHATWG's
 * encode set, and RFC 6749's); JSON-escaped; and any 16-character window of the raw value (a truncated
 * echo). For a Basic pair also `id:secret` (plain and form-encoded) in base64, base64 without padding,
 * base64url and percent-encoded base64, and the decoded pair itself.
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

/** Every form of a plain value, named. */
export function formsOf(value: string): [form: string, text: string][] {
  const forms: [string, string][] = [
    ['raw', value],
    ['percent-encoded', percentEncode(value, UNRESERVED, false)],
    ['form-encoded', percentEncode(value, FORM_SAFE, true)],
    ['rfc6749-encoded', percentEncode(value, UNRESERVED, true)],
    ['json-escaped', JSON.stringify(value).slice(1, -1)],
  ];
  return withLowerHex(forms);
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
  return withLowerHex(forms);
}

function withLowerHex(forms: [string, string][]): [string, string][] {
  const out = [...forms];
  for (const [name, text] of forms) {
    const lower = text.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase());
    if (lower !== text) out.push([`${name} (lower-case hex)`, lower]);
  }
  return out;
}

/** The leaks of `values` in `text` (an empty list when there are none). Values under 8 characters are skipped. */
export function findLeaks(text: string, values: Iterable<Sensitive>): Leak[] {
  const leaks: Leak[] = [];
  const seen = new Set<string>();
  for (const value of values) {
    const secret = typeof value === 'string' ? value : value.secret;
    if (secret.length < MIN_SCANNED) continue;
    const key = typeof value === 'string' ? value : `${value.id}\u0000${value.secret}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const forms =
      typeof value === 'string' ? formsOf(secret) : [...formsOf(secret), ...basicFormsOf(value.id, secret)];
    const masked = `${secret.slice(0, 4)}… (${secret.length} chars)`;
    const found = forms.find(([, form]) => form.length >= MIN_SCANNED && text.includes(form));
    if (found) {
      leaks.push({ value: masked, form: found[0] });
      continue;
    }
    // A truncated echo: windows of the raw value, every 8 characters.
    for (let start = 0; start + WINDOW <= secret.length; start += 8) {
      if (text.includes(secret.slice(start, start + WINDOW))) {
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
