/**
 * `npm run simulate -- --seeds N --first-seed S [--without proxy-5xx,pingone-429] [--trace] [--stop]`
 *
 * Runs seeds S … S+N-1 of the deterministic simulation (sim/world.ts) and exits non-zero when any of them
 * breaks an invariant. A failing seed prints its one-line replay command and the end of its event trace.
 */
import { parseArgs } from 'node:util';
import { FAULT_CLASSES, type FaultClass } from './env.js';
import { runSimulation, type SimResult } from './world.js';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '100' },
    'first-seed': { type: 'string', default: '1' },
    without: { type: 'string', default: '' },
    only: { type: 'string' },
    'no-exotic': { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
    stop: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
  },
});

const first = Number(values['first-seed']);
const count = Number(values.seeds);
const without = new Set(values.without.split(',').filter(Boolean));
const unknown = [...without, ...(values.only?.split(',') ?? [])].filter(
  (f) => !(FAULT_CLASSES as readonly string[]).includes(f),
);
if (!Number.isInteger(first) || !Number.isInteger(count) || count < 1 || unknown.length > 0) {
  console.error(
    `usage: npm run simulate -- --seeds N --first-seed S [--without ${FAULT_CLASSES.join(',')}] [--only …] [--no-exotic] [--trace] [--stop]` +
      (unknown.length > 0 ? `\nunknown fault class: ${unknown.join(', ')}` : ''),
  );
  process.exit(2);
}
const faults = (values.only ? (values.only.split(',') as FaultClass[]) : FAULT_CLASSES).filter(
  (f) => !without.has(f),
);

export function replayCommand(seed: number): string {
  const flags = [
    `--seeds 1 --first-seed ${seed}`,
    ...(values.only ? [`--only ${values.only}`] : []),
    ...(without.size > 0 ? [`--without ${[...without].join(',')}`] : []),
    ...(values['no-exotic'] ? ['--no-exotic'] : []),
    '--trace',
  ];
  return `npm run simulate -- ${flags.join(' ')}`;
}

const started = Date.now();
const failures: SimResult[] = [];
let events = 0;
const totals: Record<string, number> = {};
for (let seed = first; seed < first + count; seed++) {
  const result = await runSimulation({
    seed,
    faults,
    exoticKeys: !values['no-exotic'],
    fullTrace: values.trace,
  });
  events += result.events;
  for (const [k, v] of Object.entries(result.stats)) totals[k] = (totals[k] ?? 0) + v;
  if (values.trace) console.log(result.trace.join('\n'));
  if (result.violation) {
    failures.push(result);
    const v = result.violation;
    console.log(`seed ${seed}: VIOLATION ${v.invariant}: ${v.detail}`);
    console.log(`  replay: ${replayCommand(seed)}`);
    if (!values.trace)
      console.log(
        result.trace
          .slice(-60)
          .map((l) => `    ${l}`)
          .join('\n'),
      );
    if (values.stop) break;
  } else if (!values.quiet && (seed - first + 1) % 100 === 0) {
    console.log(`… ${seed - first + 1} seeds, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
}
const seconds = (Date.now() - started) / 1000;
const byInvariant = new Map<string, number[]>();
for (const f of failures) {
  const name = f.violation?.invariant ?? '?';
  byInvariant.set(name, [...(byInvariant.get(name) ?? []), f.seed]);
}
for (const [name, seeds] of byInvariant) {
  console.log(`${name}: ${seeds.length} seed(s), first ${seeds[0]}: ${seeds.slice(0, 12).join(' ')}`);
}
console.log(
  `${count} seeds from ${first} (faults: ${faults.join(', ') || 'none'}): ${failures.length} violation(s), ` +
    `${events} events, ${seconds.toFixed(1)} s` +
    (failures.length > 0 ? `; first at seed ${failures[0]?.seed}` : ''),
);
if (!values.quiet) console.log(`totals: ${JSON.stringify(totals)}`);
process.exit(failures.length > 0 ? 1 : 0);
