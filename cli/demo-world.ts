/**
 * A local world to try `pingone-rotation` against: moto (Secrets Manager + SSM) and the PingOne simulator,
 * seeded with a resource to onboard and secrets in the states the CLI recovers from. Prints the environment
 * to use, then keeps running until Ctrl-C.
 *
 *   npm run demo          # then, in another shell, paste the printed exports
 *   pingone-rotation status --secret-id pingone/search-api
 *
 * Ctrl-C (or SIGTERM, SIGHUP) while seeding stops at a step boundary, never inside a rotation step, says where
 * it stopped, and exits 130; afterwards it stops moto and the simulator and exits 130. moto runs in its own
 * process group (local/moto.ts), so a terminal's Ctrl-C reaches only this process, which stops it. When the
 * world cannot start (moto_server missing), it says why and exits 1, leaving nothing running.
 * DEMO_WORLD_SLOW_REGENERATE_MS delays every regenerate's answer (a slow PingOne, to try Ctrl-C on).
 */

import { fileURLToPath } from 'node:url';
import { RESOURCE_TAG } from '../lib/config.js';
import { PingOneHttpClient } from '../lib/pingone/http-client.js';
import type { PingOneRegion } from '../lib/pingone/regions.js';
import { ALL_STEPS, type LocalRotationDriver, type RotationReport } from '../local/driver.js';
import { type LocalWorld, startLocalWorld } from '../local/world.js';
import { EXIT } from './errors.js';
import { createLocalRotation, libraryHandler } from './local.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const stop = new AbortController();
let interrupted: NodeJS.Signals | undefined;
let world: LocalWorld | undefined;
let seeded = false;
let shuttingDown = false;

/** Why seeding stopped: a signal, at a step boundary. */
class Interrupted extends Error {}

async function shutDown(code: number): Promise<never> {
  if (!shuttingDown) {
    shuttingDown = true;
    await world?.stop();
  }
  process.exit(code);
}

