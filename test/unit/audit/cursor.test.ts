import { describe, expect, it } from 'vitest';
import { chunkByBytes, logInChunks } from '../../../lib/audit/chunks.js';
import {
  advanceCursor,
  type CursorState,
  MAX_CHECKPOINTS,
  oldestAuditAgeMs,
  type RunProgress,
} from '../../../lib/audit/cursor.js';

const HOUR = 3_600_000;

/** One run over `names` from after `position`, starting `perRun` secrets (what runAudit reports). */
function run(names: string[], position: string | undefined, perRun: number, at: number): RunProgress {
  const first =
    position === undefined
      ? 0
      : Math.max(
          0,
          names.findIndex((n) => n > position),
        );
  let sweepBeganAt: number | undefined;
  let sweepEndedAt: string | undefined;
  let beganBeforeEnd = false;
  let lastStarted: string | undefined;
  for (let i = 0; i < Math.min(perRun, names.length); i++) {
    const index = (first + i) % names.length;
    lastStarted = names[index];
    if (index === 0) sweepBeganAt = at + i;
    if (index === names.length - 1) {
      sweepEndedAt = lastStarted;
      beganBeforeEnd = sweepBeganAt !== undefined;
    }
  }
  return { lastStarted, sweepBeganAt, sweepEndedAt, beganBeforeEnd };
}

describe('the audit cursor', () => {
  it('a fleet judged whole each hour: the oldest audit is as old as the last run', () => {
    const names = ['a', 'b', 'c'];
    let state: CursorState | undefined;
    for (let hour = 0; hour < 3; hour++) {
      state = advanceCursor(state, run(names, state?.position, 10, hour * HOUR), hour * HOUR);
      expect(state).toMatchObject({
        position: 'c',
        lastSweepRuns: [{ to: 'c', at: hour * HOUR }],
        sweepRuns: [],
      });
      expect(oldestAuditAgeMs(state, hour * HOUR + 60_000)).toBe(60_000);
    }
    expect(state?.rev).toBe(3);
  });

  it('a fleet of 10 at 4 a run: the bound on the oldest audit holds and is tight each hour (within the run)', () => {
    const names = Array.from({ length: 10 }, (_, i) => `s${String(i).padStart(2, '0')}`);
    const lastJudged = new Map<string, number>();
    let state: CursorState | undefined;
    for (let hour = 0; hour < 12; hour++) {
      const at = hour * HOUR;
      const progress = run(names, state?.position, 4, at);
      const first = state?.position === undefined ? 0 : names.findIndex((n) => n > (state?.position ?? ''));
      for (let i = 0; i < 4; i++) lastJudged.set(names[(Math.max(0, first) + i) % 10] as string, at + i);
      state = advanceCursor(state, progress, at);
      const now = at + 30 * 60_000;
      // The true oldest audit (a secret never judged counts from the first run) never exceeds the bound.
      const oldest = Math.max(...names.map((n) => now - (lastJudged.get(n) ?? 0)));
      expect(oldest).toBeLessThanOrEqual(oldestAuditAgeMs(state, now));
      // And tight: the oldest audit is no more than its run's few milliseconds younger than the bound, so no
      // secret waits longer than one sweep (2.5 runs here) plus a run.
      expect(oldestAuditAgeMs(state, now) - oldest).toBeLessThan(10);
      expect(oldestAuditAgeMs(state, now)).toBeLessThanOrEqual(3 * HOUR + 30 * 60_000);
    }
    expect(lastJudged.size).toBe(10);
  });

  it('before any sweep completes the age counts from the first run; a lost cursor restarts the count', () => {
    const state = advanceCursor(undefined, run(['a', 'b', 'c'], undefined, 2, 5 * HOUR), 5 * HOUR);
    expect(state).toMatchObject({ position: 'b', firstRunAt: 5 * HOUR, lastSweepRuns: [] });
    expect(oldestAuditAgeMs(state, 7 * HOUR)).toBe(2 * HOUR);
  });

  it('a secret added before the cursor waits at most until the next sweep reaches it', () => {
    let state = advanceCursor(undefined, run(['b', 'c', 'd'], undefined, 2, 0), 0);
    expect(state.position).toBe('c');
    // 'a' is new: the next run starts after 'c', reaches 'd', wraps and judges 'a'.
    state = advanceCursor(state, run(['a', 'b', 'c', 'd'], state.position, 2, HOUR), HOUR);
    expect(state).toMatchObject({
      position: 'a',
      lastSweepRuns: [
        { to: 'c', at: 0 },
        { to: 'd', at: HOUR },
      ],
      sweepRuns: [{ to: 'a', at: HOUR + 1 }],
    });
    // The oldest audit is 'b' (judged in the first run), not 'd' (judged an hour later).
    expect(oldestAuditAgeMs(state, 2 * HOUR)).toBe(2 * HOUR);
  });

  it('a sweep of many runs keeps a bounded item: merged checkpoints still bound the age from above', () => {
    const names = Array.from({ length: 1_000 }, (_, i) => `s${String(i).padStart(4, '0')}`);
    const judgedAt = new Map<string, number>();
    let state: CursorState | undefined;
    for (let hour = 0; hour < 1_500; hour++) {
      const first = state?.position === undefined ? 0 : names.findIndex((n) => n > (state?.position ?? ''));
      for (let i = 0; i < 2; i++)
        judgedAt.set(names[(Math.max(0, first) + i) % 1_000] as string, hour * HOUR);
      state = advanceCursor(state, run(names, state?.position, 2, hour * HOUR), hour * HOUR);
      expect(state.sweepRuns.length + state.lastSweepRuns.length).toBeLessThanOrEqual(2 * MAX_CHECKPOINTS);
    }
    const now = 1_500 * HOUR;
    const oldest = Math.max(...names.map((n) => now - (judgedAt.get(n) ?? 0)));
    expect(oldestAuditAgeMs(state as CursorState, now)).toBeGreaterThanOrEqual(oldest);
    expect(oldestAuditAgeMs(state as CursorState, now)).toBeLessThanOrEqual(oldest + 4 * HOUR);
  });
});

