import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expandRegionTemplate, type PingOneRegion } from '../../lib/pingone/regions.js';
import { handleAdminRequest } from './admin.js';
import { type ClientAuth, clientIdOf } from './api/client-auth.js';
import { PingOneApi } from './api/pingone-api.js';
import type { RequestFacts } from './api/request.js';
import { matchRoute, type RouteMatch, regionOfPath } from './api/routes.js';
import { type ControllableClock, SimulatorClock } from './clock.js';
import {
  errorForStatus,
  methodNotAllowed,
  notFound,
  OAuthError,
  PingOneError,
  unexpectedError,
} from './errors.js';
import { FaultInjector, type FaultSubject, type RouteName } from './faults.js';
import { type Reply, readBody, writeReply } from './http.js';
import { echoReply, failNextReply, gatewayText, isAuthRoute, toReply } from './replies.js';
import type {
  CreateApplicationInput,
  CreateEnvironmentInput,
  CreateResourceInput,
  CreateWorkerInput,
  Environment,
  OwnerKind,
  SecretState,
  TokenEndpointAuthMethod,
} from './store/model.js';
import { SimulatorStore } from './store/store.js';
import { SimulatorUsageError } from './usage.js';

export interface PingOneSimulatorOptions {
  /** Port on 127.0.0.1. Default 0: a free port. */
  readonly port?: number;
  /** The clock behind every expiry. Default: a new ticking {@link SimulatorClock}. Share it with the Lambda. */
  readonly clock?: ControllableClock;
  /** `expires_in` of issued access tokens. Default 3600, PingOne's one hour. */
  readonly tokenTtlSeconds?: number;
  /** PingOne's rate limit: requests over it get 429 REQUEST_LIMITED with Retry-After. Default: none. */
  readonly rateLimit?: RateLimit;
}

/**
 * A PingOne rate limit: at most `requestsPerSecond` PingOne requests (every route) per real-time second;
 * the rest are answered 429 `REQUEST_LIMITED` with `Retry-After: 1` and not performed.
 */
export interface RateLimit {
  readonly requestsPerSecond: number;
}

/**
 * One request as the simulator answered it. It holds no secret, token or Authorization header: only the
 * path (without query), ids and how the client authenticated.
 */
export interface RequestRecord {
  /** Arrival time by the simulator clock. */
  readonly at: Date;
  readonly method: string;
  readonly path: string;
  readonly route: RouteName | 'unknown';
  readonly region?: PingOneRegion;
  readonly environmentId?: string;
  /** The path's resource id, or the client_id of an introspection by a known resource. */
  readonly resourceId?: string;
  /** The path's application id, or the client_id of an introspection by a known application. */
  readonly applicationId?: string;
  /** The status the client was sent; 0 when the connection was dropped without a response. */
  readonly status: number;
  readonly clientAuth?: ClientAuth;
  /** A token issued by one region's auth service presented at another region's API (refused with 401). */
  readonly crossRegionToken?: { readonly issuedIn: PingOneRegion; readonly usedIn: PingOneRegion };
  /**
   * The fault rules applied, e.g. `failNext:429`, `commitThenFail:drop`, `delay:1500ms`, `rateLimit`
   * (comma-separated).
   */
  readonly fault?: string;
}

export interface RequestFilter {
  readonly method?: string;
  readonly route?: RouteName | 'unknown';
  readonly status?: number;
  readonly environmentId?: string;
  readonly resourceId?: string;
  readonly applicationId?: string;
}

/** A worker app's credentials; JSON-serialised, this is the Lambda's worker parameter. */
export interface WorkerCredentials {
  readonly environmentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly region: PingOneRegion;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
}

export interface CreatedResource {
  readonly id: string;
  readonly environmentId: string;
  /** The generated secret; CUSTOM resources only. */
  readonly secret?: string;
}

export interface CreatedCustomResource extends CreatedResource {
  readonly secret: string;
}

export interface CreatedApplication {
  readonly id: string;
  readonly environmentId: string;
  /** The generated secret; OIDC applications only (unless created `withoutSecret`). */
  readonly secret?: string;
}

export interface CreatedOidcApplication extends CreatedApplication {
  readonly secret: string;
}

/** The response header carrying the simulator's request id; PingOne error bodies repeat it as `id`. */
const CORRELATION_HEADER = 'correlation-id';

