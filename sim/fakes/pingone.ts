/**
 * PingOne for the simulation: the local simulator's own store and API (local/pingone-simulator: one
 * previous slot, previous expiry, lastUsed, DELETE of the previous secret, token endpoint, introspection),
 * run in process on the simulated clock, behind a `Transport` (lib/pingone/transport.ts) so the real
 * PingOneHttpClient — retries, answer classification, redaction — is what talks to it.
 *
 * Between the client and PingOne sits a network with faults: PingOne's own 429/5xx JSON error documents, a
 * gateway's plain-text 502/503/504 (the request may still reach PingOne afterwards), commit-then-fail, a
 * request that lands after the client gave up, resets, and upstreams that echo the request back.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import {
  type Transport,
  TransportError,
  type TransportRequest,
  type TransportResponse,
} from '../../lib/pingone/transport.js';
import type { TransportEncodingName } from '../../lib/redact.js';
import { PingOneApi } from '../../local/pingone-simulator/api/pingone-api.js';
import { matchRoute, type RouteMatch } from '../../local/pingone-simulator/api/routes.js';
import type { Clock } from '../../local/pingone-simulator/clock.js';
import { errorForStatus, OAuthError, PingOneError } from '../../local/pingone-simulator/errors.js';
import type { OwnerKind } from '../../local/pingone-simulator/store/model.js';
import { SimulatorStore } from '../../local/pingone-simulator/store/store.js';
import type { FaultClass, Proc, SimEnv } from '../env.js';
import { never } from '../kernel.js';

export const API_TEMPLATE = 'https://pingone.sim/{region}/api/v1';
export const AUTH_TEMPLATE = 'https://pingone.sim/{region}/auth';

/** How long after it was sent a request can still land at PingOne (the late-commit fault's bound). */
export const LATE_COMMIT_MAX_MS = 10_000;

export interface OwnerRef {
  readonly kind: OwnerKind;
  readonly environmentId: string;
  readonly id: string;
}

/** A regenerate that took effect at PingOne. */
export interface RegenerateCommit {
  readonly owner: OwnerRef;
  readonly by: string;
  readonly at: number;
  readonly secret: string;
  /** The secret that was current and is now previous. */
  readonly replaced: string;
  /** The previous secret the regenerate evicted, if there was an unexpired one, and its last use. */
  readonly evicted: string | undefined;
  readonly evictedLastUsed: number | undefined;
  /** Until when PingOne keeps the replaced secret valid (the grace it granted), if it keeps it. */
  readonly previousExpiresAt: number | undefined;
  readonly viaConsole: boolean;
}

/** A call to an owner's secret (read, regenerate, delete) as PingOne received it, and whose token made it. */
export interface SecretCall {
  readonly owner: OwnerRef;
  readonly method: string;
  readonly by: string;
  /** The worker the bearer token was issued to (undefined: no valid token). */
  readonly workerId: string | undefined;
}

/** A DELETE of the previous secret that took effect. */
export interface DeleteCommit {
  readonly owner: OwnerRef;
  readonly by: string;
  readonly at: number;
  readonly removed: string | undefined;
  readonly lastUsed: number | undefined;
}

export class PingOneWorld {
  readonly store: SimulatorStore;
  readonly api: PingOneApi;
  readonly clock: Clock;
  /** Every secret PingOne generated, with who caused it. */
  readonly origins = new Map<string, string>();
  onRegenerate: ((commit: RegenerateCommit) => void) | undefined;
  onDelete: ((commit: DeleteCommit) => void) | undefined;
  onSecretCall: ((call: SecretCall) => void) | undefined;
  /** Bumped by every regenerate and DELETE (the invariants re-check only then). */
  mutations = 0;
  #correlation = 0;

