/**
 * `rotate` runs the status model first and refuses states a rotation cannot fix (issue 12, item 1): the
 * real binary against moto and the simulator, in the local world. Refusing means no RotateSecret (no
 * AWSPENDING) and no regenerate at PingOne.
 */

import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import { type LedgerRecord, withRegenerateIntent } from '../../lib/ledger/record.js';
import { useWorld } from '../support/world.js';
import { binary, versionWith, worldDriver } from './support.js';

const { world, unique } = useWorld({ reset: 'faults-and-requests' });

const regenerates = () => world.sim.count({ route: 'secret', method: 'POST' });

async function expectRefused(name: string, args: string[], env: Record<string, string> = {}) {
  const labelsBefore = await world.labels(name);
  const result = await binary(world, ['rotate', '--secret-id', name, '--wait', ...args], { env });
  expect(result.stdout).toBe('');
  expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(result.stderr).toMatch(
    /nothing was changed; do what the status says, or pass --force to rotate anyway\n$/,
  );
  expect(await world.labels(name)).toEqual(labelsBefore);
  expect(await versionWith(world, name, 'AWSPENDING')).toBeUndefined();
  expect(regenerates()).toBe(0);
  return result;
}

describe('rotate refuses what a rotation cannot fix', () => {
  it('misconfigured (broken JSON): exit 8, one line', async () => {
    const secret = await world.createRotatableSecret({ name: unique('guard/broken'), region: 'EU' });
    await world.secretsManager.send(
      new PutSecretValueCommand({ SecretId: secret.arn, SecretString: '{"a"' }),
    );
    const result = await expectRefused(secret.name, []);
    expect(result.code).toBe(8);
    expect(result.stderr).toMatch(
      /^pingone-rotation: not rotating \S+: status says misconfigured, which a rotation/,
    );
  });

  it('misconfigured (unknown region in the value): exit 8', async () => {
    const secret = await world.createRotatableSecret({
      name: unique('guard/region'),
      extra: { region: 'MARS' },
    });
    const result = await expectRefused(secret.name, []);
    expect(result.code).toBe(8);
    expect(result.stderr).toMatch(/region must be one of/);
  });

  it('PingOne owner not found: pingone-error, exit 7', async () => {
    const secret = await world.createRotatableSecret({
      name: unique('guard/not-found'),
      extra: { resourceId: '0b0b0b0b-1c1c-4d2d-8e3e-4f4f4f4f4f4f' },
    });
    const result = await expectRefused(secret.name, []);
    expect(result.code).toBe(7);
    expect(result.stderr).toMatch(/status says pingone-error, .*PingOne has no such resource/);
  });

  it('PingOne unreachable: pingone-error, exit 7', async () => {
    const secret = await world.createRotatableSecret({ name: unique('guard/unreachable') });
    const result = await expectRefused(secret.name, [], {
      PINGONE_API_URL: 'http://127.0.0.1:9/{region}/api/v1',
      PINGONE_AUTH_URL: 'http://127.0.0.1:9/{region}/auth',
    });
    expect(result.code).toBe(7);
  });

  it('drift: exit 3; --force rotates anyway and fails as before', async () => {
    const secret = await world.createRotatableSecret({ name: unique('guard/drift'), region: 'EU' });
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);
    world.sim.clearRequests();
    const refused = await expectRefused(secret.name, []);
    expect(refused.code).toBe(3);
    const forced = await binary(world, ['rotate', '--secret-id', secret.name, '--wait', '--force']);
    expect(forced.code).toBe(1);
    expect(forced.stdout).toMatch(/\[1\/4\] createSecret ✗ Drift/);
    expect(await versionWith(world, secret.name, 'AWSPENDING')).toBeDefined();
  });
});

describe('rotate goes ahead where a rotation helps', () => {
  it('grace: the rotation adopts PingOne’s current secret; healthy after', async () => {
    const secret = await world.createRotatableSecret({ name: unique('guard/grace'), region: 'EU' });
    expect((await (await worldDriver(world)).rotate(secret.arn)).ok).toBe(true);
    // A half-done rotation: the ledger holds its intent, and PingOne regenerated (keeping the old secret).
    const owner = {
      kind: 'resource',
      environmentId: secret.environmentId,
      id: secret.resourceId,
      region: 'EU',
    } as const;
    const options = { deadline: Date.now() + 10_000, now: Date.now };
    const record = (await world.ledger.read(owner, options)) as LedgerRecord;
    const intent = withRegenerateIntent(record, {
      secretArn: secret.arn,
      token: 'an-abandoned-rotation',
      now: Date.now() - 120_000,
      postUntil: Date.now() - 60_000,
    });
    expect(await world.ledger.write(owner, intent, options)).toBe('written');
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(Date.now() + 86_400_000),
    });
    const result = await binary(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const status = await binary(world, ['status', '--secret-id', secret.name, '--json']);
    expect(JSON.parse(status.stdout).verdict).toBe('healthy');
  });

  it('not-rotating (fresh secret): rotates', async () => {
    const secret = await world.createRotatableSecret({ name: unique('guard/fresh'), region: 'EU' });
    const result = await binary(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(regenerates()).toBe(1);
  });
});
