import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { MotoNotInstalledError, startMoto } from '../../local/moto.js';

describe('moto launcher', () => {
  const originalPath = process.env.PATH;
  afterEach(() => {
    process.env.PATH = originalPath;
  });

  it('says how to install moto_server when it is missing', async () => {
    process.env.PATH = '/nonexistent';
    const error = await startMoto().catch((e) => e);
    expect(error).toBeInstanceOf(MotoNotInstalledError);
    expect(error.message).toContain('pip install "moto[server]"');
  });

  it('starts moto on a loopback port and stops it', async () => {
    const moto = await startMoto();
    expect(moto.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await fetch(`${moto.url}/moto-api/`)).status).toBeLessThan(500);
    await moto.stop();
    await expect(fetch(`${moto.url}/moto-api/`)).rejects.toThrow();
  });
});

describe('npm start', () => {
  // npm start builds and rotates twice: ~15 s alone, ~30 s on a loaded machine (over vitest's 30 s default).
  it('runs a real rotation, tells the story, exits 0 and leaves nothing running', () => {
    const run = spawnSync('npm', ['start', '--silent'], {
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, AWS_ENDPOINT_URL: '', PINGONE_API_URL: '' },
    });
    expect(run.status, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Rotating pingone\/orders-api \(resource\) through dist\/rotate\/index\.mjs/);
    expect(run.stdout).toMatch(/createSecret ✓ .* setSecret ✓ .* testSecret ✓ .* finishSecret ✓/);
    expect(run.stdout).toMatch(/\[AWSPREVIOUS\] .*\[AWSCURRENT\]/);
    expect(run.stdout).toContain('New secret (AWSCURRENT) authenticates at PingOne: yes ✓');
    expect(run.stdout).toMatch(/Old secret \(AWSPREVIOUS\) still authenticates until .* \(7d grace\): yes ✓/);
    expect(run.stdout).toMatch(
      /Rotating pingone\/storefront-web \(application\) through dist\/rotate\/index\.mjs/,
    );
    expect(run.stdout.match(/createSecret ✓ .* finishSecret ✓/g)).toHaveLength(2);
    expect(run.stdout.match(/New secret \(AWSCURRENT\) authenticates at PingOne: yes ✓/g)).toHaveLength(2);
    expect(run.stdout).toContain('(resource): old secret rejected ✓; new secret accepted ✓');
    expect(run.stdout).toContain('(application): old secret rejected ✓; new secret accepted ✓');
    expect(run.stdout).toContain('moto and the simulator are stopped');
    expect(run.stdout).toContain('Next: `npm run demo` starts a local world to try the CLI on');
    expect(run.stdout).toMatch(
      /Rotation ledger: resource \S+ bound to pingone\/orders-api \(claimed by this first rotation/,
    );
    expect(run.stdout).toMatch(/Rotation ledger: application \S+ bound to pingone\/storefront-web/);
    expect(run.stdout.match(/intent recorded before the regenerate, run rotated/g)).toHaveLength(2);
    expect(run.stdout).toContain(
      'A second secret naming that resource (pingone/orders-api-copy, holding its old secret) rotates: refused ✓ (the ledger binds it to pingone/orders-api), no PingOne call ✓',
    );
    const port = /moto \(Secrets Manager, SSM, DynamoDB\) on http:\/\/127\.0\.0\.1:(\d+)/.exec(
      run.stdout,
    )?.[1];
    expect(port, "the story names moto's port").toBeDefined();
    const moto = spawnSync('pgrep', ['-f', `moto_server -H 127.0.0.1 -p ${port}`]);
    expect(moto.status, 'no moto_server left running').toBe(1);
  }, 150_000);
});
