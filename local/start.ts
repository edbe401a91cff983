/**
 * `npm start`: real rotations on this machine. Starts moto and the PingOne simulator, creates a PingOne
 * environment with a custom resource and an OIDC application (CLIENT_SECRET_JWT) and the worker parameter,
 * stores both secrets in Secrets Manager, rotates them through the built bundle (dist/rotate/index.mjs, one
 * warm handler) and tells the story. Leaves nothing running.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ownerAuthenticator } from './authenticator.js';
import { type InvokeFn, LocalRotationDriver, prepareLambdaEnvironment } from './driver.js';
import { type LocalWorld, type OwnedSecret, ownerOfSecret, startLocalWorld } from './world.js';

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
  // Powertools writes INFO to stdout and WARN/ERROR (a refused rotation) to stderr.
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((stream) => stream.write.bind(stream));
  streams.forEach((stream, i) => {
    stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
      if (text.startsWith('{')) {
        lines.push(...text.split('\n').filter(Boolean));
        return true;
      }
      return (originals[i] as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
  });
  return {
    stop() {
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
      return lines;
    },
  };
}

/** The world being started or running; a signal or a failure stops whatever of it started. */
let starting: Promise<LocalWorld> | undefined;
let stopping = false;

/**
 * Ctrl-C in a terminal signals the whole foreground process group. moto runs in its own group (local/moto.ts),
 * so only this process hears it: it stops moto and the simulator, then exits 130.
 */
function onSignal(signal: NodeJS.Signals): void {
  if (stopping) return;
  stopping = true;
  process.stderr.write(`npm start: ${signal}: stopping moto and the PingOne simulator\n`);
  void (async () => {
    const world = await starting?.catch(() => undefined);
    await world?.stop().catch(() => {});
    process.stderr.write('npm start: stopped; nothing is left running\n');
    process.exit(130);
  })();
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);

