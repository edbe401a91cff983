import { getEventListeners } from 'node:events';

/**
 * The simulation's kernel: a seeded PRNG and a discrete-event scheduler on a simulated clock.
 *
 * Every actor is an ordinary async function running the real code. Whatever waits — `sleep`, a fake
 * service's latency, an `AbortSignal.timeout` — registers a timer here instead of with Node. The run loop
 * lets every microtask settle (one `setImmediate`: nothing in the code under test is waiting on real I/O or
 * real timers), checks the invariants, then fires the earliest timer and moves the clock to it. Timers at
 * the same instant fire in the order they were registered, so one seed always replays the same interleaving.
 */

/** sfc32 seeded through splitmix32: fast, small, and the same sequence on every platform. */
export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
    for (let i = 0; i < 12; i++) this.next();
  }

  /** A float in [0, 1). */
  next(): number {
    const t = (((this.#a + this.#b) | 0) + this.#d) | 0;
    this.#d = (this.#d + 1) | 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) | 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** An integer in [min, max). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[this.int(0, items.length)];
    if (item === undefined) throw new Error('pick from an empty list');
    return item;
  }

  /** A new generator derived from this one (so one actor's draws do not shift another's). */
  fork(): Prng {
    return new Prng(this.int(0, 2 ** 31));
  }

  /** A version-4-shaped UUID. */
  uuid(): string {
    const hex = Array.from({ length: 32 }, () => this.int(0, 16).toString(16));
    hex[12] = '4';
    hex[16] = ((this.int(0, 4) & 0x3) | 0x8).toString(16);
    const h = hex.join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  /** Random text from an alphabet. */
  text(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'): string {
    let out = '';
    for (let i = 0; i < length; i++) out += alphabet.charAt(this.int(0, alphabet.length));
    return out;
  }
}

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
  cancelled: boolean;
}

/** A binary min-heap of timers by (at, seq). */
class TimerHeap {
  readonly #items: Timer[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(timer: Timer): void {
    const items = this.#items;
    items.push(timer);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  peek(): Timer | undefined {
    return this.#items[0];
  }

  pop(): Timer | undefined {
    const items = this.#items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < items.length && before(items[l]!, items[m]!)) m = l;
        if (r < items.length && before(items[r]!, items[m]!)) m = r;
        if (m === i) break;
        [items[i], items[m]] = [items[m]!, items[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A promise that never settles: where a crashed process stops. A new one each time: a single shared one would
 * collect a reaction for every crashed call of every run (each holding its run's world) and never free them.
 */
export function never(): Promise<never> {
  return new Promise<never>(() => {});
}

/** The simulated clock and its timers. */
export class Scheduler {
  #now: number;
  #seq = 0;
  readonly #timers = new TimerHeap();
  /** Events fired so far. */
  events = 0;

  constructor(start: number) {
    this.#now = start;
  }

  now = (): number => this.#now;

  /** Runs `fire` at `at` (not before now). Returns a cancel function. */
  at(at: number, fire: () => void): () => void {
    const timer: Timer = { at: Math.max(at, this.#now), seq: this.#seq++, fire, cancelled: false };
    this.#timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  }

  after(ms: number, fire: () => void): () => void {
    return this.at(this.#now + Math.max(0, ms), fire);
  }

  sleep = (ms: number): Promise<void> =>
    new Promise<void>((resolve) => {
      this.after(Number.isFinite(ms) ? ms : 0, resolve);
    });

  /** An AbortSignal that aborts after `ms` of simulated time (AbortSignal.timeout's semantics). */
  timeoutSignal(ms: number): AbortSignal {
    const controller = new AbortController();
    this.after(ms, () => {
      // Nobody waits on it any more (the call it bounded is over): nothing to abort.
      if (getEventListeners(controller.signal, 'abort').length === 0) return;
      controller.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError'));
    });
    return controller.signal;
  }

  /**
   * Runs until the clock passes `until`, or `check` returns a reason to stop. `check` runs whenever every
   * microtask has settled, before the next timer fires.
   */
  async run(until: number, check: () => string | undefined): Promise<string | undefined> {
    for (;;) {
      await settle();
      const stop = check();
      if (stop !== undefined) return stop;
      let timer = this.#timers.pop();
      while (timer?.cancelled) timer = this.#timers.pop();
      if (!timer || timer.at > until) return undefined;
      this.#now = timer.at;
      this.events += 1;
      timer.fire();
    }
  }
}

/** Lets every pending microtask (and process.nextTick) run. */
function settle(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/**
 * Replaces `AbortSignal.timeout` with the scheduler's while `body` runs (the ledger bounds its DynamoDB calls
 * with it; a real timer would never fire in a run that takes milliseconds of real time, or fire wrongly).
 */
export async function withSimulatedTimeouts<T>(scheduler: Scheduler, body: () => Promise<T>): Promise<T> {
  const original = AbortSignal.timeout;
  AbortSignal.timeout = (ms: number) => scheduler.timeoutSignal(ms);
  try {
    return await body();
  } finally {
    AbortSignal.timeout = original;
  }
}
