/** Small formatting helpers shared by the commands. Nothing here ever sees a secret value. */

/** Where the CLI writes: process.stdout / stderr in the real process, a buffer in tests. */
export interface Output {
  write(text: string): void;
  /** A terminal: progress lines are rewritten in place with `\r`. */
  readonly isTTY?: boolean;
}

export function line(out: Output, text = ''): void {
  out.write(`${text}\n`);
}

export { duration, when } from '../lib/status/text.js';

/** The version ids the CLI shows in progress lines: the first 8 characters. */
export function shortId(id: string | undefined): string {
  return id === undefined ? '-' : id.length > 8 ? `${id.slice(0, 8)}…` : id;
}

/** `a1b2c3d4… [AWSCURRENT]  e5f6a7b8… [AWSPENDING]`, AWSCURRENT first, unlabelled versions left out. */
export function labelsLine(versions: Readonly<Record<string, readonly string[]>>): string {
  const rank = (stages: readonly string[]) =>
    stages.includes('AWSCURRENT')
      ? 0
      : stages.includes('AWSPENDING')
        ? 1
        : stages.includes('AWSPREVIOUS')
          ? 2
          : 3;
  return Object.entries(versions)
    .filter(([, stages]) => stages.length > 0)
    .sort(([, a], [, b]) => rank(a) - rank(b))
    .map(([id, stages]) => `${shortId(id)} [${[...stages].sort().join(', ')}]`)
    .join('  ');
}

/**
 * A live progress line: on a terminal one line rewritten in place; elsewhere (CI, a pipe) one line per
 * change of `key`, so logs are not flooded by a ticking clock.
 */
export class ProgressLine {
  readonly #out: Output;
  #lastKey: string | undefined;
  #open = false;

  constructor(out: Output) {
    this.#out = out;
  }

  update(key: string, text: string): void {
    if (this.#out.isTTY) {
      this.#out.write(`\r\x1b[2K${text}`);
      this.#open = true;
      return;
    }
    if (key === this.#lastKey) return;
    this.#lastKey = key;
    this.#out.write(`${text}\n`);
  }

  /** Ends the live line with a final one. */
  done(text: string): void {
    if (this.#out.isTTY && this.#open) this.#out.write('\r\x1b[2K');
    this.#open = false;
    this.#lastKey = undefined;
    this.#out.write(`${text}\n`);
  }

  /** Leaves the live line as it is and moves to the next line (before printing something else). */
  break(): void {
    if (this.#out.isTTY && this.#open) this.#out.write('\n');
    this.#open = false;
  }
}

/** Parses `90s`, `5m`, `2h` into milliseconds (for --timeout and --stuck-after). */
export function parseDuration(text: string): number | undefined {
  const match = /^\s*(\d{1,6})\s*(s|m|h)\s*$/.exec(text);
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 's' | 'm' | 'h'];
  const ms = Number(match[1]) * unit;
  return ms > 0 ? ms : undefined;
}

/**
 * Wraps a line of prose to `width` columns at spaces, continuing under its text: after a label padded with two
 * or more spaces (`Verdict    …`, an audit row's name), after `pingone-rotation: ` (two spaces), else at its
 * own indentation. Data is left whole: JSON lines, lines with escape sequences, and any word (an ARN, a secret
 * name, a command) longer than the room left.
 */
export function wrapLine(text: string, width: number): string {
  if (
    width < 40 ||
    text.length <= width ||
    text.includes('\r') ||
    text.includes('\u001b') ||
    /^\s*[[\]{}"]/.test(text)
  )
    return text;
  const label = /^(\S+(?: \S+)?\s{2,})\S/.exec(text)?.[1];
  const indent =
    label && label.length <= width / 2
      ? label.length
      : text.startsWith('pingone-rotation: ')
        ? 2
        : (/^\s*/.exec(text)?.[0].length ?? 0);
  const pad = ' '.repeat(indent);
  const lead = text.slice(0, /^\s*/.exec(text)?.[0].length ?? 0);
  const words = text.slice(lead.length).split(/ +/);
  const lines: string[] = [];
  let current = lead;
  for (const word of words) {
    const fresh = current.trim() === '';
    const candidate = fresh ? `${current}${word}` : `${current} ${word}`;
    if (candidate.length <= width || fresh) current = candidate;
    else {
      lines.push(current);
      current = `${pad}${word}`;
    }
  }
  lines.push(current);
  return lines.join('\n');
}

/**
 * `out` for a person at a terminal: each complete line longer than the terminal's width is wrapped
 * (wrapLine). Not a terminal (a pipe, a file, CI): unchanged, one line per line.
 */
export function forTerminal(out: Output & { columns?: number }): Output {
  if (!out.isTTY) return out;
  return {
    isTTY: true,
    write(text: string) {
      const width = out.columns ?? 0;
      if (!width) {
        out.write(text);
        return;
      }
      const lines = text.split('\n');
      const last = lines.pop() ?? '';
      out.write([...lines.map((l) => `${wrapLine(l, width)}\n`), last].join(''));
    },
  };
}
