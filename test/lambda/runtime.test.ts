import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalRotationDriver } from '../../local/driver.js';
import {
  type LambdaFilesystem,
  type LambdaProcess,
  launcherFlags,
  prepareLambdaFilesystem,
  startLambdaProcess,
} from '../../local/lambda-runtime/lambda-process.js';
import { findLambdaToolchain } from '../../local/lambda-runtime/toolchain.js';
import type { LocalWorld } from '../../local/world.js';
import { describeLeaks } from '../support/leaks.js';
import { packageService } from '../support/osls-package.js';
import { startWorld } from '../support/world.js';

/**
 * The packaged artifact under the real runtime interface client (aws-lambda-ric) on Node 24 with the
 * nodejs24.x launcher's flags, Lambda's environment, a non-root user and a read-only task root, driven
 * through a Runtime API emulator against moto and the PingOne simulator.
 *
 * Needs Node 24 (installed from the npm registry into .cache/) and g++/cmake/make to build the RIC; without
 * them it is skipped with the reason. In CI (CI=true or REQUIRE_LAMBDA_RUNTIME=1) it fails instead, unless
 * PINGONE_SKIP_LAMBDA_RUNTIME=1 asks explicitly (.ci/run's second, Node 24 pass: it already ran).
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const toolchain = await findLambdaToolchain(root);
const required =
  (process.env.CI === 'true' || process.env.REQUIRE_LAMBDA_RUNTIME === '1') &&
  process.env.PINGONE_SKIP_LAMBDA_RUNTIME !== '1';
if (!toolchain.ok) {
  if (required) throw new Error(`Lambda runtime test cannot run, and CI requires it: ${toolchain.reason}`);
  console.warn(`SKIPPED test/lambda/runtime.test.ts: ${toolchain.reason}`);
}

const MEMORY_MB = 256;
const HANDLER = 'functions/rotate.handler';
let workDir: string;
let zip: string;
let fs: LambdaFilesystem;
let world: LocalWorld;
const started: LambdaProcess[] = [];
const sensitive = new Set<string>();

function functionEnv(): Record<string, string> {
  return {
    ...world.functionEnv,
    ...world.awsEnv,
    AWS_SESSION_TOKEN: 'local-session-token',
    // What serverless.yml sets besides the world's PingOne settings.
    PINGONE_ALLOWED_ENVIRONMENTS: '',
    POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation',
    POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
    POWERTOOLS_LOG_LEVEL: 'INFO',
  };
}

async function launch(handler = HANDLER): Promise<LambdaProcess> {
  if (!toolchain.ok) throw new Error(toolchain.reason);
  const lambda = await startLambdaProcess({
    fs,
    node: toolchain.node,
    handler,
    memoryMb: MEMORY_MB,
    env: functionEnv(),
  });
  started.push(lambda);
  return lambda;
}

describe.skipIf(!toolchain.ok)('the packaged function under aws-lambda-ric on Node 24', () => {
  beforeAll(async () => {
    if (!toolchain.ok) return;
    workDir = await mkdtemp(join(tmpdir(), 'pingone-lambda-'));
    const packageDir = join(workDir, 'package');
    await packageService(packageDir);
    zip = join(packageDir, 'pingone-secret-rotation.zip');
    [fs, world] = await Promise.all([
      prepareLambdaFilesystem({ zip, ricEntry: toolchain.ricEntry }),
      startWorld(),
    ]);
    sensitive.add(world.worker.clientSecret);
  }, 150_000);

  afterAll(async () => {
    await Promise.all(started.map((lambda) => lambda.stop()));
    await world?.stop();
    await fs?.remove();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('uses the nodejs24.x launcher flags for the memory size', () => {
    expect(launcherFlags(128)).toEqual([
      '--expose-gc',
      '--max-http-header-size',
      '81920',
      '--max-semi-space-size=6',
      '--max-old-space-size=116',
    ]);
    expect(launcherFlags(256).slice(3)).toEqual(['--max-semi-space-size=12', '--max-old-space-size=231']);
  });

  it('runs full rotations (custom resources and an OIDC application) as a non-root user from a read-only task root', async () => {
    const lambda = await launch();
    const init = await lambda.init;
    expect(init).toMatchObject({ ok: true });

    // Not root, and the task root cannot be written by the function's user.
    const status = await readFile(`/proc/${lambda.pid}/status`, 'utf8');
    const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
    expect(uid).not.toBe(0);
    const taskRoot = await stat(fs.taskRoot);
    expect(taskRoot.mode & 0o222).toBe(0);
    const write = spawnSync(
      toolchain.ok ? toolchain.node : 'false',
      ['-e', `require('fs').writeFileSync(${JSON.stringify(join(fs.taskRoot, 'x'))}, 'x')`],
      { uid, gid: uid, encoding: 'utf8' },
    );
    expect(write.status).not.toBe(0);
    expect(write.stderr).toMatch(/EACCES/);
    // The node process runs with the launcher's flags.
    const cmdline = (await readFile(`/proc/${lambda.pid}/cmdline`, 'utf8')).split('\0');
    expect(cmdline).toEqual(expect.arrayContaining(launcherFlags(MEMORY_MB)));

    const requestIds: string[] = [];
    const traceIds: string[] = [];
    const driver = new LocalRotationDriver({
      secretsManager: world.secretsManager,
      functionTimeoutMs: 90_000,
      newRotationToken: () => {
        const token = `rt-${Math.random().toString(36).slice(2)}-${Date.now().toString(36)}-lambda`;
        sensitive.add(token);
        return token;
      },
      invoke: async (event) => {
        const result = await lambda.invoke(event, 90_000);
        requestIds.push(result.requestId);
        traceIds.push(result.traceId);
        if (!result.ok) throw new Error(`${result.errorType}: ${result.errorMessage}`);
        return undefined;
      },
    });

    // Two custom resources' secrets and an OIDC application's.
    const resources = [
      await world.createRotatableSecret({ name: 'pingone/lambda-a', region: 'EU' }),
      await world.createRotatableSecret({ name: 'pingone/lambda-b', region: 'NA' }),
    ].map((s) => ({
      arn: s.arn,
      environmentId: s.environmentId,
      ownerId: s.resourceId,
      kind: 'resource' as const,
    }));
    const appEnvironment = world.createEnvironment('EU');
    const app = world.sim.createApplication(appEnvironment);
    sensitive.add(app.secret);
    const appSecret = await world.secretsManager.send(
      new CreateSecretCommand({
        Name: 'pingone/lambda-app',
        SecretString: JSON.stringify({
          environmentId: appEnvironment,
          applicationId: app.id,
          clientSecret: app.secret,
          region: 'EU',
        }),
      }),
    );
    const application = {
      arn: appSecret.ARN ?? 'pingone/lambda-app',
      environmentId: appEnvironment,
      ownerId: app.id,
      kind: 'application' as const,
    };
    const rotations = [resources[0], resources[1], resources[0], application];
    for (const secret of rotations) {
      if (!secret) throw new Error('no secret');
      const before = world.sim.readSecret(secret.environmentId, secret.ownerId, secret.kind).secret;
      sensitive.add(before);
      const report = await driver.rotate(secret.arn);
      expect(report, report.error).toMatchObject({ ok: true, attempts: 1 });
      const after = world.sim.readSecret(secret.environmentId, secret.ownerId, secret.kind);
      sensitive.add(after.secret);
      expect(after.secret).not.toBe(before);
      expect(after.previous?.secret).toBe(before);
      expect((await world.readSecretJson(secret.arn)).clientSecret).toBe(after.secret);
      expect((await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' })).clientSecret).toBe(before);
    }
    expect(requestIds).toHaveLength(16);
    expect(new Set(requestIds).size).toBe(16);

    // Every invocation went through the Runtime API and was answered on its own request id.
    const calls = lambda.api.calls;
    expect(calls.filter((c) => c === 'GET /2018-06-01/runtime/invocation/next')).toHaveLength(17);
    expect(calls.filter((c) => c.endsWith('/response'))).toEqual(
      requestIds.map((id) => `POST /2018-06-01/runtime/invocation/${id}/response`),
    );

    // Powertools saw the Lambda context: cold start once, request and trace ids from the Runtime API.
    const successes = lambda.records().filter((r) => r.message === 'rotation step succeeded');
    expect(successes).toHaveLength(16);
    expect(successes.map((r) => r.cold_start)).toEqual([true, ...Array(15).fill(false)]);
    expect(successes.map((r) => r.function_request_id)).toEqual(requestIds);
    expect(successes[0]).toMatchObject({
      function_name: 'pingone-secret-rotation-local-rotate',
      function_memory_size: String(MEMORY_MB),
      xray_trace_id: traceIds[0]?.split(';')[0]?.replace('Root=', ''),
    });
    const coldStartMetrics = lambda.records().filter((r) => r._aws !== undefined && 'ColdStart' in r);
    expect(coldStartMetrics).toHaveLength(1);
    expect(coldStartMetrics[0]).toMatchObject({ ColdStart: 1, function_name: expect.any(String) });

    for (const token of world.sim.issuedTokens()) sensitive.add(token);
    expect(describeLeaks(lambda.output(), sensitive)).toEqual([]);
  }, 120_000);

  it('passes the deadline header through to the function, and lives on after a function error', async () => {
    const lambda = await launch();
    expect(await lambda.init).toMatchObject({ ok: true });
    const secret = await world.createRotatableSecret({ name: 'pingone/lambda-deadline', region: 'EU' });
    const before = world.sim.readSecret(secret.environmentId, secret.resourceId).secret;
    sensitive.add(before);
    const token = await new LocalRotationDriver({
      secretsManager: world.secretsManager,
      invoke: async () => undefined,
    }).startRotation(secret.arn);
    const pingOneCalls = world.sim.requests.length;

    // 2.6 s of function time minus the handler's 2.5 s margin: too little to start a PingOne call.
    const result = await lambda.invoke(
      { Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: token },
      2_600,
    );
    expect(result).toMatchObject({ ok: false, errorType: 'DeadlineExceededError' });
    expect(result.ok ? '' : result.errorMessage).toMatch(/before the Lambda deadline/);
    // Refused before PingOne was called at all: nothing regenerated.
    expect(world.sim.requests.length).toBe(pingOneCalls);
    expect(world.sim.readSecret(secret.environmentId, secret.resourceId).secret).toBe(before);
    // The runtime lives on after a function error: the same step with the full timeout regenerates once.
    const retry = await lambda.invoke(
      { Step: 'createSecret', SecretId: secret.arn, ClientRequestToken: token },
      90_000,
    );
    expect(retry, retry.ok ? '' : retry.errorMessage).toMatchObject({ ok: true });
    const after = world.sim.readSecret(secret.environmentId, secret.resourceId);
    sensitive.add(after.secret);
    expect(after.previous?.secret).toBe(before);
    expect(lambda.output()).toContain(result.requestId);
    expect(describeLeaks(lambda.output(), sensitive)).toEqual([]);
  }, 60_000);

  it.each([
    ['functions/rotate.nope', 'Runtime.HandlerNotFound'],
    ['functions/missing.handler', 'Runtime.ImportModuleError'],
  ])(
    'reports the wrong Handler %s as an init error (%s) and exits',
    async (handler, errorType) => {
      const lambda = await launch(handler);
      const init = await lambda.init;
      expect(init).toMatchObject({ ok: false, errorType });
      const exit = await lambda.exited;
      expect(exit.code).not.toBe(0);
      expect(lambda.api.calls).toEqual(['POST /2018-06-01/runtime/init/error']);
    },
    30_000,
  );
});
