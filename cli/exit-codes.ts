/**
 * Every exit code of `pingone-rotation`, in one table: the CLI's help (`Exit codes:`) and the docs' exit-code
 * reference (docs/cli.md, the `exit-codes` block of `npm run docs:generate`) are both made from it, and the
 * status verdicts' codes come from the verdict table (lib/status/verdicts.ts).
 */
import { VERDICT_TABLE, type VerdictEntry } from '../lib/status/verdicts.js';
import { AUDIT_EXIT } from './commands/audit.js';
import { DOCTOR_EXIT } from './commands/doctor.js';
import { EXIT } from './errors.js';

export interface ExitCodeEntry {
  readonly code: number;
  /** The verdict, for status's codes. */
  readonly verdict?: string;
  readonly meaning: string;
}

/** The codes every command may exit with (besides the verdicts'). */
export const EXIT_CODE_TABLE: readonly ExitCodeEntry[] = [
  {
    code: EXIT.ok,
    meaning: 'success; status: healthy, or not-rotating (a note); audit: nothing needs attention',
  },
  {
    code: EXIT.error,
    meaning:
      'error: an AWS or PingOne call failed, a rotation failed or timed out, a command refused or was cancelled; ' +
      'audit: a secret could not be judged, or no secret was found under --prefix (the wrong region, profile ' +
      'or prefix: never green)',
  },
  {
    code: EXIT.usage,
    meaning:
      'usage: a missing, unknown or bad option or setting, or a confirmation without a terminal (pass --yes or ' +
      '--accept-readers)',
  },
  { code: AUDIT_EXIT.unhealthy, meaning: 'audit: a secret needs attention (its verdict is not healthy)' },
  {
    code: DOCTOR_EXIT.missing,
    meaning:
      'doctor: a worker lacks a role it needs, or cannot see an environment it must serve (1: could not check)',
  },
  {
    code: EXIT.interrupted,
    meaning: 'interrupted (Ctrl-C / SIGTERM): rotate stopped at a step boundary and printed how to continue',
  },
];

/** The verdicts' codes: status exits with them; rotate when it refuses the state (--force skips that check). */
function verdictRows(): ExitCodeEntry[] {
  return VERDICT_TABLE.flatMap((entry): ExitCodeEntry[] => {
    const e: VerdictEntry = entry;
    const rows: ExitCodeEntry[] = [{ code: e.exit, verdict: e.verdict, meaning: e.meaning }];
    if (e.strictExit !== undefined) {
      rows.push({ code: e.strictExit, verdict: e.verdict, meaning: 'the same, with status --strict' });
    }
    return rows;
  });
}

/** Every row, by code (verdict rows after the plain row of the same code). */
export function exitCodes(): readonly ExitCodeEntry[] {
  return [...EXIT_CODE_TABLE, ...verdictRows()].sort(
    (a, b) => a.code - b.code || Number(a.verdict !== undefined) - Number(b.verdict !== undefined),
  );
}

/** The `Exit codes:` part of the CLI's help, no line wider than `columns`. */
export function exitCodesHelp(columns = 110): string {
  const width = Math.max(...VERDICT_TABLE.map((e) => e.verdict.length)) + 1;
  const lines = exitCodes().flatMap((row) => {
    const code = `${String(row.code).padEnd(3)}${row.code >= 100 ? ' ' : ''}`;
    const head = `  ${code}${row.verdict !== undefined ? row.verdict.padEnd(width) : ''}`;
    return wrap(row.meaning, head, columns);
  });
  return ['Exit codes (status exits with its verdict; rotate too when it refuses the state):', ...lines].join(
    '\n',
  );
}

/** `text` after `head`, wrapped at spaces to `columns`, continued under its first word. */
function wrap(text: string, head: string, columns: number): string[] {
  const lines: string[] = [];
  let current = head;
  for (const word of text.split(' ')) {
    if (current.length > head.length && current.length + 1 + word.length > columns) {
      lines.push(current);
      current = ' '.repeat(head.length) + word;
    } else {
      current += current.length > head.length ? ` ${word}` : word;
    }
  }
  lines.push(current);
  return lines;
}

/** The docs' exit-code reference: a Markdown table of every code. */
export function exitCodesMarkdown(): string {
  return [
    '| exit | verdict | meaning |',
    '| --- | --- | --- |',
    ...exitCodes().map(
      (row) => `| ${row.code} | ${row.verdict !== undefined ? `\`${row.verdict}\`` : ''} | ${row.meaning} |`,
    ),
  ].join('\n');
}
