/**
 * The docs' verdict reference is generated from the verdict table (npm run docs:generate): this fails when
 * a block in README.md or docs/ differs from what the code generates, or when a verdict table is written
 * by hand outside the generated block.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { VERDICT_TABLE, VERDICTS, verdictReferenceMarkdown } from '../../../lib/status/verdicts.js';
import { docFiles, regenerate } from '../../../scripts/docs-blocks.js';

const files = docFiles('.').flatMap((file) => {
  try {
    return [{ file, text: readFileSync(file, 'utf8') }];
  } catch {
    return [];
  }
});

describe('the verdict reference in the docs', () => {
  it('is there, once', () => {
    const blocks = files.reduce(
      (n, { text }) => n + text.split('\n').filter((line) => line === '<!-- verdicts:begin -->').length,
      0,
    );
    expect(blocks).toBe(1);
  });

  it.each(files.map((f) => [f.file, f.text] as const))(
    '%s agrees with the code (npm run docs:generate)',
    (_file, text) => {
      expect(regenerate(text).text).toBe(text);
    },
  );

  it('no verdict table is written by hand outside the generated block', () => {
    const verdicts = new Set<string>(VERDICTS);
    const strays: string[] = [];
    for (const { file, text } of files) {
      let inside = false;
      text.split('\n').forEach((line, i) => {
        if (line.startsWith('<!-- verdicts:begin -->')) inside = true;
        if (line.startsWith('<!-- verdicts:end -->')) inside = false;
        const row = /^\|\s*`([a-z-]+)`/.exec(line);
        if (!inside && row && verdicts.has(row[1]!)) strays.push(`${file}:${i + 1}: ${line.slice(0, 60)}`);
      });
    }
    expect(strays).toEqual([]);
  });

  it("the auditor's alarms (infra/audit.yml) are on verdicts of the table", () => {
    const template = readFileSync('infra/audit.yml', 'utf8');
    const alarmed = [...template.matchAll(/- Name: verdict\n\s+Value: (\S+)/g)].map((m) => m[1]);
    expect(alarmed.length).toBeGreaterThan(0);
    for (const verdict of alarmed) expect(VERDICTS).toContain(verdict);
  });

  it('the generated reference names every verdict with its exit code', () => {
    const reference = verdictReferenceMarkdown();
    for (const entry of VERDICT_TABLE)
      expect(reference).toMatch(new RegExp(`^\\| \`${entry.verdict}\` \\| ${entry.exit}[ |]`, 'm'));
  });

  it('a stale block is rewritten, and text outside the markers is kept', () => {
    const stale =
      'before\n<!-- verdicts:begin -->\n| `drift` | 3 | old words | |\n<!-- verdicts:end -->\nafter\n';
    const { text, blocks } = regenerate(stale);
    expect(blocks).toBe(1);
    expect(text).not.toBe(stale);
    expect(text.startsWith('before\n<!-- verdicts:begin -->\n')).toBe(true);
    expect(text.endsWith('\n<!-- verdicts:end -->\nafter\n')).toBe(true);
    expect(regenerate(text).text).toBe(text);
    expect(() => regenerate('<!-- verdicts:begin -->\nno end')).toThrow(/without <!-- verdicts:end -->/);
    const mention = 'the `<!-- verdicts:begin -->` blocks are generated\n';
    expect(regenerate(mention)).toEqual({ text: mention, blocks: 0 });
  });
});
