/**
 * The waits before asking PingOne again, jittered so that callers that failed together do not come back
 * together. Rotations due at the same hour start at once (Secrets Manager starts them together), so every
 * container sees the same 429 with the same `Retry-After`: waiting exactly that long sends every retry in one
 * wave, and the wave is answered 429 again. A random share of a window that grows with the attempt spreads
 * them out.
 *
 * Randomness is injected (`random`, [0, 1)) so tests are deterministic; production uses Math.random, which is
 * fine here: the jitter only spreads load, it protects nothing.
 */
export interface BackoffPolicy {
  /** The first window; it doubles with every attempt. */
  readonly baseDelayMs: number;
  /** The largest window. */
  readonly maxDelayMs: number;
}

/** A window of `base · 2^(attempt-1)`, capped. */
function windowMs(attempt: number, base: number, policy: BackoffPolicy): number {
  return Math.min(policy.maxDelayMs, base * 2 ** (Math.max(1, attempt) - 1));
}

function unit(random: () => number): number {
  const r = random();
  return Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 0.5;
}

/**
 * Exponential backoff with full jitter: uniform over the attempt's window, with a floor of half the base
 * delay so a retry never fires at once.
 */
export function backoffDelayMs(attempt: number, policy: BackoffPolicy, random: () => number): number {
  const ceiling = windowMs(attempt, policy.baseDelayMs, policy);
  const floor = Math.min(ceiling, policy.baseDelayMs / 2);
  return Math.round(floor + unit(random) * (ceiling - floor));
}

/**
 * After a `Retry-After` of `retryAfterMs`: never earlier than it, plus full jitter over a window as long as
 * the Retry-After itself (at least the base delay), doubling with every attempt up to the policy's cap. Two
 * containers told "1 s" come back somewhere in [1 s, 2 s] on the first retry, [1 s, 3 s] on the second …
 */
export function retryAfterDelayMs(
  retryAfterMs: number,
  attempt: number,
  policy: BackoffPolicy,
  random: () => number,
): number {
  const spread = windowMs(attempt, Math.max(retryAfterMs, policy.baseDelayMs), policy);
  return Math.ceil(retryAfterMs + unit(random) * spread);
}

/** The wait before attempt `attempt + 1`: after the server's Retry-After when it sent one, else backoff. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  policy: BackoffPolicy,
  random: () => number,
): number {
  return retryAfterMs === undefined
    ? backoffDelayMs(attempt, policy, random)
    : retryAfterDelayMs(retryAfterMs, attempt, policy, random);
}

/**
 * Cuts a jittered wait so the next attempt still fits before `latest` (an absolute time), but never below
 * `minimumMs` (the server's Retry-After): returns undefined when even that does not fit.
 */
export function fitDelay(
  delayMs: number,
  minimumMs: number,
  now: number,
  latest: number,
): number | undefined {
  const room = latest - now;
  if (minimumMs > room) return undefined;
  return Math.max(minimumMs, Math.min(delayMs, room));
}
