import { SimulatorUsageError } from './usage.js';

/**
 * A PingOne rate limit: at most `requestsPerSecond` PingOne requests (every route) per real-time second;
 * the rest are answered 429 `REQUEST_LIMITED` with `Retry-After: 1` and not performed.
 */
export interface RateLimit {
  readonly requestsPerSecond: number;
}

/** Counts requests against the current rate limit (none by default), per real-time second. */
export class RateLimiter {
  #limit: RateLimit | undefined;
  #window = { second: 0, count: 0 };

  /** Sets (or with `undefined` lifts) the limit, starting a fresh count. */
  set(limit: RateLimit | undefined): void {
    if (limit !== undefined && !(Number.isInteger(limit.requestsPerSecond) && limit.requestsPerSecond >= 1)) {
      throw new SimulatorUsageError('rateLimit.requestsPerSecond must be a positive integer');
    }
    this.#limit = limit;
    this.#window = { second: 0, count: 0 };
  }

  /** Counts a request against the current real-time second; true when it is over the limit. */
  over(): boolean {
    if (!this.#limit) return false;
    const second = Math.floor(Date.now() / 1000);
    if (this.#window.second !== second) this.#window = { second, count: 0 };
    this.#window.count += 1;
    return this.#window.count > this.#limit.requestsPerSecond;
  }
}
