import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_STEPS, type Step } from '../../local/driver.js';
import type { OwnedSecret } from '../../local/world.js';
import { type CrashPlan, committedRegenerates, rotationHarness } from '../support/harness.js';
import { useWorld } from '../support/world.js';

/**
 * The Lambda crashes at every external-call boundary of every step — just before each call and just after
 * it answered, the rotation ledger's DynamoDB calls included — and Secrets Manager retries the rotation
 * (from createSecret, same token, in a new container, some minutes later). Whatever the crash point, at
 * every step boundary AWSCURRENT authenticates at PingOne, PingOne regenerates at most once, and the
 * rotation ends with AWSCURRENT/AWSPREVIOUS equal to PingOne's current/previous secret, the previous one
 * valid for the configured TTL, and the ledger binding the owner to the secret with the rotation recorded.
 *
 * The whole matrix runs for a custom resource's secret and for an OIDC application's secret (a
 * CLIENT_SECRET_JWT app, so AWSCURRENT is proven by a client assertion signed with it at every boundary).
 */
/** Secrets Manager's retry comes later than any regenerate can still be settling (the ledger's window). */
const RETRY_AFTER_MS = 2 * 60_000;
const TTL_MS = 7 * 86_400_000;
const KINDS = ['resource', 'application'] as const;
type Kind = (typeof KINDS)[number];
const secretsSeen = new Set<string>();
const sensitiveSeen = new Set<string>();
const { world, authenticates, output, logLeaks } = useWorld({ captureLogs: true });
const callsByKind = {} as Record<Kind, Record<Step, string[]>>;

function newSecret(kind: Kind, name: string): Promise<OwnedSecret> {
  return kind === 'resource'
    ? world.createRotatableSecret({ name, region: 'EU' })
    : world.createRotatableApplicationSecret({
        name,
        region: 'EU',
        tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
      });
}

beforeAll(async () => {
  // A clean rotation in a cold container lists the external calls of each step.
  for (const kind of KINDS) {
    const secret = await newSecret(kind, `pingone/enumerate-${kind}`);
    const calls: Partial<Record<Step, string[]>> = {};
    const harness = rotationHarness(world, {
      instantRetries: true,
      afterStep: async (boundary) => {
        calls[boundary.step] = [...harness.boundaries.calls];
      },
    });
    const report = await harness.driver.rotate(secret.arn);
    expect(report.ok, report.error).toBe(true);
    callsByKind[kind] = calls as Record<Step, string[]>;
  }
});

it('lists the external calls of every step, for a resource and for an application', () => {
  const start = [
    'sm:DescribeSecret',
    'sm:GetSecretValue',
    'sm:GetSecretValue',
    'ddb:GetItem',
    // No item under the owner's key yet: its pre-issue-17 region-bearing keys, in one call.
    'ddb:BatchGetItem',
    'ssm:GetParameter',
    'pingone:POST /as/token',
  ];
  expect(callsByKind.resource.createSecret).toEqual([
    ...start,
    'pingone:GET /resource/secret',
    'ddb:UpdateItem',
    'pingone:POST /resource/secret',
    // AWSPENDING first, then the ledger's informational note (the intent above makes the POST crash-safe).
    'sm:PutSecretValue',
    'ddb:UpdateItem',
  ]);
  // An application is read first: only an OIDC application with a secret gets further.
  expect(callsByKind.application.createSecret).toEqual([
    ...start,
    'pingone:GET /application',
    'pingone:GET /application/secret',
    'ddb:UpdateItem',
    'pingone:POST /application/secret',
    'sm:PutSecretValue',
    'ddb:UpdateItem',
  ]);
  expect(callsByKind.application.testSecret).toContain('pingone:POST /as/introspect');
  for (const kind of KINDS) {
    const callsByStep = callsByKind[kind];
    expect(callsByStep.setSecret).toContain('ddb:GetItem');
    expect(callsByStep.testSecret).toContain('ddb:GetItem');
    expect(callsByStep.finishSecret).toEqual([
      'sm:DescribeSecret',
      'sm:UpdateSecretVersionStage',
      'sm:GetSecretValue',
      'ddb:GetItem',
      'ddb:UpdateItem',
    ]);
    for (const step of ALL_STEPS) expect(callsByStep[step]?.length).toBeGreaterThan(0);
  }
});

