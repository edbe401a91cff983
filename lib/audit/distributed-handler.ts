/**
 * The distributed audit's two Lambda functions (AuditEngine=distributed; the state machine in
 * infra/audit-state-machine.json): the lister (`list` and `finish` actions) and the batch worker. Both are
 * thin wiring around lib/audit/distributed.ts; the worker's verdicts go out as the single auditor's do
 * (the same metrics and log lines, per batch).
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { AuditIncompleteError, ConfigurationError } from '../errors.js';
import { lambdaWiring, withPowertools, workerPingOneClient } from '../lambda.js';
import { ledgerFromConfig } from '../ledger/ledger.js';
import { defaultTransport } from '../pingone/transport.js';
import { functionSettingHint } from '../status/explain.js';
import { LOG_LIST_MAX_BYTES } from './chunks.js';
import { loadAuditConfig } from './config.js';
import { type CursorStore, dynamoDbCursorStore } from './cursor.js';
import {
  type BatchResult,
  type BatchStore,
  dynamoDbBatchStore,
  finishSweep,
  judgeBatch,
  listSweep,
  type SweepOutcome,
  type SweepPlan,
  type SweepSkipped,
} from './distributed.js';
import { AUDIT_SERVICE, type AuditHandlerDependencies, auditFailed, publish, summarize } from './handler.js';
import { retirementLedger } from './ledger-retirement.js';
import { licenceOfRequest } from './licence.js';
import { type BucketStore, dynamoDbBucketStore, limitedTransport, sharedLimiter } from './limiter.js';
import { dynamoDbSweepLeaseStore, type SweepLease, type SweepLeaseStore } from './sweep-lease.js';

export interface DistributedDependencies extends AuditHandlerDependencies {
  readonly batches?: BatchStore;
  readonly buckets?: BucketStore;
  /** The sweep lease (one sweep at a time); default: the `audit#sweep#<prefix>` item of the ledger table. */
  readonly sweeps?: SweepLeaseStore;
  /**
   * PingOne environment id → licence, overriding the worker mapping's organizations (lib/audit/licence.ts)
   * for the environments it names: the bench's simulated licences.
   */
  readonly organizations?: ReadonlyMap<string, string>;
  readonly random?: () => number;
}

type ListEvent =
  | {
      readonly action: 'list';
      /** From the state machine (infra/audit-state-machine.json): $$.Execution.Id, $$.Execution.StartTime. */
      readonly execution?: string;
      readonly startedAt?: string;
      /** The state machine's TimeoutSeconds: the lease expires when the execution must have stopped. */
      readonly timeoutSeconds?: number;
    }
  | { readonly action: 'finish'; readonly plan: SweepPlan; readonly results: readonly unknown[] };

/** The lease an execution asks for: until its start plus the state machine's timeout. */
function leaseRequest(event: Extract<ListEvent, { action: 'list' }>, now: number): SweepLease {
  const started = Date.parse(event.startedAt ?? '');
  const timeout = event.timeoutSeconds;
  if (
    typeof event.execution !== 'string' ||
    event.execution === '' ||
    !Number.isFinite(started) ||
    typeof timeout !== 'number' ||
    !Number.isInteger(timeout) ||
    timeout < 1
  ) {
    throw new ConfigurationError(
      'The audit lister was invoked without its execution: it takes {"action":"list","execution":<$$.Execution.Id>,' +
        '"startedAt":<$$.Execution.StartTime>,"timeoutSeconds":<the state machine\'s TimeoutSeconds>} from its state ' +
        'machine (infra/audit-state-machine.json); start a sweep with `aws stepfunctions start-execution`',
    );
  }
  return {
    sweepId: new Date(now).toISOString(),
    execution: event.execution,
    expiresAt: started + timeout * 1000,
  };
}

function positiveInteger(
  env: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
  max: number,
) {
  const text = env[name]?.trim();
  if (!text) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1 || value > max) {
    throw new ConfigurationError(`${name} is '${text}': it must be a whole number from 1 to ${max}`);
  }
  return value;
}

