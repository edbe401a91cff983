import { describe, expect, it } from 'vitest';
import { SETTLE_MARGIN_MS } from '../../lib/ledger/record.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import type { RotatableSecret } from '../../local/world.js';
import { useWorld } from '../support/world.js';
import {
  cli,
  enableRotation,
  HOUR,
  onboardArgs,
  pingOneResource,
  versionWith,
  worldDriver,
} from './support.js';

const { world, unique: uniqueName } = useWorld({ reset: 'faults', namePrefix: 'pingone/' });

/** Onboarded through the CLI with rotation attached: the starting point of an operator's rotate. */
async function onboarded() {
  const { environmentId, resourceId } = pingOneResource(world);
  const name = uniqueName('rotate/orders');
  const run = await cli(
    world,
    onboardArgs(
      name,
      { environmentId, resourceId },
      '--rotation-function-arn',
      'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation',
      '--schedule',
      'rate(30 days)',
    ),
  );
  expect(run.code).toBe(0);
  return { name, environmentId, resourceId };
}

/** A rotation whose testSecret failed: AWSPENDING holds PingOne's new current secret. */
async function halfDone() {
  const secret = await world.createRotatableSecret({ name: uniqueName('unstick/half-done'), region: 'EU' });
  world.sim.faults.failNext({ route: 'introspect', status: 401, count: 5 });
  const report = await (await worldDriver(world, { maxAttempts: 1 })).rotate(secret.arn);
  expect(report.ok).toBe(false);
  world.sim.faults.clear();
  return { secret, token: report.token };
}

