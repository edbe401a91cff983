/**
 * The simulation's leak search: every form of every sensitive value (test/support/leaks.ts's `formsOf` /
 * `basicFormsOf`, i.e. each request form in every transport encoding lib/redact.ts names, plus the
 * 16-character windows of the raw value), searched for in one pass over the text, ignoring ASCII case.
 *
 * A run emits megabytes of log text and registers hundreds of values (every access token, RotationToken and
 * generated secret), each with about a hundred forms. One regular expression of every form, rebuilt whenever a
 * value is added, cost more than the rest of the simulation together. Here each form is computed once, when
 * its value is registered, and indexed by a hash of its first {@link KEY} characters; the search rolls that
 * hash along the text, tests a bitmap, and compares the few forms whose key hash matches. Adding a value
 * adds its forms; nothing is rebuilt. Text and forms are compared in lower case with every run of
 * backslashes as one (see {@link normal}).
 */
import { basicFormsOf, formsOf, type Sensitive } from '../test/support/leaks.js';

/** Every form is at least this long (shorter ones are skipped, as test/support/leaks.ts skips them). */
const KEY = 8;
const WINDOW = 16;
const BITS = 1 << 22;
const BASE = 0x01000193;
/** BASE ** KEY mod 2^32: what the character leaving the window contributed. */
const BASE_POW = (() => {
  let p = 1;
  for (let i = 0; i < KEY; i++) p = Math.imul(p, BASE);
  return p;
})();

interface Form {
  readonly text: string;
  readonly name: string;
}

export class LeakIndex {
  readonly #bitmap = new Uint32Array(BITS >>> 5);
  readonly #byHash = new Map<number, Form[]>();
  readonly #seenForms = new Set<string>();
  readonly #seenValues = new Set<string>();
  /** Values as registered (for masking a report line). */
  readonly values: Sensitive[] = [];

  /** Registers a value: its forms are searched from now on. Values under 8 characters are skipped. */
  add(value: Sensitive): void {
    const secret = typeof value === 'string' ? value : value.secret;
    if (secret.length < KEY) return;
    const key = typeof value === 'string' ? value : `${value.id}\u0000${value.secret}`;
    if (this.#seenValues.has(key)) return;
    this.#seenValues.add(key);
    this.values.push(value);
    const masked = `${secret.slice(0, 4)}… (${secret.length} chars)`;
    const forms =
      typeof value === 'string' ? formsOf(secret) : [...formsOf(secret), ...basicFormsOf(value.id, secret)];
    for (const [form, text] of forms) this.#addForm(text, `${masked} as ${form}`);
    for (let start = 0; start + WINDOW <= secret.length; start += 8)
      this.#addForm(secret.slice(start, start + WINDOW), `${masked} as the 16-character window at ${start}`);
  }

  #addForm(original: string, name: string): void {
    if (original.length < KEY) return;
    const text = normal(original);
    if (this.#seenForms.has(text)) return;
    this.#seenForms.add(text);
    let h = 0;
    for (let i = 0; i < KEY; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
    const bit = (h >>> 0) % BITS;
    this.#bitmap[bit >>> 5] = (this.#bitmap[bit >>> 5] as number) | (1 << (bit & 31));
    const list = this.#byHash.get(h);
    if (list) list.push({ text, name });
    else this.#byHash.set(h, [{ text, name }]);
  }

  /**
   * The first form found in `text` (ignoring ASCII case and how often a backslash is repeated), named;
   * undefined when there is none.
   */
  find(original: string): string | undefined {
    const text = normal(original);
    const n = text.length;
    if (n < KEY) return undefined;
    const bitmap = this.#bitmap;
    let h = 0;
    for (let i = 0; i < KEY; i++) h = (Math.imul(h, BASE) + text.charCodeAt(i)) | 0;
    for (let i = 0; ; i++) {
      const bit = (h >>> 0) % BITS;
      if (((bitmap[bit >>> 5] as number) & (1 << (bit & 31))) !== 0) {
        const list = this.#byHash.get(h);
        if (list) for (const form of list) if (text.startsWith(form.text, i)) return form.name;
      }
      if (i + KEY >= n) return undefined;
      h = (Math.imul(h, BASE) - Math.imul(text.charCodeAt(i), BASE_POW) + text.charCodeAt(i + KEY)) | 0;
    }
  }
}

/**
 * Lower case, and every run of backslashes as one: a form with escapes (`\u0041`, `\x41`, `\"`) is found
 * however many times JSON or util.inspect escaped the text it sits in (a log line's JSON string holding
 * an upstream's JSON error document doubles each backslash, once per level).
 */
function normal(text: string): string {
  const lower = text.toLowerCase();
  return lower.includes('\\\\') ? lower.replace(/\\{2,}/g, '\\') : lower;
}
