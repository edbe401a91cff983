import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A Lambda Runtime API (2018-06-01) on loopback, enough of it for a runtime interface client such as
 * aws-lambda-ric to initialise, take invocations and answer them the way it does inside Lambda:
 *
 * - `GET  /2018-06-01/runtime/invocation/next` long-polls until an invocation is queued, then answers with the
 *   event as the body and the headers Lambda sends (request id, deadline, function ARN, X-Ray trace id).
 * - `POST /2018-06-01/runtime/invocation/{id}/response` and `…/{id}/error` settle that invocation (once;
 *   an unknown id is a 400, a second answer a 403, as in Lambda).
 * - `POST /2018-06-01/runtime/init/error` records an init failure: the runtime exits after it.
 *
 * The first `next` call marks the end of the init phase (`initDone`), which is what Lambda's Init Duration
 * measures. A deadline that passes settles the invocation as timed out and calls `onTimeout`, where the
 * caller kills the runtime as Lambda would. No streaming responses: the rotation handler is buffered.
 */
export interface InvocationRequest {
  readonly event: unknown;
  /** The function's timeout: the deadline header is now + this. */
  readonly timeoutMs: number;
  readonly requestId?: string;
}

export type InvocationResult =
  | {
      readonly ok: true;
      readonly requestId: string;
      readonly traceId: string;
      /** The response body as sent (JSON text). */
      readonly body: string;
      /** From delivery (the `next` answer) to the response, ms. */
      readonly durationMs: number;
    }
  | {
      readonly ok: false;
      readonly requestId: string;
      readonly traceId: string;
      readonly errorType: string;
      readonly errorMessage: string;
      readonly body: string;
      readonly durationMs: number;
      /** The deadline passed before any answer. */
      readonly timedOut?: boolean;
    };

export interface InitError {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly body: string;
}

export type InitOutcome = { readonly ok: true; readonly atMs: number } | ({ readonly ok: false } & InitError);

interface Pending {
  readonly requestId: string;
  readonly traceId: string;
  readonly event: string;
  readonly timeoutMs: number;
  deadline?: number;
  deliveredAt?: number;
  timer?: NodeJS.Timeout;
  readonly settle: (result: InvocationResult) => void;
}

export interface RuntimeApiOptions {
  readonly functionArn?: string;
  /** Called synchronously at the first `next`, before anything is delivered: the end of init. */
  readonly onInit?: () => void;
  /** Called when an invocation's deadline passes (Lambda then stops the execution environment). */
  readonly onTimeout?: (requestId: string) => void;
}

const PREFIX = '/2018-06-01/runtime';

export class RuntimeApiEmulator {
  /** Every request the runtime made, in order (method and path). */
  readonly calls: string[] = [];
  readonly #options: RuntimeApiOptions;
  readonly #queue: Pending[] = [];
  readonly #inFlight = new Map<string, Pending>();
  readonly #answered = new Set<string>();
  #waiting: ((pending: Pending) => void) | undefined;
  #server: Server | undefined;
  #startedAt = 0;
  #initSeen = false;
  #resolveInit!: (outcome: InitOutcome) => void;
  /** Settles at the first `next` call (init done) or an init error. */
  readonly initDone: Promise<InitOutcome>;

  constructor(options: RuntimeApiOptions = {}) {
    this.#options = options;
    this.initDone = new Promise((resolve) => {
      this.#resolveInit = resolve;
    });
  }