  constructor(private readonly env: SimEnv) {
    this.clock = { now: () => new Date(env.scheduler.now()) };
    const prng = env.prng.fork();
    this.store = new SimulatorStore(this.clock, {
      int: (min, max) => prng.int(min, max),
      token: () => {
        const token = prng.text(43, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_');
        env.sensitive(token);
        return token;
      },
    });
    this.api = new PingOneApi(this.store, this.clock, 3600);
  }

  secretOf(owner: OwnerRef) {
    return this.store.secretState(owner.environmentId, owner.id, owner.kind);
  }

  /** A person regenerates the secret in the PingOne console (previous kept for `graceMs`, or none). */
  consoleRegenerate(owner: OwnerRef, graceMs: number | undefined): void {
    const before = this.secretOf(owner);
    if (!before) return;
    const expiresAt = graceMs === undefined ? undefined : new Date(this.env.scheduler.now() + graceMs);
    const after = this.store.regenerate(owner.environmentId, owner.id, expiresAt, owner.kind);
    this.mutations += 1;
    this.#noteSecret(after.secret, 'console');
    this.onRegenerate?.({
      owner,
      by: 'console',
      at: this.env.scheduler.now(),
      secret: after.secret,
      replaced: before.secret,
      evicted: before.previous?.secret,
      evictedLastUsed: before.previous?.lastUsed?.getTime(),
      previousExpiresAt: after.previous?.expiresAt?.getTime(),
      viaConsole: true,
    });
  }

  /** A consumer authenticates with `secret` (a match on the previous secret stamps its lastUsed). */
  authenticate(owner: OwnerRef, secret: string): 'current' | 'previous' | undefined {
    return this.store.matchSecret(owner.environmentId, owner.id, secret, owner.kind);
  }

  #noteSecret(secret: string, origin: string): void {
    this.origins.set(secret, origin);
    this.env.sensitive(secret);
  }

  noteInitial(secret: string): void {
    this.#noteSecret(secret, 'initial');
  }

  /** The transport a process's PingOne client uses. */
  transport(proc: Proc): Transport {
    return (request) => this.#exchange(proc, request);
  }

  async #exchange(proc: Proc, request: TransportRequest): Promise<TransportResponse> {
    if (proc.dead) return never();
    const { prng, scheduler, faults } = this.env;
    const url = new URL(request.url);
    const match = matchRoute(url.pathname);
    const what = `${request.method} ${describePath(url.pathname)}`;
    const changes = request.method !== 'GET' && match !== undefined && isSecretRoute(match);
    // Buggify: a call that changes PingOne draws a fault three times as often (that is where faults matter).
    const fault =
      !proc.reliable && prng.chance(changes ? Math.min(0.9, faults.rate * 3) : faults.rate)
        ? this.#drawFault(changes)
        : undefined;
    const started = scheduler.now();
    const crash =
      !proc.reliable && faults.has('crash') && prng.chance(faults.rate / 4)
        ? prng.pick(['before', 'after'])
        : undefined;
    if (crash === 'before') {
      await scheduler.sleep(prng.int(0, 5));
      this.env.trace(proc.name, `crash before PingOne ${what}`);
      proc.crash();
      return never();
    }

