import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { licenceOfRequest } from './audit/licence.js';
import {
  type BucketStore,
  dynamoDbBucketStore,
  limitedTransport,
  ROTATION_LIMITER_PREFIX,
  sharedLimiter,
} from './audit/limiter.js';
import { loadConfig, type RotationConfig } from './config.js';
import { RotationError } from './errors.js';
import { type LambdaDependencies, lambdaWiring, withPowertools, workerPingOneClient } from './lambda.js';
import { ledgerFromConfig, type RotationLedger } from './ledger/ledger.js';
import { defaultTransport, type Transport } from './pingone/transport.js';
import type { PingOneClient } from './pingone/types.js';
import { Redactor } from './redact.js';
import type { RotationMetric, StepLogger } from './rotation/deps.js';
import { parseRotationEvent } from './rotation/event.js';
import { runRotationStep } from './rotation/rotate.js';
import { SecretsStore } from './secrets/secrets-store.js';

/** What the handler is built from (lib/lambda.ts). Everything is optional: the Lambda uses the defaults. */
export interface HandlerDependencies extends LambdaDependencies {
  /** Where the shared rate's buckets live; default the ledger table (the bench shares one in memory). */
  readonly buckets?: BucketStore;
}

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
      pingone: workerPingOneClient(config, wiring, {
        transport: sharedRate(config, deps.transport),
        logger: stepLogger,
      }),
    };
    return runtime;
  };

  /**
   * With ROTATION_PINGONE_REQUESTS_PER_SECOND, every container's PingOne requests draw on one budget per
   * licence (the auditor's limiter, its own `rotation#limiter#` buckets in the ledger table): a burst of
   * rotations sends no faster than the rate instead of colliding at PingOne and waiting out 429s, and one
   * 429 pauses every container of that licence. A request whose turn would come after its own timeout is
   * not sent (the step reports it not started: nothing reached PingOne).
   */
  const sharedRate = (config: RotationConfig, inner: Transport | undefined): Transport | undefined => {
    if (config.rotationRequestsPerSecond === 0) return inner;
    const limiter = sharedLimiter({
      store:
        deps.buckets ??
        dynamoDbBucketStore({
          client: dynamodb,
          table: config.ledgerTable,
          prefix: ROTATION_LIMITER_PREFIX,
          role: 'rotation function',
        }),
      requestsPerSecond: config.rotationRequestsPerSecond,
      // Evenly spaced, as the auditor's: never more than the rate in any second.
      burst: 1,
      now,
      sleep,
    });
    return limitedTransport(inner ?? defaultTransport(), {
      limiter,
      licenceOf: licenceOfRequest(config),
      now,
      // Each request waits for its turn until its call's deadline, then goes out with what is left: a read's
      // is the invocation's, a regenerate's ends by its intent's window.
      waitUntilDeadline: true,
      sleep,
    });
  };

  const count = (metric: RotationMetric | 'StepSucceeded' | 'StepFailed') =>
    metrics.addMetric(metric, MetricUnit.Count, 1);

  const rotate = async (rawEvent: unknown, context: Context): Promise<void> => {
    try {
      const event = parseRotationEvent(rawEvent);
      logger.appendKeys({ secretId: event.secretId, step: event.step, versionId: event.token });
      metrics.addDimension('step', event.step);
      const { config, secrets, pingone, ledger } = getRuntime();
      const deadline = now() + context.getRemainingTimeInMillis() - margin;
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
          deadline,
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
