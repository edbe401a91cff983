/**
 * The verdict table (lib/status/verdicts.ts) is the one declaration of verdicts: the exit codes, the sets the
 * CLI and the auditor use and the CLI's exit-code help all come from it.
 */
import { describe, expect, it } from 'vitest';
import { exitCodesHelp } from '../../../cli/exit-codes.js';
import { helpText } from '../../../cli/run.js';
import {
  DUPLICATE_OWNER_OUTRANKS,
  exitCodeOf,
  NEEDS_ATTENTION,
  NOT_ROTATING_STRICT_EXIT,
  ROTATION_FIXES,
  STATUS_EXIT,
  VERDICT_TABLE,
  VERDICTS,
} from '../../../lib/status/verdicts.js';

describe('the verdict table', () => {
  it('each verdict once, each non-zero exit code once, none of the CLI codes 1, 2, 13 or 130', () => {
    expect(new Set(VERDICTS).size).toBe(VERDICTS.length);
    const codes = VERDICT_TABLE.flatMap((e) => [e.exit, ...('strictExit' in e ? [e.strictExit] : [])]).filter(
      (code) => code !== 0,
    );
    expect(new Set(codes).size).toBe(codes.length);
    for (const reserved of [1, 2, 13, 130]) expect(codes).not.toContain(reserved);
    expect(STATUS_EXIT).toEqual(Object.fromEntries(VERDICT_TABLE.map((e) => [e.verdict, e.exit])));
  });

  it('the sets derived from it', () => {
    expect([...ROTATION_FIXES]).toEqual(['healthy', 'not-rotating', 'grace']);
    expect([...DUPLICATE_OWNER_OUTRANKS]).toEqual([
      'healthy',
      'not-rotating',
      'grace',
      'rotation-in-progress',
    ]);
    expect(VERDICTS.filter((v) => !NEEDS_ATTENTION.has(v))).toEqual(['healthy', 'rotation-in-progress']);
    expect(exitCodeOf('not-rotating', true)).toBe(NOT_ROTATING_STRICT_EXIT);
    expect(NOT_ROTATING_STRICT_EXIT).toBe(9);
    expect(exitCodeOf('drift', true)).toBe(3);
  });

  it('every entry has a one-line meaning and something to do', () => {
    for (const entry of VERDICT_TABLE) {
      expect(entry.meaning, entry.verdict).not.toMatch(/\n|\.$/);
      expect(entry.meaning.length, entry.verdict).toBeLessThanOrEqual(80);
      expect(entry.action, entry.verdict).toMatch(/\.$/);
    }
  });
});

describe("the CLI's exit-code help", () => {
  it('lists every verdict with its exit code and meaning, as the table says', () => {
    const text = helpText(undefined);
    for (const entry of VERDICT_TABLE) {
      expect(text).toMatch(
        new RegExp(`^ {2}${entry.exit} +${entry.verdict} +${literal(entry.meaning)}$`, 'm'),
      );
    }
    expect(text).toMatch(
      new RegExp(`^ {2}${NOT_ROTATING_STRICT_EXIT} +not-rotating +the same, with status --strict$`, 'm'),
    );
    expect(text).toContain(exitCodesHelp());
  });

  it("rotate's help names the verdicts it goes ahead on, from the table", () => {
    expect(helpText('rotate').replace(/\s+/g, ' ')).toContain(
      `or leaves it fine: ${[...ROTATION_FIXES].join(', ')}.`,
    );
  });

  it('no help line is wider than 110 characters', () => {
    for (const line of exitCodesHelp().split('\n')) expect(line.length, line).toBeLessThanOrEqual(110);
  });
});

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