/** The lister: `{action: 'list'}` plans a sweep; `{action: 'finish', plan, results}` records it. */
export function createAuditListHandler(deps: DistributedDependencies = {}) {
  const wiring = lambdaWiring(deps, { serviceName: AUDIT_SERVICE, deadlineMarginMs: 10_000 });
  const { env, now, logger, metrics, secretsManager, dynamodb } = wiring;
  const stores = () => {
    const config = loadAuditConfig(env);
    const batches =
      deps.batches ??
      dynamoDbBatchStore({
        client: dynamodb,
        table: config.rotation.ledgerTable,
        prefix: config.secretNamePrefix,
      });
    const cursor: CursorStore =
      deps.cursor ??
      dynamoDbCursorStore({
        client: dynamodb,
        table: config.rotation.ledgerTable,
        prefix: config.secretNamePrefix,
        now,
      });
    const sweeps: SweepLeaseStore =
      deps.sweeps ??
      dynamoDbSweepLeaseStore({
        client: dynamodb,
        table: config.rotation.ledgerTable,
        prefix: config.secretNamePrefix,
      });
    return { config, batches, cursor, sweeps };
  };

  const handler = async (
    event: ListEvent,
    _context: Context,
  ): Promise<SweepPlan | SweepSkipped | SweepOutcome> => {
    try {
      const { config, batches, cursor, sweeps } = stores();
      if (event?.action === 'list') {
        const lease = leaseRequest(event, now());
        const taken = await sweeps.take(lease, now());
        if (taken !== 'taken') {
          // Another execution's sweep still runs: this one ends here, having listed and judged nothing.
          const skipped: SweepSkipped = {
            skipped: true,
            heldBy: taken.execution,
            until: new Date(taken.expiresAt).toISOString(),
          };
          metrics.addMetric('AuditSweepSkipped', MetricUnit.Count, 1);
          logger.warn('audit sweep not started: another sweep is still running', {
            execution: lease.execution,
            runningExecution: taken.execution,
            runningSweepId: taken.sweepId,
            leaseExpiresAt: skipped.until,
            lease: sweeps.where,
          });
          return skipped;
        }
        let plan: SweepPlan;
        try {
          plan = await listSweep(
            { secretsManager, batches, now },
            {
              secretNamePrefix: config.secretNamePrefix,
              rotationFunctionArn: config.rotationFunctionArn,
              batchSize: positiveInteger(env, 'AUDIT_BATCH_SIZE', 100, 1_000),
              maxConcurrency: positiveInteger(env, 'AUDIT_MAX_CONCURRENCY', 10, 10_000),
            },
          );
        } catch (error) {
          // No sweep follows: the next schedule need not wait for the lease to expire.
          await giveBack(sweeps, lease.execution);
          throw error;
        }
        plan = { ...plan, execution: lease.execution };
        metrics.addMetric('AuditSweepSecrets', MetricUnit.Count, plan.count);
        logger.info('audit sweep planned', {
          sweepId: plan.sweepId,
          secrets: plan.count,
          batches: plan.batches.length,
        });
        return plan;
      }
      if (event?.action === 'finish') {
        const outcome = await finishSweep({ cursor, now }, event.plan, event.results ?? []).finally(() =>
          event.plan?.execution ? giveBack(sweeps, event.plan.execution) : undefined,
        );
        metrics.addMetric('SecretsNotAudited', MetricUnit.Count, outcome.notAudited);
        metrics.addMetric('AuditBatchesFailed', MetricUnit.Count, outcome.failedBatches.length);
        metrics.addMetric('OldestAuditAge', MetricUnit.Seconds, Math.round(outcome.oldestAuditAgeMs / 1000));
        if (outcome.complete) metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);
        logger.info('audit sweep finished', { ...outcome, failedBatches: outcome.failedBatches.length });
        if (!outcome.complete || outcome.errors > 0 || outcome.retirementsFailed > 0) {
          throw new AuditIncompleteError(
            `The audit sweep ${event.plan.sweepId} judged ${outcome.judged} of ${outcome.count} secrets: ` +
              `${outcome.errors} could not be read, ${outcome.notAudited} were not started before their worker's ` +
              `deadline, ${outcome.failedBatches.length} batches failed, ${outcome.retirementsFailed} early ` +
              "retirements failed (see the workers' 'early retirement failed' lines)" +
              (outcome.complete ? '' : ' (the sweep is not recorded: the oldest audit keeps ageing)'),
          );
        }
        return outcome;
      }
      throw new ConfigurationError(
        `The audit lister was invoked with ${JSON.stringify((event as { action?: unknown })?.action ?? null)}: it takes {"action":"list"} or {"action":"finish",...} from its state machine`,
      );
    } catch (caught) {
      throw auditFailed(caught, logger, metrics);
    }
  };
  /** Gives the lease back; a failure only delays the next sweep until the lease expires (said in the log). */
  const giveBack = async (sweeps: SweepLeaseStore, execution: string) => {
    try {
      await sweeps.release(execution);
    } catch (error) {
      logger.warn('audit sweep lease not released: the next sweep starts once it expires', {
        execution,
        lease: sweeps.where,
        error: (error as Error)?.message,
      });
    }
  };

  return withPowertools(handler, wiring);
}

