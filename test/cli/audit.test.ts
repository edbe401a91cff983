import { CreateSecretCommand, TagResourceCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AuditResult } from '../../lib/audit/audit.js';
import type { StatusReport } from '../../lib/status/model.js';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import type { RotatableSecret } from '../../local/world.js';
import { useWorld } from '../support/world.js';
import { cli, enableRotation, worldDriver } from './support.js';

/** `pingone-rotation audit` and the new verdicts and warnings in `status`, against the local world. */
const { world, authenticates } = useWorld();

async function rotated(name: string, tags: Record<string, string> = {}): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name, region: 'EU', tags });
  const report = await (await worldDriver(world)).rotate(secret.arn);
  expect(report.ok, report.error).toBe(true);
  return secret;
}

/** A second secret naming the same PingOne resource, tagged like `onboard` tags it. */
async function duplicateOf(secret: RotatableSecret, name: string): Promise<void> {
  await world.secretsManager.send(
    new CreateSecretCommand({
      Name: name,
      SecretString: JSON.stringify(await world.readSecretJson(secret.arn)),
      Tags: [
        { Key: 'pingone:environment-id', Value: secret.environmentId },
        { Key: 'pingone:resource-id', Value: secret.resourceId },
      ],
    }),
  );
  await enableRotation(world, name);
}

beforeAll(async () => {
  await rotated('fleet/healthy');
  const drift = await rotated('fleet/drift');
  world.sim.regenerateOutOfBand(drift.environmentId, drift.resourceId);
  const near = await rotated('fleet/near-expiry', { 'pingone:previous-secret-ttl': '6h' });
  const first = (await world.readSecretJson(near.arn, { stage: 'AWSPREVIOUS' })).clientSecret as string;
  expect(await authenticates(near, first)).toBe(true);
  const original = await rotated('fleet/dup-a');
  await world.secretsManager.send(
    new TagResourceCommand({
      SecretId: original.arn,
      Tags: [{ Key: 'pingone:resource-id', Value: original.resourceId }],
    }),
  );
  await duplicateOf(original, 'fleet/dup-b');
  await rotated('fleet/short-ttl', { 'pingone:previous-secret-ttl': '30m' });
  // The local world's moto backdates this secret's NextRotationDate two days (local/moto-patches).
  await rotated('overdue/late', { 'local:next-rotation-days-ago': '2' });
}, 90_000);

describe('audit', () => {
  it('prints a verdict count and one line per secret that needs attention; exit 13', async () => {
    const run = await cli(world, ['audit', '--prefix', 'fleet/']);
    expect(run.code).toBe(13);
    expect(run.err).toBe('');
    expect(run.out).toMatch(
      /^Audited 6 secrets under fleet\/ \(6 listed, 0 rotated by another function or none\)/,
    );
    expect(run.out).toContain(
      'Verdicts: healthy 2, drift 1, previous-in-use-near-expiry 1, duplicate-owner 2',
    );
    expect(run.out).toMatch(/fleet\/drift +drift: AWSCURRENT is neither/);
    expect(run.out).toMatch(/fleet\/dup-a +duplicate-owner: fleet\/dup-b also names PingOne resource/);
    expect(run.out).toMatch(/fleet\/near-expiry +previous-in-use-near-expiry: Consumers still use/);
    expect(run.out).toContain('fleet/short-ttl  warning ttl-shorter-than-consumer-cache:');
    expect(run.out).not.toContain('fleet/healthy ');
  });

  it('--json gives the whole result, without secret values', async () => {
    const run = await cli(world, [
      'audit',
      '--prefix',
      'fleet/',
      '--rotation-function-arn',
      LOCAL_ROTATION_LAMBDA_ARN,
      '--json',
    ]);
    const result = JSON.parse(run.out) as AuditResult & { exitCode: number };
    expect(result.exitCode).toBe(13);
    expect(result.reports).toHaveLength(6);
    expect(result.verdicts.drift).toBe(1);
    expect(result.warnings['ttl-shorter-than-consumer-cache']).toBe(1);
    expect(result.retirements).toEqual([]);
  });

  it('exits 0 when nothing needs attention, and says so', async () => {
    const run = await cli(world, ['audit', '--prefix', 'fleet/healthy']);
    expect(run.code).toBe(0);
    expect(run.out).toContain('Verdicts: healthy 1');
  });

  it('rejects a bad option value with a usage error', async () => {
    const run = await cli(world, ['audit', '--near-expiry', 'soon']);
    expect(run.code).toBe(2);
    expect(run.err).toContain("--near-expiry 'soon' is not a duration");
  });
});

describe('status: the new verdicts and warnings', () => {
  it('previous-in-use-near-expiry: exit 10, and the previous secret is marked in use', async () => {
    const run = await cli(world, ['status', '--secret-id', 'fleet/near-expiry']);
    expect(run.code).toBe(10);
    expect(run.out).toMatch(/last used \S+ \(\d+s ago\) \(in use: a rotation now would be refused/);
    expect(run.out).toContain("in-use guard window: the function's PREVIOUS_SECRET_IN_USE_WINDOW (1h)");
    expect(run.out).toMatch(
      /Verdict {4}previous-in-use-near-expiry: Consumers still use PingOne's previous secret/,
    );
  });

  it('duplicate-owner: exit 12, naming the other secret found by its owner tag', async () => {
    const { report, run } = await statusJson('fleet/dup-b');
    expect(run.code).toBe(12);
    expect(report.verdict).toBe('duplicate-owner');
    expect(report.duplicates).toEqual(['fleet/dup-a']);
    // The ledger binds the owner to fleet/dup-a (its rotation claimed it); the owner tag finds it too.
    expect(report.notes.some((note) => note.includes('fleet/dup-a'))).toBe(true);
  });

  it('rotation-overdue: exit 11 once the next rotation date has passed', async () => {
    const run = await cli(world, ['status', '--secret-id', 'overdue/late']);
    expect(run.code).toBe(11);
    expect(run.out).toMatch(
      /Verdict {4}rotation-overdue: The next rotation was due \S+ \(2d ago\) and has not happened/,
    );
    // Untagged secrets keep moto's own date.
    expect((await cli(world, ['status', '--secret-id', 'fleet/healthy'])).code).toBe(0);
  });

  it('prints configuration warnings without changing the verdict', async () => {
    const run = await cli(world, ['status', '--secret-id', 'fleet/short-ttl']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      /Warning {4}ttl-shorter-than-consumer-cache: the previous-secret TTL 30m \(tag pingone:previous-secret-ttl\) is shorter than a typical consumer cache/,
    );
  });
});

async function statusJson(secretId: string) {
  const run = await cli(world, ['status', '--secret-id', secretId, '--json']);
  return { run, report: JSON.parse(run.out) as StatusReport };
}
