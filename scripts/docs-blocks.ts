/**
 * The docs' generated blocks: which files may hold them and how each is rewritten from the code. Used by
 * scripts/docs-generate.ts (npm run docs:generate) and the test that fails when docs and code disagree.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodesMarkdown } from '../cli/exit-codes.js';
import { verdictReferenceMarkdown } from '../lib/status/verdicts.js';

/** Each generated block: its markers' name and what goes between them. */
export const GENERATED: Readonly<Record<string, () => string>> = {
  verdicts: verdictReferenceMarkdown,
  'exit-codes': exitCodesMarkdown,
};

/** README.md and every Markdown file under docs/, relative to `root`. */
export function docFiles(root: string): string[] {
  const files = [join(root, 'README.md')];
  const walk = (dir: string) => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) files.push(path);
    }
  };
  walk(join(root, 'docs'));
  return files;
}

/** The text with every generated block rewritten; `blocks` counts them. Throws on an unclosed marker. */
export function regenerate(text: string): { text: string; blocks: number } {
  let blocks = 0;
  let out = text;
  for (const [name, generate] of Object.entries(GENERATED)) {
    const begin = `<!-- ${name}:begin -->`;
    const end = `<!-- ${name}:end -->`;
    let from = 0;
    for (;;) {
      // A marker is a line of its own (a mention inside a sentence is not one).
      const start = lineStart(out, begin, from);
      if (start === -1) break;
      const stop = out.indexOf(end, start);
      if (stop === -1) throw new Error(`${begin} without ${end}`);
      const block = `${begin}\n<!-- generated from the code by npm run docs:generate: do not edit -->\n${generate()}\n${end}`;
      out = out.slice(0, start) + block + out.slice(stop + end.length);
      from = start + block.length;
      blocks++;
    }
  }
  return { text: out, blocks };
}

function lineStart(text: string, marker: string, from: number): number {
  for (let at = text.indexOf(marker, from); at !== -1; at = text.indexOf(marker, at + 1)) {
    if (at === 0 || text[at - 1] === '\n') return at;
  }
  return -1;
}
