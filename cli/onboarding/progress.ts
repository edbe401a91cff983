/**
 * Progress of a fleet run. On a terminal: a bar with counts and an ETA, redrawn in place on stderr, with one
 * line per finished item scrolling above it. Elsewhere (CI, a pipe, a file): plain lines only.
 */
import { duration, type Output } from '../format.js';
import type { ItemResult } from './onboard-item.js';

const WIDTH = 28;

export class FleetProgress {
  readonly #lines: Output;
  readonly #bar: Output | undefined;
  readonly #now: () => number;
  readonly #started: number;
  #ok = 0;
  #failed = 0;
  #drawn = false;

  /** `lines` gets one line per item (undefined: none, e.g. --json); `bar` is drawn only if it is a TTY. */
  constructor(lines: Output | undefined, bar: Output, now: () => number) {
    this.#lines = lines ?? { write: () => {} };
    this.#bar = bar.isTTY ? bar : undefined;
    this.#now = now;
    this.#started = now();
  }

  result(result: ItemResult, done: number, total: number): void {
    if (result.outcome === 'failed') this.#failed += 1;
    else this.#ok += 1;
    this.#clear();
    this.#lines.write(`${itemLine(result, done, total)}\n`);
    this.#draw(done, total);
  }

  end(): void {
    this.#clear();
  }

  #clear(): void {
    if (this.#bar && this.#drawn) this.#bar.write('\r\x1b[2K');
    this.#drawn = false;
  }

  #draw(done: number, total: number): void {
    if (!this.#bar || done >= total) return;
    const filled = Math.round((done / total) * WIDTH);
    const elapsed = this.#now() - this.#started;
    const eta = done > 0 ? duration(Math.round((elapsed / done) * (total - done))) : '?';
    this.#bar.write(
      `[${'#'.repeat(filled)}${'.'.repeat(WIDTH - filled)}] ${done}/${total}  ok ${this.#ok}  failed ${this.#failed}  ETA ${eta}`,
    );
    this.#drawn = true;
  }
}

/** `[3/200] onboarded pingone/orders (resource 1b2…): created, bound, tagged, rotation attached` */
function itemLine(result: ItemResult, done: number, total: number): string {
  const { item } = result;
  const what = `${item.secretName} (${item.kind} ${item.ownerId}, ${item.source})`;
  const detail =
    result.outcome === 'failed'
      ? `: ${result.error ?? 'failed'}`
      : result.changes.length > 0
        ? `: ${result.changes.join(', ')}`
        : ': already onboarded, nothing to do';
  return `[${done}/${total}] ${result.outcome} ${what}${detail}`;
}
