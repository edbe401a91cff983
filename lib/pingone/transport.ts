import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';

/**
 * One HTTP exchange for the PingOne client, on `node:http`/`node:https` with keep-alive agents.
 *
 * Why not `fetch`: undici costs about 25 ms of CPU on a cold Lambda's first call (plus WebAssembly
 * compilation on background threads) and several MiB of memory; `node:https` is already loaded by the AWS
 * SDK's own HTTP handler. What the client relied on from `fetch` is kept here: a whole-exchange timeout
 * (connect, headers and body), redirects refused rather than followed, errors whose `cause` carries the
 * socket error code, and a `TimeoutError` name when the time ran out.
 *
 * The transport never retries: the client decides what may be repeated (never the regenerate POST).
 */
export interface TransportRequest {
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Whole exchange, from connecting to the last byte of the body. */
  readonly timeoutMs: number;
  /**
   * The caller's deadline (epoch ms) the exchange must end by: a regenerate's is the end of its intent's
   * window, a read's the invocation's. A transport that waits before sending (a shared rate) may wait until
   * shortly before it, then sends with what is left (lib/audit/limiter.ts `waitUntilDeadline`).
   */
  readonly deadline?: number;
}

export interface TransportHeaders {
  /** A header's value (comma-joined if repeated), or null; names are case-insensitive. */
  get(name: string): string | null;
}

export interface TransportResponse {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: TransportHeaders;
  readonly body: string;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/**
 * A request a transport provably did not send (a rate budget had no turn for it before its timeout): nothing
 * reached PingOne, so the client reports it as not started (`DeadlineExceededError`), never as an exchange
 * whose outcome is unknown.
 */
export class NotSentError extends Error {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'NotSentError';
  }
}

/** A failed exchange: no complete response. `cause` is the socket error (its `code`, e.g. ECONNREFUSED). */
export class TransportError extends Error {
  constructor(message: string, options: { cause?: unknown; name?: 'TimeoutError' } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.name = options.name ?? 'TransportError';
  }
}

export interface NodeTransportOptions {
  /** A larger body is refused: PingOne's answers are a few kB; a proxy's page or a flood is not read on. */
  readonly maxBodyBytes?: number;
  /** Idle keep-alive sockets are closed after this long (below the usual 5 s server keep-alive). */
  readonly idleSocketMs?: number;
}

const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

/**
 * A transport with its own keep-alive agents, so a warm Lambda reuses its TLS connections to PingOne.
 * A socket the server closed while the Lambda was frozen fails the next exchange with ECONNRESET; the
 * client's retries cover idempotent calls, and the regenerate POST always follows a read on the same host
 * moments earlier, so it rides a socket that has just been proven alive.
 */
export function nodeTransport(options: NodeTransportOptions = {}): Transport {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const agentOptions = {
    keepAlive: true,
    timeout: options.idleSocketMs ?? 4_000,
    scheduling: 'lifo' as const,
  };
  const agents = { 'http:': new HttpAgent(agentOptions), 'https:': new HttpsAgent(agentOptions) };

  return (request) =>
    new Promise<TransportResponse>((resolve, reject) => {
      const url = new URL(request.url);
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        reject(new TransportError(`unsupported URL scheme ${url.protocol}`));
        return;
      }
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers['content-length'] = Buffer.byteLength(request.body);
      let settled = false;
      let timer: NodeJS.Timeout | undefined;
      let req: ReturnType<typeof httpRequest> | undefined;
      const fail = (error: TransportError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req?.destroy();
        reject(error);
      };
      try {
        req = send(url, { method: request.method, headers, agent: agents[url.protocol] });
      } catch (cause) {
        // e.g. a header value with a line break: nothing was sent
        fail(new TransportError((cause as Error).message, { cause }));
        return;
      }
      timer = setTimeout(
        () =>
          fail(new TransportError(`no response within ${request.timeoutMs} ms`, { name: 'TimeoutError' })),
        request.timeoutMs,
      );
      req.on('error', (cause) => fail(new TransportError(cause.message, { cause })));
      req.on('response', (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && res.headers.location !== undefined) {
          // fetch's redirect: 'error'. A redirect is never followed: it would carry the credentials elsewhere.
          res.resume();
          fail(new TransportError(`redirect refused (HTTP ${status})`, { cause: { code: 'REDIRECT' } }));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > maxBodyBytes) {
            fail(
              new TransportError(`response body larger than ${maxBodyBytes} bytes`, {
                cause: { code: 'BODY_TOO_LARGE' },
              }),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (cause) => fail(new TransportError(cause.message, { cause })));
        res.on('close', () => {
          if (!res.complete) fail(new TransportError('response cut off', { cause: { code: 'ECONNRESET' } }));
        });
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          const responseHeaders = res.headers;
          resolve({
            status,
            ok: status >= 200 && status < 300,
            headers: {
              get: (name) => {
                const value = responseHeaders[name.toLowerCase()];
                if (value === undefined) return null;
                return Array.isArray(value) ? value.join(', ') : value;
              },
            },
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
      });
      req.end(request.body);
    });
}

let shared: Transport | undefined;

/** The process-wide transport (one pair of keep-alive agents per Lambda container). */
export function defaultTransport(): Transport {
  shared ??= nodeTransport();
  return shared;
}
