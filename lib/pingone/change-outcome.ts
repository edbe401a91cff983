import {
  DeadlineExceededError,
  LedgerUnavailableError,
  OwnerNotRotatableError,
  PingOneApiError,
  PingOneNetworkError,
  WorkerAuthError,
} from '../errors.js';

/** The client's names for the calls that change PingOne (they appear in errors as `operation`). */
export const REGENERATE_OPERATION = 'regenerate secret';
export const DELETE_PREVIOUS_OPERATION = 'delete previous secret';
export type ChangeOperation = typeof REGENERATE_OPERATION | typeof DELETE_PREVIOUS_OPERATION;

/**
 * What a failed call that changes PingOne tells about PingOne's state. The client sends such a call once and
 * never repeats it on its own (lib/pingone/http-client.ts); the caller re-reads PingOne and decides.
 *
 * - `not-sent`: the call failed before it was sent (worker token, deadline, refused owner): nothing happened.
 * - `refused`: PingOne's own error document with a 4xx other than 408/429 (400, 403, 404, 409 …): PingOne
 *   processed the request and did nothing, and would refuse a repeat the same way.
 * - `not-applied`: PingOne's own error document with 408, 429, 500 or 503: PingOne did nothing; asking again
 *   after a fresh read and a pause may succeed.
 * - `unknown`: anything else. A reset or a timeout; a 5xx/408/429 (or any status) whose body is not PingOne's
 *   error document (a gateway's plain-text or HTML 503 may come back while the request is still on its way
 *   to PingOne); 502 and 504, which say an intermediary lost the request; a 2xx whose body cannot be read.
 *   The request may have been processed, now or later: never send it again before a later read, once the
 *   intent window has passed (lib/ledger/record.ts), shows what happened.
 */
export type ChangeOutcome = 'not-sent' | 'refused' | 'not-applied' | 'unknown';

/** PingOne's own answers after which it has certainly not applied the request, yet may on a later one. */
const NOT_APPLIED_STATUSES: ReadonlySet<number> = new Set([408, 429, 500, 503]);

export function changeOutcome(error: unknown, operation: ChangeOperation): ChangeOutcome {
  // Raised before the request went out: the client checks time and owner, and fetches the token, first.
  // LedgerUnavailable reaches here only from a shared rate limiter that failed before the request went out
  // (lib/pingone/request-sender.ts).
  if (
    error instanceof DeadlineExceededError ||
    error instanceof LedgerUnavailableError ||
    error instanceof WorkerAuthError ||
    error instanceof OwnerNotRotatableError
  ) {
    return 'not-sent';
  }
  if (error instanceof PingOneApiError || error instanceof PingOneNetworkError) {
    // The token request (or its refresh after a 401) failed: the change itself was never sent this time.
    if (error.operation !== undefined && error.operation !== operation) return 'not-sent';
  }
  if (!(error instanceof PingOneApiError) || error.operation !== operation || !error.fromPingOne) {
    return 'unknown';
  }
  if (NOT_APPLIED_STATUSES.has(error.status)) return 'not-applied';
  if (error.status >= 400 && error.status < 500) return 'refused';
  return 'unknown';
}
