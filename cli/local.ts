/**
 * The local world has no rotation service and no Lambda runtime: moto stores secrets but cannot invoke a
 * function. There, `rotate` (and `onboard`'s test of a new rotation configuration) play Secrets Manager's
 * part with local/driver.ts and run the rotation handler in this process.
 */
import { existsSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SSMClient } from '@aws-sdk/client-ssm';
import type { SecretsStore } from '../lib/secrets/secrets-store.js';
import {
  type InvokeFn,
  LocalRotationDriver,
  prepareLambdaEnvironment,
  type StepBoundary,
  type StepReport,
} from '../local/driver.js';
import { MotoSecretsStore } from '../local/moto-secrets.js';

type Env = Readonly<Record<string, string | undefined>>;

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** The AWS endpoint the CLI talks to, when it is not AWS's own: --endpoint-url or the SDK's variables. */
export function awsEndpoint(flag: string | undefined, env: Env): string | undefined {
  return flag ?? env.AWS_ENDPOINT_URL_SECRETS_MANAGER ?? env.AWS_ENDPOINT_URL ?? undefined;
}

/** A loopback endpoint (moto): the local world, with no rotation service behind it. */
export function isLoopbackEndpoint(endpoint: string | undefined): boolean {
  if (!endpoint) return false;
  try {
    const host = new URL(endpoint).hostname;
    return LOOPBACK.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
  } catch {
    return false;
  }
}

export interface LoadedHandler {
  readonly invoke: InvokeFn;
  /** Where the handler came from, said to the operator. */
  readonly source: string;
}

export interface DriverHooks {
  readonly beforeStep?: (boundary: StepBoundary) => Promise<void> | void;
  readonly afterStep?: (boundary: StepBoundary, report: StepReport) => Promise<void> | void;
  readonly rotationLambdaArn?: string;
  readonly rotationDays?: number;
  readonly maxAttempts?: number;
}

/** Rotation in the local world: the rotation service played by LocalRotationDriver. */
export interface LocalRotation {
  /** The loopback AWS endpoint (moto). */
  readonly endpoint: string;
  /** The Secrets Manager adapter for moto (local/moto-secrets.ts). */
  readonly secrets: SecretsStore;
  /** Loads the handler once and returns a driver around it. */
  driver(hooks?: DriverHooks): Promise<{ driver: LocalRotationDriver; source: string }>;
}

export function createLocalRotation(options: {
  readonly endpoint: string;
  readonly secretsManager: SecretsManagerClient;
  readonly loadHandler: () => Promise<LoadedHandler>;
}): LocalRotation {
  let loaded: Promise<LoadedHandler> | undefined;
  return {
    endpoint: options.endpoint,
    secrets: new MotoSecretsStore(options.secretsManager),
    async driver(hooks = {}) {
      loaded ??= options.loadHandler();
      const handler = await loaded;
      const driver = new LocalRotationDriver({
        secretsManager: options.secretsManager,
        invoke: handler.invoke,
        ...(hooks.beforeStep ? { beforeStep: hooks.beforeStep } : {}),
        ...(hooks.afterStep ? { afterStep: hooks.afterStep } : {}),
        ...(hooks.rotationLambdaArn ? { rotationLambdaArn: hooks.rotationLambdaArn } : {}),
        ...(hooks.rotationDays ? { rotationDays: hooks.rotationDays } : {}),
        ...(hooks.maxAttempts ? { maxAttempts: hooks.maxAttempts } : {}),
      });
      return { driver, source: handler.source };
    },
  };
}

/** Candidate paths of the built rotation bundle: next to this file in the repository, or in dist/. */
function bundleCandidates(): string[] {
  return [
    fileURLToPath(new URL('../dist/rotate/index.mjs', import.meta.url)),
    fileURLToPath(new URL('../rotate/index.mjs', import.meta.url)),
  ];
}

/**
 * The built bundle (dist/rotate/index.mjs, what deploys), when it exists. It builds its AWS clients and
 * reads its configuration from process.env, as in Lambda, so the function's variables are set first. Its
 * logs and metrics are silenced unless `verbose`.
 */
export async function bundledHandler(functionEnv: Env, verbose: boolean): Promise<LoadedHandler | undefined> {
  const path = bundleCandidates().find((candidate) => existsSync(candidate));
  if (!path) return undefined;
  prepareLambdaEnvironment();
  for (const [key, value] of Object.entries(functionEnv)) {
    if ((key.startsWith('PINGONE_') || key === 'ROTATION_LEDGER_TABLE') && value !== undefined) {
      process.env[key] = value;
    }
  }
  if (!verbose) {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  }
  const module = (await import(new URL(`file://${path}`).href)) as { handler?: InvokeFn };
  if (typeof module.handler !== 'function') return undefined;
  return { invoke: module.handler, source: `the built bundle ${relative(process.cwd(), path) || path}` };
}

/** lib/handler.ts's createRotationHandler, for when there is no bundle (and for in-process tests). */
export async function libraryHandler(options: {
  readonly functionEnv: Env;
  readonly secretsManager: SecretsManagerClient;
  readonly ssm: SSMClient;
  readonly dynamodb: DynamoDBClient;
  readonly verbose?: boolean;
}): Promise<LoadedHandler> {
  prepareLambdaEnvironment();
  const { createRotationHandler } = await import('../lib/handler.js');
  const verbose = options.verbose ?? false;
  const logger = new Logger({
    serviceName: 'pingone-secret-rotation',
    logLevel: verbose ? 'INFO' : 'SILENT',
  });
  // Metrics reads POWERTOOLS_METRICS_DISABLED when it is constructed.
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = verbose ? 'false' : 'true';
  const metrics = new Metrics({ namespace: 'PingOneSecretRotation', serviceName: 'pingone-secret-rotation' });
  // The ColdStart metric goes out through a new Metrics made at the first invocation, when the variable above
  // is restored: silence it here too.
  if (!verbose) metrics.captureColdStartMetric = () => {};
  if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
  else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  const handler = createRotationHandler({
    env: options.functionEnv,
    secretsManager: options.secretsManager,
    ssm: options.ssm,
    dynamodb: options.dynamodb,
    logger,
    metrics,
  });
  return {
    invoke: handler as unknown as InvokeFn,
    source: "lib/handler.ts's createRotationHandler (no built bundle found; `npm run build` makes one)",
  };
}
