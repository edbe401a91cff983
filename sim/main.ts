/**
 * `npm run simulate -- --seeds N --first-seed S [--workers K] [--chunk C] [--without proxy-5xx,pingone-429]
 *  [--only …] [--no-exotic] [--trace] [--stop] [--quiet]`
 *
 * Runs seeds S … S+N-1 of the deterministic simulation (sim/world.ts) and exits non-zero when any of them
 * breaks an invariant. A failing seed prints its one-line replay command and the end of its event trace.
 *
 * `--workers K` runs the range in K child processes, each taking chunks of at most C seeds (default 200) and
 * exiting after each chunk, so a long range never accumulates memory in one process. A seed's run depends on
 * its seed alone (not on what ran before it in the process): its trace is the same alone or in a chunk.
 * Without `--workers` the seeds run in this process, one after another.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FAULT_CLASSES, type FaultClass, SABOTAGES, type Sabotage } from './env.js';
import { runSimulation, type SimResult } from './world.js';

// Stack traces mapped back to TypeScript cost a fifth of a run's CPU (the code under test creates and
// inspects many errors); nothing the simulation checks depends on their line numbers.
process.setSourceMapsEnabled(false);

const USAGE =
  'usage: npm run simulate -- --seeds N --first-seed S [--workers K] [--chunk C] ' +
  `[--without ${FAULT_CLASSES.join(',')}] [--only …] [--no-exotic] [--trace] [--stop] [--quiet]`;

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    'first-seed': { type: 'string', default: '1' },
    workers: { type: 'string' },
    chunk: { type: 'string', default: '200' },
    without: { type: 'string', default: '' },
    only: { type: 'string' },
    'no-exotic': { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    stop: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    /** A deliberate defect (sim/env.ts), to see a violation found and reported. */
    sabotage: { type: 'string' },
    /** Internal: this process is a worker; it reports to its parent over IPC. */
    child: { type: 'boolean', default: false },
  },
});

const first = Number(values['first-seed']);
const count = Number(values.seeds);
const workers = values.workers === undefined ? 0 : Number(values.workers);
const chunk = Number(values.chunk);
const without = new Set(values.without.split(',').filter(Boolean));
const unknown = [...without, ...(values.only?.split(',') ?? [])].filter(
  (f) => !(FAULT_CLASSES as readonly string[]).includes(f),
);
const sabotage = values.sabotage as Sabotage | undefined;
const problems = [
  ...(Number.isInteger(first) ? [] : ['--first-seed must be an integer']),
  ...(Number.isInteger(count) && count >= 1 ? [] : ['--seeds must be a positive integer']),
  ...(Number.isInteger(workers) && workers >= 0 ? [] : ['--workers must be a positive integer']),
  ...(Number.isInteger(chunk) && chunk >= 1 ? [] : ['--chunk must be a positive integer']),
  ...(unknown.length > 0 ? [`unknown fault class: ${unknown.join(', ')}`] : []),
  ...(sabotage === undefined || (SABOTAGES as readonly string[]).includes(sabotage)
    ? []
    : [`--sabotage must be one of ${SABOTAGES.join(', ')}`]),
];
if (problems.length > 0) {
  console.error(`${USAGE}\n${problems.join('\n')}`);
  process.exit(2);
}
const faults = (values.only ? (values.only.split(',') as FaultClass[]) : FAULT_CLASSES).filter(
  (f) => !without.has(f),
);

/** The flags that select what a seed runs (everything but the range and how it is split). */
function selectionFlags(): string[] {
  return [
    ...(values.only ? ['--only', values.only] : []),
    ...(without.size > 0 ? ['--without', [...without].join(',')] : []),
    ...(values['no-exotic'] ? ['--no-exotic'] : []),
    ...(sabotage ? ['--sabotage', sabotage] : []),
  ];
}

export function replayCommand(seed: number): string {
  return `npm run simulate -- ${[`--seeds 1 --first-seed ${seed}`, ...selectionFlags(), '--trace'].join(' ')}`;
}