    return new Promise<TransportResponse>((resolve, reject) => {
      let settled = false;
      const answer = (response: TransportResponse | Error) => {
        if (settled || proc.dead) return;
        settled = true;
        cancelTimeout();
        if (crash === 'after') {
          this.env.trace(proc.name, `crash after PingOne ${what}`);
          proc.crash();
          return;
        }
        if (response instanceof Error) reject(response);
        else resolve(response);
      };
      const cancelTimeout = scheduler.after(request.timeoutMs, () => {
        if (settled || proc.dead) return;
        settled = true;
        this.env.trace(proc.name, `PingOne ${what}: client gave up after ${request.timeoutMs} ms`);
        reject(new TransportError(`no response within ${request.timeoutMs} ms`, { name: 'TimeoutError' }));
      });
      /** The request reaches PingOne at `at` and is performed; the answer (unless replaced) returns later. */
      const land = (at: number, reply: boolean) =>
        scheduler.at(at, () => {
          const response = this.#perform(proc, request, match);
          if (!reply) return;
          scheduler.after(prng.int(5, 60), () => answer(response));
        });

      const sendMs = prng.int(5, 80);
      if (this.env.sabotage === 'double-post' && changes && request.method === 'POST') {
        land(started + sendMs + 100, false);
      }
      if (this.env.sabotage === 'leak' && match?.route === 'token') {
        process.stdout.write(
          `${JSON.stringify({ message: 'debug', request: Buffer.from(`${JSON.stringify(request.headers)} ${request.body ?? ''}`).toString('hex') })}\n`,
        );
      }
      switch (fault) {
        case undefined:
          land(started + sendMs, true);
          return;
        case 'pingone-429': {
          const retryAfter = prng.pick([1, 2, 5, 10, 20, 30]);
          this.env.trace(proc.name, `PingOne ${what}: 429 Retry-After ${retryAfter}s`);
          scheduler.after(sendMs, () => answer(this.#error(429, match, retryAfter)));
          return;
        }
        case 'pingone-5xx': {
          const status = prng.pick([500, 503]);
          this.env.trace(proc.name, `PingOne ${what}: ${status} from PingOne, nothing done`);
          scheduler.after(sendMs, () => answer(this.#error(status, match)));
          return;
        }
        case 'commit-then-fail': {
          const how = prng.pick(['reset', 'gateway-502', 'pingone-500'] as const);
          this.env.trace(proc.name, `PingOne ${what}: committed, then ${how}`);
          scheduler.after(sendMs, () => {
            this.#perform(proc, request, match);
            scheduler.after(prng.int(5, 60), () =>
              answer(
                how === 'reset'
                  ? new TransportError('socket hang up', { cause: { code: 'ECONNRESET' } })
                  : how === 'gateway-502'
                    ? plainText(502, 'Bad Gateway')
                    : this.#error(500, match),
              ),
            );
          });
          return;
        }
        case 'proxy-5xx': {
          const status = prng.pick([502, 503, 504]);
          const forwarded = prng.chance(0.5);
          const landsAfter = prng.int(200, 3_000);
          this.env.trace(
            proc.name,
            `PingOne ${what}: gateway answers plain-text ${status}` +
              (forwarded ? `; the request reaches PingOne ${landsAfter} ms after it was sent` : ''),
          );
          scheduler.after(prng.int(5, 100), () => answer(plainText(status, gatewayText(status))));
          if (forwarded) land(started + landsAfter, false);
          return;
        }
        case 'late-commit': {
          const landsAfter = request.timeoutMs + prng.int(0, LATE_COMMIT_MAX_MS - request.timeoutMs + 1);
          this.env.trace(
            proc.name,
            `PingOne ${what}: slow network, lands ${landsAfter} ms after it was sent`,
          );
          land(started + Math.max(sendMs, landsAfter), true);
          return;
        }
        case 'reset': {
          this.env.trace(proc.name, `PingOne ${what}: connection reset before sending`);
          scheduler.after(prng.int(1, 20), () =>
            answer(new TransportError('read ECONNRESET', { cause: { code: 'ECONNRESET' } })),
          );
          return;
        }
        case 'echo': {
          const status = prng.pick([400, 500, 502]);
          const form = prng.pick(ECHO_FORMS);
          const upper = prng.chance(0.5);
          this.env.trace(
            proc.name,
            `PingOne ${what}: upstream echoes the request in a ${status}, ${form}${upper ? ' (upper case)' : ''}`,
          );
          scheduler.after(sendMs, () => answer(echo(status, request, match, form, upper)));
          return;
        }
        default: {
          const unreachable: never = fault;
          throw new Error(`unhandled fault ${String(unreachable)}`);
        }
      }
    });
  }

  #drawFault(changes: boolean): NetworkFault | undefined {
    const { prng, faults } = this.env;
    const options = NETWORK_FAULTS.filter((f) => faults.has(f));
    if (options.length === 0) return undefined;
    // Calls that change PingOne draw the faults that make their outcome unknown more often.
    const weighted = changes ? [...options, ...options.filter((f) => CHANGE_FAULTS.has(f))] : options;
    return prng.pick(weighted);
  }

  #error(status: number, match: RouteMatch | undefined, retryAfter?: number): TransportResponse {
    const auth = match !== undefined && (match.route === 'token' || match.route === 'introspect');
    const error = errorForStatus(status, auth, retryAfter);
    return jsonResponse(
      error.status,
      error instanceof PingOneError ? error.toBody(this.#nextId()) : error.toBody(),
      {
        ...error.headers,
      },
    );
  }

  #nextId(): string {
    this.#correlation += 1;
    return `00000000-0000-4000-8000-${String(this.#correlation).padStart(12, '0')}`;
  }

  /** Performs the request at PingOne now; returns PingOne's answer. */
  #perform(proc: Proc, request: TransportRequest, match: RouteMatch | undefined): TransportResponse {
    const correlationId = this.#nextId();
    if (!match) return jsonResponse(404, { id: correlationId, code: 'NOT_FOUND', message: 'not found' });
    if (!match.allowedMethods.includes(request.method)) {
      return jsonResponse(405, {
        id: correlationId,
        code: 'METHOD_NOT_ALLOWED',
        message: 'method not allowed',
      });
    }
    const owner = ownerOfMatch(match);
    const before = owner && isSecretRoute(match) ? this.secretOf(owner) : undefined;
    const headers: IncomingHttpHeaders = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
    if (owner && isSecretRoute(match)) {
      const bearer = /^Bearer\s+(\S+)\s*$/i.exec(String(headers.authorization ?? ''))?.[1];
      this.onSecretCall?.({
        owner,
        method: request.method,
        by: proc.name,
        workerId: bearer ? this.store.tokenHolder(bearer)?.clientId : undefined,
      });
    }
    let response: TransportResponse;
    try {
      const reply = this.api.handle(
        {
          method: request.method,
          match,
          headers,
          body: request.body ?? '',
          apiBase: API_TEMPLATE.replace('{region}', match.region.toLowerCase()),
          authBase: AUTH_TEMPLATE.replace('{region}', match.region.toLowerCase()),
        },
        {},
      );
      response = jsonResponse(reply.status, reply.body, {
        'correlation-id': correlationId,
        ...reply.headers,
      });
      if (match.route === 'token' && reply.status === 200) {
        this.env.sensitive((reply.body as { access_token: string }).access_token);
      }
    } catch (error) {
      if (error instanceof PingOneError) {
        response = jsonResponse(error.status, error.toBody(correlationId), { ...error.headers });
      } else if (error instanceof OAuthError) {
        response = jsonResponse(error.status, error.toBody(), { ...error.headers });
      } else throw error;
    }
    if (owner && response.ok && request.method !== 'GET') this.mutations += 1;
    if (owner && before && response.ok && request.method === 'POST') {
      const after = this.secretOf(owner);
      if (after) {
        this.#noteSecret(after.secret, proc.name);
        this.env.trace(proc.name, `PingOne regenerated ${owner.kind} ${owner.id.slice(0, 8)}`);
        this.onRegenerate?.({
          owner,
          by: proc.name,
          at: this.env.scheduler.now(),
          secret: after.secret,
          replaced: before.secret,
          evicted: before.previous?.secret,
          evictedLastUsed: before.previous?.lastUsed?.getTime(),
          previousExpiresAt: after.previous?.expiresAt?.getTime(),
          viaConsole: false,
        });
      }
    }
    if (owner && response.ok && request.method === 'DELETE') {
      this.env.trace(
        proc.name,
        `PingOne deleted the previous secret of ${owner.kind} ${owner.id.slice(0, 8)}`,
      );
      this.onDelete?.({
        owner,
        by: proc.name,
        at: this.env.scheduler.now(),
        removed: before?.previous?.secret,
        lastUsed: before?.previous?.lastUsed?.getTime(),
      });
    }
    return response;
  }
}