describe('long lists in bounded log lines', () => {
  it('splits 100,000 names into lines of at most the bound, in order, nothing lost', () => {
    const names = Array.from({ length: 100_000 }, (_, i) => `pingone/prod/team-${i % 97}/app-${i}-client`);
    const chunks = chunkByBytes(names, 32 * 1024);
    expect(chunks.length).toBeGreaterThan(100);
    for (const chunk of chunks)
      expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(32 * 1024);
    expect(chunks.flat()).toEqual(names);
  });

  it('counts UTF-8 bytes, and cuts a single name longer than the bound', () => {
    const wide = 'é'.repeat(40); // 80 bytes
    const chunks = chunkByBytes([wide, wide, 'x'.repeat(500)], 100);
    for (const chunk of chunks) expect(Buffer.byteLength(JSON.stringify(chunk))).toBeLessThanOrEqual(100);
    expect(chunks[0]).toEqual([wide]);
    expect(chunks[2]?.[0]).toMatch(/^x+…$/);
  });

  it('every line carries the count and its part, and stays under CloudWatch’s 256 KB', () => {
    const lines: Record<string, unknown>[] = [];
    const names = Array.from({ length: 20_000 }, (_, i) => `pingone/${'n'.repeat(100)}/${i}`);
    logInChunks((message, fields) => lines.push({ message, ...fields }), 'not audited', 'secrets', names, {
      nextRunStartsAfter: 'pingone/x',
    });
    expect(lines.map((l) => l.part)).toEqual(lines.map((_, i) => i + 1));
    for (const line of lines) {
      expect(line).toMatchObject({ count: 20_000, parts: lines.length, nextRunStartsAfter: 'pingone/x' });
      expect(Buffer.byteLength(JSON.stringify(line))).toBeLessThan(256 * 1024);
    }
  });
});
