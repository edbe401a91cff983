/**
 * `--json` on every command that changes something: one JSON document on stdout and nothing else there (the
 * command's lines go to stderr), for success and for failure (the error as {code, message, setting}, with
 * the same exit code as without --json). In the local world (moto + the PingOne simulator), one world.
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { describe, expect, it } from 'vitest';
import type { JsonDocument } from '../../cli/json-result.js';
import { useWorld } from '../support/world.js';
import { type CliRun, cli, onboardArgs, pingOneResource, versionWith, worldDriver } from './support.js';

const { world, unique } = useWorld({ reset: 'faults', namePrefix: 'pingone/json/' });
let counter = 0;

/** stdout is exactly one JSON document (JSON.parse of all of it), with the exit code it states. */
function documentOf(run: CliRun): JsonDocument {
  let document: JsonDocument;
  try {
    document = JSON.parse(run.out) as JsonDocument;
  } catch {
    throw new Error(`stdout is not one JSON document:\n${run.out}\nstderr:\n${run.err}`);
  }
  expect(document.version).toBe(1);
  expect(document.exitCode).toBe(run.code);
  return document;
}

const resource = () => pingOneResource(world, { name: `JSON API ${++counter}` });

describe('onboard --json', () => {
  it('success: created, the secret, its owner, AWSCURRENT and the verdict after; the lines on stderr', async () => {
    const ids = resource();
    const name = unique('onboarded');

    const run = await cli(world, [
      ...onboardArgs(name, ids),
      '--rotation-function-arn',
      'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation',
      '--schedule',
      'rate(30 days)',
      '--json',
    ]);

    expect(run.code, run.err).toBe(0);
    const doc = documentOf(run);
    expect(doc).toMatchObject({
      command: 'onboard',
      ok: true,
      action: 'created',
      changed: true,
      secret: { name, arn: expect.stringContaining(`:secret:${name}-`) },
      owner: { kind: 'resource', environmentId: ids.environmentId, id: ids.resourceId, region: 'EU' },
      before: null,
      after: {
        verdict: 'healthy',
        exitCode: 0,
        versions: [{ versionId: await versionWith(world, name, 'AWSCURRENT'), stages: ['AWSCURRENT'] }],
        rotation: {
          enabled: true,
          lambdaArn: 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation',
        },
        binding: { thisSecret: true, how: 'onboard' },
        pending: null,
      },
    });
    expect(doc.error).toBeUndefined();
    // What onboard says for a person is still said, on stderr.
    expect(run.err).toContain(`is bound to ${name}`);
  });

  it('failure: a name outside the prefix is a usage error naming --secret-name; nothing created', async () => {
    const run = await cli(world, [...onboardArgs('elsewhere/x', resource()), '--json']);

    expect(run.code).toBe(2);
    const doc = documentOf(run);
    expect(doc).toMatchObject({
      command: 'onboard',
      ok: false,
      action: 'none',
      changed: false,
      secret: null,
      before: null,
      after: null,
      error: { code: 'Usage', setting: '--secret-name' },
    });
    expect(doc.error?.message).toContain("outside the stack's secret-name prefix");
    expect(run.err).toContain(`pingone-rotation: ${doc.error?.message}`);
  });

  it('failure: an owner another secret holds is refused, exit 1, nothing changed', async () => {
    const ids = resource();
    expect((await cli(world, onboardArgs(unique('first'), ids))).code).toBe(0);

    const run = await cli(world, [...onboardArgs(unique('second'), ids), '--json']);

    expect(run.code).toBe(1);
    const doc = documentOf(run);
    expect(doc).toMatchObject({ ok: false, action: 'none', changed: false, after: null });
    expect(doc.error).toMatchObject({
      code: 'Refused',
      message: expect.stringContaining('is already held by secret'),
    });
  });
});

describe('rotate --json', () => {
  it('success: rotated, the new AWSCURRENT version, the verdict before and after', async () => {
    const secret = await world.createRotatableSecret({ name: unique('rotate'), region: 'EU' });
    const first = await (await worldDriver(world)).rotate(secret.arn);
    expect(first.ok, first.error).toBe(true);
    const before = await versionWith(world, secret.name, 'AWSCURRENT');

    const run = await cli(world, ['rotate', '--secret-id', secret.name, '--json']);

    expect(run.code, run.err).toBe(0);
    const after = await versionWith(world, secret.name, 'AWSCURRENT');
    expect(after).not.toBe(before);
    const doc = documentOf(run);
    expect(doc).toMatchObject({
      command: 'rotate',
      ok: true,
      action: 'rotated',
      changed: true,
      versionId: after,
      secret: { name: secret.name, arn: secret.arn },
      owner: { kind: 'resource', id: secret.resourceId, environmentId: secret.environmentId },
      before: { verdict: 'healthy' },
      after: { verdict: 'healthy', pending: null },
    });
    expect(doc.after?.versions).toEqual(
      expect.arrayContaining([
        { versionId: after, stages: ['AWSCURRENT'] },
        { versionId: before, stages: ['AWSPREVIOUS'] },
      ]),
    );
    // The progress lines are on stderr.
    expect(run.err).toContain('[4/4] finishSecret ✓');
  });

  it('failure: refused by the status check with the verdict’s exit code; nothing changed', async () => {
    const secret = await world.createRotatableSecret({ name: unique('drift'), region: 'EU' });
    const rotated = await (await worldDriver(world)).rotate(secret.arn);
    expect(rotated.ok, rotated.error).toBe(true);
    // PingOne regenerated out of band: AWSCURRENT is neither its current nor its previous secret.
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId);

    const run = await cli(world, ['rotate', '--secret-id', secret.name, '--json']);

    expect(run.code).toBe(3);
    const doc = documentOf(run);
    expect(doc).toMatchObject({
      command: 'rotate',
      ok: false,
      action: 'none',
      changed: false,
      before: { verdict: 'drift', exitCode: 3 },
      after: { verdict: 'drift' },
      error: { code: 'Refused' },
    });
    expect(doc.error?.message).toContain('status says drift');
  });
});