type NetworkFault = Exclude<
  FaultClass,
  'crash' | 'dynamodb' | 'secrets-manager' | 'planted' | 'region-alias' | 'tags' | 'short-ttl'
>;
const NETWORK_FAULTS: readonly NetworkFault[] = [
  'pingone-429',
  'pingone-5xx',
  'commit-then-fail',
  'proxy-5xx',
  'late-commit',
  'reset',
  'echo',
];
const CHANGE_FAULTS: ReadonlySet<NetworkFault> = new Set([
  'commit-then-fail',
  'proxy-5xx',
  'late-commit',
  'pingone-429',
]);

function isSecretRoute(match: RouteMatch): boolean {
  return match.route === 'secret' || match.route === 'application-secret';
}

function ownerOfMatch(match: RouteMatch): OwnerRef | undefined {
  if (match.resourceId) return { kind: 'resource', environmentId: match.environmentId, id: match.resourceId };
  if (match.applicationId) {
    return { kind: 'application', environmentId: match.environmentId, id: match.applicationId };
  }
  return undefined;
}

function describePath(path: string): string {
  return path.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/g, (id) => id.slice(0, 8));
}

function headersOf(values: Readonly<Record<string, string>>) {
  const lower = Object.fromEntries(Object.entries(values).map(([k, v]) => [k.toLowerCase(), v]));
  return { get: (name: string) => lower[name.toLowerCase()] ?? null };
}

function jsonResponse(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): TransportResponse {
  return {
    status,
    ok: status >= 200 && status < 300,
    headers: headersOf({ 'content-type': 'application/json', ...headers }),
    body: body === undefined ? '' : JSON.stringify(body),
  };
}

