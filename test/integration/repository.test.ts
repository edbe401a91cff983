/**
 * Repository hygiene the issue asked for: a bench run's output stays out of git, and `npm install` runs no
 * dependency install script that nobody reviewed.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const git = (...args: string[]) => spawnSync('git', args, { encoding: 'utf8' });

describe('npm run bench', () => {
  it('writes every run to a file git ignores; the committed record stays tracked', () => {
    const bench = readFileSync('bench/run.ts', 'utf8');
    const latest = /const LATEST = resolve\('([^']+)'\)/.exec(bench)?.[1];
    expect(latest).toBeDefined();
    expect(git('check-ignore', '-q', latest!).status).toBe(0);
    expect(git('ls-files', '--error-unmatch', 'bench/results.json').status).toBe(0);
  });
});

describe('install scripts', () => {
  it('every dependency install script is covered by allowScripts (npm warns about no skipped one)', () => {
    const allow = JSON.parse(readFileSync('package.json', 'utf8')).allowScripts as Record<string, boolean>;
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8')) as {
      packages: Record<string, { hasInstallScript?: boolean }>;
    };
    const withScripts = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.hasInstallScript)
      .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
    expect(withScripts.length).toBeGreaterThan(0);
    for (const name of withScripts) expect(Object.keys(allow), name).toContain(name);
    const ls = execFileSync('npm', ['install-scripts', 'ls'], { encoding: 'utf8' });
    expect(ls).not.toMatch(/not yet covered|esbuild|es5-ext|@parcel\/watcher/);
  });
});
