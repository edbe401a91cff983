import { SimulatorUsageError } from './usage.js';

/** The simulator's routes, as fault rules and the request record name them. */
export type RouteName =
  | 'token'
  | 'introspect'
  | 'environment'
  | 'resource'
  | 'secret'
  | 'application'
  | 'application-secret'
  | 'environments'
  | 'role-assignments'
  | 'roles';

const ROUTE_NAMES: readonly RouteName[] = [
  'token',
  'introspect',
  'environment',
  'resource',
  'secret',
  'application',
  'application-secret',
  'environments',
  'role-assignments',
  'roles',
];

/** Which requests a fault rule applies to. */
export interface FaultTarget {
  readonly route: RouteName;
  /** HTTP method; any method when omitted (`commitThenFail` defaults to POST). */
  readonly method?: string;
  /** Only requests for this environment (the path's environment id). */
  readonly environmentId?: string;
  /** Only requests for this resource (path id, or the introspecting client_id). */
  readonly resourceId?: string;
  /** Only requests for this application (path id, or the introspecting client_id). */
  readonly applicationId?: string;
  /** How many matching requests the rule applies to before it is used up. Default 1. */
  readonly count?: number;
}

/** Answer with an error instead of performing the operation. */
export interface FailNextFault extends FaultTarget {
  /** 400–599. */
  readonly status: number;
  /** `Retry-After` header in seconds; default 1 for 429, none otherwise. */
  readonly retryAfterSeconds?: number;
  /**
   * Replaces the default PingOne-shaped error body. A string is sent as it is, as `text/plain` (a gateway's
   * page, not PingOne's error document); anything else as JSON.
   */
  readonly body?: unknown;
}

/**
 * Perform the operation (it commits), then fail the response, as a gateway between the client and PingOne
 * does: the answer is the gateway's plain text, not PingOne's error document.
 */
export interface CommitThenFailFault extends FaultTarget {
  /** The status the client sees instead of the real answer. Default 502. Ignored with `drop`. */
  readonly status?: number;
  /** Destroy the connection without any response, so the client sees a reset. */
  readonly drop?: boolean;
}

/**
 * A gateway answers at once with its own error (plain text, not PingOne's error document) while it still
 * hands the request to PingOne, which performs it `afterMs` real milliseconds later. The client sees a 503
 * for a request that lands after it has re-read PingOne.
 */
export interface LateCommitFault extends FaultTarget {
  /** What the gateway answers. Default 503. */
  readonly status?: number;
  /** The gateway's plain-text body. Default `503 Service Unavailable`-style text. */
  readonly body?: string;
  /** Real milliseconds until PingOne performs the request. Default 1000. */
  readonly afterMs?: number;
}

/** Perform the operation at once, then hold the response back for `ms` real milliseconds. */
export interface DelayFault extends FaultTarget {
  readonly ms: number;
}

/**
 * Answer with an error that quotes the request back, as a misbehaving upstream (a proxy, a WAF, a verbose
 * validation layer) does: the message and `error_description` repeat the method, path, every header
 * (Authorization included) and the raw body; the details name each body field with its value, the
 * Authorization value and, for Basic, the decoded `id:secret`. The operation does not run.
 */
export interface EchoFault extends FaultTarget {
  /** 400–599. Default 400. */
  readonly status?: number;
  /**
   * How the upstream encodes what it quotes (the message's quote and every detail value). Default `none`:
   * as the request carried it. See {@link ECHO_ENCODINGS}.
   */
  readonly encoding?: EchoEncoding;
}

/**
 * The encodings an echoing upstream may quote a request in. The simulator encodes the whole quoted text
 * (its own implementation, apart from lib/redact.ts and test/support/leaks.ts), so a credential sits at
 * whatever position the request put it.
 */
export const ECHO_ENCODINGS = [
  'none',
  'hex',
  'hex-upper',
  'base64',
  'base64url',
  'double-percent',
  'json-unicode',
  'json-html-safe',
  'html-entities-hex',
  'html-entities-decimal',
  'html-entities-all',
  'c-hex-escape',
  'quoted-printable',
] as const;
export type EchoEncoding = (typeof ECHO_ENCODINGS)[number];