describe('rotate', () => {
  it('--wait end to end in the local world: step by step progress, labels moving, new secret at PingOne', async () => {
    const { name, environmentId, resourceId } = await onboarded();
    const before = await versionWith(world, name, 'AWSCURRENT');
    const run = await cli(world, ['rotate', '--secret-id', name, '--wait']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    const [ownerLine, ...lines] = run.out.trimEnd().split('\n');
    expect(ownerLine).toBe(
      `${name}: PingOne CUSTOM resource "Orders API" ${resourceId} in environment ${environmentId} (EU) (status: healthy)`,
    );
    expect(lines[0]).toMatch(
      /^Local world \(AWS endpoint http:\/\/127\.0\.0\.1:\d+\): no rotation service there, so this process plays it; the steps run in lib\/handler.ts's createRotationHandler/,
    );
    const token = await versionWith(world, name, 'AWSCURRENT');
    expect(token).not.toBe(before);
    const b = `${before!.slice(0, 8)}…`;
    const t = `${token!.slice(0, 8)}…`;
    expect(lines.slice(1)).toEqual([
      `RotateSecret: version ${t} is AWSPENDING (empty)   ${b} [AWSCURRENT]  ${t} [AWSPENDING]`,
      expect.stringMatching(
        new RegExp(`^\\[1/4\\] createSecret ✓ \\d+ ms   ${b} \\[AWSCURRENT\\]  ${t} \\[AWSPENDING\\]$`),
      ),
      expect.stringMatching(
        new RegExp(`^\\[2/4\\] setSecret ✓ \\d+ ms   ${b} \\[AWSCURRENT\\]  ${t} \\[AWSPENDING\\]$`),
      ),
      expect.stringMatching(
        new RegExp(`^\\[3/4\\] testSecret ✓ \\d+ ms   ${b} \\[AWSCURRENT\\]  ${t} \\[AWSPENDING\\]$`),
      ),
      expect.stringMatching(
        new RegExp(
          `^\\[4/4\\] finishSecret ✓ \\d+ ms   ${t} \\[AWSCURRENT, AWSPENDING\\]  ${b} \\[AWSPREVIOUS\\]$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^Rotated ${name} in \\d+\\.\\d s: AWSCURRENT is version ${token}   ${t} \\[AWSCURRENT\\]  ${b} \\[AWSPREVIOUS\\]$`,
        ),
      ),
    ]);
    const labelled = Object.entries(await world.labels(name)).filter(([, stages]) => stages.length > 0);
    expect(Object.fromEntries(labelled)).toEqual({ [token!]: ['AWSCURRENT'], [before!]: ['AWSPREVIOUS'] });
    const state = world.sim.readSecret(environmentId, resourceId);
    expect((await world.readSecretJson(name)).clientSecret).toBe(state.secret);
    expect((await world.readSecretJson(name, { stage: 'AWSPREVIOUS' })).clientSecret).toBe(
      state.previous?.secret,
    );
    expect((await cli(world, ['status', '--secret-id', name])).code).toBe(0);
  });

  it('on a terminal the progress line is rewritten in place', async () => {
    const { name } = await onboarded();
    const run = await cli(world, ['rotate', '--secret-id', name, '--wait'], { tty: true });
    expect(run.code).toBe(0);
    expect(run.out).toContain('\r\x1b[2K[4/4] finishSecret ✓');
    expect(run.out.split('\n').filter(Boolean)).toHaveLength(3); // the owner, the intro line and the final line
  });

  it('refuses while a previous rotation is pending, pointing at status and unstick', async () => {
    const { name } = await onboarded();
    const token = await (await worldDriver(world)).startRotation(name);
    const run = await cli(world, ['rotate', '--secret-id', name, '--wait']);
    expect(run.code).toBe(6);
    expect(run.err).toMatch(
      new RegExp(
        `^pingone-rotation: not rotating ${name}: status says stuck-pending, which a rotation cannot fix \\(AWSPENDING is on version ${token}, an empty placeholder.*run \`pingone-rotation unstick --secret-id ${name}\`.*\\): nothing was changed`,
      ),
    );
    // --force goes as far as RotateSecret, which refuses the same way Secrets Manager does.
    const forced = await cli(world, ['rotate', '--secret-id', name, '--wait', '--force']);
    expect(forced.code).toBe(1);
    expect(forced.err).toBe(
      `pingone-rotation: a previous rotation of ${name} is not complete (AWSPENDING is on version ${token}): see ` +
        `\`pingone-rotation status --secret-id ${name}\`; if it is stuck, recover with \`pingone-rotation unstick --secret-id ${name}\`\n`,
    );
  });

  it('a failing rotation (drift, --force past the status check) ends with the step error and leaves AWSPENDING for unstick', async () => {
    const { name, environmentId, resourceId } = await onboarded();
    world.sim.regenerateOutOfBand(environmentId, resourceId);
    const run = await cli(world, ['rotate', '--secret-id', name, '--wait', '--force']);
    expect(run.code).toBe(1);
    expect(run.out).toMatch(
      /\[1\/4\] createSecret ✗ Drift: AWSCURRENT's clientSecret is not the current secret/,
    );
    expect(run.out).toMatch(/\[1\/4\] createSecret \(attempt 3\) ✗ Drift/);
    expect(run.err).toMatch(
      /^pingone-rotation: rotation of \S+ failed at createSecret: Drift: .*: AWSPENDING stays on version \S+; see `pingone-rotation status --secret-id \S+` and recover with `pingone-rotation unstick`\n$/,
    );
    const pending = await versionWith(world, name, 'AWSPENDING');
    expect(pending).toBeDefined();
    const unstuck = await cli(world, ['unstick', '--secret-id', name, '--yes']);
    expect(unstuck.code).toBe(0);
    expect(await versionWith(world, name, 'AWSPENDING')).toBeUndefined();
  });
});

describe('unstick', () => {
  it('empty placeholder: removes the AWSPENDING label only', async () => {
    const secret = await world.createRotatableSecret({ name: uniqueName('unstick/placeholder') });
    await enableRotation(world, secret.arn);
    const current = await versionWith(world, secret.arn, 'AWSCURRENT');
    const token = await (await worldDriver(world)).startRotation(secret.arn);
    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes'], { clockOffsetMs: HOUR });
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      `${secret.name}: AWSPENDING is on version ${token}, not AWSCURRENT (created 1h ago).`,
    );
    expect(run.out).toContain(
      "It is an empty placeholder: createSecret never stored a value; AWSCURRENT is PingOne's current secret.",
    );
    expect(run.out).toContain(
      'Plan: remove the AWSPENDING label. The version stays, unlabelled; nothing changes at PingOne.',
    );
    expect(run.out).toContain(
      `aws secretsmanager update-secret-version-stage --secret-id ${secret.arn} --version-stage AWSPENDING --remove-from-version-id ${token}`,
    );
    expect(run.out).toMatch(/Done: AWSPENDING removed\./);
    const labelled = Object.entries(await world.labels(secret.arn)).filter(([, stages]) => stages.length > 0);
    expect(Object.fromEntries(labelled)).toEqual({ [current!]: ['AWSCURRENT'] });
    expect((await cli(world, ['status', '--secret-id', secret.name])).code).toBe(0);
  });

  it('pending value PingOne already uses: finishes the rotation (AWSCURRENT moves to it)', async () => {
    const { secret, token } = await halfDone();
    const current = await versionWith(world, secret.arn, 'AWSCURRENT');
    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes']);
    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      "It holds a value, and PingOne already uses it as its current secret; AWSCURRENT is PingOne's previous secret, valid until",
    );
    expect(run.out).toContain('Plan: finish the rotation. Nothing changes at PingOne.');
    expect(run.out).toContain(
      `1. Move AWSCURRENT from version ${current} to ${token} (Secrets Manager moves AWSPREVIOUS to ${current})`,
    );
    expect(run.out).toContain(
      `--version-stage AWSCURRENT --move-to-version-id ${token} --remove-from-version-id ${current}`,
    );
    expect(run.out).toContain(`2. Remove AWSPENDING from version ${token}`);
    expect(run.out).toMatch(/Done: rotation finished\./);
    const labels = await world.labels(secret.arn);
    expect(labels[token]).toEqual(['AWSCURRENT']);
    expect(labels[current!]).toEqual(['AWSPREVIOUS']);
    const state = world.sim.readSecret(secret.environmentId, secret.resourceId);
    expect((await world.readSecretJson(secret.arn)).clientSecret).toBe(state.secret);
    const status = await cli(world, ['status', '--secret-id', secret.name]);
    expect(status.out).toMatch(/Verdict {4}healthy/);
  });

  it('pending value PingOne does not use (regenerated since): removes the label; status then shows drift', async () => {
    const { secret, token } = await halfDone();
    world.sim.regenerateOutOfBand(secret.environmentId, secret.resourceId, {
      previousExpiresAt: new Date(Date.now() + 24 * HOUR),
    });
    const current = await versionWith(world, secret.arn, 'AWSCURRENT');
    const run = await cli(world, ['unstick', '--secret-id', secret.name, '--yes']);
    expect(run.code).toBe(0);
    expect(run.out).toContain(
      "It holds a value that PingOne does not use as its current secret; AWSCURRENT is neither PingOne's current nor previous secret.",
    );
    expect(run.out).toContain('Plan: remove the AWSPENDING label.');
    const labels = await world.labels(secret.arn);
    expect(labels[current!]).toEqual(['AWSCURRENT']);
    expect(labels[token] ?? []).toEqual([]);
    expect((await cli(world, ['status', '--secret-id', secret.name])).code).toBe(3);
  });

  it('refuses without --yes when stdin is not a terminal: prints the plan, changes nothing', async () => {
    const { secret, token } = await halfDone();
    const before = await world.labels(secret.arn);
    const run = await cli(world, ['unstick', '--secret-id', secret.name]);
    // A missing --yes is a usage error.
    expect(run.code).toBe(2);
    expect(run.out).toContain('Plan: finish the rotation.');
    expect(run.err).toBe(
      `pingone-rotation: unstick of ${secret.name} needs confirmation, but stdin is not a terminal: nothing was ` +
        'changed; re-run with --yes to carry out the plan above\n',
    );
    expect(await world.labels(secret.arn)).toEqual(before);
    expect(before[token]).toEqual(['AWSPENDING']);
  });

  it("asks on a terminal: 'y' carries out the plan, anything else cancels", async () => {
    const { secret, token } = await halfDone();
    const no = await cli(world, ['unstick', '--secret-id', secret.name], { answer: 'n' });
    expect(no.code).toBe(1);
    expect(no.prompts).toEqual(['Proceed? [y/N] ']);
    expect(no.err).toBe('pingone-rotation: unstick cancelled: nothing was changed\n');
    expect((await world.labels(secret.arn))[token]).toEqual(['AWSPENDING']);

    const yes = await cli(world, ['unstick', '--secret-id', secret.name], { answer: 'y' });
    expect(yes.code).toBe(0);
    expect(yes.prompts).toEqual(['Proceed? [y/N] ']);
    expect((await world.labels(secret.arn))[token]).toEqual(['AWSCURRENT']);
  });

  it('--dry-run prints the plan only; nothing stuck is nothing to do', async () => {
    const { secret, token } = await halfDone();
    const dry = await cli(world, ['unstick', '--secret-id', secret.name, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('Dry run: nothing was changed.');
    expect((await world.labels(secret.arn))[token]).toEqual(['AWSPENDING']);
    expect(dry.out).not.toContain('Note: it is only');
    // Against a real rotation service a young AWSPENDING may still be worked on: the plan says so.
    const young = await cli(world, ['unstick', '--secret-id', secret.name, '--dry-run'], { local: false });
    expect(young.out).toMatch(/Note: it is only \d+s old: the rotation service may still be working on it/);

    const clean = await world.createRotatableSecret({ name: uniqueName('unstick/clean') });
    const run = await cli(world, ['unstick', '--secret-id', clean.name, '--yes']);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/^Nothing to unstick: \S+ has no AWSPENDING version outside AWSCURRENT/);
  });
});