describe.each(KINDS)('a %s secret', (kind) => {
  describe.each(ALL_STEPS)('a crash in %s', (step) => {
    // One rotation (with its retry) per boundary: createSecret alone has 26 on a loaded 2-core machine.
    it('converges from every boundary, keeping consumers working throughout', {
      timeout: 120_000,
    }, async () => {
      const callsByStep = callsByKind[kind];
      const plans: CrashPlan[] = callsByStep[step].flatMap((_, index) =>
        (['before', 'after'] as const).map((when) => ({ step, index, when })),
      );
      for (const plan of plans) {
        const label = `${kind}: crash ${plan.when} ${callsByStep[step][plan.index]} (#${plan.index}) in ${step}`;
        const secret = await newSecret(kind, `pingone/crash-${kind}-${step}-${plan.index}-${plan.when}`);
        const initial = world.pingOneSecret(secret).secret;
        secretsSeen.add(initial);
        const boundariesChecked: string[] = [];
        const harness = rotationHarness(world, {
          instantRetries: true,
          retryAfterMs: RETRY_AFTER_MS,
          afterStep: async (boundary, ok) => {
            // Invariant 1: AWSCURRENT authenticates at PingOne at every step boundary.
            const current = (await world.readSecretJson(secret.arn)).clientSecret as string;
            expect(await authenticates(secret, current), `${label}: AWSCURRENT after ${boundary.step}`).toBe(
              true,
            );
            boundariesChecked.push(`${boundary.attempt}:${boundary.step}:${ok ? 'ok' : 'failed'}`);
          },
        });
        harness.boundaries.plan = plan;
        const startedAt = world.sim.clock.now().getTime();

        const report = await harness.driver.rotate(secret.arn);
        const endedAt = world.sim.clock.now().getTime();

        expect(report.ok, `${label}: ${report.error}`).toBe(true);
        expect(boundariesChecked, `${label}: the crash failed attempt 1`).toContain(`1:${step}:failed`);
        expect(harness.handlersBuilt.count, `${label}: the retry ran in a new container`).toBe(2);
        // Invariant 2: at most one regenerate per rotation.
        expect(committedRegenerates(world.sim, secret.ownerId), label).toBe(1);
        // Invariant 3: Secrets Manager and PingOne agree, and the previous secret lives for the TTL.
        const pingone = world.pingOneSecret(secret);
        const current = (await world.readSecretJson(secret.arn)).clientSecret as string;
        const previous = (await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' }))
          .clientSecret as string;
        secretsSeen.add(current);
        expect(current, label).toBe(pingone.secret);
        expect(previous, label).toBe(initial);
        expect(pingone.previous?.secret, label).toBe(initial);
        const expiresAt = pingone.previous?.expiresAt.getTime() ?? 0;
        expect(expiresAt, label).toBeGreaterThanOrEqual(startedAt + TTL_MS);
        expect(expiresAt, label).toBeLessThanOrEqual(endedAt + TTL_MS);
        // Invariant 4: the ledger binds the owner to this secret and records this one rotation as finished.
        const record = await world.ledger.read(
          {
            kind: secret.kind,
            environmentId: secret.environmentId,
            id: secret.ownerId,
            region: secret.region,
          },
          { deadline: Date.now() + 10_000, now: Date.now },
        );
        expect(record?.binding?.secretArn, label).toBe(secret.arn);
        expect(record?.intent, label).toBeUndefined();
        expect(record?.history, label).toHaveLength(1);
        expect(record?.history[0], label).toMatchObject({ token: report.token, outcome: 'rotated' });
        const labels = Object.values(await world.labels(secret.arn)).flat();
        expect(labels.sort(), label).toEqual(['AWSCURRENT', 'AWSPREVIOUS']);
        for (const token of harness.rotationTokens) sensitiveSeen.add(token);
        for (const token of harness.boundaries.sensitive) sensitiveSeen.add(token);
      }
    });
  });
});

// A worker's own secret (issue 19): its credential is a Secrets Manager secret, rotated through the other worker
// of its organization. The hazard's two boundaries only (the matrix above covers the rest of the code path):
// a crash just after PingOne answered the regenerate, and just before AWSPENDING is stored.
describe("a worker's secret, rotated through the other worker", () => {
  it('converges after a crash around the regenerate', { timeout: 120_000 }, async () => {
    const home = world.sim.createEnvironment({ region: 'EU', name: 'Crash workers' });
    const workers = [world.sim.createWorker(home.id), world.sim.createWorker(home.id)];
    const secrets: OwnedSecret[] = [];
    for (const [i, worker] of workers.entries()) {
      secretsSeen.add(worker.clientSecret);
      const name = `pingone/crash-worker-${i}`;
      const { arn } = await world.secrets.create({
        name,
        secretString: JSON.stringify({
          environmentId: home.id,
          applicationId: worker.clientId,
          clientSecret: worker.clientSecret,
          region: 'EU',
        }),
      });
      secrets.push({
        arn,
        name,
        kind: 'application',
        environmentId: home.id,
        applicationId: worker.clientId,
        ownerId: worker.clientId,
        region: 'EU',
        tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
      });
    }
    const env = {
      PINGONE_WORKERS: JSON.stringify(
        secrets.map((secret, i) => ({ name: `w${i}`, region: 'EU', secret: secret.arn, environments: '*' })),
      ),
    };
    // A clean rotation of worker 1's secret (through worker 0) lists createSecret's calls.
    let calls: string[] = [];
    const clean = rotationHarness(world, {
      env,
      instantRetries: true,
      afterStep: async (boundary) => {
        if (boundary.step === 'createSecret') calls = [...clean.boundaries.calls];
      },
    });
    expect((await clean.driver.rotate(secrets[1]!.arn)).ok).toBe(true);
    expect(calls).toContain('pingone:POST /application/secret');
    const plans: [OwnedSecret, CrashPlan][] = [
      [
        secrets[0]!,
        { step: 'createSecret', index: calls.indexOf('pingone:POST /application/secret'), when: 'after' },
      ],
      [secrets[1]!, { step: 'createSecret', index: calls.lastIndexOf('sm:PutSecretValue'), when: 'before' }],
    ];
    for (const [secret, plan] of plans) {
      const label = `worker ${secret.name}: crash ${plan.when} ${calls[plan.index]}`;
      const initial = world.pingOneSecret(secret).secret;
      const regeneratesBefore = committedRegenerates(world.sim, secret.ownerId);
      const harness = rotationHarness(world, { env, instantRetries: true, retryAfterMs: RETRY_AFTER_MS });
      harness.boundaries.plan = plan;

      const report = await harness.driver.rotate(secret.arn);

      expect(report.ok, `${label}: ${report.error}`).toBe(true);
      expect(harness.handlersBuilt.count, label).toBe(2);
      expect(committedRegenerates(world.sim, secret.ownerId) - regeneratesBefore, label).toBe(1);
      const pingone = world.pingOneSecret(secret);
      const current = (await world.readSecretJson(secret.arn)).clientSecret as string;
      secretsSeen.add(current);
      expect(current, label).toBe(pingone.secret);
      expect(pingone.previous?.secret, label).toBe(initial);
      expect(await authenticates(secret, current), label).toBe(true);
      for (const token of [...harness.rotationTokens, ...harness.boundaries.sensitive])
        sensitiveSeen.add(token);
    }
  });
});

// Last in the file (tests run in order): scans the logs of every test above.
// Every encoding of every secret seen, over every test's logs: generous on a loaded machine.
it('the captured logs hold the expected lines and no secret, bearer token, worker credential or RotationToken', {
  timeout: 120_000,
}, () => {
  const text = output.captured;
  // The capture did see the function's logs (the crashes were logged as failed steps)…
  expect(text).toContain('"message":"rotation step failed"');
  // …and none of them holds a secret, a bearer token or a RotationToken.
  expect(logLeaks([...secretsSeen, ...sensitiveSeen])).toEqual([]);
});
