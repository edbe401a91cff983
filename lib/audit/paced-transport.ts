import { parseRetryAfter } from '../pingone/responses.js';
import {
  NotSentError,
  type Transport,
  type TransportRequest,
  type TransportResponse,
} from '../pingone/transport.js';

/** Less time than this left of a request's timeout after its wait: it is not sent. */
export const MIN_SEND_MS = 250;

/**
 * Whether a request must keep its caller's deadline through a pacer's wait: one that changes PingOne (early
 * retirement's DELETE, a regenerate POST), not a read or a worker token. Its caller gives it a timeout that
 * ends by the deadline its safety rests on (a retirement intent's window, lib/audit/retire.ts); a wait that
 * did not count against that timeout would send it later, and let it land after the window.
 */
export function keepsDeadline(request: TransportRequest): boolean {
  return request.method !== 'GET' && !/\/as\/token(?:[?#]|$)/.test(request.url);
}

/** A request that changes PingOne, not sent: its turn in the rate budget came after its own timeout. */
export function notSentInTime(
  request: TransportRequest,
  budget: string,
  within = `within its ${request.timeoutMs} ms timeout`,
): NotSentError {
  return new NotSentError(
    `not sent: ${budget} PingOne rate budget had no turn for it ${within} (nothing reached PingOne)`,
  );
}

export interface PacingOptions {
  /** PingOne requests started per second, at most (a steady rate; no burst beyond one second's worth). */
  readonly requestsPerSecond: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  /** A Retry-After longer than this is capped (the client gives up on longer ones anyway). */
  readonly maxPauseMs?: number;
}

/** What the pacer saw, for the audit summary and the bench. */
export interface PacingStats {
  requests: number;
  /** 429 answers. */
  throttled: number;
  /** Time spent waiting for the rate or a Retry-After, summed over requests. */
  waitedMs: number;
}

/**
 * Shares one PingOne rate budget between every concurrent caller of a transport. PingOne's limits are per
 * licence and per source IP, shared with the rotation function, so the auditor paces itself rather than
 * finding the limit by collision:
 * - requests start no faster than `requestsPerSecond` (spaced evenly);
 * - a 429 pauses **every** caller until its `Retry-After` has passed (the client retries the one request),
 *   instead of each concurrent worker hitting the limit on its own.
 */
export function pacedTransport(
  inner: Transport,
  options: PacingOptions,
): { transport: Transport; stats: PacingStats } {
  if (!(Number.isFinite(options.requestsPerSecond) && options.requestsPerSecond > 0)) {
    throw new RangeError('requestsPerSecond must be a positive number');
  }
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const spacingMs = 1000 / options.requestsPerSecond;
  const maxPauseMs = options.maxPauseMs ?? 30_000;
  const stats: PacingStats = { requests: 0, throttled: 0, waitedMs: 0 };
  // The earliest start of the next request, and a pause set by a 429.
  let nextSlot = 0;
  let pausedUntil = 0;

  const transport: Transport = async (request) => {
    const start = now();
    const slot = Math.max(nextSlot, pausedUntil, start);
    // A change keeps its deadline (keepsDeadline): sent only within its own timeout, waits included.
    const sendBy = keepsDeadline(request) ? start + request.timeoutMs : undefined;
    if (sendBy !== undefined && slot > sendBy - MIN_SEND_MS) throw notSentInTime(request, "the run's");
    nextSlot = slot + spacingMs;
    if (slot > start) {
      await sleep(slot - start);
      // A 429 seen while this request waited moves the pause on.
      while (pausedUntil > now()) await sleep(pausedUntil - now());
      stats.waitedMs += now() - start;
    }
    if (sendBy !== undefined && sendBy - now() < MIN_SEND_MS) throw notSentInTime(request, "the run's");
    stats.requests += 1;
    const response: TransportResponse = await inner(
      sendBy === undefined ? request : { ...request, timeoutMs: sendBy - now() },
    );
    if (response.status === 429) {
      stats.throttled += 1;
      const retryAfter = parseRetryAfter(response.headers.get('retry-after'), now());
      pausedUntil = Math.max(pausedUntil, now() + Math.min(retryAfter ?? 1_000, maxPauseMs));
      nextSlot = Math.max(nextSlot, pausedUntil);
    }
    return response;
  };
  return { transport, stats };
}
