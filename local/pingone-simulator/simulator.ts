import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expandRegionTemplate, type PingOneRegion } from '../../lib/pingone/regions.js';
import { handleAdminRequest } from './admin.js';
import { clientIdOf } from './api/client-auth.js';
import { PingOneApi } from './api/pingone-api.js';
import type { RequestFacts } from './api/request.js';
import { matchRoute, type RouteMatch } from './api/routes.js';
import { type ControllableClock, SimulatorClock } from './clock.js';
import { SimulatorControl } from './control.js';
import {
  errorForStatus,
  methodNotAllowed,
  notFound,
  OAuthError,
  PingOneError,
  unexpectedError,
} from './errors.js';
import type { FaultSubject } from './faults.js';
import { type Reply, readBody, writeReply } from './http.js';
import type { RateLimit } from './rate-limit.js';
import { echoReply, failNextReply, gatewayText, isAuthRoute, toReply } from './replies.js';
import { requestRecord } from './request-log.js';
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

/**
 * A running simulator; create it with {@link startPingOneSimulator}. Its control methods (creating a world,
 * out-of-band changes, faults, the request record) are {@link SimulatorControl}'s; this is the server: its
 * lifecycle and how a request passes the rate limit and the fault rules to the API and into the record.
 */
export class PingOneSimulator extends SimulatorControl {
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
  readonly #api: PingOneApi;
  readonly #shutdown = new AbortController();
  readonly #lateCommits = new Set<Promise<void>>();
  #stopped: Promise<void> | undefined;

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
    super(clock);
    this.#server = server;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.apiUrlTemplate = `${this.baseUrl}/{region}/api/v1`;
    this.authUrlTemplate = `${this.baseUrl}/{region}/auth`;
    this.adminUrl = `${this.baseUrl}/__admin`;
    this.#api = new PingOneApi(this.store, clock, tokenTtlSeconds);
  }

  apiUrl(region: PingOneRegion): string {
    return expandRegionTemplate(this.apiUrlTemplate, region);
  }

  authUrl(region: PingOneRegion): string {
    return expandRegionTemplate(this.authUrlTemplate, region);
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
    } else if (this.rateLimiter.over()) {
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
    // (An introspection's match names no owner: its ids are the ones the handler found for the client.)
    this.log.add(
      requestRecord({
        at,
        method,
        path: pathname,
        match,
        facts,
        status: outcome === 'drop' ? 0 : outcome.status,
        fault: applied.join(','),
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
        const { resourceId, applicationId } = facts; // how the client authenticated is not recorded here
        this.log.add(
          requestRecord({
            at: this.clock.now(),
            method: request.method,
            path: request.pathname,
            match,
            facts: { resourceId, applicationId },
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