describe('rotate straight after unstick', () => {
  /**
   * A rotation whose regenerate POST got a gateway's plain-text 503 (outcome unknown, PingOne unchanged):
   * createSecret failed, AWSPENDING is an empty placeholder, the ledger's intent holds regenerates back.
   * Its window is shortened (as if the function's deadline had come sooner) so it settles `settlesInMs`
   * from now.
   */
  async function unknownOutcome(
    settlesInMs: number,
  ): Promise<{ secret: RotatableSecret; owner: SecretOwner }> {
    const secret = await world.createRotatableSecret({
      name: uniqueName('rotate/after-unstick'),
      region: 'EU',
    });
    world.sim.faults.failNext({
      route: 'secret',
      method: 'POST',
      resourceId: secret.resourceId,
      status: 503,
      body: '503 Service Unavailable',
    });
    const report = await (await worldDriver(world, { maxAttempts: 1 })).rotate(secret.arn);
    expect(report.ok).toBe(false);
    expect(report.error).toMatch(/outcome is unknown/);
    const owner: SecretOwner = {
      kind: 'resource',
      environmentId: secret.environmentId,
      id: secret.resourceId,
      region: secret.region,
    };
    const options = { deadline: Date.now() + 10_000, now: Date.now };
    const record = await world.ledger.read(owner, options);
    expect(record?.intent).toBeDefined();
    const postUntil = new Date(Date.now() + settlesInMs - SETTLE_MARGIN_MS).toISOString();
    const next = { ...record!, intent: { ...record!.intent!, postUntil } };
    expect(await world.ledger.write(owner, next, options)).toBe('written');
    return { secret, owner };
  }

  it('waits out the settle time (plain lines off a terminal), then rotates once', async () => {
    const { secret } = await unknownOutcome(2_000);
    const before = await versionWith(world, secret.name, 'AWSCURRENT');
    const unstick = await cli(world, ['unstick', '--secret-id', secret.name, '--yes']);
    expect(unstick.code, unstick.err).toBe(0);

    const run = await cli(world, ['rotate', '--secret-id', secret.name]);

    expect(run.err).toBe('');
    expect(run.code).toBe(0);
    expect(run.out).toMatch(
      new RegExp(
        `Waiting \\d+s before rotating ${secret.name}: a regenerate sent by rotation version \\S+ of this secret`,
      ),
    );
    expect(run.out).toContain(`The earlier regenerate has settled; rotating ${secret.name}.`);
    expect(run.out).not.toContain('\r');
    expect(await versionWith(world, secret.name, 'AWSCURRENT')).not.toBe(before);
    expect(await versionWith(world, secret.name, 'AWSPENDING')).toBeUndefined();
    const posts = world.sim.requests.filter(
      (r) => r.method === 'POST' && r.route === 'secret' && r.resourceId === secret.resourceId,
    );
    expect(posts.map((r) => r.status)).toEqual([503, 200]);
  });

  it('--no-settle-wait says until when and changes nothing; on a terminal the wait counts down in place', async () => {
    const { secret } = await unknownOutcome(2_000);
    expect((await cli(world, ['unstick', '--secret-id', secret.name, '--yes'])).code).toBe(0);
    const labels = await world.labels(secret.arn);

    const refused = await cli(world, ['rotate', '--secret-id', secret.name, '--no-settle-wait']);
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(
      /not rotating .+ yet: a regenerate sent by rotation version .+ may still be in flight/,
    );
    expect(refused.err).toMatch(/run this again after \d{4}-\d\d-\d\dT/);
    expect(await world.labels(secret.arn)).toEqual(labels);

    const run = await cli(world, ['rotate', '--secret-id', secret.name], { tty: true });
    expect(run.code).toBe(0);
    expect(run.out).toContain('\r\x1b[2KWaiting for the earlier regenerate to settle: ');
    expect(run.out).toMatch(/settle: \d+s left/);
  });
});
