/**
 * The one redactor. Every text that comes from outside — a PingOne error body, a network error, an AWS SDK
 * error message — passes through a {@link Redactor} before it becomes part of an error message or a log
 * record, because an upstream (PingOne, a corporate proxy, a WAF, an AWS validation error) may quote the
 * request back.
 *
 * Two layers:
 * 1. **Known credentials.** The code that builds a request knows which credentials it carries and registers
 *    them: `secret(value)` for a client secret, `bearer(token)` for an access token, `basic(id, secret)` for
 *    an `Authorization: Basic` header. The redactor then removes every form the value takes on the wire:
 *    raw, percent-encoded (`encodeURIComponent`), form-encoded (`application/x-www-form-urlencoded`, RFC 6749
 *    §2.3.1 with `+` for spaces), JSON-escaped, and for Basic the base64 (plain, base64url, and percent- or
 *    form-encoded) of `id:secret` with the parts form-encoded or not. Each of those request forms is also
 *    looked for in every {@link TRANSPORT_ENCODINGS} form (hex, base64 at any alignment, double
 *    percent-encoding, JSON `\u` escapes, HTML entities, `\x` escapes, quoted-printable): an upstream may
 *    quote the request back in any of them. Matching ignores case (hex digits, escapes).
 * 2. **Shapes.** Whatever it was not told about: the value after `Basic `/`Bearer `, after a key such as
 *    `client_secret=` or `"clientSecret":"`, and any run of 24+ characters of PingOne's secret alphabet
 *    (RFC 3986 unreserved, plus percent escapes) that mixes upper case, lower case and digits the way random text
 *    does (a CamelCase name with a year in it is kept). UUIDs are kept:
 *    request ids, environment, resource and version ids are what on-call needs.
 *
 * What stays: status codes, PingOne error codes, request ids, field names (`previous.expiresAt`), host names.
 *
 * Using it (e.g. for a new credential type):
 * ```ts
 * const redactor = Redactor.none.basic(clientId, clientSecret); // what this request sends
 * try { ... } catch (error) { throw redactor.error(error); }      // scrubs message, stack, cause chain
 * const safe = redactor.text(upstreamMessage);                    // for text quoted into your own message
 * ```
 * Redactors are immutable: `with…` methods return a new one, so a client can keep a base redactor (say, for
 * its worker credential) and extend it per request.
 */
import { basicForms, credentialForms } from './credential-forms.js';

export { basicAuthorization, TRANSPORT_ENCODINGS, type TransportEncodingName } from './credential-forms.js';

export const REDACTED = '[redacted]';

/** Shorter values are not registered (they would mask ordinary words); no real credential is this short. */
const MIN_KNOWN_LENGTH = 6;

/** Shape rule: a run of the secret alphabet at least this long, mixing cases and digits. */
const MIN_RUN_LENGTH = 24;

/** ...that switches between upper case, lower case, digits and symbols at least this often per character. */
const MIN_SWITCH_RATIO = 0.35;

const MAX_CAUSE_DEPTH = 8;

/** A known secret this long is also matched by its windows (a truncated echo). */
const MIN_WINDOWED_LENGTH = 24;

const WINDOW_LENGTH = 16;

const WINDOW_STRIDE = 8;

