import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { loadConfig, type RotationConfig } from './config.js';
import { RotationError } from './errors.js';
import { DynamoDbLedger, type RotationLedger } from './ledger/ledger.js';
import { PingOneHttpClient } from './pingone/http-client.js';
import type { Transport } from './pingone/transport.js';
import type { PingOneClient } from './pingone/types.js';
import { ssmWorkerCredentials } from './pingone/worker-credentials.js';
import { Redactor } from './redact.js';
import type { RotationMetric, StepLogger } from './rotation/deps.js';
import { parseRotationEvent } from './rotation/event.js';
import { runRotationStep } from './rotation/rotate.js';
import { SecretsStore } from './secrets/secrets-store.js';

type Env = Readonly<Record<string, string | undefined>>;

/** What the handler is built from. Everything is optional: the Lambda uses the defaults. */
export interface HandlerDependencies {
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

interface Runtime {
  readonly config: RotationConfig;
  readonly secrets: SecretsStore;
  readonly pingone: PingOneClient;
  readonly ledger: RotationLedger;
}

/**
 * Builds the rotation handler: clients once per container (no network at import time), configuration
 * parsed on first use so a bad value fails the invocation with a clear error, middy wiring for the
 * Powertools logger (never logging the event: it carries the RotationToken) and metrics.
 */
export function createRotationHandler(deps: HandlerDependencies = {}) {
  const env = deps.env ?? process.env;
  const now = deps.now ?? Date.now;
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const logger = deps.logger ?? new Logger({ serviceName: 'pingone-secret-rotation' });
  const metrics =
    deps.metrics ??
    new Metrics({ namespace: 'PingOneSecretRotation', serviceName: 'pingone-secret-rotation' });
  const secretsManager = deps.secretsManager ?? new SecretsManagerClient({});
  const ssm = deps.ssm ?? new SSMClient({});
  const dynamodb = deps.dynamodb ?? new DynamoDBClient({});
  const margin = deps.deadlineMarginMs ?? 2_500;

  // Powertools' Logger takes extras as rest arguments; the steps use a narrower (message, extra) shape.
  const stepLogger: StepLogger = {
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
  };

  let runtime: Runtime | undefined;
  const getRuntime = (): Runtime => {
    if (runtime) return runtime;
    const config = loadConfig(env);
    const workerCredentials = ssmWorkerCredentials(
      new SSMProvider({ awsSdkV3Client: ssm }),
      config.workerParameter,
      config.workerCacheMaxAgeSeconds,
      config.defaultRegion,
    );
    runtime = {
      config,
      secrets: new SecretsStore(secretsManager),
      ledger: new DynamoDbLedger(dynamodb, config.ledgerTable),
      pingone: new PingOneHttpClient({
        apiUrlTemplate: config.apiUrlTemplate,
        authUrlTemplate: config.authUrlTemplate,
        workerCredentials,
        now,
        sleep,
        logger: stepLogger,
        ...(deps.transport ? { transport: deps.transport } : {}),
      }),
    };
    return runtime;
  };

  const count = (metric: RotationMetric | 'StepSucceeded' | 'StepFailed') =>
    metrics.addMetric(metric, MetricUnit.Count, 1);

  const rotate = async (rawEvent: unknown, context: Context): Promise<void> => {
    try {
      const event = parseRotationEvent(rawEvent);
      logger.appendKeys({ secretId: event.secretId, step: event.step, versionId: event.token });
      metrics.addDimension('step', event.step);
      const { config, secrets, pingone, ledger } = getRuntime();
      const outcome = await runRotationStep(
        {
          config,
          secrets,
          pingone,
          ledger,
          logger: stepLogger,
          metrics: { count },
          now,
          sleep,
          deadline: now() + context.getRemainingTimeInMillis() - margin,
        },
        event,
      );
      count('StepSucceeded');
      logger.info('rotation step succeeded', { outcome });
    } catch (caught) {
      // The last line of defence: whatever the error and its cause chain quote (an AWS SDK message, a
      // transport error), the RotationToken and anything credential-shaped leave neither in the log
      // record nor in the error Secrets Manager records.
      const error = Redactor.none.secret(rotationTokenOf(rawEvent)).error(caught);
      count('StepFailed');
      logger.error('rotation step failed', {
        errorCode: error instanceof RotationError ? error.code : ((error as Error)?.name ?? 'Error'),
        error: error as Error,
      });
      throw error;
    }
  };

  return middy(rotate)
    .use(injectLambdaContext(logger, { logEvent: false, resetKeys: true }))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}

/** The event's RotationToken, read defensively (the event may be malformed). */
function rotationTokenOf(rawEvent: unknown): string | undefined {
  const token = (rawEvent as { RotationToken?: unknown } | null)?.RotationToken;
  return typeof token === 'string' ? token : undefined;
}
