/**
 * Dates, durations and one-line text as the status model words them. Pure functions; nothing here ever
 * sees a secret value.
 */

/** `2026-01-02T03:04:05Z`: UTC, no milliseconds. */
export function isoTime(date: Date | string | undefined): string {
  if (date === undefined || date === '') return 'unknown';
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return String(date);
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A duration as `2d 3h`, `1h`, `12m 5s`, `40s`: the largest unit and the next one (unless 0), rounded down. */
export function duration(ms: number): string {
  const abs = Math.abs(ms);
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
  ];
  const index = units.findIndex(([, size]) => abs >= size);
  if (index === -1) return '0s';
  const [unit, size] = units[index]!;
  const count = Math.floor(abs / size);
  const next = units[index + 1];
  if (!next) return `${count}${unit}`;
  const rest = Math.floor((abs - count * size) / next[1]);
  return rest === 0 ? `${count}${unit}` : `${count}${unit} ${rest}${next[0]}`;
}

/** `2026-01-02T03:04:05Z (in 6d 23h)` / `(3h 2m ago)`. */
export function when(date: Date | string | undefined, now: number): string {
  if (date === undefined || date === '') return 'unknown';
  const d = typeof date === 'string' ? new Date(date) : date;
  if (Number.isNaN(d.getTime())) return String(date);
  const delta = d.getTime() - now;
  return `${isoTime(d)} (${delta >= 0 ? `in ${duration(delta)}` : `${duration(delta)} ago`})`;
}

/** One line: no newlines, no runs of spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** `an OPENID_CONNECT`, `a CUSTOM`. */
export function withArticle(word: string): string {
  return `${/^[aeiou]/i.test(word) ? 'an' : 'a'} ${word}`;
}
