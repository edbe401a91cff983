/**
 * What the stack and the code tell an operator to read exists: alarm descriptions (they arrive in the alarm
 * e-mail), error messages and template comments name docs/<page>.md pages that are there, with the section they
 * name, and never a README section (the README is a quick start; its sections moved to docs/).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string, ends: readonly string[]): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return files(path, ends);
    return ends.some((end) => name.endsWith(end)) ? [path] : [];
  });
}

const shipped = [
  'serverless.yml',
  ...files('infra', ['.yml', '.cjs', '.mjs']),
  ...files('lib', ['.ts']),
  ...files('functions', ['.ts']),
  ...files('cli', ['.ts']),
].map((file) => ({ file, text: readFileSync(file, 'utf8').replace(/\s*\n\s*/g, ' ') }));

/** The headings of a docs page, lower-cased. */
function headings(page: string): string[] {
  return [...readFileSync(page, 'utf8').matchAll(/^#+ (.+)$/gm)].map((m) => m[1]!.toLowerCase());
}

describe('references to the docs', () => {
  it('name docs pages that exist, and the section they name is a heading there', () => {
    const broken: string[] = [];
    let references = 0;
    for (const { file, text } of shipped) {
      // A section is named capitalised: `docs/cli.md (Permissions)`, `(docs/runbook.md, When an alarm fires)`.
      for (const m of text.matchAll(
        /docs\/([a-z-]+)\.md(?:(?:, |: | \()"?([A-Z][A-Za-z' ]*[a-z])(?=[)".,;]))?/g,
      )) {
        references++;
        const page = `docs/${m[1]}.md`;
        let titles: string[];
        try {
          titles = headings(page);
        } catch {
          broken.push(`${file}: ${page} does not exist`);
          continue;
        }
        const section = m[2]?.toLowerCase();
        if (section && !titles.some((t) => t.includes(section))) {
          broken.push(`${file}: ${page} has no section '${m[2]}'`);
        }
      }
    }
    expect(references).toBeGreaterThan(5);
    expect(broken).toEqual([]);
  });

  it('never send an operator to a README section (the README is the quick start)', () => {
    const stale = shipped.flatMap(({ file, text }) =>
      [...text.matchAll(/README(?: \(| "|: |, )[A-Za-z][^)".]*/g)].map((m) => `${file}: ${m[0]}`),
    );
    expect(stale).toEqual([]);
  });

  it("docs/deploy.md's outputs table lists exactly the stack's outputs (infra/outputs.yml)", () => {
    const template = [...readFileSync('infra/outputs.yml', 'utf8').matchAll(/^ {2}([A-Za-z0-9]+):$/gm)].map(
      (m) => m[1]!,
    );
    const deploy = readFileSync('docs/deploy.md', 'utf8');
    const from = deploy.indexOf("The stack's outputs:");
    // The table: from its caption to the first blank line after its rows.
    const table = deploy.slice(from, deploy.indexOf('\n\n', deploy.indexOf('| --- |', from)));
    const documented = [...table.matchAll(/^\| `([A-Za-z0-9]+)` \|/gm)].map((m) => m[1]!);
    expect(template.length).toBeGreaterThan(3);
    expect(documented.sort()).toEqual([...template].sort());
  });
});
