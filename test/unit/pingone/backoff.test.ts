import { describe, expect, it } from 'vitest';
import { backoffDelayMs, fitDelay, retryAfterDelayMs, retryDelayMs } from '../../../lib/pingone/backoff.js';

const POLICY = { baseDelayMs: 250, maxDelayMs: 8_000 };
const at = (r: number) => () => r;

describe('backoff', () => {
  it('spreads over the whole window (full jitter), with a floor so a retry never fires at once', () => {
    expect(backoffDelayMs(1, POLICY, at(0))).toBe(125);
    expect(backoffDelayMs(1, POLICY, at(0.999_999))).toBe(250);
    expect(backoffDelayMs(3, POLICY, at(0))).toBe(125);
    expect(backoffDelayMs(3, POLICY, at(0.999_999))).toBe(1_000);
    expect(backoffDelayMs(10, POLICY, at(0.999_999))).toBe(8_000);
  });

  it('after a Retry-After: never earlier, the window as long as it and doubling with the attempt, capped', () => {
    expect(retryAfterDelayMs(1_000, 1, POLICY, at(0))).toBe(1_000);
    expect(retryAfterDelayMs(1_000, 1, POLICY, at(0.5))).toBe(1_500);
    expect(retryAfterDelayMs(1_000, 2, POLICY, at(0.5))).toBe(2_000);
    expect(retryAfterDelayMs(1_000, 9, POLICY, at(0.5))).toBe(5_000);
    // Retry-After: 0 still spreads over the base window.
    expect(retryAfterDelayMs(0, 1, POLICY, at(0.5))).toBe(125);
    expect(retryDelayMs(1, 2_000, POLICY, at(0.25))).toBe(2_500);
    expect(retryDelayMs(1, undefined, POLICY, at(0.5))).toBe(188);
  });

  it('fifty containers told the same Retry-After come back spread over the window, not at one instant', () => {
    let seed = 42;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const waits = Array.from({ length: 50 }, () => retryAfterDelayMs(1_000, 1, POLICY, random));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1_000);
    // In 100 ms buckets over [1 s, 2 s]: no bucket holds more than a quarter of them.
    const buckets = new Map<number, number>();
    for (const w of waits) buckets.set(Math.floor(w / 100), (buckets.get(Math.floor(w / 100)) ?? 0) + 1);
    expect(Math.max(...buckets.values())).toBeLessThanOrEqual(12);
    expect(buckets.size).toBeGreaterThanOrEqual(8);
  });

  it('a broken random source cannot make a wait shorter than Retry-After or longer than the window', () => {
    expect(retryAfterDelayMs(1_000, 1, POLICY, at(-3))).toBe(1_000);
    expect(retryAfterDelayMs(1_000, 1, POLICY, at(7))).toBe(2_000);
    expect(retryAfterDelayMs(1_000, 1, POLICY, at(Number.NaN))).toBe(1_500);
  });

  it('fits the jitter before a deadline but never cuts below the minimum', () => {
    expect(fitDelay(3_800, 2_000, 0, 2_750)).toBe(2_750);
    expect(fitDelay(1_500, 1_000, 0, 2_750)).toBe(1_500);
    expect(fitDelay(3_800, 3_000, 0, 2_750)).toBeUndefined();
  });
});