/**
 * Starts a PingOne simulator on 127.0.0.1: token, introspection and resource-secret Management API for
 * every region under one port, with a controllable clock, fault injection and a request record.
 *
 * @example
 * const sim = await startPingOneSimulator();
 * const env = sim.createEnvironment({ region: 'EU' });
 * const resource = sim.createResource(env.id);
 * const worker = sim.createWorker(env.id);
 * // point the Lambda at sim.apiUrlTemplate / sim.authUrlTemplate with JSON.stringify(worker) as its worker parameter
 * await sim.stop();
 */
export async function startPingOneSimulator(
  options: PingOneSimulatorOptions = {},
): Promise<PingOneSimulator> {
  return PingOneSimulator.start(options);
}

/** A running simulator; create it with {@link startPingOneSimulator}. */
export class PingOneSimulator {
  /** Shared by every expiry decision: tokens, previous secrets, `expiresAt` bounds. */
  readonly clock: ControllableClock;
  readonly faults = new FaultInjector();
  readonly port: number;
  /** `http://127.0.0.1:PORT` */
  readonly baseUrl: string;
  /** `http://127.0.0.1:PORT/{region}/api/v1`, `{region}` being the lower-case region code. */
  readonly apiUrlTemplate: string;
  /** `http://127.0.0.1:PORT/{region}/auth` */
  readonly authUrlTemplate: string;
  /** `http://127.0.0.1:PORT/__admin`: the JSON admin API for other processes (see README.md). */
  readonly adminUrl: string;

  readonly #server: Server;
  readonly #store: SimulatorStore;
  readonly #api: PingOneApi;
  readonly #requests: RequestRecord[] = [];
  readonly #shutdown = new AbortController();
  readonly #lateCommits = new Set<Promise<void>>();
  #stopped: Promise<void> | undefined;
  #rateLimit: RateLimit | undefined;
  #rateWindow = { second: 0, count: 0 };

