#!/usr/bin/env node
/**
 * Writes the generated parts of the docs from the code: every block between
 *
 *   <!-- verdicts:begin -->
 *   <!-- verdicts:end -->
 *
 * in README.md and docs/**\/*.md becomes the verdict reference generated from the verdict table
 * (lib/status/verdicts.ts). Nothing between the markers is edited by hand.
 *
 *   npm run docs:generate            rewrite the blocks
 *   npm run docs:generate -- --check exit 1 (naming the files) if a block differs from the code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { docFiles, regenerate } from './docs-blocks.js';

const check = process.argv.includes('--check');
const stale: string[] = [];
let blocks = 0;
for (const file of docFiles('.')) {
  const text = readFileSync(file, 'utf8');
  const result = regenerate(text);
  blocks += result.blocks;
  if (result.text === text) continue;
  stale.push(file);
  if (!check) writeFileSync(file, result.text);
}
if (blocks === 0) {
  console.error('docs:generate: no <!-- verdicts:begin --> block in README.md or docs/');
  process.exit(1);
}
if (check && stale.length > 0) {
  console.error(`docs:generate: out of date with the code: ${stale.join(', ')} (run npm run docs:generate)`);
  process.exit(1);
}
console.log(
  check
    ? `docs:generate: ${blocks} block(s) up to date`
    : `docs:generate: ${blocks} block(s), rewrote ${stale.length} file(s)`,
);
