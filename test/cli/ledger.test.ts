/**
 * The operator CLI and the rotation ledger, in the local world (moto's DynamoDB, the PingOne simulator):
 * onboard claims the binding and refuses an owner another secret holds; rebind moves it with proof of
 * possession and confirmation; status shows the binding and the recent rotations; unstick clears a stale
 * intent.
 */
import { CreateSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../cli/commands/status.js';
import type { LedgerRecord } from '../../lib/ledger/record.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import type { RotatableSecret } from '../../local/world.js';
import { useWorld } from '../support/world.js';
import { cli, onboardArgs, pingOneResource, recordSecrets, worldDriver } from './support.js';

const { world, unique } = useWorld({ reset: 'faults', namePrefix: 'pingone/' });

function ownerOf(secret: { environmentId: string; resourceId: string }): SecretOwner {
  return { kind: 'resource', environmentId: secret.environmentId, id: secret.resourceId, region: 'EU' };
}

async function record(secret: {
  environmentId: string;
  resourceId: string;
}): Promise<LedgerRecord | undefined> {
  return world.ledger.read(ownerOf(secret), { deadline: Date.now() + 10_000, now: Date.now });
}

async function clientSecretOf(secretId: string): Promise<string | undefined> {
  return world.secretsManager
    .send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }))
    .then((out) => JSON.parse(out.SecretString ?? '{}').clientSecret as string)
    .catch(() => undefined);
}

/** A CUSTOM resource in an EU environment, not in Secrets Manager yet. */
const resource = () => pingOneResource(world, { name: unique('Ledger API') });

async function arnOf(name: string): Promise<string> {
  const out = await world.secretsManager.send(new GetSecretValueCommand({ SecretId: name }));
  return out.ARN as string;
}

async function rotatedSecret(name = unique('ledger/rotated')): Promise<RotatableSecret> {
  const secret = await world.createRotatableSecret({ name, region: 'EU' });
  const report = await (await worldDriver(world)).rotate(secret.arn);
  expect(report.ok, report.error).toBe(true);
  return secret;
}

async function statusJson(secretId: string) {
  const run = await cli(world, ['status', '--secret-id', secretId, '--json']);
  return { run, report: JSON.parse(run.out) as StatusReport };
}

describe('onboard and the binding', () => {
  it('binds the owner to the new secret (it read PingOne’s current secret: proof of possession)', async () => {
    const ids = resource();
    const name = unique('ledger/onboarded');

    const run = await cli(world, onboardArgs(name, ids));

    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`Rotation ledger: PingOne resource ${ids.resourceId}`);
    expect(run.out).toContain(`is bound to ${name}`);
    expect((await record(ids))?.binding).toMatchObject({ secretArn: await arnOf(name), how: 'onboard' });
  });

  it('refuses the resource for a second secret, naming the one that holds it; nothing is created', async () => {
    const ids = resource();
    const first = unique('ledger/first');
    expect((await cli(world, onboardArgs(first, ids))).code).toBe(0);
    const firstArn = await arnOf(first);
    const second = unique('ledger/second');

    const run = await cli(world, onboardArgs(second, ids));

    expect(run.code).toBe(1);
    expect(run.err).toContain(`is already held by secret ${firstArn} (rotation ledger binding since`);
    expect(run.err).toContain('run the same onboard with --rebind');
    expect(await clientSecretOf(second)).toBeUndefined();
    expect((await record(ids))?.binding?.secretArn).toBe(firstArn);
  });

  it('refuses onboard --force into another existing secret, which keeps its value', async () => {
    const holder = await rotatedSecret();
    const other = await world.createRotatableSecret({ name: unique('ledger/other'), region: 'EU' });
    const before = await clientSecretOf(other.arn);

    const run = await cli(world, onboardArgs(other.name, holder, '--force'));

    expect(run.code).toBe(1);
    expect(run.err).toContain(`is already held by secret ${holder.arn}`);
    expect(await clientSecretOf(other.arn)).toBe(before);
    expect((await record(holder))?.binding?.secretArn).toBe(holder.arn);
  });

  it('refuses a resource another secret carries in its pingone:resource-id tag (onboarded, never rotated)', async () => {
    const ids = resource();
    const tagged = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: unique('ledger/tagged'),
        SecretString: JSON.stringify({ ...ids, clientSecret: 'x'.repeat(40), region: 'EU' }),
        Tags: [{ Key: 'pingone:resource-id', Value: ids.resourceId }],
      }),
    );

    const run = await cli(world, onboardArgs(unique('ledger/untagged'), ids));

    expect(run.code).toBe(1);
    expect(run.err).toContain(
      `is already held by secret ${tagged.ARN} (tag pingone:resource-id=${ids.resourceId})`,
    );
    expect(await record(ids)).toBeUndefined();
  });

  it('--rebind asks first, then moves the binding: the old secret’s rotations are refused', async () => {
    const holder = await rotatedSecret();
    const taker = unique('ledger/taker');
    const refused = await cli(world, onboardArgs(taker, holder, '--rebind'));
    expect(refused.code).toBe(2);
    expect(refused.out).toContain(`Plan: take PingOne resource ${holder.resourceId}`);
    expect(refused.err).toContain('needs confirmation, but stdin is not a terminal');
    expect((await record(holder))?.binding?.secretArn).toBe(holder.arn);
    const cancelled = await cli(world, onboardArgs(taker, holder, '--rebind', '--force'), { answer: 'n' });
    expect(cancelled.err).toContain('cancelled');

    const run = await cli(world, onboardArgs(taker, holder, '--rebind', '--force'), { answer: 'y' });

    expect(run.code, run.err).toBe(0);
    const takerArn = await arnOf(taker);
    expect((await record(holder))?.binding).toMatchObject({ secretArn: takerArn, how: 'rebind' });
    const old = await (await worldDriver(world, { maxAttempts: 1 })).rotate(holder.arn);
    expect(old.error).toContain(`belongs to secret ${takerArn}`);
    const { run: statusRun, report } = await statusJson(holder.name);
    expect(statusRun.code).toBe(12);
    expect(report.verdict).toBe('duplicate-owner');
    expect(report.reason).toContain(`pingone-rotation rebind --secret-id ${holder.name}`);
    expect(report.ledger?.binding).toMatchObject({ secretArn: takerArn, thisSecret: false });
  });
});