  static async start(options: PingOneSimulatorOptions = {}): Promise<PingOneSimulator> {
    const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
    if (!(Number.isInteger(tokenTtlSeconds) && tokenTtlSeconds > 0)) {
      throw new SimulatorUsageError('tokenTtlSeconds must be a positive integer');
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    const simulator = new PingOneSimulator(
      server,
      port,
      options.clock ?? new SimulatorClock(),
      tokenTtlSeconds,
    );
    server.on('request', (req, res) => {
      void simulator.#handle(req, res);
    });
    if (options.rateLimit) simulator.limitRate(options.rateLimit);
    return simulator;
  }

  private constructor(server: Server, port: number, clock: ControllableClock, tokenTtlSeconds: number) {
    this.#server = server;
    this.port = port;
    this.clock = clock;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrlTemplate = `${this.baseUrl}/{region}/api/v1`;
    this.authUrlTemplate = `${this.baseUrl}/{region}/auth`;
    this.adminUrl = `${this.baseUrl}/__admin`;
    this.#store = new SimulatorStore(clock);
    this.#api = new PingOneApi(this.#store, clock, tokenTtlSeconds);
  }

  apiUrl(region: PingOneRegion): string {
    return expandRegionTemplate(this.apiUrlTemplate, region);
  }

  authUrl(region: PingOneRegion): string {
    return expandRegionTemplate(this.authUrlTemplate, region);
  }

  /** Creates an environment in `region`; its API and auth paths exist under that region's prefix only. */
  createEnvironment(input: CreateEnvironmentInput): Environment {
    return this.#store.createEnvironment(input);
  }

  /** Creates a resource; a CUSTOM one (the default) gets a generated secret, returned here. */
  createResource(
    environmentId: string,
    input?: CreateResourceInput & { readonly type?: 'CUSTOM' },
  ): CreatedCustomResource;
  createResource(environmentId: string, input: CreateResourceInput): CreatedResource;
  createResource(environmentId: string, input: CreateResourceInput = {}): CreatedResource {
    const { resource, secret } = this.#store.createResource(environmentId, input);
    return secret === undefined
      ? { id: resource.id, environmentId }
      : { id: resource.id, environmentId, secret };
  }

  /**
   * Creates an application; an OIDC one (the default: WEB_APP, CLIENT_SECRET_BASIC) gets a generated
   * secret, returned here. SAML applications have none.
   */
  createApplication(
    environmentId: string,
    input?: CreateApplicationInput & { readonly protocol?: 'OPENID_CONNECT'; readonly withoutSecret?: false },
  ): CreatedOidcApplication;
  createApplication(environmentId: string, input: CreateApplicationInput): CreatedApplication;
  createApplication(environmentId: string, input: CreateApplicationInput = {}): CreatedApplication {
    const { application, secret } = this.#store.createApplication(environmentId, input);
    return secret === undefined
      ? { id: application.id, environmentId }
      : { id: application.id, environmentId, secret };
  }

  /**
   * Creates a worker app in `environmentId` that may manage `environments` (default all of its organization's).
   * Its token comes from its environment's region and is valid only at that region's API.
   */
  createWorker(environmentId: string, input: CreateWorkerInput = {}): WorkerCredentials {
    const worker = this.#store.createWorker(environmentId, input);
    const environment = this.#store.environment(environmentId)!;
    return {
      environmentId,
      clientId: worker.clientId,
      clientSecret: worker.clientSecret,
      region: environment.region,
      tokenEndpointAuthMethod: worker.tokenEndpointAuthMethod,
    };
  }

  /**
   * The resource's (or, with `kind`, the application's) secret as GET would return it now (expired previous
   * removed). Touches no `lastUsed`.
   */
  readSecret(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): SecretState {
    const state = this.#store.secretState(environmentId, ownerId, kind);
    if (!state) {
      throw new SimulatorUsageError(
        kind === 'application'
          ? `no OIDC application with a secret ${ownerId} in ${environmentId}`
          : `no CUSTOM resource ${ownerId} in ${environmentId}`,
        'not-found',
      );
    }
    return state;
  }

  /**
   * An administrator regenerates the secret outside the Lambda (console, another tool), to create drift.
   * `previousExpiresAt` is not range-checked, so tests can build any state.
   */
  regenerateOutOfBand(
    environmentId: string,
    ownerId: string,
    options: { previousExpiresAt?: Date | undefined; kind?: OwnerKind } = {},
  ): SecretState {
    return this.#store.regenerate(environmentId, ownerId, options.previousExpiresAt, options.kind);
  }

  /**
   * A consumer authenticated with the previous secret at `at` (default: the clock's now): sets
   * `previous.lastUsed`, as an introspection with it does. For seeding states without the HTTP call.
   */
  markPreviousUsed(
    environmentId: string,
    ownerId: string,
    at: Date = this.clock.now(),
    kind: OwnerKind = 'resource',
  ): void {
    this.#store.markPreviousUsed(environmentId, ownerId, at, kind);
  }

  /** Sets (or with `undefined` lifts) the rate limit; see {@link RateLimit}. */
  limitRate(limit: RateLimit | undefined): void {
    if (limit !== undefined && !(Number.isInteger(limit.requestsPerSecond) && limit.requestsPerSecond >= 1)) {
      throw new SimulatorUsageError('rateLimit.requestsPerSecond must be a positive integer');
    }
    this.#rateLimit = limit;
    this.#rateWindow = { second: 0, count: 0 };
  }

  /** An administrator revokes the previous secret outside the Lambda. */
  deletePreviousOutOfBand(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): void {
    this.#store.deletePrevious(environmentId, ownerId, kind);
  }

  /** Invalidates every access token issued so far; the next API call with one gets 401. */
  revokeTokens(): void {
    this.#store.tokens.revokeAll();
  }

  /**
   * Every access token issued and not revoked, so tests can scan logs and errors for them (the request
   * record never holds one).
   */
  issuedTokens(): readonly string[] {
    return this.#store.tokens.issued();
  }

  /** Every PingOne request answered so far (admin API calls excluded), oldest first. */
  get requests(): readonly RequestRecord[] {
    return [...this.#requests];
  }

  count(filter: RequestFilter = {}): number {
    return this.#requests.filter((record) => matchesFilter(record, filter)).length;
  }

  /** Every request that presented one region's token at another region's API (each was refused). */
  crossRegionTokenUses(): readonly RequestRecord[] {
    return this.#requests.filter((record) => record.crossRegionToken !== undefined);
  }

  clearRequests(): void {
    this.#requests.length = 0;
  }

  /** Environments, resources (with secrets), workers and the clock, for debugging and the admin API. */
  snapshot(): ReturnType<SimulatorStore['snapshot']> & { now: Date } {
    return { now: this.clock.now(), ...this.#store.snapshot() };
  }

  /** Closes the server, drops open (keep-alive) connections and cancels delayed responses. */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      this.#shutdown.abort();
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#stopped;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const correlationId = randomUUID();
    res.setHeader(CORRELATION_HEADER, correlationId);
    try {
      const { pathname } = new URL(req.url ?? '/', this.baseUrl);
      const method = (req.method ?? 'GET').toUpperCase();
      const body = await readBody(req);
      if (pathname === '/__admin' || pathname.startsWith('/__admin/')) {
        const remoteAddress = req.socket.remoteAddress;
        writeReply(res, handleAdminRequest(this, { method, pathname, body, remoteAddress }));
        return;
      }
      await this.#handlePingOne(req, res, { method, pathname, body, correlationId });
    } catch (error) {
      // A simulator bug or a broken connection: say so once and give the client something sane.
      if (!res.headersSent && !res.destroyed) {
        console.error(`pingone-simulator: request ${correlationId} failed`, error);
        writeReply(res, toReply(unexpectedError(), correlationId));
      } else {
        res.destroy();
      }
    }
  }

  async #handlePingOne(
    req: IncomingMessage,
    res: ServerResponse,
    request: { method: string; pathname: string; body: string; correlationId: string },
  ): Promise<void> {
    const { method, pathname, body, correlationId } = request;
    const at = this.clock.now();
    const match = matchRoute(pathname);
    const facts: RequestFacts = {};
    const applied: string[] = [];
    let delayMs = 0;
    let outcome: Reply | 'drop';

    if (!match) {
      outcome = toReply(notFound(), correlationId);
    } else if (this.#overRateLimit()) {
      applied.push('rateLimit');
      outcome = toReply(errorForStatus(429, isAuthRoute(match.route), 1), correlationId);
    } else if (!match.allowedMethods.includes(method)) {
      outcome = toReply(methodNotAllowed(match.allowedMethods), correlationId);
    } else {
      const subject: FaultSubject = {
        method,
        route: match.route,
        environmentId: match.environmentId,
        // An introspecting client may be a resource or an application; its id matches either filter.
        ...(match.route === 'introspect'
          ? { resourceId: clientIdOf(req.headers, body), applicationId: clientIdOf(req.headers, body) }
          : { resourceId: match.resourceId, applicationId: match.applicationId }),
      };
      const delay = this.faults.take('delay', subject);
      if (delay) {
        delayMs = delay.ms;
        applied.push(`delay:${delay.ms}ms`);
      }
      const failure = this.faults.take('failNext', subject);
      const echo = failure ? undefined : this.faults.take('echo', subject);
      const late = failure || echo ? undefined : this.faults.take('lateCommit', subject);
      if (failure) {
        applied.push(`failNext:${failure.status}`);
        outcome = failNextReply(failure, match, correlationId);
      } else if (echo) {
        applied.push(`echo:${echo.status ?? 400}`);
        outcome = echoReply(echo, match, { method, pathname, headers: req.headers, body }, correlationId);
      } else if (late) {
        const status = late.status ?? 503;
        applied.push(`lateCommit:${status}`);
        outcome = { status, text: late.body ?? gatewayText(status) };
        this.#performLater(match, { method, pathname, headers: req.headers, body }, late.afterMs ?? 1_000);
      } else {
        outcome = this.#perform(match, { method, headers: req.headers, body }, facts, correlationId);
        const commitFault = outcome.status < 300 ? this.faults.take('commitThenFail', subject) : undefined;
        if (commitFault?.drop) {
          applied.push('commitThenFail:drop');
          outcome = 'drop';
        } else if (commitFault) {
          const status = commitFault.status ?? 502;
          applied.push(`commitThenFail:${status}`);
          outcome = { status, text: gatewayText(status) };
        }
      }
    }

    // Recorded before any delay, so a test sees the request even if its client gave up waiting.
    const resourceId = facts.resourceId ?? (match?.route === 'introspect' ? undefined : match?.resourceId);
    const applicationId =
      facts.applicationId ?? (match?.route === 'introspect' ? undefined : match?.applicationId);
    const region = match?.region ?? regionOfPath(pathname);
    this.#requests.push(
      Object.freeze({
        at,
        method,
        path: pathname,
        route: match?.route ?? 'unknown',
        ...(region ? { region } : {}),
        ...(match ? { environmentId: match.environmentId } : {}),
        ...(resourceId ? { resourceId } : {}),
        ...(applicationId ? { applicationId } : {}),
        status: outcome === 'drop' ? 0 : outcome.status,
        ...(facts.clientAuth ? { clientAuth: facts.clientAuth } : {}),
        ...(facts.crossRegionToken ? { crossRegionToken: facts.crossRegionToken } : {}),
        ...(applied.length > 0 ? { fault: applied.join(',') } : {}),
      }),
    );

    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: this.#shutdown.signal });
      } catch {
        res.destroy(); // stop() was called while the response was held back
        return;
      }
    }
    if (outcome === 'drop') {
      res.destroy(); // the operation committed; the client sees the connection reset, not an answer
      return;
    }
    writeReply(res, outcome);
  }

  /**
   * Performs a request a gateway already answered (a `lateCommit` fault) `afterMs` real ms from now, and
   * records it as its own request (fault `lateCommit:committed`) with PingOne's status.
   */
  #performLater(
    match: RouteMatch,
    request: { method: string; pathname: string; headers: IncomingMessage['headers']; body: string },
    afterMs: number,
  ): void {
    const done = sleep(afterMs, undefined, { signal: this.#shutdown.signal }).then(
      () => {
        const facts: RequestFacts = {};
        let reply: Reply;
        try {
          reply = this.#perform(match, request, facts, randomUUID());
        } catch (error) {
          console.error('pingone-simulator: a late-committed request failed', error);
          return;
        }
        this.#requests.push(
          Object.freeze({
            at: this.clock.now(),
            method: request.method,
            path: request.pathname,
            route: match.route,
            region: match.region,
            environmentId: match.environmentId,
            ...((facts.resourceId ?? match.resourceId)
              ? { resourceId: facts.resourceId ?? match.resourceId }
              : {}),
            ...((facts.applicationId ?? match.applicationId)
              ? { applicationId: facts.applicationId ?? match.applicationId }
              : {}),
            status: reply.status,
            fault: 'lateCommit:committed',
          }),
        );
      },
      () => {}, // the simulator stopped first
    );
    this.#lateCommits.add(done);
    void done.finally(() => this.#lateCommits.delete(done));
  }

  /** Resolves once every request a `lateCommit` fault holds back has been performed. */
  async lateCommitsDone(): Promise<void> {
    while (this.#lateCommits.size > 0) await Promise.all([...this.#lateCommits]);
  }

  /** Counts the request against the rate limit's current real-time second. */
  #overRateLimit(): boolean {
    if (!this.#rateLimit) return false;
    const second = Math.floor(Date.now() / 1000);
    if (this.#rateWindow.second !== second) this.#rateWindow = { second, count: 0 };
    this.#rateWindow.count += 1;
    return this.#rateWindow.count > this.#rateLimit.requestsPerSecond;
  }

  #perform(
    match: RouteMatch,
    request: { method: string; headers: IncomingMessage['headers']; body: string },
    facts: RequestFacts,
    correlationId: string,
  ): Reply {
    try {
      return this.#api.handle(
        { ...request, match, apiBase: this.apiUrl(match.region), authBase: this.authUrl(match.region) },
        facts,
      );
    } catch (error) {
      if (error instanceof PingOneError || error instanceof OAuthError) return toReply(error, correlationId);
      throw error;
    }
  }
}

function matchesFilter(record: RequestRecord, filter: RequestFilter): boolean {
  return (
    (filter.method === undefined || filter.method.toUpperCase() === record.method) &&
    (filter.route === undefined || filter.route === record.route) &&
    (filter.status === undefined || filter.status === record.status) &&
    (filter.environmentId === undefined || filter.environmentId === record.environmentId) &&
    (filter.resourceId === undefined || filter.resourceId === record.resourceId) &&
    (filter.applicationId === undefined || filter.applicationId === record.applicationId)
  );
}