function plainText(status: number, text: string): TransportResponse {
  return { status, ok: false, headers: headersOf({ 'content-type': 'text/plain' }), body: text };
}

function gatewayText(status: number): string {
  return status === 502 ? 'Bad Gateway' : status === 503 ? 'Service Unavailable' : 'Gateway Timeout';
}

/**
 * How an echoing upstream quotes the request back: as it came, percent-encoded, or in each transport encoding
 * lib/redact.ts names (hex and `\u`/`\x`/entity escapes in either case). The encoders are written here on
 * their own (Node's built-ins where there is one), not taken from the redactor: a redactor that encodes a form
 * wrongly must not find its own mistake in the echo. The type makes this list name every encoding the
 * redactor does, so a new one there is echoed here too.
 */
type EchoEncoder = (text: string, upper: boolean) => string;
const TRANSPORT_ECHOES: Record<Exclude<TransportEncodingName, 'as-sent'>, EchoEncoder> = {
  hex: (t, upper) => caseOf(Buffer.from(t, 'utf8').toString('hex'), upper),
  base64: (t) => Buffer.from(t, 'utf8').toString('base64'),
  base64url: (t) => Buffer.from(t, 'utf8').toString('base64url'),
  'double-percent': (t) => encodeURIComponent(encodeURIComponent(t)),
  'json-unicode': (t, upper) =>
    [...t].map((c) => `\\u${caseOf(c.charCodeAt(0).toString(16).padStart(4, '0'), upper)}`).join(''),
  'json-html-safe': (t) =>
    t.replace(/[<>&=']/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`),
  'html-entities-hex': (t, upper) =>
    t.replace(/[^A-Za-z0-9]/g, (c) => `&#x${caseOf(c.charCodeAt(0).toString(16), upper)};`),
  'html-entities-decimal': (t) => t.replace(/[^A-Za-z0-9]/g, (c) => `&#${c.charCodeAt(0)};`),
  'html-entities-all': (t, upper) =>
    [...t].map((c) => `&#x${caseOf(c.charCodeAt(0).toString(16), upper)};`).join(''),
  'c-hex-escape': (t, upper) =>
    [...Buffer.from(t, 'utf8')].map((b) => `\\x${caseOf(b.toString(16).padStart(2, '0'), upper)}`).join(''),
  'quoted-printable': (t) => quotedPrintable(t),
};
const ECHO_ENCODERS: Record<string, EchoEncoder> = {
  raw: (t) => t,
  url: (t) => encodeURIComponent(t),
  ...TRANSPORT_ECHOES,
};
export const ECHO_FORMS: readonly string[] = Object.keys(ECHO_ENCODERS);

/** `text` as an echoing upstream quotes it in `form`. */
export function echoQuote(text: string, form: string, upper: boolean): string {
  const encode = ECHO_ENCODERS[form];
  if (!encode) throw new Error(`sim: no echo form ${form}`);
  return encode(text, upper);
}

function caseOf(text: string, upper: boolean): string {
  return upper ? text.toUpperCase() : text;
}

/** RFC 2045 quoted-printable: `=HH` for `=` and bytes outside printable ASCII, soft line breaks at 76. */
function quotedPrintable(text: string): string {
  let line = '';
  let out = '';
  for (const b of Buffer.from(text, 'utf8')) {
    const piece =
      b === 61 || b < 32 || b > 126
        ? `=${b.toString(16).toUpperCase().padStart(2, '0')}`
        : String.fromCharCode(b);
    if (line.length + piece.length > 75) {
      out += `${line}=\r\n`;
      line = '';
    }
    line += piece;
  }
  return out + line;
}

function echo(
  status: number,
  request: TransportRequest,
  match: RouteMatch | undefined,
  form: string,
  upper: boolean,
): TransportResponse {
  const headerText = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${value}`)
    .join('; ');
  const raw = `${request.method} ${request.url} [${headerText}] body: ${request.body ?? ''}`;
  const quoted = echoQuote(raw, form, upper);
  const auth = match !== undefined && (match.route === 'token' || match.route === 'introspect');
  return jsonResponse(
    status,
    auth
      ? { error: 'invalid_request', error_description: `Upstream rejected the request: ${quoted}` }
      : { id: 'echo', code: 'INVALID_REQUEST', message: `Upstream rejected the request: ${quoted}` },
  );
}

export type { PingOneRegion };