  /** Listens on 127.0.0.1 and a free port; returns `host:port` for AWS_LAMBDA_RUNTIME_API. */
  async start(): Promise<string> {
    this.#server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) reply(res, 500, { errorMessage: String(error), errorType: 'EmulatorError' });
      });
    });
    // aws-lambda-cpp keeps one connection and long-polls on it: no idle or request timeouts.
    this.#server.keepAliveTimeout = 0;
    this.#server.requestTimeout = 0;
    this.#server.headersTimeout = 0;
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    this.#startedAt = Date.now();
    return `127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Queues an invocation; settles with the runtime's answer, or as timed out at the deadline. */
  invoke(request: InvocationRequest): Promise<InvocationResult> {
    return new Promise((resolve) => {
      const pending: Pending = {
        requestId: request.requestId ?? randomUUID(),
        traceId: traceId(),
        event: JSON.stringify(request.event),
        timeoutMs: request.timeoutMs,
        settle: resolve,
      };
      if (this.#waiting) {
        const deliver = this.#waiting;
        this.#waiting = undefined;
        deliver(pending);
      } else {
        this.#queue.push(pending);
      }
    });
  }

  /** Settles every open invocation as failed (the runtime process died). */
  abandon(reason: string): void {
    for (const pending of [...this.#queue, ...this.#inFlight.values()]) {
      clearTimeout(pending.timer);
      this.#answered.add(pending.requestId);
      pending.settle({
        ok: false,
        requestId: pending.requestId,
        traceId: pending.traceId,
        errorType: 'Runtime.ExitError',
        errorMessage: reason,
        body: '',
        durationMs: pending.deliveredAt ? Date.now() - pending.deliveredAt : 0,
      });
    }
    this.#queue.length = 0;
    this.#inFlight.clear();
    this.#resolveInit({ ok: false, errorType: 'Runtime.ExitError', errorMessage: reason, body: '' });
  }

  async stop(): Promise<void> {
    this.abandon('runtime API stopped');
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const path = (req.url ?? '').split('?')[0] ?? '';
    this.calls.push(`${req.method} ${path}`);

    if (req.method === 'GET' && path === `${PREFIX}/invocation/next`) {
      if (!this.#initSeen) {
        this.#initSeen = true;
        this.#options.onInit?.();
      }
      this.#resolveInit({ ok: true, atMs: Date.now() - this.#startedAt });
      const pending = this.#queue.shift() ?? (await new Promise<Pending>((r) => (this.#waiting = r)));
      if (res.destroyed) {
        // The runtime hung up while waiting: hand the invocation to its next call.
        this.#queue.unshift(pending);
        return;
      }
      this.#deliver(pending, res);
      return;
    }
    if (req.method === 'POST' && path === `${PREFIX}/init/error`) {
      const parsed = parseError(body);
      this.#resolveInit({
        ok: false,
        errorType: req.headers['lambda-runtime-function-error-type']?.toString() ?? parsed.errorType,
        errorMessage: parsed.errorMessage,
        body,
      });
      reply(res, 202, { status: 'OK' });
      return;
    }
    const match = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(path);
    if (req.method === 'POST' && match) {
      const requestId = decodeURIComponent(match[1] ?? '');
      const pending = this.#inFlight.get(requestId);
      if (!pending) {
        const answered = this.#answered.has(requestId);
        reply(res, answered ? 403 : 400, {
          errorMessage: answered ? 'Invocation already answered' : `Invalid request ID: ${requestId}`,
          errorType: answered ? 'InvalidStateTransition' : 'InvalidRequestID',
        });
        return;
      }
      this.#inFlight.delete(requestId);
      this.#answered.add(requestId);
      clearTimeout(pending.timer);
      const durationMs = Date.now() - (pending.deliveredAt ?? Date.now());
      if (match[2] === 'response') {
        pending.settle({ ok: true, requestId, traceId: pending.traceId, body, durationMs });
      } else {
        const parsed = parseError(body);
        pending.settle({
          ok: false,
          requestId,
          traceId: pending.traceId,
          errorType: req.headers['lambda-runtime-function-error-type']?.toString() ?? parsed.errorType,
          errorMessage: parsed.errorMessage,
          body,
          durationMs,
        });
      }
      reply(res, 202, { status: 'OK' });
      return;
    }
    reply(res, 404, {
      errorMessage: `no such Runtime API route: ${req.method} ${path}`,
      errorType: 'NotFound',
    });
  }

  #deliver(pending: Pending, res: ServerResponse): void {
    pending.deliveredAt = Date.now();
    pending.deadline = pending.deliveredAt + pending.timeoutMs;
    this.#inFlight.set(pending.requestId, pending);
    pending.timer = setTimeout(() => {
      if (!this.#inFlight.delete(pending.requestId)) return;
      this.#answered.add(pending.requestId);
      pending.settle({
        ok: false,
        requestId: pending.requestId,
        traceId: pending.traceId,
        errorType: 'Sandbox.Timedout',
        errorMessage: `Task timed out after ${(pending.timeoutMs / 1000).toFixed(2)} seconds`,
        body: '',
        durationMs: pending.timeoutMs,
        timedOut: true,
      });
      this.#options.onTimeout?.(pending.requestId);
    }, pending.timeoutMs);
    res.writeHead(200, {
      'content-type': 'application/json',
      'lambda-runtime-aws-request-id': pending.requestId,
      'lambda-runtime-deadline-ms': String(pending.deadline),
      'lambda-runtime-invoked-function-arn':
        this.#options.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:local',
      'lambda-runtime-trace-id': pending.traceId,
    });
    res.end(pending.event);
  }
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function parseError(body: string): { errorType: string; errorMessage: string } {
  try {
    const doc = JSON.parse(body) as { errorType?: unknown; errorMessage?: unknown };
    return {
      errorType: typeof doc.errorType === 'string' ? doc.errorType : 'Unknown',
      errorMessage: typeof doc.errorMessage === 'string' ? doc.errorMessage : '',
    };
  } catch {
    return { errorType: 'Unknown', errorMessage: body.slice(0, 200) };
  }
}

/** An X-Ray trace header as Lambda sends it (not sampled). */
function traceId(): string {
  const epoch = Math.floor(Date.now() / 1000).toString(16);
  return `Root=1-${epoch}-${randomBytes(12).toString('hex')};Parent=${randomBytes(8).toString('hex')};Sampled=0`;
}
