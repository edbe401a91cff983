/** A source of the current time. The simulator and the code under test can share one. */
export interface Clock {
  now(): Date;
}

/** A clock that tests (or the admin API) can move. Every expiry decision in the simulator reads it. */
export interface ControllableClock extends Clock {
  /** Moves the clock by `ms` milliseconds (a negative value moves it back). */
  advance(ms: number): void;
  /** Jumps the clock to `date`. */
  set(date: Date): void;
}

export interface SimulatorClockOptions {
  /** Where the clock starts. Default: the real current time. */
  readonly start?: Date;
  /**
   * Stand still between `advance`/`set` calls instead of following real time. Default `false`.
   * A frozen clock makes boundary tests exact (e.g. "`expiresAt` exactly 30 days from now").
   */
  readonly frozen?: boolean;
}

/**
 * A controllable clock. By default it follows real time shifted by whatever `advance`/`set` added, so a
 * running demo still sees tokens and previous secrets expire on their own.
 *
 * @example
 * const clock = new SimulatorClock();
 * const sim = await startPingOneSimulator({ clock });
 * const client = new PingOneHttpClient({ ..., now: () => clock.now().getTime() });
 * clock.advance(2 * 60 * 60 * 1000); // two hours later: the worker token and a 1-hour previous secret are gone
 */
export class SimulatorClock implements ControllableClock {
  readonly frozen: boolean;
  // Simulated time at the moment `#anchorRealMs` was taken; a ticking clock adds the real time elapsed since.
  #anchorSimulatedMs: number;
  #anchorRealMs: number;

  constructor(options: SimulatorClockOptions = {}) {
    this.frozen = options.frozen ?? false;
    this.#anchorRealMs = Date.now();
    this.#anchorSimulatedMs = options.start
      ? validTime(options.start, 'SimulatorClock start')
      : this.#anchorRealMs;
  }

  now(): Date {
    return new Date(this.#nowMs());
  }

  advance(ms: number): void {
    if (!Number.isFinite(ms)) {
      throw new RangeError(`clock.advance needs a finite number of milliseconds, got ${ms}`);
    }
    this.#reanchor(this.#nowMs() + ms);
  }

  set(date: Date): void {
    this.#reanchor(validTime(date, 'clock.set'));
  }

  #nowMs(): number {
    return this.frozen
      ? this.#anchorSimulatedMs
      : this.#anchorSimulatedMs + (Date.now() - this.#anchorRealMs);
  }

  #reanchor(simulatedMs: number): void {
    this.#anchorSimulatedMs = simulatedMs;
    this.#anchorRealMs = Date.now();
  }
}

function validTime(date: Date, what: string): number {
  const ms = date instanceof Date ? date.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`${what} needs a valid Date`);
  return ms;
}