async function main(): Promise<void> {
  starting = startLocalWorld({ previousSecretTtl: '7d' });
  const world = await starting;
  const logs = captureFunctionLogs();
  try {
    say(
      `PingOne simulator on ${world.sim.baseUrl}; moto (Secrets Manager, SSM, DynamoDB) on ${world.moto.directUrl}; ` +
        `rotation ledger: table ${world.ledgerTable}`,
    );
    const resource = await world.createRotatableSecret({
      name: 'pingone/orders-api',
      region: 'EU',
      extra: { owner: 'team-orders' },
    });
    const app = await world.createRotatableApplicationSecret({
      name: 'pingone/storefront-web',
      region: 'EU',
      environmentId: resource.environmentId,
      tokenEndpointAuthMethod: 'CLIENT_SECRET_JWT',
      extra: { owner: 'team-web' },
    });
    say(
      `PingOne: environment ${short(resource.environmentId)} (EU), custom resource ${short(resource.resourceId)} and ` +
        `OIDC application ${short(app.applicationId)} (WEB_APP, CLIENT_SECRET_JWT); worker credentials in SSM ` +
        world.workerParameter,
    );

    // The bundle builds its AWS clients and reads its configuration from the environment, as in Lambda.
    Object.assign(process.env, world.awsEnv, world.functionEnv);
    prepareLambdaEnvironment();
    const { handler } = (await import(pathToFileURL(bundle).href)) as { handler: InvokeFn };
    const driver = new LocalRotationDriver({ secretsManager: world.secretsManager, invoke: handler });
    const authenticates = ownerAuthenticator(world.sim);

    const rotated: { secret: OwnedSecret; current: string; previous: string; what: string }[] = [];
    for (const [secret, what] of [
      [resource, 'resource secret (introspection, Basic)'],
      [app, 'application secret (introspection, client_secret_jwt assertion)'],
    ] as const) {
      say(`Secrets Manager: ${secret.name} ${describeLabels(await world.labels(secret.arn))}`);
      say(`Rotating ${secret.name} (${secret.kind}) through ${bundle.replace(`${process.cwd()}/`, '')} …`);
      const report = await driver.rotate(secret.arn);
      say(`  ${report.steps.map((s) => `${s.step} ${s.ok ? '✓' : '✗'} ${s.ms} ms`).join('   ')}`);
      if (!report.ok) throw new Error(`rotation of ${secret.name} failed: ${report.error}`);
      say(`Secrets Manager: ${secret.name} ${describeLabels(await world.labels(secret.arn))}`);
      const current = (await world.readSecretJson(secret.arn)).clientSecret as string;
      const previous = (await world.readSecretJson(secret.arn, { stage: 'AWSPREVIOUS' }))
        .clientSecret as string;
      const expiresAt = world.pingOneSecret(secret).previous?.expiresAt;
      say(`New secret (AWSCURRENT) authenticates at PingOne: ${yesNo(await authenticates(secret, current))}`);
      say(
        `Old secret (AWSPREVIOUS) still authenticates until ${expiresAt?.toISOString()} (7d grace): ` +
          yesNo(await authenticates(secret, previous)),
      );
      const record = await world.ledger.read(ownerOfSecret(secret), {
        deadline: Date.now() + 10_000,
        now: Date.now,
      });
      const run = record?.history[0];
      say(
        `Rotation ledger: ${secret.kind} ${short(secret.ownerId)} bound to ${secret.name} ` +
          `(${record?.binding?.how === 'rotation' ? 'claimed by this first rotation: AWSCURRENT was PingOne’s current secret' : record?.binding?.how}); ` +
          `intent recorded before the regenerate, run ${run?.outcome ?? 'unfinished'}`,
      );
      rotated.push({ secret, current, previous, what });
    }

    // A second secret naming the same resource (a copy, or an attacker's) is refused before PingOne is called.
    const copy = await world.secrets.create({
      name: 'pingone/orders-api-copy',
      secretString: JSON.stringify(await world.readSecretJson(resource.arn, { stage: 'AWSPREVIOUS' })),
    });
    const callsBefore = world.sim.requests.length;
    const refused = await new LocalRotationDriver({
      secretsManager: world.secretsManager,
      invoke: handler,
      maxAttempts: 1,
    }).rotate(copy.arn);
    const boundElsewhere = !refused.ok && /belongs to secret/.test(refused.error ?? '');
    const untouched = world.sim.requests.length === callsBefore;
    say(
      `A second secret naming that resource (pingone/orders-api-copy, holding its old secret) rotates: ` +
        `${boundElsewhere ? 'refused ✓' : 'NOT REFUSED ✗'} (the ledger binds it to pingone/orders-api), ` +
        `${untouched ? 'no PingOne call ✓' : 'PINGONE CALLED ✗'}`,
    );
    if (!boundElsewhere || !untouched)
      throw new Error('a second secret for a bound resource was not refused');

    const latest = Math.max(
      ...rotated.map((r) => world.pingOneSecret(r.secret).previous?.expiresAt.getTime() ?? 0),
    );
    world.sim.clock.set(new Date(latest + 1_000));
    for (const { secret, current, previous } of rotated) {
      const oldAfterExpiry = await authenticates(secret, previous);
      say(
        `Simulator clock moved past that expiry (${secret.kind}): old secret ${oldAfterExpiry ? 'STILL ACCEPTED ✗' : 'rejected ✓'}; ` +
          `new secret ${(await authenticates(secret, current)) ? 'accepted ✓' : 'REJECTED ✗'}`,
      );
      if (oldAfterExpiry) throw new Error(`the old secret of ${secret.name} outlived its grace period`);
    }
  } finally {
    const lines = logs.stop();
    mkdirSync(resolve('.local-world'), { recursive: true });
    writeFileSync(logFile, `${lines.join('\n')}\n`);
    await world.stop();
  }
  say(
    `Function logs: ${logFile.replace(`${process.cwd()}/`, '')}. Done in ${((Date.now() - started) / 1000).toFixed(1)} s; moto and the simulator are stopped.`,
  );
  say(
    'Next: `npm run demo` starts a local world to try the CLI on (secrets in every state it recovers from).',
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

main().then(
  () => {
    if (!stopping) process.exit(0);
  },
  (error: Error) => {
    if (stopping) return;
    // main's finally stopped the world if it was up; startLocalWorld stops what it started when it fails.
    process.stderr.write(`npm start failed: ${error.message}\n`);
    process.exit(1);
  },
);
