/**
 * No output line wider than the screen (issue 20): on a terminal, prose lines (a verdict's reason, an error,
 * an audit row) ran to hundreds of characters; they are wrapped at the terminal's width under their label,
 * while data (JSON, ARNs, commands) is never broken. Not on a terminal (pipes, CI, tests), nothing changes.
 * The real binary in a pseudo-terminal of 100 columns (util-linux `script`).
 */
import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { wrapLine } from '../../cli/format.js';
import { useWorld } from '../support/world.js';
import { binary, CLI_BINARY } from './support.js';

const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * Runs the binary in a pseudo-terminal `columns` wide; returns what the terminal showed. Asynchronous: the
 * local world's moto front runs in this process and must keep answering.
 */
function onTerminal(
  args: string[],
  env: Record<string, string>,
  columns = 100,
): Promise<{ code: number | null; text: string }> {
  const command = `stty cols ${columns}; exec ${[process.execPath, CLI_BINARY, ...args].map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout.on('data', (c: Buffer) => {
    text += c.toString();
  });
  return new Promise((resolve) =>
    child.once('close', (code) => resolve({ code, text: text.replace(/\r\n/g, '\n') })),
  );
}

/** The words of a text, whatever its line breaks (ages such as `(2s ago)` as N: the two runs differ). */
const words = (text: string) =>
  text
    .replace(/\b\d+[smhd]\b/g, 'N')
    .split(/\s+/)
    .filter(Boolean);

describe('wrapLine', () => {
  it('wraps prose under its label and leaves data whole', () => {
    const reason = `Verdict    drift: ${'consumers using it cannot authenticate '.repeat(4).trim()}`;
    const wrapped = wrapLine(reason, 60).split('\n');
    expect(wrapped.length).toBeGreaterThan(2);
    for (const l of wrapped) expect(l.length).toBeLessThanOrEqual(60);
    for (const l of wrapped.slice(1)) expect(l).toMatch(/^ {11}\S/);
    expect(words(wrapped.join('\n'))).toEqual(words(reason));
    const json = `  "reason": "${'x '.repeat(60)}"`;
    expect(wrapLine(json, 60)).toBe(json);
    const arn = `pingone-rotation: ${'a'.repeat(120)}`;
    expect(wrapLine(arn, 60)).toBe(`pingone-rotation:\n  ${'a'.repeat(120)}`);
  });
});

describe.skipIf(!hasScript)('on a terminal 100 columns wide', () => {
  const { world } = useWorld();

  it("status of a drifted secret: no line over 100 columns, the same words as the pipe's one long line", async () => {
    const secret = await world.createRotatableSecret({ name: 'pingone/terminal-width', region: 'EU' });
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const env = { ...world.awsEnv, ...world.functionEnv };
    const piped = await binary(world, ['status', '--secret-id', secret.name]);
    const longest = Math.max(...piped.stdout.split('\n').map((l) => l.length));
    expect(longest, 'the piped output has a line over 100 columns').toBeGreaterThan(100);
    const shown = await onTerminal(['status', '--secret-id', secret.name], env);
    expect(shown.code).toBe(piped.code);
    for (const l of shown.text.split('\n')) expect(l.length, l).toBeLessThanOrEqual(100);
    expect(words(shown.text)).toEqual(words(piped.stdout + piped.stderr));
  });

  it('--json is data: printed as it is', async () => {
    const secret = await world.createRotatableSecret({ name: 'pingone/terminal-width-json', region: 'EU' });
    const env = { ...world.awsEnv, ...world.functionEnv };
    const piped = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    const shown = await onTerminal(['status', '--secret-id', secret.name, '--json'], env);
    expect(JSON.parse(shown.text).verdict).toBe(JSON.parse(piped.stdout).verdict);
  });
});