/** What a run of seeds adds up to; a worker sends its own to the parent. */
interface Tally {
  seeds: number;
  events: number;
  totals: Record<string, number>;
  /** Failing seeds: invariant, detail, the end of the trace. */
  failures: { seed: number; invariant: string; detail: string; trace: string[] }[];
}

type ChildMessage =
  | { kind: 'failure'; failure: Tally['failures'][number] }
  | { kind: 'trace'; seed: number; trace: readonly string[] }
  | { kind: 'done'; tally: Omit<Tally, 'failures'> };

function merge(into: Tally, from: Omit<Tally, 'failures'>): void {
  into.seeds += from.seeds;
  into.events += from.events;
  for (const [k, v] of Object.entries(from.totals)) into.totals[k] = (into.totals[k] ?? 0) + v;
}

function printFailure(f: Tally['failures'][number]): void {
  console.log(`seed ${f.seed}: VIOLATION ${f.invariant}: ${f.detail}`);
  console.log(`  replay: ${replayCommand(f.seed)}`);
  if (!values.trace) console.log(f.trace.map((l) => `    ${l}`).join('\n'));
}

/** Runs seeds `from` … `from+n-1` here, one after another. */
async function runHere(
  from: number,
  n: number,
  report: {
    failure: (f: Tally['failures'][number]) => void;
    trace: (seed: number, trace: readonly string[]) => void;
    progress?: (done: number) => void;
  },
): Promise<Omit<Tally, 'failures'> & { failed: number }> {
  const tally = { seeds: 0, events: 0, totals: {} as Record<string, number>, failed: 0 };
  for (let seed = from; seed < from + n; seed++) {
    const result: SimResult = await runSimulation({
      seed,
      faults,
      exoticKeys: !values['no-exotic'],
      fullTrace: values.trace,
      ...(sabotage ? { sabotage } : {}),
    });
    tally.seeds += 1;
    tally.events += result.events;
    for (const [k, v] of Object.entries(result.stats)) tally.totals[k] = (tally.totals[k] ?? 0) + v;
    if (values.trace) report.trace(seed, result.trace);
    if (result.violation) {
      tally.failed += 1;
      report.failure({
        seed,
        invariant: result.violation.invariant,
        detail: result.violation.detail,
        trace: values.trace ? [] : result.trace.slice(-60),
      });
      if (values.stop) break;
    }
    report.progress?.(tally.seeds);
  }
  return tally;
}

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve, reject) =>
    process.send?.(message, undefined, {}, (error) => (error ? reject(error) : resolve())),
  );
}

/** A worker: runs its chunk and reports each failure (and trace, with --trace) as it happens. */
async function child(): Promise<never> {
  const pending: Promise<void>[] = [];
  const tally = await runHere(first, count, {
    failure: (failure) => void pending.push(send({ kind: 'failure', failure })),
    trace: (seed, trace) => void pending.push(send({ kind: 'trace', seed, trace })),
  });
  await Promise.all(pending);
  await send({ kind: 'done', tally: { seeds: tally.seeds, events: tally.events, totals: tally.totals } });
  process.exit(0);
}

