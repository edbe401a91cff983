/**
 * Ctrl-C / SIGTERM during `rotate --wait` in the local world and during `demo-world`, --timeout in the local
 * world, and a slow step's sign of life (issue 12, items 2 and 5). Real signals to the real binary; a step
 * is slowed with the simulator's delay fault (PingOne answers late, after committing).
 */
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { watch } from '../support/child.js';
import { useWorld } from '../support/world.js';
import { type BinaryProcess, binary, cli, expectNoSecrets, startBinary, versionWith } from './support.js';

const { world, unique } = useWorld({ reset: 'faults' });
const started: BinaryProcess[] = [];

afterEach(() => {
  for (const p of started.splice(0)) if (p.child.exitCode === null) p.child.kill('SIGKILL');
});

function start(args: string[]): BinaryProcess {
  const p = startBinary(world, args);
  started.push(p);
  return p;
}

/** The `Continue` line's command, without the program name. */
function continueCommand(stdout: string): string[] {
  const command = /^Continue {3}pingone-rotation (.+?)(?: {3}\(.*)?$/m.exec(stdout)?.[1];
  expect(command, stdout).toBeDefined();
  return command!.split(' ');
}

describe('rotate --wait, interrupted (local world)', () => {
  it('SIGINT inside createSecret: it finishes createSecret, stops before setSecret, says what it left; exit 130', async () => {
    const secret = await world.createRotatableSecret({ name: unique('interrupt/int'), region: 'EU' });
    world.sim.faults.delay({ route: 'secret', method: 'POST', resourceId: secret.resourceId, ms: 2_000 });
    const p = start(['rotate', '--secret-id', secret.name, '--wait']);
    await p.waitFor(/^RotateSecret: version /m);
    await sleep(400); // createSecret is now waiting for PingOne's (delayed) answer to the regenerate
    p.child.kill('SIGINT');
    const result = await p.done;
    expectNoSecrets(result.stdout + result.stderr);
    expect(result.code).toBe(130);
    expect(result.stderr).toBe(
      'pingone-rotation: SIGINT: stopping at the next step boundary (createSecret finishes first)\n',
    );
    expect(result.stdout).toMatch(/^\[1\/4\] createSecret ✓/m);
    expect(result.stdout).not.toMatch(/setSecret ✓/);
    expect(result.stdout).toMatch(
      /^Stopped {4}after createSecret, before setSecret; no step was cut short$/m,
    );
    expect(result.stdout).toMatch(/^Labels {5}\S+ \[AWSCURRENT\] {2}\S+ \[AWSPENDING\]$/m);
    expect(result.stdout).toMatch(
      /^PingOne {4}regenerated: its new current secret is stored in AWSPENDING \(version \S+\); AWSCURRENT is its previous secret, valid until /m,
    );
    // PingOne regenerated once, and its new secret is not lost: AWSPENDING holds it.
    const pending = await versionWith(world, secret.name, 'AWSPENDING');
    const state = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect((await world.readSecretJson(secret.arn, { versionId: pending! })).clientSecret).toBe(state.secret);
    // The one command it printed continues from there.
    const next = continueCommand(result.stdout);
    expect(next).toEqual(['unstick', '--secret-id', secret.name, '--yes']);
    const continued = await binary(world, next);
    expect(continued.code).toBe(0);
    const status = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(JSON.parse(status.stdout).verdict).toBe('healthy');
  });

  it('SIGTERM inside testSecret: stops before finishSecret; unstick finishes it', async () => {
    const secret = await world.createRotatableSecret({ name: unique('interrupt/term'), region: 'EU' });
    world.sim.faults.delay({ route: 'introspect', ms: 1_500, count: 5 });
    const p = start(['rotate', '--secret-id', secret.name, '--wait']);
    await p.waitFor(/^\[2\/4\] setSecret ✓/m);
    await sleep(200);
    p.child.kill('SIGTERM');
    const result = await p.done;
    expect(result.code).toBe(130);
    expect(result.stderr).toMatch(
      /^pingone-rotation: SIGTERM: stopping at the next step boundary \(testSecret finishes first\)\n$/,
    );
    expect(result.stdout).toMatch(/^Stopped {4}after testSecret, before finishSecret/m);
    const next = continueCommand(result.stdout);
    expect(result.stdout).toMatch(/finishes the rotation: AWSCURRENT moves to the new version\)$/m);
    expect((await binary(world, next)).code).toBe(0);
    const json = JSON.parse((await binary(world, ['status', '--secret-id', secret.name, '--json'])).stdout);
    expect(json.pingone.awsCurrentIs).toBe('current');
  });

  it('--timeout is honoured in the local world: stops at the boundary after it passes; exit 1', async () => {
    const secret = await world.createRotatableSecret({ name: unique('interrupt/timeout'), region: 'EU' });
    world.sim.faults.delay({ route: 'secret', method: 'POST', resourceId: secret.resourceId, ms: 1_500 });
    const result = await binary(world, ['rotate', '--secret-id', secret.name, '--wait', '--timeout', '1s']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Stopped {4}after createSecret, before setSecret/m);
    expect(result.stderr).toMatch(
      /^pingone-rotation: rotation of \S+ stopped: --timeout 1s passed \(after \d+s\): it stopped between two steps; continue with the command above\n$/,
    );
    expect(continueCommand(result.stdout)[0]).toBe('unstick');
  });

  it('on a terminal, a slow step shows its name and a ticking clock', async () => {
    const secret = await world.createRotatableSecret({ name: unique('interrupt/tty'), region: 'EU' });
    world.sim.faults.delay({ route: 'secret', method: 'POST', resourceId: secret.resourceId, ms: 2_300 });
    const run = await cli(world, ['rotate', '--secret-id', secret.name, '--wait'], { tty: true });
    expect(run.code).toBe(0);
    expect(run.out).toContain('\r\x1b[2K[1/4] createSecret … 0s');
    expect(run.out).toMatch(/\[1\/4\] createSecret … [12]s/);
    expect(run.out).toContain('\r\x1b[2K[1/4] createSecret ✓');
  });

  it('not on a terminal, no ticking lines', async () => {
    const secret = await world.createRotatableSecret({ name: unique('interrupt/pipe'), region: 'EU' });
    world.sim.faults.delay({ route: 'secret', method: 'POST', resourceId: secret.resourceId, ms: 1_200 });
    const run = await cli(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(run.code).toBe(0);
    expect(run.out).not.toMatch(/createSecret …/);
    expect(run.out).toMatch(/^\[1\/4\] createSecret ✓/m);
  });
});

describe('demo-world, interrupted', () => {
  function demoWorld(env: Record<string, string> = {}) {
    const child = spawn(process.execPath, ['--import', 'tsx', 'cli/demo-world.ts'], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output = watch(child);
    return {
      child,
      done: output.done,
      waitFor: (pattern: RegExp, ms = 60_000) => output.waitFor(pattern, ms),
      out: output.stdout,
      err: output.stderr,
    };
  }

  it('SIGINT while seeding: stops at a step boundary, says where, exits 130', async () => {
    const demo = demoWorld({ DEMO_WORLD_SLOW_REGENERATE_MS: '1500' });
    try {
      await demo.waitFor(/^Seeding pingone\/billing-api…$/m);
      await sleep(600);
      demo.child.kill('SIGINT');
      const { code } = await demo.done;
      expect(code).toBe(130);
      expect(demo.err()).toContain('demo-world: SIGINT: stopping at the next step boundary');
      expect(demo.out()).toMatch(
        /^Interrupted \(SIGINT\) while seeding, in pingone\/billing-api, after createSecret, before setSecret: stopped at a step boundary, no step was cut short\.$/m,
      );
      expect(demo.out()).toContain('To start again: npm run demo');
      expect(demo.out()).not.toContain('Local world up');
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  }, 120_000);

  it('SIGTERM once it is up: stops moto and the simulator, exits 130', async () => {
    const demo = demoWorld();
    try {
      await demo.waitFor(/^Ctrl-C stops moto and the simulator\.$/m);
      const motoUrl = /^Local world up: moto (\S+),/m.exec(demo.out())?.[1];
      demo.child.kill('SIGTERM');
      const { code } = await demo.done;
      expect(code).toBe(130);
      expect(demo.out()).toMatch(/Stopped \(SIGTERM\): moto and the PingOne simulator are down/);
      await expect(fetch(motoUrl!)).rejects.toThrow();
    } finally {
      if (demo.child.exitCode === null) demo.child.kill('SIGKILL');
    }
  }, 120_000);
});
