/**
 * The deterministic simulation (sim/) in CI: a fixed budget of seeds against the real lib/ code with every
 * fault class whose finding is fixed on main, and proof that it replays exactly and that its invariants fail
 * when the system breaks the promise (deliberate defects). Any other range: `npm run simulate`.
 */
import { describe, expect, it } from 'vitest';
import { FAULT_CLASSES, type FaultClass } from '../../sim/env.js';
import { runSimulation, type SimResult } from '../../sim/world.js';

/**
 * Fault classes that still break the promise on main, each waiting for its fix (issue 17); empty since the
 * fixes for findings 1 (pingone-429: the auditor's DELETE retried while a rotation regenerates), 2 (proxy-5xx:
 * a gateway's plain-text 503 taken for PingOne's answer) and 3 (region-alias: a copy under another region
 * alias bound apart) landed. `npm run simulate -- --only <class>` shows a class on its own.
 */
const AWAITING_FIX: readonly FaultClass[] = [];

const CI_FAULTS = FAULT_CLASSES.filter((f) => !AWAITING_FIX.includes(f));
const CI_SEEDS = Number(process.env.SIM_SEEDS ?? 12);
const CI_FIRST_SEED = Number(process.env.SIM_FIRST_SEED ?? 1);

function report(result: SimResult): string {
  const v = result.violation;
  if (!v) return 'no violation';
  return [
    `seed ${result.seed}: ${v.invariant}: ${v.detail}`,
    `replay: npm run simulate -- --seeds 1 --first-seed ${result.seed}${AWAITING_FIX.length > 0 ? ` --without ${AWAITING_FIX.join(',')}` : ''} --trace`,
    ...result.trace.slice(-40),
  ].join('\n');
}

describe('the deterministic simulation', () => {
  it(`keeps every invariant over ${CI_SEEDS} seeds with faults: ${CI_FAULTS.join(', ')}`, async () => {
    let events = 0;
    for (let seed = CI_FIRST_SEED; seed < CI_FIRST_SEED + CI_SEEDS; seed++) {
      const result = await runSimulation({ seed, faults: CI_FAULTS });
      events += result.events;
      expect(result.violation, report(result)).toBeUndefined();
    }
    // The runs did something: thousands of events per seed.
    expect(events).toBeGreaterThan(CI_SEEDS * 500);
  }, 240_000);

  it('replays a seed exactly (same trace, same outcome)', async () => {
    const first = await runSimulation({
      seed: 7,
      faults: CI_FAULTS,
      fullTrace: true,
      durationMs: 3 * 3_600_000,
    });
    const again = await runSimulation({
      seed: 7,
      faults: CI_FAULTS,
      fullTrace: true,
      durationMs: 3 * 3_600_000,
    });
    expect(again.trace).toEqual(first.trace);
    expect(again.events).toBe(first.events);
    expect(first.trace.length).toBeGreaterThan(10);
  }, 60_000);

  it('finds a client that sends the regenerate POST twice (evicted-current)', async () => {
    const found = await firstViolation({ sabotage: 'double-post', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toMatch(/evicted-current|double-regenerate/);
  }, 120_000);

  it('finds a credential written hex-encoded to a log line (leak)', async () => {
    const found = await firstViolation({ sabotage: 'leak', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toBe('leak');
  }, 120_000);
});

async function firstViolation(options: {
  sabotage: 'double-post' | 'leak';
  faults: FaultClass[];
}): Promise<SimResult | undefined> {
  for (let seed = 1; seed <= 5; seed++) {
    const result = await runSimulation({ seed, ...options, durationMs: 3 * 3_600_000 });
    if (result.violation) return result;
  }
  return undefined;
}
