/**
 * The CLI's exit codes come from one table (cli/exit-codes.ts): the help prints it, docs/cli.md's generated
 * block is made from it, and the codes the commands use (EXIT, AUDIT_EXIT, the verdicts) are all in it. An
 * audit that finds no secret where it expected some exits 1, and help and docs say so.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AUDIT_EXIT } from '../../cli/commands/audit.js';
import { EXIT } from '../../cli/errors.js';
import { EXIT_CODE_TABLE, exitCodes, exitCodesHelp, exitCodesMarkdown } from '../../cli/exit-codes.js';
import { helpText } from '../../cli/run.js';
import { VERDICT_TABLE } from '../../lib/status/verdicts.js';
import { regenerate } from '../../scripts/docs-blocks.js';

describe('exit codes', () => {
  it('every code the commands use is in the table', () => {
    const codes = new Set(exitCodes().map((row) => row.code));
    for (const code of [...Object.values(EXIT), ...Object.values(AUDIT_EXIT)]) expect(codes).toContain(code);
    for (const entry of VERDICT_TABLE) expect(codes).toContain(entry.exit);
  });

  it('an audit that finds no secret exits 1 (never green): the table, the help and audit --help say so', () => {
    expect(AUDIT_EXIT.error).toBe(1);
    const one = EXIT_CODE_TABLE.find((row) => row.code === 1);
    expect(one?.meaning).toMatch(/no secret was found under --prefix/);
    expect(helpText(undefined).replace(/\s+/g, ' ')).toContain('no secret was found under --prefix');
    expect(helpText('audit').replace(/\s+/g, ' ')).toMatch(
      /1 when a secret could not be judged or none was found/,
    );
  });

  it('the help prints the table, no line over 110 characters', () => {
    expect(helpText(undefined)).toContain(exitCodesHelp());
    expect(helpText('status')).toContain(exitCodesHelp());
    for (const line of exitCodesHelp().split('\n')) expect(line.length, line).toBeLessThanOrEqual(110);
  });

  it('docs/cli.md has the generated block, up to date with the table', () => {
    const text = readFileSync('docs/cli.md', 'utf8');
    expect(text.split('\n').filter((line) => line === '<!-- exit-codes:begin -->')).toHaveLength(1);
    expect(regenerate(text).text).toBe(text);
    expect(text).toContain(exitCodesMarkdown());
    expect(exitCodesMarkdown()).toMatch(/^\| 1 \| {2}\| error: .*no secret was found under --prefix/m);
  });
});
