import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { loadConfig, type RotationConfig } from './config.js';
import { RotationError } from './errors.js';
import { type LambdaDependencies, lambdaWiring, withPowertools, workerPingOneClient } from './lambda.js';
import { ledgerFromConfig, type RotationLedger } from './ledger/ledger.js';
import type { PingOneClient } from './pingone/types.js';
import { Redactor } from './redact.js';
import type { RotationMetric, StepLogger } from './rotation/deps.js';
import { parseRotationEvent } from './rotation/event.js';
import { runRotationStep } from './rotation/rotate.js';
import { SecretsStore } from './secrets/secrets-store.js';

/** What the handler is built from (lib/lambda.ts). Everything is optional: the Lambda uses the defaults. */
export type HandlerDependencies = LambdaDependencies;

const ROTATION_SERVICE = 'pingone-secret-rotation';

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
  const wiring = lambdaWiring(deps, { serviceName: ROTATION_SERVICE, deadlineMarginMs: 2_500 });
  const { env, now, sleep, logger, metrics, secretsManager, dynamodb } = wiring;
  const margin = wiring.deadlineMarginMs;

  // Powertools' Logger takes extras as rest arguments; the steps use a narrower (message, extra) shape.
  const stepLogger: StepLogger = {
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
  };

  let runtime: Runtime | undefined;
  const getRuntime = (): Runtime => {
    if (runtime) return runtime;
    const config = loadConfig(env);
    runtime = {
      config,
      secrets: new SecretsStore(secretsManager),
      ledger: ledgerFromConfig(dynamodb, config),
      pingone: workerPingOneClient(config, wiring, { transport: deps.transport, logger: stepLogger }),
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

  return withPowertools(rotate, wiring);
}

/** The event's RotationToken, read defensively (the event may be malformed). */
function rotationTokenOf(rawEvent: unknown): string | undefined {
  const token = (rawEvent as { RotationToken?: unknown } | null)?.RotationToken;
  return typeof token === 'string' ? token : undefined;
}