/** The range in chunks of at most `chunk` seeds across `workers` child processes. */
async function parent(): Promise<Tally & { errors: string[] }> {
  const chunks: { from: number; n: number }[] = [];
  for (let from = first; from < first + count; from += chunk) {
    chunks.push({ from, n: Math.min(chunk, first + count - from) });
  }
  const tally: Tally & { errors: string[] } = { seeds: 0, events: 0, totals: {}, failures: [], errors: [] };
  const script = fileURLToPath(import.meta.url);
  let next = 0;
  let stopped = false;
  const traces = new Map<number, readonly string[]>();
  const runOne = (c: { from: number; n: number }) =>
    new Promise<void>((resolve) => {
      const args = [
        '--child',
        '--seeds',
        String(c.n),
        '--first-seed',
        String(c.from),
        ...selectionFlags(),
        ...(values.trace ? ['--trace'] : []),
        ...(values.stop ? ['--stop'] : []),
      ];
      const proc = fork(script, args, {
        execArgv: process.execArgv,
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      let done = false;
      proc.on('message', (message: ChildMessage) => {
        if (message.kind === 'failure') {
          tally.failures.push(message.failure);
          printFailure(message.failure);
          if (values.stop) stopped = true;
        } else if (message.kind === 'trace') traces.set(message.seed, message.trace);
        else {
          done = true;
          merge(tally, message.tally);
          if (!values.quiet) {
            const seconds = (Date.now() - started) / 1000;
            console.log(
              `… ${tally.seeds}/${count} seeds, ${tally.failures.length} violation(s), ${seconds.toFixed(0)} s`,
            );
          }
        }
      });
      proc.on('exit', (code, signal) => {
        if (!done) {
          const error = `seeds ${c.from}…${c.from + c.n - 1}: worker exited with ${signal ?? `code ${code}`} before finishing`;
          tally.errors.push(error);
          console.log(error);
        }
        resolve();
      });
    });
  const lane = async () => {
    while (!stopped && next < chunks.length) {
      const c = chunks[next++] as { from: number; n: number };
      await runOne(c);
    }
  };
  await Promise.all(Array.from({ length: Math.min(workers, chunks.length) }, lane));
  if (values.trace) {
    for (const seed of [...traces.keys()].sort((a, b) => a - b)) {
      console.log(`--- seed ${seed}`);
      console.log(traces.get(seed)?.join('\n'));
    }
  }
  tally.failures.sort((a, b) => a.seed - b.seed);
  return tally;
}

const started = Date.now();
if (values.child) await child();

let result: Tally & { errors: string[] };
if (workers > 0) {
  result = await parent();
} else {
  const failures: Tally['failures'] = [];
  const here = await runHere(first, count, {
    failure: (f) => {
      failures.push(f);
      printFailure(f);
    },
    trace: (seed, trace) => {
      console.log(`--- seed ${seed}`);
      console.log(trace.join('\n'));
    },
    progress: (done) => {
      if (!values.quiet && done % 100 === 0)
        console.log(`… ${done} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s`);
    },
  });
  result = { seeds: here.seeds, events: here.events, totals: here.totals, failures, errors: [] };
}

const seconds = (Date.now() - started) / 1000;
const byInvariant = new Map<string, number[]>();
for (const f of result.failures)
  byInvariant.set(f.invariant, [...(byInvariant.get(f.invariant) ?? []), f.seed]);
for (const [name, seeds] of byInvariant) {
  console.log(`${name}: ${seeds.length} seed(s), first ${seeds[0]}: ${seeds.slice(0, 12).join(' ')}`);
}
if (result.failures.length > 0) {
  console.log('replay:');
  for (const f of result.failures.slice(0, 50)) console.log(`  ${replayCommand(f.seed)}`);
  if (result.failures.length > 50) console.log(`  … and ${result.failures.length - 50} more`);
}
console.log(
  `${result.seeds} of ${count} seeds from ${first} (faults: ${faults.join(', ') || 'none'}` +
    `${sabotage ? `; sabotage ${sabotage}` : ''}${workers > 0 ? `; ${workers} workers` : ''}): ` +
    `${result.failures.length} violation(s), ${result.events} events, ${seconds.toFixed(1)} s, ` +
    `${(result.seeds / seconds).toFixed(2)} seeds/s` +
    (result.failures.length > 0 ? `; first at seed ${result.failures[0]?.seed}` : ''),
);
if (!values.quiet) console.log(`totals: ${JSON.stringify(result.totals)}`);
for (const error of result.errors) console.log(`error: ${error}`);
const incomplete = result.seeds < count && !values.stop;
process.exit(result.failures.length > 0 || result.errors.length > 0 || incomplete ? 1 : 0);