describe('rebind', () => {
  it('moves the binding to a secret that holds PingOne’s current secret, after confirmation', async () => {
    const holder = await rotatedSecret();
    const copy = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: unique('ledger/copy'),
        SecretString: JSON.stringify(await world.readSecretJson(holder.arn)),
      }),
    );
    const arn = copy.ARN as string;
    const asked = await cli(world, ['rebind', '--secret-id', arn]);
    expect(asked.code).toBe(2);
    expect(asked.out).toContain(`Plan: move the rotation ledger binding from ${holder.arn}`);
    expect(asked.err).toContain('needs confirmation');

    // --yes alone is not enough without a terminal: who can read the secret must be accepted by name.
    const unnamed = await cli(world, ['rebind', '--secret-id', arn, '--yes']);
    expect(unnamed.code).toBe(2);
    expect(unnamed.err).toContain("re-run with --accept-readers 'policy=none;kms=aws/secretsmanager'");
    expect((await record(holder))?.binding?.secretArn).not.toBe(arn);
    const run = await cli(world, [
      'rebind',
      '--secret-id',
      arn,
      '--yes',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
    ]);

    expect(run.code, run.err).toBe(0);
    expect((await record(holder))?.binding).toMatchObject({ secretArn: arn, how: 'rebind' });
    const again = await cli(world, ['rebind', '--secret-id', arn, '--yes']);
    expect(again.out).toContain('is already bound to');
  });

  it('refuses a secret holding only PingOne’s previous secret: no proof of possession', async () => {
    const holder = await rotatedSecret();
    const previous = await world.readSecretJson(holder.arn, { stage: 'AWSPREVIOUS' });
    const stale = await world.secretsManager.send(
      new CreateSecretCommand({ Name: unique('ledger/stale'), SecretString: JSON.stringify(previous) }),
    );

    const run = await cli(world, ['rebind', '--secret-id', stale.ARN as string, '--yes']);

    expect(run.code).toBe(1);
    expect(run.err).toContain("AWSCURRENT is PingOne's previous secret");
    expect(run.err).toContain('it does not prove possession');
    expect((await record(holder))?.binding?.secretArn).toBe(holder.arn);
  });
});

describe('status', () => {
  it('shows the binding and the recent rotations from the ledger', async () => {
    const secret = await rotatedSecret();
    const { report } = await statusJson(secret.name);
    expect(report.ledger).toMatchObject({
      table: world.ledgerTable,
      binding: { secretArn: secret.arn, how: 'rotation', thisSecret: true },
      history: [{ outcome: 'rotated', regeneratedAt: expect.any(String), finishedAt: expect.any(String) }],
      lastRotated: expect.any(String),
    });
    const text = await cli(world, ['status', '--secret-id', secret.name]);
    expect(text.out).toMatch(/Ledger {5}bound to this secret since .* \(by rotation\)/);
    expect(text.out).toMatch(/last rotation finished .* \(ledger\)/);
    expect(text.out).toMatch(/started .*, regenerated .*, rotated /);
  });

  it('calls an out-of-band regenerate the ledger does not explain drift (a rotation would refuse it); onboard --force recovers', async () => {
    const secret = await rotatedSecret();
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(Date.now() + 86_400_000),
    });
    recordSecrets(world);

    const { run, report } = await statusJson(secret.name);

    expect(run.code).toBe(3);
    expect(report.verdict).toBe('drift');
    expect(report.reason).toContain('records no regenerate by the rotation function for this secret');
    expect(report.reason).toContain(`pingone-rotation onboard --secret-name ${secret.name}`);
    const rotate = await cli(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(rotate.code).toBe(3);

    const fixed = await cli(
      world,
      onboardArgs(secret.name, secret, '--force', '--accept-readers', 'policy=none;kms=aws/secretsmanager'),
    );
    expect(fixed.code, fixed.err).toBe(0);
    expect((await statusJson(secret.name)).report.verdict).toBe('healthy');
    const rotated = await cli(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(rotated.code, rotated.err).toBe(0);
  });
});

describe('unstick', () => {
  it('clears the stale intent of a rotation whose regenerate never landed, keeping its record', async () => {
    const secret = await rotatedSecret();
    world.sim.faults.failNext({
      route: 'secret',
      method: 'POST',
      resourceId: secret.resourceId,
      status: 502,
    });
    const failed = await (await worldDriver(world, { maxAttempts: 1 })).rotate(secret.arn);
    expect(failed.error).toMatch(/^createSecret: .*outcome is unknown/);
    expect((await record(secret))?.intent?.token).toBe(failed.token);

    // Some minutes later, nothing of it can still be in flight.
    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes'], {
      clockOffsetMs: 5 * 60_000,
    });

    expect(run.code, run.err).toBe(0);
    expect(run.out).toContain(`2. Clear the rotation ledger's stale intent: version ${failed.token}`);
    expect(run.out).toContain("Cleared the rotation ledger's stale intent.");
    const after = await record(secret);
    expect(after?.intent).toBeUndefined();
    expect(after?.history[0]).toMatchObject({ token: failed.token });
    expect(after?.history[0]?.outcome).toBeUndefined();
  });
});