/** `text` as an upstream quoting it in `encoding` writes it. */
export function echoEncode(text: string, encoding: EchoEncoding): string {
  const bytes = new TextEncoder().encode(text);
  const hexByte = (b: number) => (b < 16 ? '0' : '') + b.toString(16);
  const each = (needs: (c: string) => boolean, as: (c: string) => string) =>
    Array.from(text, (c) => (needs(c) ? as(c) : c)).join('');
  const u4 = (c: string) => `\\u${(c.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
  const alnum = (c: string) => /[A-Za-z0-9]/.test(c);
  switch (encoding) {
    case 'none':
      return text;
    case 'hex':
      return Array.from(bytes, hexByte).join('');
    case 'hex-upper':
      return Array.from(bytes, hexByte).join('').toUpperCase();
    case 'base64':
      return btoa(String.fromCharCode(...bytes));
    case 'base64url':
      return btoa(String.fromCharCode(...bytes))
        .replaceAll('+', '-')
        .replaceAll('/', '_')
        .replace(/=+$/, '');
    case 'double-percent':
      return encodeURIComponent(encodeURIComponent(text));
    case 'json-unicode':
      return each(() => true, u4);
    case 'json-html-safe':
      return each((c) => "<>&='".includes(c), u4);
    case 'html-entities-hex':
      return each(
        (c) => !alnum(c),
        (c) => `&#x${(c.codePointAt(0) ?? 0).toString(16).toUpperCase()};`,
      );
    case 'html-entities-decimal':
      return each(
        (c) => !alnum(c),
        (c) => `&#${c.codePointAt(0) ?? 0};`,
      );
    case 'html-entities-all':
      return each(
        () => true,
        (c) => `&#x${(c.codePointAt(0) ?? 0).toString(16)};`,
      );
    case 'c-hex-escape':
      return Array.from(bytes, (b) => `\\x${hexByte(b)}`).join('');
    case 'quoted-printable':
      return Array.from(bytes, (b) =>
        b === 61 || b < 32 || b > 126 ? `=${hexByte(b).toUpperCase()}` : String.fromCharCode(b),
      ).join('');
  }
}

interface FaultSpecs {
  failNext: FailNextFault;
  echo: EchoFault;
  commitThenFail: CommitThenFailFault;
  lateCommit: LateCommitFault;
  delay: DelayFault;
}

export type FaultKind = keyof FaultSpecs;

/** A rule still waiting for matching requests. */
export type PendingFault = {
  [K in FaultKind]: { readonly kind: K; readonly fault: FaultSpecs[K]; remaining: number };
}[FaultKind];

/** The parts of a request a rule can match on. */
export interface FaultSubject {
  readonly method: string;
  readonly route: RouteName;
  readonly environmentId?: string;
  readonly resourceId?: string;
  readonly applicationId?: string;
}

/**
 * Fault rules, each consumed by the requests it matches (first added, first used).
 *
 * When a rule applies during request handling:
 * - `delay` is taken when the request arrives; the operation runs at once and the response waits.
 * - `failNext` and `echo` are taken before the operation, which then does not run.
 * - `lateCommit` is taken before the operation, which runs later (see {@link LateCommitFault}).
 * - `commitThenFail` is taken only after the operation succeeded (2xx), so a request refused for another
 *   reason (say an expired token) does not use it up.
 */
export class FaultInjector {
  #rules: PendingFault[] = [];

