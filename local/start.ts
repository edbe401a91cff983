/**
 * `npm start`: a real rotation on this machine. Starts moto and the PingOne simulator, creates a PingOne
 * environment + custom resource and the worker parameter, stores the resource's secret in Secrets Manager,
 * rotates it through the built bundle (dist/rotate/index.mjs) and tells the story. Leaves nothing running.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PingOneHttpClient } from '../lib/pingone/http-client.js';
import type { SecretOwner } from '../lib/pingone/types.js';
import { type InvokeFn, LocalRotationDriver, prepareLambdaEnvironment } from './driver.js';
import { startLocalWorld } from './world.js';

// This machine runs Node 20; the SDK's notice about its future Node 22 requirement is noise here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const started = Date.now();
const bundle = resolve('dist/rotate/index.mjs');
const logFile = resolve('.local-world/rotation.log');
const short = (id: string) => `${id.slice(0, 8)}…`;
const say = (line = '') => process.stdout.write(`${line}\n`);

/** Function log lines (JSON from Powertools) go to a file so the story stays readable. */
function captureFunctionLogs(): { stop(): string[] } {
  const lines: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    if (text.startsWith('{')) {
      lines.push(...text.split('\n').filter(Boolean));
      return true;
    }
    return (original as (...a: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    stop() {
      process.stdout.write = original;
      return lines;
    },
  };
}

async function main(): Promise<void> {
  const world = await startLocalWorld({ previousSecretTtl: '7d' });
  const logs = captureFunctionLogs();
  try {
    say(`PingOne simulator on ${world.sim.baseUrl}; moto (Secrets Manager + SSM) on ${world.moto.url}`);
    const secret = await world.createRotatableSecret({
      name: 'pingone/orders-api',
      region: 'EU',
      extra: { owner: 'team-orders' },
    });
    say(
      `PingOne: environment ${short(secret.environmentId)} (EU), custom resource ${short(secret.resourceId)}; ` +
        `worker credentials in SSM ${world.workerParameter}`,
    );
    const before = await world.labels(secret.arn);
    say(`Secrets Manager: ${secret.name} ${describeLabels(before)}`);

    // The bundle builds its AWS clients and reads its configuration from the environment, as in Lambda.
    Object.assign(process.env, world.awsEnv, world.functionEnv);
    prepareLambdaEnvironment();
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: InvokeFn };
    const driver = new LocalRotationDriver({ secretsManager: world.secretsManager, invoke: handler });

    say(`Rotating through ${bundle.replace(`${process.cwd()}/`, '')} …`);
    const report = await driver.rotate(secret.arn);
    say(`  ${report.steps.map((s) => `${s.step} ${s.ok ? '✓' : '✗'} ${s.ms} ms`).join('   ')}`);
    if (!report.ok) throw new Error(`rotation failed: ${report.error}`);

    const after = await world.labels(secret.arn);
    say(`Secrets Manager: ${secret.name} ${describeLabels(after)}`);

    const current = (await world.readSecretJson(secret.arn)).clientSecret as string;
    const previous = (await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' }))
      .clientSecret as string;
    const state = world.sim.readSecret(secret.environmentId, secret.resourceId);
    const expiresAt = state.previous?.expiresAt;
    const owner: SecretOwner = {
      kind: 'resource',
      environmentId: secret.environmentId,
      id: secret.resourceId,
      region: 'EU',
    };
    const authenticates = makeAuthenticator(world.functionEnv);

    say(`New secret (AWSCURRENT) authenticates at PingOne: ${yesNo(await authenticates(owner, current))}`);
    say(
      `Old secret (AWSPREVIOUS) still authenticates until ${expiresAt?.toISOString()} (7d grace): ` +
        yesNo(await authenticates(owner, previous)),
    );
    if (expiresAt) world.sim.clock.set(new Date(expiresAt.getTime() + 1_000));
    const oldAfterExpiry = await authenticates(owner, previous);
    say(
      `Simulator clock moved past that expiry: old secret ${oldAfterExpiry ? 'STILL ACCEPTED ✗' : 'rejected ✓'}; ` +
        `new secret ${(await authenticates(owner, current)) ? 'accepted ✓' : 'REJECTED ✗'}`,
    );
    if (oldAfterExpiry) throw new Error('the old secret outlived its grace period');
  } finally {
    const lines = logs.stop();
    mkdirSync(resolve('.local-world'), { recursive: true });
    writeFileSync(logFile, `${lines.join('\n')}\n`);
    await world.stop();
  }
  say(
    `Function logs: ${logFile.replace(`${process.cwd()}/`, '')}. Done in ${((Date.now() - started) / 1000).toFixed(1)} s; moto and the simulator are stopped.`,
  );
}

function describeLabels(versions: Record<string, string[]>): string {
  return Object.entries(versions)
    .map(([id, stages]) => `${short(id)} [${stages.join(', ')}]`)
    .join('  ');
}

function yesNo(value: boolean): string {
  return value ? 'yes ✓' : 'NO ✗';
}

/** Proves a secret the way testSecret does: token introspection as the resource. */
function makeAuthenticator(env: Readonly<Record<string, string>>) {
  const client = new PingOneHttpClient({
    apiUrlTemplate: env.PINGONE_API_URL ?? '',
    authUrlTemplate: env.PINGONE_AUTH_URL ?? '',
    workerCredentials: async () => {
      throw new Error('introspection needs no worker');
    },
  });
  return (owner: SecretOwner, secret: string) =>
    client.introspectWithSecret(owner, secret, 'CLIENT_SECRET_BASIC', { deadline: Date.now() + 10_000 });
}

main().catch((error: Error) => {
  process.stderr.write(`npm start failed: ${error.message}\n`);
  process.exitCode = 1;
});