describe('unstick --json', () => {
  async function halfDone() {
    const secret = await world.createRotatableSecret({ name: unique('half-done'), region: 'EU' });
    world.sim.faults.failNext({ route: 'introspect', status: 401, count: 5 });
    const report = await (await worldDriver(world, { maxAttempts: 1 })).rotate(secret.arn);
    expect(report.ok).toBe(false);
    world.sim.faults.clear();
    return { secret, token: report.token };
  }

  it('without --yes and no terminal: a usage error naming --yes, exit 2, nothing changed', async () => {
    const { secret, token } = await halfDone();

    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--json']);

    expect(run.code).toBe(2);
    const doc = documentOf(run);
    expect(doc).toMatchObject({
      command: 'unstick',
      ok: false,
      action: 'none',
      changed: false,
      versionId: token,
      before: { pending: { versionId: token, unstickWould: 'finish' } },
      error: { code: 'Usage', setting: '--yes' },
    });
    // The plan went to stderr.
    expect(run.err).toContain('Plan: finish the rotation.');
  });

  it('success: finished, AWSCURRENT moved to the pending version', async () => {
    const { secret, token } = await halfDone();

    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes', '--json']);

    expect(run.code, run.err).toBe(0);
    expect(documentOf(run)).toMatchObject({
      command: 'unstick',
      ok: true,
      action: 'finished',
      changed: true,
      versionId: token,
      before: { pending: { versionId: token } },
      after: {
        pending: null,
        versions: expect.arrayContaining([{ versionId: token, stages: ['AWSCURRENT'] }]),
      },
    });
  });
});

describe('rebind --json', () => {
  async function copyOfRotated() {
    const holder = await world.createRotatableSecret({ name: unique('holder'), region: 'EU' });
    const report = await (await worldDriver(world)).rotate(holder.arn);
    expect(report.ok, report.error).toBe(true);
    const copy = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: unique('copy'),
        SecretString: JSON.stringify(await world.readSecretJson(holder.arn)),
      }),
    );
    return { holder, arn: copy.ARN as string };
  }

  it('--yes without a terminal needs --accept-readers: a usage error naming it, exit 2', async () => {
    const { holder, arn } = await copyOfRotated();

    const run = await cli(world, ['rebind', '--secret-id', arn, '--yes', '--json']);

    expect(run.code).toBe(2);
    expect(documentOf(run)).toMatchObject({
      command: 'rebind',
      ok: false,
      action: 'none',
      changed: false,
      before: { binding: { secretArn: holder.arn, thisSecret: false } },
      error: { code: 'Usage', setting: '--accept-readers' },
    });
  });

  it('success: bound, the binding before (another secret) and after (this one)', async () => {
    const { holder, arn } = await copyOfRotated();

    const run = await cli(world, [
      'rebind',
      '--secret-id',
      arn,
      '--yes',
      '--accept-readers',
      'policy=none;kms=aws/secretsmanager',
      '--json',
    ]);

    expect(run.code, run.err).toBe(0);
    expect(documentOf(run)).toMatchObject({
      command: 'rebind',
      ok: true,
      action: 'bound',
      changed: true,
      secret: { arn },
      owner: { kind: 'resource', id: holder.resourceId },
      before: { binding: { secretArn: holder.arn, thisSecret: false } },
      after: { binding: { secretArn: arn, thisSecret: true, how: 'rebind' } },
    });
  });
});

describe('usage errors with --json', () => {
  it.each([
    ['rotate', ['rotate', '--json'], '--secret-id'],
    ['unstick', ['unstick', '--json', '--secret-id'], '--secret-id'],
    ['rebind', ['rebind', '--json', '--secret-id', 'x', '--bogus'], '--bogus'],
    ['onboard', ['onboard', '--json', '--secret-name', 'pingone/x'], '--environment-id'],
    ['onboard-fleet', ['onboard-fleet', '--json'], '--manifest'],
    ['import-terraform', ['import-terraform', '--json', '--concurrency'], '--concurrency'],
    ['rotate', ['rotate', '--json', '--secret-id', 'x', '--timeout', 'soon'], '--timeout'],
  ])('%s %j: exit 2, the error document naming %s', async (command, argv, setting) => {
    const run = await cli(world, argv);

    expect(run.code).toBe(2);
    expect(documentOf(run)).toMatchObject({
      version: 1,
      command,
      ok: false,
      exitCode: 2,
      error: { code: 'Usage', message: expect.stringContaining(setting), setting },
    });
    expect(run.err).toContain(`pingone-rotation: `);
  });

  it('onboard-fleet: a manifest that cannot be read is a failure document too', async () => {
    const run = await cli(world, [
      'onboard-fleet',
      '--json',
      '--manifest',
      '/nonexistent/manifest.csv',
      '--yes',
    ]);

    console.log('DEBUG', run.code, run.out, run.err);
    expect(run.code).not.toBe(0);
    expect(documentOf(run)).toMatchObject({
      command: 'onboard-fleet',
      ok: false,
      error: { code: expect.any(String) },
    });
  });
});
