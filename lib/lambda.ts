/**
 * What the two Lambda handlers (the rotation function, lib/handler.ts, and the fleet auditor,
 * lib/audit/handler.ts) are built from, and the wiring they share: the AWS clients, the clock, the
 * Powertools logger and metrics (created once per container, no network at import time), the PingOne client
 * acting as the worker app, and the middy middleware that never logs the event.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { RotationConfig } from './config.js';
import { PingOneHttpClient } from './pingone/http-client.js';
import type { Transport } from './pingone/transport.js';
import { workerDirectory, workerSecretReader } from './pingone/workers.js';
import type { StepLogger } from './rotation/deps.js';
import { SecretsStore } from './secrets/secrets-store.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The EMF namespace of every metric the function and the auditor publish. */
const METRICS_NAMESPACE = 'PingOneSecretRotation';

/** What a handler is built from. Everything is optional: the Lambda uses the defaults. */
export interface LambdaDependencies {
  readonly env?: Env;
  readonly secretsManager?: SecretsManagerClient;
  readonly ssm?: SSMClient;
  /** The rotation ledger's client. */
  readonly dynamodb?: DynamoDBClient;
  /** PingOne's HTTP exchange (tests observe or fault it); defaults to `node:https` with keep-alive. */
  readonly transport?: Transport;
  /** Epoch milliseconds (tests share a simulator's clock). */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly logger?: Logger;
  readonly metrics?: Metrics;
  /** Time kept back from the Lambda's deadline so a failure is reported, not cut off. */
  readonly deadlineMarginMs?: number;
}

/** The dependencies with every default filled in. */
export interface LambdaWiring {
  readonly env: Env;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly secretsManager: SecretsManagerClient;
  readonly ssm: SSMClient;
  readonly dynamodb: DynamoDBClient;
  readonly deadlineMarginMs: number;
}

export function lambdaWiring(
  deps: LambdaDependencies,
  defaults: { readonly serviceName: string; readonly deadlineMarginMs: number },
): LambdaWiring {
  const { serviceName } = defaults;
  return {
    env: deps.env ?? process.env,
    now: deps.now ?? Date.now,
    sleep: deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))),
    logger: deps.logger ?? new Logger({ serviceName }),
    metrics: deps.metrics ?? new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
    secretsManager: deps.secretsManager ?? new SecretsManagerClient({}),
    ssm: deps.ssm ?? new SSMClient({}),
    dynamodb: deps.dynamodb ?? new DynamoDBClient({}),
    deadlineMarginMs: deps.deadlineMarginMs ?? defaults.deadlineMarginMs,
  };
}

/**
 * The PingOne client acting as the configured workers (lib/pingone/workers.ts), whose credentials it reads
 * (and caches) from SSM or Secrets Manager.
 */
export function workerPingOneClient(
  config: RotationConfig,
  wiring: LambdaWiring,
  options: { readonly transport?: Transport | undefined; readonly logger?: StepLogger } = {},
): PingOneHttpClient {
  return new PingOneHttpClient({
    apiUrlTemplate: config.apiUrlTemplate,
    authUrlTemplate: config.authUrlTemplate,
    workers: workerDirectory(config, {
      ssm: new SSMProvider({ awsSdkV3Client: wiring.ssm }),
      secrets: workerSecretReader(new SecretsStore(wiring.secretsManager)),
      maxAgeSeconds: config.workerCacheMaxAgeSeconds,
      now: wiring.now,
    }),
    now: wiring.now,
    sleep: wiring.sleep,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
  });
}

/**
 * The handler with the Powertools middleware: the Lambda context in every log line (the event is never
 * logged: the rotation event carries the RotationToken), metrics flushed after each invocation, ColdStart.
 */
export function withPowertools<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  wiring: Pick<LambdaWiring, 'logger' | 'metrics'>,
) {
  return middy(handler)
    .use(injectLambdaContext(wiring.logger, { logEvent: false, resetKeys: true }))
    .use(logMetrics(wiring.metrics, { captureColdStartMetric: true }));
}
