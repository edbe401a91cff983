/**
 * Runs the PingOne simulator on its own: `npx tsx local/pingone-simulator/main.ts [--port N] [--seed REGION]`.
 * `--seed` creates an environment with a CUSTOM resource and a worker and prints them. Stops on SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import { isRegion } from '../../lib/pingone/regions.js';
import { startPingOneSimulator } from './simulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', short: 'p', default: '0' },
    seed: { type: 'string' },
  },
});

const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be an integer between 0 and 65535, got ${values.port}`);
  process.exit(2);
}
const seedRegion = values.seed?.toUpperCase();
if (seedRegion !== undefined && !isRegion(seedRegion)) {
  console.error(`--seed must be a region code (NA, EU, CA, AU, SG, AP), got ${values.seed}`);
  process.exit(2);
}

const sim = await startPingOneSimulator({ port });
console.log(`PingOne simulator listening on ${sim.baseUrl}`);
console.log(`  API URL template:  ${sim.apiUrlTemplate}`);
console.log(`  auth URL template: ${sim.authUrlTemplate}`);
console.log(`  admin API:         ${sim.adminUrl} (e.g. GET ${sim.adminUrl}/state)`);

if (seedRegion !== undefined) {
  const environment = sim.createEnvironment({ region: seedRegion, name: 'simulator-demo' });
  const resource = sim.createResource(environment.id, { name: 'demo-api' });
  const worker = sim.createWorker(environment.id);
  console.log(JSON.stringify({ environment, resource, worker }, null, 2));
}

const shutdown = (signal: string) => {
  console.log(`${signal}: stopping the simulator`);
  void sim.stop().then(() => process.exit(0));
};
process.once('SIGINT', () => shutdown('SIGINT'));
process.once('SIGTERM', () => shutdown('SIGTERM'));
