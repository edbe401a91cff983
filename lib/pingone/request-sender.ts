/**
 * One PingOne HTTP request on the transport (lib/pingone/transport.ts): an attempt within the caller's
 * deadline and the per-attempt timeout, its failure turned into a redacted error, and for calls that change
 * nothing (GET, token, introspection) the retries: exponential backoff with full jitter, `Retry-After`
 * honoured with jitter on top, never past the deadline. Calls that change PingOne use `sendOnce` alone
 * (lib/pingone/http-client.ts decides which).
 */
import { DeadlineExceededError, PingOneApiError, PingOneNetworkError, RotationError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { fitDelay, retryDelayMs } from './backoff.js';
import { toApiError } from './responses.js';
import { NotSentError, type Transport, type TransportResponse } from './transport.js';
import type { CallOptions } from './types.js';

export interface RetryPolicy {
  /** Attempts in all, including the first. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is not waited for. */
  readonly maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 6,
  baseDelayMs: 250,
  maxDelayMs: 8_000,
  maxRetryAfterMs: 30_000,
});

/** Attempts of one idempotent call in all, however many of them PingOne answered 429 with Retry-After. */
const RATE_LIMITED_ATTEMPTS = 30;

/** Below this much time left, an attempt is not started at all. */
const MIN_ATTEMPT_MS = 250;

const USER_AGENT = 'pingone-secret-rotation/1';

export interface HttpRequest {
  readonly operation: string;
  readonly method: 'GET' | 'POST' | 'DELETE';
  readonly url: string;
  /** Which error document PingOne answers with here: the Management API's, or OAuth's (token, introspect). */
  readonly api: 'management' | 'oauth';
  readonly headers: Record<string, string>;
  readonly body?: string;
  /**
   * Builds the body afresh for every attempt (a client assertion must not be replayed: new jti, exp), with
   * the credentials it carries, which are registered with the attempt's redactor.
   */
  readonly makeBody?: () => { readonly body: string; readonly credentials: readonly string[] };
  /**
   * Knows every credential this request carries (bearer token, Basic pair, form-body secret). Whatever the
   * answer or the network error quotes back passes through it before it reaches an error message.
   */
  readonly redactor: Redactor;
}

export type HttpResponse = TransportResponse;

export interface RequestSenderOptions {
  readonly transport: Transport;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly random: () => number;
  readonly retry: RetryPolicy;
  readonly attemptTimeoutMs: number;
  readonly logger?: { warn(message: string, extra?: Record<string, unknown>): void } | undefined;
}

export class RequestSender {
  readonly #transport: Transport;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #retry: RetryPolicy;
  readonly #attemptTimeoutMs: number;
  readonly #logger: RequestSenderOptions['logger'];

  constructor(options: RequestSenderOptions) {
    this.#transport = options.transport;
    this.#now = options.now;
    this.#sleep = options.sleep;
    this.#random = options.random;
    this.#retry = options.retry;
    this.#attemptTimeoutMs = options.attemptTimeoutMs;
    this.#logger = options.logger;
  }

  /** Sends an idempotent request, retrying retryable failures inside the deadline. */
  async sendWithRetries(request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
    // Failures other than PingOne's rate limit spend the attempt budget. A 429 with Retry-After is PingOne
    // saying when to come back, not a fault: while it lasts the call keeps waiting (jittered) until the
    // deadline, up to RATE_LIMITED_ATTEMPTS. Giving up sooner only turns a busy minute into a failed step that
    // Secrets Manager retries later, with every read and token of the step sent again.
    let failures = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.sendOnce(request, options);
      } catch (error) {
        if (!(error instanceof RotationError) || !error.retryable || error instanceof DeadlineExceededError) {
          throw error;
        }
        const retryAfter = error instanceof PingOneApiError ? error.retryAfterMs : undefined;
        const rateLimited =
          error instanceof PingOneApiError && error.status === 429 && retryAfter !== undefined;
        if (!rateLimited) failures++;
        if (failures >= this.#retry.maxAttempts || attempt >= RATE_LIMITED_ATTEMPTS) throw error;
        if (retryAfter !== undefined && retryAfter > this.#retry.maxRetryAfterMs) throw error;
        // Jittered, Retry-After included (never shorter than it): containers that were refused together
        // come back spread out, not in one wave (lib/pingone/backoff.ts). The jitter is cut to fit the
        // deadline; the Retry-After is not.
        const jittered = retryDelayMs(attempt, retryAfter, this.#retry, this.#random);
        const delay = fitDelay(
          jittered,
          retryAfter ?? jittered,
          this.#now(),
          options.deadline - MIN_ATTEMPT_MS,
        );
        if (delay === undefined) {
          throw new DeadlineExceededError(
            `PingOne ${request.operation}: no time left to retry before the Lambda deadline (last error: ${error.message})`,
            { cause: error },
          );
        }
        this.#logger?.warn('PingOne call will be retried', {
          operation: request.operation,
          attempt,
          delayMs: delay,
          status: error instanceof PingOneApiError ? error.status : undefined,
          errorCode: error.code,
        });
        await this.#sleep(delay);
      }
    }
  }

  async sendOnce(request: HttpRequest, options: CallOptions): Promise<HttpResponse> {
    const remaining = options.deadline - this.#now();
    if (remaining < MIN_ATTEMPT_MS) {
      throw new DeadlineExceededError(
        `PingOne ${request.operation}: not started, only ${Math.max(0, remaining)} ms left before the Lambda deadline`,
      );
    }
    const timeoutMs = Math.floor(Math.min(this.#attemptTimeoutMs, remaining));
    let response: TransportResponse;
    const made = request.makeBody?.();
    if (made) {
      request = { ...request, body: made.body, redactor: request.redactor.secret(...made.credentials) };
    }
    const requestBody = request.body;
    try {
      response = await this.#transport({
        method: request.method,
        url: request.url,
        headers: { 'user-agent': USER_AGENT, ...request.headers },
        ...(requestBody === undefined ? {} : { body: requestBody }),
        timeoutMs,
        deadline: options.deadline,
      });
    } catch (cause) {
      if (cause instanceof NotSentError) {
        // It never left this process (lib/pingone/transport.ts): the rate limiter itself failed (its own
        // error, e.g. LedgerUnavailable), or a rate budget kept it back past its deadline.
        if (cause.cause instanceof RotationError) throw cause.cause;
        throw new DeadlineExceededError(`PingOne ${request.operation}: ${cause.message}`, { cause });
      }
      const timedOut = (cause as { name?: string }).name === 'TimeoutError';
      const { redactor } = request;
      throw new PingOneNetworkError(
        timedOut
          ? `PingOne ${request.operation}: no response within ${timeoutMs} ms from ${new URL(request.url).host}`
          : `PingOne ${request.operation}: request to ${new URL(request.url).host} failed (${redactor.text(describeNetworkError(cause))})`,
        // The transport's error (and its own causes) is logged with ours: scrubbed of this request's credentials.
        { cause: redactor.error(cause), operation: request.operation },
      );
    }
    if (response.ok) return response;
    throw toApiError(request, response, response.body, this.#now());
  }
}

function describeNetworkError(cause: unknown): string {
  const inner = (cause as { cause?: { code?: string; message?: string } }).cause;
  return inner?.code ?? inner?.message ?? (cause as Error).message ?? 'network error';
}