/** The batch worker: `{batch, sweepId}` → its BatchResult. */
export function createAuditWorkerHandler(deps: DistributedDependencies = {}) {
  const wiring = lambdaWiring(deps, { serviceName: AUDIT_SERVICE, deadlineMarginMs: 10_000 });
  const { env, now, sleep, logger, metrics, secretsManager, dynamodb } = wiring;
  let runtime: ReturnType<typeof build> | undefined;
  const build = () => {
    const config = loadAuditConfig(env);
    const limiter = sharedLimiter({
      store: deps.buckets ?? dynamoDbBucketStore({ client: dynamodb, table: config.rotation.ledgerTable }),
      requestsPerSecond: config.pingOneRequestsPerSecond,
      // Evenly spaced, as the single auditor's pacer: never more than the rate in any second.
      burst: 1,
      now,
      sleep,
      ...(deps.random ? { random: deps.random } : {}),
    });
    const transport = limitedTransport(deps.transport ?? defaultTransport(), {
      limiter,
      // One bucket per PingOne organization (its workers' `organization` in PINGONE_WORKERS), else per worker.
      licenceOf: licenceOfRequest(config.rotation, deps.organizations),
      now,
      ...(deps.random ? { random: deps.random } : {}),
    });
    const client = workerPingOneClient(config.rotation, wiring, { transport });
    const batches =
      deps.batches ??
      dynamoDbBatchStore({
        client: dynamodb,
        table: config.rotation.ledgerTable,
        prefix: config.secretNamePrefix,
      });
    const rotationLedger = deps.rotationLedger ?? ledgerFromConfig(dynamodb, config.rotation);
    // Early retirement as the single auditor's (lib/audit/handler.ts): the same ledger view and intent.
    const ledger =
      deps.ledger ??
      retirementLedger({ ledger: rotationLedger, client: dynamodb, now, deadline: () => deadline });
    return { config, client, batches, rotationLedger, ledger, limiter };
  };
  // The invocation's deadline, for the ledger calls early retirement makes.
  let deadline = 0;

  const handler = async (
    event: { batch: number; sweepId: string },
    context: Context,
  ): Promise<BatchResult> => {
    try {
      runtime ??= build();
      const { config, client, batches, rotationLedger, ledger, limiter } = runtime;
      const throttledBefore = limiter.stats.paused;
      deadline = now() + context.getRemainingTimeInMillis() - wiring.deadlineMarginMs;
      const { result, summary } = await judgeBatch(
        {
          secretsManager,
          pingone: { config: config.rotation, client },
          now,
          deadline,
          hint: functionSettingHint,
          rotationLedger,
          ledger,
          batches,
        },
        {
          secretNamePrefix: config.secretNamePrefix,
          rotationFunctionArn: config.rotationFunctionArn,
          concurrency: config.concurrency,
          nearExpiryMs: config.nearExpiryMs,
          stuckAfterMs: config.stuckAfterMs,
          retireUnusedPreviousAfterMs: config.retireUnusedPreviousAfterMs,
        },
        { batch: event.batch, sweepId: event.sweepId },
      );
      publish(
        result,
        summarize(result, limiter.stats.paused - throttledBefore, undefined, now()),
        logger,
        metrics,
        deps.logListMaxBytes ?? LOG_LIST_MAX_BYTES,
      );
      return summary;
    } catch (caught) {
      throw auditFailed(caught, logger, metrics);
    }
  };
  return withPowertools(handler, wiring);
}
