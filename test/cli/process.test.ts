/**
 * The real process: `node --import tsx cli/main.ts …` with the local world in its environment. Proves the
 * argument parsing, the exit codes, the one-line error (stack only with --debug) and stdin handling.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { watch } from '../support/child.js';
import { useWorld } from '../support/world.js';
import { expectNoSecrets, recordSecrets, worldDriver } from './support.js';

const { world } = useWorld();

interface ProcessResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

async function pingoneRotation(args: string[], env: Record<string, string> = {}): Promise<ProcessResult> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], {
    cwd: process.cwd(),
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      ...world.awsEnv,
      ...world.functionEnv,
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const output = watch(child);
  child.stdin.end(); // stdin is a pipe, not a terminal
  const result = await output.done;
  recordSecrets(world);
  return result;
}

describe('pingone-rotation as a process', () => {
  it('status: report on stdout, verdict last, exit code 0', async () => {
    const secret = await world.createRotatableSecret({ name: 'process/healthy', region: 'EU' });
    const rotated = await (await worldDriver(world)).rotate(secret.arn);
    expect(rotated.ok).toBe(true);
    const result = await pingoneRotation(['status', '--secret-id', secret.name]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout.trimEnd().split('\n').at(-1)).toMatch(/^Verdict {4}healthy: /);
    expectNoSecrets(result.stdout + result.stderr);
  });

  it('status exit code follows the verdict (drift → 3), flags override the environment', async () => {
    const secret = await world.createRotatableSecret({ name: 'process/drift' });
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    const result = await pingoneRotation(
      [
        'status',
        '--secret-id',
        secret.name,
        '--json',
        '--endpoint-url',
        world.moto.url,
        '--worker-parameter',
        world.workerParameter,
      ],
      { PINGONE_WORKER_PARAMETER: '/does/not/matter', AWS_ENDPOINT_URL: 'http://127.0.0.1:9' },
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(3);
    expect(JSON.parse(result.stdout)).toMatchObject({ verdict: 'drift', exitCode: 3 });
    expectNoSecrets(result.stdout);
  });

  it('an error is one line on stderr, exit 1; --debug adds the stack', async () => {
    const [plain, debug] = await Promise.all([
      pingoneRotation(['status', '--secret-id', 'process/missing']),
      pingoneRotation(['status', '--secret-id', 'process/missing', '--debug']),
    ]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toBe('');
    expect(plain.stderr).toBe(
      "pingone-rotation: Secrets Manager can't find the secret 'process/missing': check --secret-id, --region and --profile\n",
    );
    expect(debug.code).toBe(1);
    const lines = debug.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe(plain.stderr.trimEnd());
    expect(lines[1]).toMatch(/^ResourceNotFoundException: /);
    expect(lines.slice(2).some((l) => /^\s+at /.test(l))).toBe(true);
  });

  it('usage errors exit 2: unknown command, unknown option, missing option, missing PingOne setting', async () => {
    const secret = await world.createRotatableSecret({ name: 'process/no-worker' });
    const [unknown, option, missing, setting] = await Promise.all([
      pingoneRotation(['rotat']),
      pingoneRotation(['status', '--secret', 'x']),
      pingoneRotation(['unstick']),
      pingoneRotation(['status', '--secret-id', secret.name], {
        PINGONE_WORKER_PARAMETER: '',
        PINGONE_WORKERS: '',
      }),
    ]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toBe(
      "pingone-rotation: unknown command 'rotat': use one of onboard, status, rotate, unstick, rebind, audit, onboard-fleet, report, import-terraform, onboard-worker-pair, doctor (see --help)\n",
    );
    expect(option.code).toBe(2);
    expect(option.stderr).toBe(
      "pingone-rotation: unknown option '--secret' for status: see pingone-rotation status --help\n",
    );
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(
      'pingone-rotation: unstick needs --secret-id: see pingone-rotation unstick --help\n',
    );
    expect(setting.code).toBe(2);
    expect(setting.stderr).toMatch(
      /^pingone-rotation: PingOne configuration: PINGONE_WORKER_PARAMETER is not set: .*: pass --worker-parameter or set the variable the rotation function uses\n$/,
    );
  });

  it('--help prints the commands and the exit codes', async () => {
    const [help, status] = await Promise.all([
      pingoneRotation(['--help']),
      pingoneRotation(['status', '--help']),
    ]);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: pingone-rotation <command> [options]');
    expect(help.stdout).toMatch(/^ {2}6 {2}stuck-pending/m);
    expect(status.stdout).toContain('Usage: pingone-rotation status --secret-id S');
  });

  it('unstick with stdin not a terminal and no --yes: prints the plan, refuses, exit 2 (usage)', async () => {
    const secret = await world.createRotatableSecret({ name: 'process/stuck' });
    const token = await (await worldDriver(world)).startRotation(secret.arn);
    const result = await pingoneRotation(['unstick', '--secret-id', secret.name]);
    expect(result.code).toBe(2);
    expect(result.stdout).toContain(`Plan: remove the AWSPENDING label.`);
    expect(result.stderr).toMatch(
      /needs confirmation, but stdin is not a terminal: nothing was changed; re-run with --yes/,
    );
    expect((await world.labels(secret.arn))[token]).toEqual(['AWSPENDING']);
    const yes = await pingoneRotation(['unstick', '--secret-id', secret.name, '-y']);
    expect(yes.code).toBe(0);
    expect((await world.labels(secret.arn))[token] ?? []).toEqual([]);
  });

  it('rotate --wait in the local world runs the steps in-process (bundle, or lib/handler.ts without one)', async () => {
    const secret = await world.createRotatableSecret({ name: 'process/rotate', region: 'EU' });
    const result = await pingoneRotation(['rotate', '--secret-id', secret.name, '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      /the steps run in (the built bundle dist\/rotate\/index\.mjs|lib\/handler\.ts's createRotationHandler)/,
    );
    expect(result.stdout).toMatch(/\[4\/4\] finishSecret ✓/);
    expect(result.stdout).toMatch(/^Rotated process\/rotate in /m);
    const state = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect((await world.readSecretJson(secret.arn)).clientSecret).toBe(state.secret);
    expectNoSecrets(result.stdout + result.stderr);
  });
});