  /**
   * The next `count` matching requests fail with `status` and do nothing.
   * @example sim.faults.failNext({ route: 'secret', method: 'GET', status: 429, retryAfterSeconds: 2 })
   */
  failNext(fault: FailNextFault): void {
    checkTarget(fault);
    checkStatus(fault.status, 'failNext status');
    if (
      fault.retryAfterSeconds !== undefined &&
      !(Number.isInteger(fault.retryAfterSeconds) && fault.retryAfterSeconds >= 0)
    ) {
      throw new SimulatorUsageError('retryAfterSeconds must be a non-negative integer');
    }
    this.#add({ kind: 'failNext', fault: { ...fault }, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching requests are answered with an error quoting the request back (credentials
   * included, in every form the client sent them). Nothing is performed.
   * @example sim.faults.echo({ route: 'token', status: 401 })
   */
  echo(fault: EchoFault): void {
    checkTarget(fault);
    if (fault.status !== undefined) checkStatus(fault.status, 'echo status');
    if (fault.encoding !== undefined && !ECHO_ENCODINGS.includes(fault.encoding)) {
      throw new SimulatorUsageError(`echo encoding must be one of ${ECHO_ENCODINGS.join(', ')}`);
    }
    this.#add({ kind: 'echo', fault: { ...fault }, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching requests commit, then the client gets `status` (default 502) or, with
   * `drop: true`, a reset connection. Method defaults to POST.
   * @example sim.faults.commitThenFail({ route: 'secret', drop: true })
   */
  commitThenFail(fault: CommitThenFailFault): void {
    checkTarget(fault);
    if (fault.status !== undefined) checkStatus(fault.status, 'commitThenFail status');
    this.#add({ kind: 'commitThenFail', fault: { method: 'POST', ...fault }, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching requests get a gateway's plain-text error at once (default 503) and are
   * performed by PingOne `afterMs` (default 1000) real milliseconds later. Method defaults to POST.
   * @example sim.faults.lateCommit({ route: 'secret', afterMs: 1_000 })
   */
  lateCommit(fault: LateCommitFault): void {
    checkTarget(fault);
    if (fault.status !== undefined) checkStatus(fault.status, 'lateCommit status');
    if (fault.afterMs !== undefined && !(Number.isFinite(fault.afterMs) && fault.afterMs >= 0)) {
      throw new SimulatorUsageError('lateCommit afterMs must be >= 0');
    }
    this.#add({ kind: 'lateCommit', fault: { method: 'POST', ...fault }, remaining: fault.count ?? 1 });
  }

  /**
   * The next `count` matching requests are answered `ms` real milliseconds late. The operation commits
   * before the wait, so a client that times out has still changed PingOne's state.
   */
  delay(fault: DelayFault): void {
    checkTarget(fault);
    if (!(Number.isFinite(fault.ms) && fault.ms >= 0)) throw new SimulatorUsageError('delay ms must be >= 0');
    this.#add({ kind: 'delay', fault: { ...fault }, remaining: fault.count ?? 1 });
  }

  clear(): void {
    this.#rules = [];
  }

  /** Rules not yet used up, in the order they apply. */
  pending(): readonly PendingFault[] {
    return this.#rules.map((rule) => ({ ...rule }));
  }

  /** Takes one use of the first rule of `kind` that matches `subject`. */
  take<K extends FaultKind>(kind: K, subject: FaultSubject): FaultSpecs[K] | undefined {
    const rule = this.#rules.find((r) => r.kind === kind && matches(r.fault, subject));
    if (!rule) return undefined;
    rule.remaining -= 1;
    if (rule.remaining <= 0) this.#rules = this.#rules.filter((r) => r !== rule);
    return rule.fault as FaultSpecs[K];
  }

  #add(rule: PendingFault): void {
    this.#rules.push(rule);
  }
}

function matches(fault: FaultTarget, subject: FaultSubject): boolean {
  return (
    fault.route === subject.route &&
    (fault.method === undefined || fault.method.toUpperCase() === subject.method) &&
    (fault.environmentId === undefined || fault.environmentId === subject.environmentId) &&
    (fault.resourceId === undefined || fault.resourceId === subject.resourceId) &&
    (fault.applicationId === undefined || fault.applicationId === subject.applicationId)
  );
}

function checkTarget(fault: FaultTarget): void {
  if (!ROUTE_NAMES.includes(fault.route)) {
    throw new SimulatorUsageError(`fault route must be one of ${ROUTE_NAMES.join(', ')}`);
  }
  const count = fault.count ?? 1;
  if (!(count === Number.POSITIVE_INFINITY || (Number.isInteger(count) && count >= 1))) {
    throw new SimulatorUsageError('fault count must be a positive integer (or Infinity)');
  }
}

function checkStatus(status: number, what: string): void {
  if (!(Number.isInteger(status) && status >= 400 && status <= 599)) {
    throw new SimulatorUsageError(`${what} must be an HTTP error status (400–599)`);
  }
}
