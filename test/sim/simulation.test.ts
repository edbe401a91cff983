/**
 * The deterministic simulation (sim/) in CI: a fixed budget of seeds against the real lib/ code with every
 * fault class whose finding is fixed on main, and proof that it replays exactly and that its invariants fail
 * when the system breaks the promise (deliberate defects). Any other range: `npm run simulate`.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { FAULT_CLASSES, type FaultClass, type Sabotage } from '../../sim/env.js';
import { ECHO_FORMS, echoQuote } from '../../sim/fakes/pingone.js';
import { LeakIndex } from '../../sim/leak-index.js';
import { runSimulation, type SimResult } from '../../sim/world.js';

/**
 * Fault classes that still break the promise on main, each waiting for its fix (issue 17); empty since the
 * fixes for findings 1 (pingone-429: the auditor's DELETE retried while a rotation regenerates), 2 (proxy-5xx:
 * a gateway's plain-text 503 taken for PingOne's answer) and 3 (region-alias: a copy under another region
 * alias bound apart) landed. `npm run simulate -- --only <class>` shows a class on its own.
 */
const AWAITING_FIX: readonly FaultClass[] = [
  // A stack that lets a tag shorten the TTL to 10m or 1h: a rotation stalled between createSecret and
  // finishSecret for longer than the TTL leaves AWSCURRENT as PingOne's previous secret past its expiry, and
  // every consumer is locked out (e.g. seed 548 of the full range before this class was split out).
  'short-ttl',
];

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

  it('runs a seed the same alone, third in a chunk, and after other seeds in a long-lived process', async () => {
    const [alone, chunk] = await Promise.all([
      simulate(['--seeds', '1', '--first-seed', '10', '--trace', '--quiet']),
      simulate(['--seeds', '3', '--first-seed', '8', '--trace', '--quiet']),
    ]);
    const here = await runSimulation({ seed: 10, faults: FAULT_CLASSES, fullTrace: true });
    const fromAlone = tracesIn(alone.stdout).get(10);
    expect(fromAlone?.length).toBeGreaterThan(100);
    expect(tracesIn(chunk.stdout).get(10)).toEqual(fromAlone);
    expect([...here.trace]).toEqual(fromAlone);
  }, 120_000);

  it('runs a range in worker processes and reports each failing seed with its replay command', async () => {
    const run = await simulate([
      ...['--workers', '2', '--chunk', '2', '--seeds', '4', '--first-seed', '1'],
      ...['--sabotage', 'leak', '--quiet'],
    ]);
    expect(run.code, run.stdout).toBe(1);
    const failing = /^seed (\d+): VIOLATION leak/m.exec(run.stdout)?.[1];
    expect(failing, run.stdout).toBeDefined();
    expect(run.stdout).toContain(
      `  npm run simulate -- --seeds 1 --first-seed ${failing} --sabotage leak --trace`,
    );
    expect(run.stdout).toMatch(
      /4 of 4 seeds from 1 .*2 workers\): [1-4] violation\(s\), \d+ events, [\d.]+ s, [\d.]+ seeds\/s/,
    );
  }, 120_000);

  it('finds a client that sends the regenerate POST twice (evicted-current)', async () => {
    const found = await firstViolation({ sabotage: 'double-post', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toMatch(/evicted-current|double-regenerate/);
  }, 120_000);

  it('finds a hex echo the redactor does not mask (no-hex-redaction: hex taken out of TRANSPORT_ENCODINGS)', async () => {
    // An echo in hex is one form of 13 on one call in a few: it takes some seeds (13 of seeds 1-30 when added).
    const found = await firstViolation({ sabotage: 'no-hex-redaction', faults: ['echo'] }, 40);
    expect(found?.violation?.invariant, found && report(found)).toBe('leak');
    expect(found?.violation?.detail).toContain(' in hex');
  }, 120_000);

  it('searches every form the echoing upstream quotes a request in, in either case, inside a JSON log line', () => {
    const secret = 'Zq3xW9vB2nM7kL4pR8tY6uI1oP5aS0dF';
    const token = 'eyJhbGciOi.J9kLmN0pQrStUvWxYz-_AbCdEfGh';
    const request = `POST https://auth.pingone.sim/as/token [authorization: Bearer ${token}] body: grant_type=client_credentials&client_secret=${secret}`;
    const leaks = new LeakIndex();
    leaks.add(secret);
    leaks.add(token);
    expect(ECHO_FORMS.length).toBeGreaterThanOrEqual(13);
    for (const form of ECHO_FORMS) {
      for (const upper of [false, true]) {
        const quoted = echoQuote(request, form, upper);
        // As a log line carries it: inside a JSON string, inside another (the upstream's error document).
        const line = JSON.stringify({ message: JSON.stringify({ message: `Upstream rejected: ${quoted}` }) });
        expect(leaks.find(line), `${form}${upper ? ' upper' : ''}`).toBeDefined();
        const clean = echoQuote(request.replace(secret, 'x').replace(token, 'y'), form, upper);
        expect(leaks.find(JSON.stringify({ message: clean })), `${form} without the values`).toBeUndefined();
      }
    }
  });

  it('finds a function deployed with tags unbounded (tag-bounds-ignored: finding 6)', async () => {
    const found = await firstViolation({ sabotage: 'tag-bounds-ignored', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toMatch(
      /tag-out-of-bounds-acted|grace-below-bound|in-use-evicted/,
    );
  }, 120_000);

  it("finds the auditor's worker used to regenerate, or the function's read by the auditor (finding 9)", async () => {
    const found = await firstViolation({ sabotage: 'auditor-worker-swapped', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toMatch(
      /auditor-worker-regenerate|auditor-read-rotation-worker/,
    );
  }, 120_000);

  it('finds a credential written hex-encoded to a log line (leak)', async () => {
    const found = await firstViolation({ sabotage: 'leak', faults: [] });
    expect(found?.violation?.invariant, found && report(found)).toBe('leak');
  }, 120_000);
});

async function firstViolation(
  options: {
    sabotage: Sabotage;
    faults: FaultClass[];
  },
  seeds = 5,
): Promise<SimResult | undefined> {
  for (let seed = 1; seed <= seeds; seed++) {
    const result = await runSimulation({ seed, ...options, durationMs: 3 * 3_600_000 });
    if (result.violation) return result;
  }
  return undefined;
}

/** `npm run simulate` in a process of its own. */
async function simulate(args: string[]): Promise<{ code: number; stdout: string }> {
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', 'sim/main.ts', ...args],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return { code: 0, stdout };
  } catch (error) {
    const e = error as { code?: number; stdout?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? String(error) };
  }
}

/** The traces `--trace` prints, by seed. */
function tracesIn(stdout: string): Map<number, string[]> {
  const traces = new Map<number, string[]>();
  let current: string[] | undefined;
  for (const line of stdout.split('\n')) {
    const header = /^--- seed (\d+)$/.exec(line);
    if (header) {
      current = [];
      traces.set(Number(header[1]), current);
    } else if (current && /^\d+:\d\d:\d\d\.\d{3} /.test(line)) current.push(line);
    else current = undefined;
  }
  return traces;
}