/** What a window extends over: anything but whitespace, quotes and the usual separators. */
const WORD_BREAK = /[\s"'<>&,;]/;

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

const SECRET_RUN = /(?:[A-Za-z0-9._~-]|%[0-9A-Fa-f]{2})+/g;

const AUTH_SCHEME = /\b(Basic|Bearer)(\s+|%20|\+)([A-Za-z0-9._~+/=%-]{6,})/gi;

const KEYS =
  'client[_-]?secret|client[_-]?assertion|secret|password|passwd|access[_-]?token|refresh[_-]?token|id[_-]?token|rotation[_-]?token|secret[_-]?string|authorization|token';

const VALUE = `[^\\s"'&,;}\\\\)]{6,}`;

/** `client_secret=…` (form, query): the value up to the next separator. */
const FORM_KEY = new RegExp(`(\\b(?:${KEYS})(?:=|%3D))(${VALUE})`, 'gi');

/** `"clientSecret": "…"` (JSON, possibly escaped inside another JSON string). */
const JSON_KEY = new RegExp(`((?:${KEYS})\\\\?["']\\s*:\\s*\\\\?["'])(${VALUE})`, 'gi');

export class Redactor {
  /** A redactor that knows no credential: only the shape rules apply. */
  static readonly none = new Redactor([]);

  readonly #forms: readonly string[];
  readonly #windows: readonly string[];
  #lowered: { forms: readonly string[]; windows: readonly string[] } | undefined;

  private constructor(forms: readonly string[], windows: readonly string[] = []) {
    this.#forms = forms;
    this.#windows = windows;
  }

  /**
   * A client secret, password or other opaque credential. A long one (24+ characters) is also found when an
   * upstream quotes only part of it: any 16-character window of it, with the rest of its word.
   */
  secret(...values: readonly (string | undefined)[]): Redactor {
    const fresh = values.filter(usable);
    const next = this.#add(fresh.flatMap(credentialForms));
    const windows = fresh.flatMap(windowsOf).filter((w) => !next.#windows.includes(w));
    return windows.length === 0 ? next : new Redactor(next.#forms, [...next.#windows, ...windows]);
  }

  /** An access token sent as `Authorization: Bearer`. */
  bearer(token: string | undefined): Redactor {
    return this.secret(token);
  }

  /** Client credentials sent as `Authorization: Basic` (and possibly also in a form body). */
  basic(id: string, secret: string): Redactor {
    if (!usable(secret)) return this;
    return this.secret(secret).#add(basicForms(id, secret));
  }

  /** This redactor and everything `other` knows. */
  merge(other: Redactor): Redactor {
    const next = this.#add(other.#forms);
    const windows = other.#windows.filter((w) => !next.#windows.includes(w));
    return windows.length === 0 ? next : new Redactor(next.#forms, [...next.#windows, ...windows]);
  }

  /** `text` with every known credential form and every credential-shaped run replaced by {@link REDACTED}. */
  text(text: string): string {
    return maskShapes(this.#maskKnown(text));
  }

  /** `text(value)` for strings, `undefined` stays `undefined`. */
  optional(value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.text(value);
  }

  /**
   * Scrubs an error in place — message, stack, string properties, and the same for its `cause` chain and
   * `AggregateError.errors` — and returns it, so `throw redactor.error(e)` keeps the error's class.
   * A non-Error is turned into an Error with a redacted description.
   */
  error<T>(error: T): T | Error {
    if (!(error instanceof Error)) {
      return error === undefined || error === null ? (error as T) : new Error(this.text(String(error)));
    }
    this.#scrub(error, new Set(), 0);
    return error;
  }

  #scrub(error: Error, seen: Set<unknown>, depth: number): void {
    if (seen.has(error) || depth > MAX_CAUSE_DEPTH) return;
    seen.add(error);
    const target = error as unknown as Record<string, unknown>;
    for (const key of ['message', 'stack'] as const) {
      const value = target[key];
      if (typeof value === 'string') {
        const clean = this.text(value);
        if (clean !== value) trySet(target, key, clean);
      }
    }
    for (const key of Object.keys(error)) {
      if (key === 'cause' || key === 'errors') continue;
      const value = target[key];
      if (typeof value === 'string') {
        const clean = this.text(value);
        if (clean !== value) trySet(target, key, clean);
      } else if (value !== null && typeof value === 'object' && !(value instanceof Error)) {
        trySet(target, key, this.#scrubValue(value, 0));
      }
    }
    const cause = target.cause;
    if (cause instanceof Error) this.#scrub(cause, seen, depth + 1);
    else if (typeof cause === 'string') trySet(target, 'cause', this.text(cause));
    else if (cause !== null && typeof cause === 'object') trySet(target, 'cause', this.#scrubValue(cause, 0));
    if (Array.isArray(target.errors)) {
      for (const inner of target.errors) if (inner instanceof Error) this.#scrub(inner, seen, depth + 1);
    }
  }

  /** A redacted copy of plain data (SDK `$metadata`, PingOne `details`). */
  #scrubValue(value: unknown, depth: number): unknown {
    if (typeof value === 'string') return this.text(value);
    if (value === null || typeof value !== 'object' || depth > 4) return value;
    if (value instanceof Error) {
      this.#scrub(value, new Set(), 0);
      return value;
    }
    if (Array.isArray(value)) return value.map((v) => this.#scrubValue(v, depth + 1));
    if (Object.getPrototypeOf(value) !== Object.prototype) return value;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.#scrubValue(v, depth + 1)]));
  }

  #add(forms: readonly string[]): Redactor {
    const fresh = unique(forms).filter((f) => f.length >= MIN_KNOWN_LENGTH && !this.#forms.includes(f));
    return fresh.length === 0 ? this : new Redactor([...this.#forms, ...fresh], this.#windows);
  }

  /**
   * Replaces every occurrence of a known form (and every window, with the rest of its word) by
   * {@link REDACTED}, ignoring ASCII case (hex digits, `%XX`, `\\uXXXX` and `&#xHH;` come in either case; a
   * value differing from a known one only in case is masked too, which costs nothing). Plain substring
   * search: a few hundred forms over a long error body take well under a millisecond, where one
   * case-insensitive regular expression of them took hundreds.
   */
  #maskKnown(text: string): string {
    if (this.#forms.length === 0 && this.#windows.length === 0) return text;
    this.#lowered ??= { forms: this.#forms.map(asciiLower), windows: this.#windows.map(asciiLower) };
    const haystack = asciiLower(text);
    const ranges: [number, number][] = [];
    const find = (needle: string, extend: boolean) => {
      for (let at = haystack.indexOf(needle); at >= 0; at = haystack.indexOf(needle, at + 1)) {
        let start = at;
        let end = at + needle.length;
        if (extend) {
          while (start > 0 && !WORD_BREAK.test(text[start - 1] as string)) start--;
          while (end < text.length && !WORD_BREAK.test(text[end] as string)) end++;
        }
        ranges.push([start, end]);
      }
    };
    for (const form of this.#lowered.forms) find(form, false);
    // A window takes the rest of its word with it, so no more than a few characters stay either side.
    for (const window of this.#lowered.windows) find(window, true);
    if (ranges.length === 0) return text;
    ranges.sort((x, y) => x[0] - y[0] || y[1] - x[1]);
    let out = '';
    let last = 0;
    let open: [number, number] | undefined;
    for (const range of ranges) {
      if (open && range[0] <= open[1]) {
        open[1] = Math.max(open[1], range[1]);
        continue;
      }
      if (open) {
        out += text.slice(last, open[0]) + REDACTED;
        last = open[1];
      }
      open = [range[0], range[1]];
    }
    if (open) out += text.slice(last, open[0]) + REDACTED + text.slice(open[1]);
    else out += text.slice(last);
    return out;
  }
}

/** The shape rules alone (for text no request context is known for: the CLI's last line, say). */
export function redactText(text: string): string {
  return Redactor.none.text(text);
}

function maskShapes(text: string): string {
  return text
    .replace(AUTH_SCHEME, (_, scheme: string, space: string) => `${scheme}${space}${REDACTED}`)
    .replace(FORM_KEY, (_, key: string) => `${key}${REDACTED}`)
    .replace(JSON_KEY, (_, key: string) => `${key}${REDACTED}`)
    .replace(SECRET_RUN, maskRun);
}

/** Masks the credential-looking parts of one run of the secret alphabet, keeping UUIDs inside it. */
function maskRun(run: string): string {
  if (run.length < MIN_RUN_LENGTH) return run;
  let out = '';
  let last = 0;
  for (const match of run.matchAll(UUID)) {
    out += maskPiece(run.slice(last, match.index));
    out += match[0];
    last = match.index + match[0].length;
  }
  return out + maskPiece(run.slice(last));
}

/**
 * A piece is credential-shaped when it mixes upper case, lower case and digits and switches between those
 * classes often, as random text does (about 2 switches in 3 characters for PingOne's alphabet): a name such
 * as `OrdersApiProduction2024Secret` switches far less and stays readable.
 */
function maskPiece(piece: string): string {
  if (piece.length < MIN_RUN_LENGTH || piece === REDACTED) return piece;
  const decoded = piece.replace(/%[0-9A-Fa-f]{2}/g, '%');
  if (!(/[a-z]/.test(decoded) && /[A-Z]/.test(decoded) && /[0-9]/.test(decoded))) return piece;
  let switches = 0;
  for (let i = 1; i < decoded.length; i++) {
    if (charClass(decoded.charCodeAt(i)) !== charClass(decoded.charCodeAt(i - 1))) switches++;
  }
  return switches >= MIN_SWITCH_RATIO * decoded.length ? REDACTED : piece;
}

function charClass(code: number): number {
  if (code >= 97 && code <= 122) return 0;
  if (code >= 65 && code <= 90) return 1;
  if (code >= 48 && code <= 57) return 2;
  return 3;
}

/** Lower-cases ASCII letters only, so every index in the result is the same as in `text`. */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}

function windowsOf(value: string): string[] {
  if (value.length < MIN_WINDOWED_LENGTH) return [];
  const windows: string[] = [];
  for (let start = 0; start + WINDOW_LENGTH <= value.length; start += WINDOW_STRIDE) {
    windows.push(value.slice(start, start + WINDOW_LENGTH));
  }
  // The tail, so the last characters are covered too.
  windows.push(value.slice(-WINDOW_LENGTH));
  return unique(windows);
}

function usable(value: string | undefined): value is string {
  return typeof value === 'string' && value.length >= MIN_KNOWN_LENGTH;
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function trySet(target: Record<string, unknown>, key: string, value: unknown): void {
  try {
    target[key] = value;
  } catch {
    // a frozen or getter-only property: leave it (the message and stack are always writable)
  }
}