const onSignal = (signal: NodeJS.Signals) => {
  if (seeded) {
    process.stdout.write(
      `\nStopped (${signal}): moto and the PingOne simulator are down; nothing of the world is kept.\n`,
    );
    void shutDown(EXIT.interrupted);
    return;
  }
  if (interrupted) {
    process.stderr.write('demo-world: still stopping: the running step finishes first\n');
    return;
  }
  interrupted = signal;
  process.stderr.write(`demo-world: ${signal}: stopping at the next step boundary\n`);
  stop.abort(signal);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('SIGHUP', onSignal);

const checkpoint = (what: string) => {
  if (interrupted) throw new Interrupted(`before ${what}`);
};

try {
  await seed();
} catch (error) {
  if (!(error instanceof Interrupted)) {
    // startLocalWorld stops what it started when it fails; a later failure leaves a world to stop.
    await world?.stop();
    if (interrupted) await shutDown(EXIT.interrupted);
    process.stderr.write(`demo-world: ${error instanceof Error ? error.message : String(error)}\n`);
    if (process.env.DEMO_WORLD_DEBUG && error instanceof Error) process.stderr.write(`${error.stack}\n`);
    process.exit(1);
  }
  process.stdout.write(
    [
      `Interrupted (${interrupted}) while seeding, ${error.message}: stopped at a step boundary, no step was cut short.`,
      'The local world is stopping: moto and the simulator keep nothing after this process, so there is nothing to clean up.',
      'To start again: npm run demo',
      '',
    ].join('\n'),
  );
  await shutDown(EXIT.interrupted);
}

async function seed(): Promise<void> {
  process.stdout.write('Starting moto and the PingOne simulator…\n');
  world = await startLocalWorld({ previousSecretTtl: '7d' });
  const w = world;
  checkpoint('seeding');
  const slow = Number(process.env.DEMO_WORLD_SLOW_REGENERATE_MS ?? '0');
  if (slow > 0) w.sim.faults.delay({ route: 'secret', method: 'POST', ms: slow, count: 1_000 });
  const local = createLocalRotation({
    endpoint: w.moto.url,
    secretsManager: w.secretsManager,
    loadHandler: () =>
      libraryHandler({
        functionEnv: w.functionEnv,
        secretsManager: w.secretsManager,
        ssm: w.ssm,
        dynamodb: w.dynamodb,
      }),
  });
  const { driver } = await local.driver({ maxAttempts: 1 });

  // To onboard: a CUSTOM resource in an EU environment, and an OPENID_CONNECT resource next to it.
  const eu = w.createEnvironment('EU');
  const orders = w.sim.createResource(eu, { name: 'Orders API' });
  const openid = w.sim.createResource(eu, { name: 'openid', type: 'OPENID_CONNECT' });
  const secret = async (name: string, tags?: Record<string, string>) => {
    checkpoint(`creating ${name}`);
    process.stdout.write(`Seeding ${name}…\n`);
    return w.createRotatableSecret({
      name,
      environmentId: eu,
      region: 'EU' as PingOneRegion,
      ...(tags ? { tags } : {}),
    });
  };

  // pingone/billing-api: rotated once, then RotateSecret left an empty AWSPENDING (nothing ran).
  const billing = await secret('pingone/billing-api');
  await must(billing.name, rotate(driver, billing.arn));
  checkpoint(`the AWSPENDING placeholder of ${billing.name}`);
  await driver.startRotation(billing.arn);

  // pingone/search-api: a rotation regenerated PingOne and stored AWSPENDING, then testSecret failed.
  const search = await secret('pingone/search-api');
  await must(search.name, rotate(driver, search.arn));
  w.sim.faults.failNext({ route: 'introspect', status: 401 });
  const failed = await rotate(driver, search.arn);
  if (failed.stoppedBefore) throw new Interrupted(`in ${search.name}, before ${failed.stoppedBefore}`);

  // pingone/reports-api: someone regenerated the secret in the PingOne console, without a grace period.
  const reports = await secret('pingone/reports-api');
  await must(reports.name, rotate(driver, reports.arn));
  w.sim.regenerateOutOfBand(reports.environmentId, reports.resourceId);

  // pingone/payments-api: regenerated in the console with a two-day grace period. The rotation ledger records no
  // regenerate by the function, so status calls it drift (a rotation would refuse to adopt it), not grace.
  const payments = await secret('pingone/payments-api');
  await must(payments.name, rotate(driver, payments.arn));
  w.sim.regenerateOutOfBand(payments.environmentId, payments.resourceId, {
    previousExpiresAt: new Date(Date.now() + 2 * 86_400_000),
  });
  // pingone/inventory-api: rotated with a 12-hour TTL, and a lagging consumer keeps authenticating with the
  // previous secret (every minute, as long as the world runs): previous-in-use-near-expiry.
  const inventory = await secret('pingone/inventory-api', { 'pingone:previous-secret-ttl': '12h' });
  // The secret the consumer cached before the rotation.
  const lagging = (await w.readSecretJson(inventory.arn)).clientSecret as string;
  await must(inventory.name, rotate(driver, inventory.arn));
  const consumer = new PingOneHttpClient({
    apiUrlTemplate: w.sim.apiUrlTemplate,
    authUrlTemplate: w.sim.authUrlTemplate,
    workerCredentials: async () => {
      throw new Error('a consumer needs no worker');
    },
  });
  const useLaggingSecret = () =>
    consumer
      .introspectWithSecret(
        { kind: 'resource', environmentId: eu, id: inventory.resourceId, region: 'EU' },
        lagging,
        'CLIENT_SECRET_BASIC',
        { deadline: Date.now() + 10_000 },
      )
      .catch(() => false);
  await useLaggingSecret();
  setInterval(() => void useLaggingSecret(), 60_000).unref();

  // pingone/orders-api-legacy and pingone/orders-api-copy: two secrets naming one PingOne resource.
  const legacy = await secret('pingone/orders-api-legacy');
  await must(legacy.name, rotate(driver, legacy.arn));
  await w.secrets.tag(legacy.arn, { [RESOURCE_TAG]: legacy.resourceId });
  checkpoint('creating pingone/orders-api-copy');
  await w.secrets.create({
    name: 'pingone/orders-api-copy',
    secretString: JSON.stringify(await w.readSecretJson(legacy.arn)),
    tags: { [RESOURCE_TAG]: legacy.resourceId },
  });
  await driver.testOnly('pingone/orders-api-copy');

  // pingone/cache-api: a 30-minute previous-secret TTL, shorter than consumers cache the secret (a warning).
  const cache = await secret('pingone/cache-api', { 'pingone:previous-secret-ttl': '30m' });
  await must(cache.name, rotate(driver, cache.arn));

  // pingone/ledger-api: its next rotation was due two days ago and never ran (moto's clock cannot move; the
  // local world's moto backdates a tagged secret's NextRotationDate, see local/moto-patches).
  const overdue = await secret('pingone/ledger-api', { 'local:next-rotation-days-ago': '2' });
  await must(overdue.name, rotate(driver, overdue.arn));

  if (slow > 0) w.sim.faults.clear();
  checkpoint('printing the environment');
  seeded = true;

  const env = { ...w.awsEnv, ...w.functionEnv };
  process.stdout.write(
    [
      `Local world up: moto ${w.moto.url}, PingOne simulator ${w.sim.baseUrl}`,
      '',
      'In another shell:',
      ...Object.entries(env).map(([key, value]) => `  export ${key}='${value}'`),
      `  alias pingone-rotation='node ${fileURLToPath(new URL('../dist/cli/pingone-rotation.mjs', import.meta.url))}'`,
      '',
      `To onboard:  --environment-id ${eu} --resource-id ${orders.id} --pingone-region EU`,
      `Not CUSTOM:  --environment-id ${eu} --resource-id ${openid.id} --pingone-region EU`,
      'Secrets:     pingone/billing-api (empty AWSPENDING), pingone/search-api (AWSPENDING PingOne uses),',
      '             pingone/reports-api (drift), pingone/payments-api (drift: regenerated in the console, with grace),',
      '             pingone/inventory-api (previous-in-use-near-expiry: a consumer still uses the previous secret),',
      '             pingone/orders-api-legacy + pingone/orders-api-copy (duplicate-owner),',
      '             pingone/ledger-api (rotation-overdue), pingone/cache-api (warning: previous-secret TTL 30m)',
      'The fleet:   pingone-rotation audit --prefix pingone/',
      '',
      'Ctrl-C stops moto and the simulator.',
      '',
    ].join('\n'),
  );
  setInterval(() => {}, 60_000);
}

/** A full rotation that stops at a step boundary once a signal came. */
async function rotate(driver: LocalRotationDriver, arn: string): Promise<RotationReport> {
  const token = await driver.startRotation(arn);
  return driver.run(arn, token, ALL_STEPS, undefined, { signal: stop.signal });
}

async function must(name: string, report: Promise<RotationReport>): Promise<void> {
  const done = await report;
  if (done.stoppedBefore) {
    const last = done.steps.at(-1);
    throw new Interrupted(
      `in ${name}, ${last ? `after ${last.step}` : 'after RotateSecret'}, before ${done.stoppedBefore}`,
    );
  }
  if (!done.ok) throw new Error(`seeding failed: ${done.error}`);
}
