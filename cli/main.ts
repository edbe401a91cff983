#!/usr/bin/env node
/**
 * `pingone-rotation`: the operator CLI. Builds the real dependencies (AWS SDK clients on the default
 * credential chain, PingOne as the rotation function's worker, the terminal) and runs one command line.
 * Run it with `npm run cli -- <command> …`, `node --import tsx cli/main.ts …`, or the built
 * dist/cli/pingone-rotation.mjs (`node scripts/build-cli.mjs`).
 */
import { spawnSync } from 'node:child_process';
import { constants } from 'node:os';
import { createInterface } from 'node:readline/promises';
import type { RotationConfig } from '../lib/config.js';
import { SecretsStore } from '../lib/secrets/secrets-store.js';
import { createAwsClients } from './aws-clients.js';
import type { CliDeps, GlobalOptions } from './deps.js';
import { forTerminal } from './format.js';
import {
  awsEndpoint,
  bundledHandler,
  createLocalRotation,
  isLoopbackEndpoint,
  libraryHandler,
} from './local.js';
import { cliConfig, createPingOneAccess, type PingOneAccess } from './pingone-access.js';
import { runCli } from './run.js';

// This machine's Node 20 makes the SDK print a notice about a future Node 22 requirement: noise for a CLI.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// On a terminal, no line wider than the screen (prose is wrapped; data such as JSON is not).
const terminalOut = forTerminal(process.stdout);
const terminalErr = forTerminal(process.stderr);

function buildDeps(globals: GlobalOptions): CliDeps {
  // The flags also go to the environment, so the built rotation bundle (local world) sees the same AWS.
  if (globals.region) process.env.AWS_REGION = globals.region;
  if (globals.profile) process.env.AWS_PROFILE = globals.profile;
  if (globals.endpointUrl) process.env.AWS_ENDPOINT_URL = globals.endpointUrl;
  // Every client gives up on an attempt that does not answer (--aws-timeout): no silent hang.
  const { secretsManager, ssm, dynamodb } = createAwsClients({
    region: globals.region,
    profile: globals.profile,
    endpoint: globals.endpointUrl,
    ...(globals.awsTimeoutMs !== undefined ? { requestTimeoutMs: globals.awsTimeoutMs } : {}),
  });
  let config: RotationConfig | undefined;
  const getConfig = () => {
    config ??= cliConfig(process.env, globals.settings);
    return config;
  };
  let access: PingOneAccess | undefined;
  const pingone = () => {
    access ??= createPingOneAccess({
      env: process.env,
      flags: globals.settings,
      config: getConfig(),
      ssm,
      secrets: new SecretsStore(secretsManager),
    });
    return access;
  };
  const endpoint = awsEndpoint(globals.endpointUrl, process.env);
  const local =
    endpoint && isLoopbackEndpoint(endpoint)
      ? createLocalRotation({
          endpoint,
          secretsManager,
          loadHandler: async () => {
            const { functionEnv } = pingone();
            return (
              (await bundledHandler(functionEnv, globals.debug)) ??
              (await libraryHandler({ functionEnv, secretsManager, ssm, dynamodb, verbose: globals.debug }))
            );
          },
        })
      : undefined;
  return {
    secretsManager,
    dynamodb,
    config: getConfig,
    pingone,
    out: terminalOut,
    err: terminalErr,
    now: Date.now,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    prompt: process.stdin.isTTY
      ? async (question) => {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return await rl.question(question);
          } finally {
            rl.close();
          }
        }
      : undefined,
    local,
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      process.on('SIGTERM', handler);
      return () => {
        process.off('SIGINT', handler);
        process.off('SIGTERM', handler);
      };
    },
  };
}

// --debug prints stacks: with the source map that ships beside the bundle they name cli/… and lib/… lines
// instead of minified columns. Source maps only apply to code loaded after they are on, so this process runs
// itself again with --enable-source-maps (only under --debug: parsing the map costs every other run time).
if (process.argv.includes('--debug') && !process.sourceMapsEnabled) {
  // The child takes Ctrl-C itself (same process group); this one only waits for it.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => {});
  const child = spawnSync(
    process.execPath,
    ['--enable-source-maps', ...process.execArgv, ...process.argv.slice(1)],
    { stdio: 'inherit' },
  );
  process.exit(child.status ?? (child.signal ? 128 + (constants.signals[child.signal] ?? 0) : 1));
}

const code = await runCli(process.argv.slice(2), { out: terminalOut, err: terminalErr }, buildDeps);
// SDK keep-alive sockets (and the bundle's clients) must not hold the process open; flush, then exit.
await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
process.exit(code);
