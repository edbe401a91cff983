/**
 * A local world to try `pingone-rotation` against: moto (Secrets Manager + SSM) and the PingOne simulator,
 * seeded with a resource to onboard and secrets in the states the CLI recovers from. Prints the environment
 * to use, then keeps running until Ctrl-C.
 *
 *   node --import tsx cli/demo-world.ts          # then, in another shell, paste the printed exports
 *   npm run cli -- status --secret-id pingone/search-api
 */

import { startLocalWorld } from '../local/world.js';
import { createLocalRotation, libraryHandler } from './local.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const world = await startLocalWorld({ previousSecretTtl: '7d' });
const local = createLocalRotation({
  endpoint: world.moto.url,
  secretsManager: world.secretsManager,
  loadHandler: () =>
    libraryHandler({ functionEnv: world.functionEnv, secretsManager: world.secretsManager, ssm: world.ssm }),
});
const { driver } = await local.driver({ maxAttempts: 1 });

// To onboard: a CUSTOM resource in an EU environment, and an OPENID_CONNECT resource next to it.
const eu = world.createEnvironment('EU');
const orders = world.sim.createResource(eu, { name: 'Orders API' });
const openid = world.sim.createResource(eu, { name: 'openid', type: 'OPENID_CONNECT' });

// pingone/billing-api: rotated once, then RotateSecret left an empty AWSPENDING (nothing ran).
const billing = await world.createRotatableSecret({
  name: 'pingone/billing-api',
  environmentId: eu,
  region: 'EU',
});
await must(driver.rotate(billing.arn));
await driver.startRotation(billing.arn);

// pingone/search-api: a rotation regenerated PingOne and stored AWSPENDING, then testSecret failed.
const search = await world.createRotatableSecret({
  name: 'pingone/search-api',
  environmentId: eu,
  region: 'EU',
});
await must(driver.rotate(search.arn));
world.sim.faults.failNext({ route: 'introspect', status: 401 });
await driver.rotate(search.arn);

// pingone/reports-api: someone regenerated the secret in the PingOne console, without a grace period.
const reports = await world.createRotatableSecret({
  name: 'pingone/reports-api',
  environmentId: eu,
  region: 'EU',
});
await must(driver.rotate(reports.arn));
world.sim.regenerateOutOfBand(reports.environmentId, reports.resourceId);

// pingone/payments-api: regenerated in the console with a two-day grace period: a half-done rotation.
const payments = await world.createRotatableSecret({
  name: 'pingone/payments-api',
  environmentId: eu,
  region: 'EU',
});
await must(driver.rotate(payments.arn));
world.sim.regenerateOutOfBand(payments.environmentId, payments.resourceId, {
  previousExpiresAt: new Date(Date.now() + 2 * 86_400_000),
});

const env = { ...world.awsEnv, ...world.functionEnv };
process.stdout.write(
  [
    `Local world up: moto ${world.moto.url}, PingOne simulator ${world.sim.baseUrl}`,
    '',
    'In another shell:',
    ...Object.entries(env).map(([key, value]) => `  export ${key}='${value}'`),
    '',
    `To onboard:  --environment-id ${eu} --resource-id ${orders.id} --pingone-region EU`,
    `Not CUSTOM:  --environment-id ${eu} --resource-id ${openid.id} --pingone-region EU`,
    'Secrets:     pingone/billing-api (empty AWSPENDING), pingone/search-api (AWSPENDING PingOne uses),',
    '             pingone/reports-api (drift), pingone/payments-api (grace: AWSCURRENT is PingOne previous)',
    '',
    'Ctrl-C stops moto and the simulator.',
    '',
  ].join('\n'),
);

async function must(report: Promise<{ ok: boolean; error?: string }>): Promise<void> {
  const done = await report;
  if (!done.ok) throw new Error(`seeding failed: ${done.error}`);
}

const stop = async () => {
  await world.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
setInterval(() => {}, 60_000);
