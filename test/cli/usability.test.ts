/**
 * What a new on-call engineer tripped over (issue 12, items 6–8), against the real binary
 * (dist/cli/pingone-rotation.mjs) with moto and the PingOne simulator.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PutSecretValueCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { useWorld } from '../support/world.js';
import { binary, CLI_BINARY } from './support.js';

const { world, unique } = useWorld({ namePrefix: 'pingone/' });

/** Splits a command line the way a shell would for the commands the CLI suggests (double quotes only). */
function words(command: string): string[] {
  return [...command.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
}

/** The command between backticks in a verdict's reason, without the program name. */
function suggested(reason: string, program = 'pingone-rotation'): string[] {
  const command = /`([^`]+)`/.exec(reason)?.[1];
  expect(command, reason).toBeDefined();
  const argv = words(command!);
  expect(argv[0]).toBe(program);
  return argv.slice(1);
}

describe('status --json when the check itself fails (item 6)', () => {
  it('a missing secret: a JSON object with the error and exit code on stdout, the one line on stderr', async () => {
    const result = await binary(world, ['status', '--secret-id', 'usability/missing', '--json']);
    expect(result.code).toBe(1);
    const body = JSON.parse(result.stdout);
    expect(body).toEqual({
      secretId: 'usability/missing',
      verdict: null,
      exitCode: 1,
      error:
        "Secrets Manager can't find the secret 'usability/missing': check --secret-id, --region and --profile",
    });
    expect(result.stderr).toBe(`pingone-rotation: ${body.error}\n`);
  });

  it('AWS unreachable: the JSON error names the host it could not reach', async () => {
    const result = await binary(world, ['status', '--secret-id', 'x', '--json'], {
      env: { AWS_ENDPOINT_URL: 'http://127.0.0.1:9', AWS_MAX_ATTEMPTS: '1' },
    });
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      exitCode: 1,
      error: expect.stringMatching(/^cannot reach the AWS endpoint 127\.0\.0\.1:9 \(ECONNREFUSED\)/),
    });
  });

  it('a usage error with --json is JSON too (exit 2)', async () => {
    const result = await binary(world, ['status', '--json', '--stuck-after', 'soon', '--secret-id', 's']);
    expect(result.code).toBe(2);
    expect(JSON.parse(result.stdout)).toMatchObject({ secretId: 's', exitCode: 2, verdict: null });
  });
});

describe('missing basics (item 7)', () => {
  it('--version prints the package version', async () => {
    const version = JSON.parse(readFileSync('package.json', 'utf8')).version as string;
    const result = await binary(world, ['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `pingone-rotation ${version}\n`, stderr: '' });
  });

  it('--pingone-region eu is EU', async () => {
    const eu = world.createEnvironment('EU');
    const resource = world.sim.createResource(eu, { name: 'lower-case region' });
    const name = unique('usability/lower-region');
    const result = await binary(world, [
      'onboard',
      '--secret-name',
      name,
      '--environment-id',
      eu,
      '--resource-id',
      resource.id,
      '--pingone-region',
      'eu',
    ]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect((await world.readSecretJson(name)).region).toBe('EU');
  });

  it('completion bash completes commands, options and regions in a real bash', async () => {
    const script = execFileSync(process.execPath, [CLI_BINARY, 'completion', 'bash'], { encoding: 'utf8' });
    const complete = (...typed: string[]) => {
      const out = spawnSync(
        'bash',
        [
          '-c',
          `${script}\nCOMP_WORDS=(${typed.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${typed.length - 1}; ` +
            `_pingone_rotation; printf '%s\\n' "\${COMPREPLY[@]}"`,
        ],
        { encoding: 'utf8' },
      );
      expect(out.stderr).toBe('');
      return out.stdout.trim().split('\n').filter(Boolean);
    };
    expect(complete('pingone-rotation', 'st')).toEqual(['status']);
    expect(complete('pingone-rotation', 'rotate', '--w')).toEqual([
      '--wait',
      '--worker-parameter',
      '--workers',
    ]);
    expect(complete('pingone-rotation', 'status', '--pingone-region', 'E')).toEqual(['EU']);
    expect(complete('pingone-rotation', 'status', '--secret-id', '')).toEqual([]);
    expect(complete('pingone-rotation', 'completion', '')).toEqual(['bash', 'zsh']);
  });

  it('completion zsh is a compdef script with every command; an unknown shell is a usage error', async () => {
    const zsh = await binary(world, ['completion', 'zsh']);
    expect(zsh.code).toBe(0);
    expect(zsh.stdout).toMatch(/^#compdef pingone-rotation\n/);
    expect(zsh.stdout).toMatch(
      /compadd -- onboard status rotate unstick rebind audit onboard-fleet report import-terraform onboard-worker-pair doctor completion --help --version/,
    );
    expect(zsh.stdout).toContain('compdef _pingone_rotation pingone-rotation');
    const fish = await binary(world, ['completion', 'fish']);
    expect(fish.code).toBe(2);
    expect(fish.stderr).toMatch(/unknown shell 'fish'/);
  });

  it.skipIf(spawnSync('zsh', ['--version']).error !== undefined)('completion zsh parses in zsh', () => {
    const script = execFileSync(process.execPath, [CLI_BINARY, 'completion', 'zsh'], { encoding: 'utf8' });
    const out = spawnSync('zsh', ['-n'], { input: script, encoding: 'utf8' });
    expect(out.status).toBe(0);
  });
});

describe('messages (item 8)', () => {
  it('a bad --previous-secret-ttl is said once', async () => {
    const result = await binary(world, [
      'onboard',
      '--secret-name',
      'x',
      '--environment-id',
      world.createEnvironment('EU'),
      '--resource-id',
      '8b0c7b7e-5d7c-4c55-9a8e-3c3e2f1d0a9b',
      '--previous-secret-ttl',
      '7',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "pingone-rotation: --previous-secret-ttl is '7': it must be written <n>m, <n>h or <n>d, from 1m to 30d (e.g. 7d)\n",
    );
  });

  it('an unknown resource: PingOne says it once, no "failed: … (… failed …)"', async () => {
    const result = await binary(world, [
      'onboard',
      '--secret-name',
      unique('usability/unknown'),
      '--environment-id',
      world.createEnvironment('EU'),
      '--resource-id',
      '8b0c7b7e-5d7c-4c55-9a8e-3c3e2f1d0a9b',
      '--pingone-region',
      'EU',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^pingone-rotation: PingOne has no such resource: PingOne resource 8b0c7b7e/,
    );
    expect(result.stderr.match(/failed/g)).toHaveLength(1);
    expect(result.stderr).toMatch(/nothing was created or changed/);
  });

  it('a bad PREVIOUS_SECRET_TTL is named as itself, not as a PINGONE_* variable', async () => {
    const secret = await world.createRotatableSecret({ name: unique('usability/ttl-var') });
    const result = await binary(world, ['status', '--secret-id', secret.name], {
      env: { PREVIOUS_SECRET_TTL: '7' },
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^pingone-rotation: rotation function configuration: PREVIOUS_SECRET_TTL is '7'/,
    );
    expect(result.stderr).toMatch(/fix PREVIOUS_SECRET_TTL in this shell's environment/);
    expect(result.stderr).not.toContain('PINGONE_*');
  });

  it('a bad setting given by flag names the flag; the same value from the environment names the variable', async () => {
    const secret = await world.createRotatableSecret({ name: unique('usability/setting-source') });
    const [flag, variable, region] = await Promise.all([
      binary(world, ['status', '--secret-id', secret.name, '--ledger-table', 'a/b']),
      binary(world, ['status', '--secret-id', secret.name], { env: { ROTATION_LEDGER_TABLE: 'a/b' } }),
      binary(world, ['status', '--secret-id', secret.name, '--pingone-region', 'xx']),
    ]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(
      /^pingone-rotation: rotation function configuration: --ledger-table is 'a\/b': it must be a DynamoDB table name .*: fix --ledger-table\n$/,
    );
    expect(flag.stderr).not.toContain('ROTATION_LEDGER_TABLE');
    expect(variable.code).toBe(2);
    expect(variable.stderr).toMatch(
      /^pingone-rotation: rotation function configuration: ROTATION_LEDGER_TABLE is 'a\/b': .*: pass --ledger-table or set the variable the rotation function uses\n$/,
    );
    expect(region.code).toBe(2);
    expect(region.stderr).toMatch(
      /^pingone-rotation: PingOne configuration: --pingone-region is 'XX': it must be one of NA, EU, CA, AU, SG, AP: fix --pingone-region\n$/,
    );
  });

  it('a missing resourceId is "missing", not "must be a UUID"', async () => {
    const secret = await world.createRotatableSecret({ name: unique('usability/no-resource') });
    await world.secretsManager.send(
      new PutSecretValueCommand({
        SecretId: secret.arn,
        SecretString: JSON.stringify({ environmentId: secret.environmentId, clientSecret: 'x' }),
      }),
    );
    const result = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(result.code).toBe(8);
    const reason = JSON.parse(result.stdout).reason as string;
    expect(reason).toMatch(
      /^AWSCURRENT is malformed: resourceId or applicationId is missing \(name exactly one: .*\):/,
    );
    expect(reason).not.toMatch(/UUID/);
  });

  it('"an OPENID_CONNECT resource"', async () => {
    const eu = world.createEnvironment('EU');
    const openid = world.sim.createResource(eu, { name: 'openid', type: 'OPENID_CONNECT' });
    const result = await binary(world, [
      'onboard',
      '--secret-name',
      unique('usability/openid'),
      '--environment-id',
      eu,
      '--resource-id',
      openid.id,
      '--pingone-region',
      'EU',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('is an OPENID_CONNECT resource, not CUSTOM');
  });

  it('misconfigured suggests an onboard --force with the ids from the tags, and running it works', async () => {
    const secret = await world.createRotatableSecret({ name: unique('usability/broken'), region: 'EU' });
    await world.secretsManager.send(
      new TagResourceCommand({
        SecretId: secret.arn,
        Tags: [
          { Key: 'pingone:environment-id', Value: secret.environmentId },
          { Key: 'pingone:resource-id', Value: secret.resourceId },
        ],
      }),
    );
    await world.secretsManager.send(
      new PutSecretValueCommand({ SecretId: secret.arn, SecretString: '{"oops"' }),
    );
    const before = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(before.code).toBe(8);
    const argv = suggested(JSON.parse(before.stdout).reason);
    expect(argv).toEqual(
      expect.arrayContaining([
        '--environment-id',
        secret.environmentId,
        '--resource-id',
        secret.resourceId,
        '--force',
      ]),
    );
    const fix = await binary(world, [
      ...argv,
      '--pingone-region',
      'EU',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);
    expect(fix.stderr).toBe('');
    expect(fix.code).toBe(0);
    const after = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(JSON.parse(after.stdout).verdict).toBe('not-rotating');
  });

  it('not-rotating prints the whole command (no "…"), and running it attaches rotation', async () => {
    const secret = await world.createRotatableSecret({
      name: unique('usability/not-rotating'),
      region: 'EU',
    });
    const before = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(before.code).toBe(0);
    const reason = JSON.parse(before.stdout).reason as string;
    expect(reason).not.toContain('…');
    const argv = suggested(reason).map((word) =>
      word === 'ROTATION_FUNCTION_ARN'
        ? 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation'
        : word,
    );
    expect(argv).toEqual(
      expect.arrayContaining([
        '--environment-id',
        secret.environmentId,
        '--pingone-region',
        'EU',
        '--schedule',
      ]),
    );
    const fix = await binary(world, [...argv, '--accept-readers', 'policy=none;kms=aws/secretsmanager']);
    expect(fix.stderr).toBe('');
    expect(fix.code).toBe(0);
    const after = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(JSON.parse(after.stdout).verdict).toBe('healthy');
  });
});
