import type { Logger } from '@aws-lambda-powertools/logger';
import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { AuditIncompleteError, RotationError } from '../errors.js';
import { type LambdaDependencies, lambdaWiring, withPowertools, workerPingOneClient } from '../lambda.js';
import { ledgerFromConfig, type RotationLedger } from '../ledger/ledger.js';
import type { PingOneHttpClient } from '../pingone/http-client.js';
import { defaultTransport } from '../pingone/transport.js';
import { Redactor } from '../redact.js';
import { functionSettingHint } from '../status/explain.js';
import { CONFIG_WARNINGS, VERDICTS } from '../status/model.js';
import { type AuditResult, isUnhealthy, runAudit } from './audit.js';
import { LOG_LIST_MAX_BYTES, logInChunks } from './chunks.js';
import { type AuditConfig, loadAuditConfig } from './config.js';
import {
  advanceCursor,
  type CursorState,
  type CursorStore,
  dynamoDbCursorStore,
  oldestAuditAgeMs,
} from './cursor.js';
import { retirementLedger } from './ledger-retirement.js';
import { type PacingStats, pacedTransport } from './paced-transport.js';
import type { RetirementLedger } from './retire.js';

export const AUDIT_SERVICE = 'pingone-secret-rotation-audit';

/** What the auditor is built from (lib/lambda.ts, and the ledger views). Everything is optional. */
export interface AuditHandlerDependencies extends LambdaDependencies {
  /**
   * The rotation ledger's client: every secret's verdict reads its owner's record (as `status` does), and
   * early retirement reads the binding and records the retirement.
   */
  readonly dynamodb?: LambdaDependencies['dynamodb'];
  /** The rotation ledger the verdicts read; built from ROTATION_LEDGER_TABLE when omitted. */
  readonly rotationLedger?: RotationLedger;
  /** Early retirement's view of the ledger; built on the rotation ledger when omitted. */
  readonly ledger?: RetirementLedger;
  /** Time kept back from the Lambda's deadline for the summary, metrics and logs (default 10 s). */
  readonly deadlineMarginMs?: number;
  /**
   * Where each run continues from (lib/audit/cursor.ts); default: the `audit#cursor#<prefix>` item of the
   * rotation ledger's table.
   */
  readonly cursor?: CursorStore;
  /** The bound of one log line's list of secret names (default LOG_LIST_MAX_BYTES). */
  readonly logListMaxBytes?: number;
}

/**
 * The scheduled fleet auditor (functions/audit.ts): one run of `runAudit` per invocation, then one EMF
 * metric per verdict (dimension `verdict`), one per configuration warning (dimension `warning`), one
 * structured log line per unhealthy secret, and a summary. It fails (so the auditor-errors alarm fires) when
 * a secret could not be judged or the deadline came before every secret was started.
 */
export function createAuditHandler(deps: AuditHandlerDependencies = {}) {
  const wiring = lambdaWiring(deps, { serviceName: AUDIT_SERVICE, deadlineMarginMs: 10_000 });
  const { env, now, sleep, logger, metrics, secretsManager, dynamodb } = wiring;
  const margin = wiring.deadlineMarginMs;

  let runtime:
    | {
        config: AuditConfig;
        client: PingOneHttpClient;
        pacing: PacingStats;
        rotationLedger: RotationLedger;
        ledger: RetirementLedger;
        cursor: CursorStore;
      }
    | undefined;
  // The invocation's deadline, for the ledger calls early retirement makes.
  let deadline = 0;
  const getRuntime = () => {
    if (runtime) return runtime;
    const config = loadAuditConfig(env);
    const paced = pacedTransport(deps.transport ?? defaultTransport(), {
      requestsPerSecond: config.pingOneRequestsPerSecond,
      now,
      sleep,
    });
    const client = workerPingOneClient(config.rotation, wiring, { transport: paced.transport });
    const rotationLedger = deps.rotationLedger ?? ledgerFromConfig(dynamodb, config.rotation);
    const ledger =
      deps.ledger ??
      retirementLedger({ ledger: rotationLedger, client: dynamodb, now, deadline: () => deadline });
    const cursor =
      deps.cursor ??
      dynamoDbCursorStore({
        client: dynamodb,
        table: config.rotation.ledgerTable,
        prefix: config.secretNamePrefix,
        now,
      });
    runtime = { config, client, pacing: paced.stats, rotationLedger, ledger, cursor };
    return runtime;
  };

  const audit = async (_event: unknown, context: Context): Promise<AuditSummary> => {
    try {
      const { config, client, pacing, rotationLedger, ledger, cursor } = getRuntime();
      const throttledBefore = pacing.throttled;
      const runStartedAt = now();
      deadline = runStartedAt + context.getRemainingTimeInMillis() - margin;
      // Where the last run stopped. Unreadable: this run starts from the first secret, and fails at the end.
      let cursorProblem: unknown;
      let previous: CursorState | undefined;
      try {
        previous = await cursor.read();
      } catch (error) {
        cursorProblem = error;
      }
      const result = await runAudit(
        {
          secretsManager,
          pingone: { config: config.rotation, client },
          now,
          deadline,
          hint: functionSettingHint,
          rotationLedger,
          ledger,
        },
        {
          secretNamePrefix: config.secretNamePrefix,
          rotationFunctionArn: config.rotationFunctionArn,
          concurrency: config.concurrency,
          nearExpiryMs: config.nearExpiryMs,
          stuckAfterMs: config.stuckAfterMs,
          retireUnusedPreviousAfterMs: config.retireUnusedPreviousAfterMs,
          startAfter: previous?.position,
        },
      );
      // The cursor moves past every secret started, judged or not (one unreadable secret must not hold the
      // fleet back; it is reported below and fails the run).
      let coverage: CursorState | undefined;
      if (cursorProblem === undefined) {
        const next = advanceCursor(previous, result.progress, runStartedAt);
        try {
          const written = await cursor.write(next, previous?.rev ?? 0);
          if (written === 'conflict') {
            logger.warn('audit cursor moved by another run; not overwritten', { cursor: cursor.where });
          }
          coverage = next;
        } catch (error) {
          cursorProblem = error;
        }
      }
      const summary = summarize(result, pacing.throttled - throttledBefore, coverage, now());
      publish(result, summary, logger, metrics, deps.logListMaxBytes ?? LOG_LIST_MAX_BYTES);
      const failedRetirements = result.retirements.filter((r) => r.outcome === 'failed').length;
      // A run cut by its deadline is not a failure: the next run continues after it (the coverage alarm says
      // when the fleet outgrows the schedule). Unreadable secrets, failed retirements and a cursor that could
      // not be kept are.
      if (result.errors.length > 0 || failedRetirements > 0 || cursorProblem !== undefined) {
        throw new AuditIncompleteError(
          `The audit judged ${result.reports.length} of ${result.reports.length + result.errors.length + result.notAudited.length} secrets: ` +
            `${result.errors.length} could not be read (see the 'secret not audited' log lines), ` +
            `${result.notAudited.length} were not started before the deadline (the next run continues after them); ` +
            `${failedRetirements} early retirements failed` +
            (cursorProblem === undefined
              ? ''
              : `; ${cursorProblem instanceof Error ? cursorProblem.message : String(cursorProblem)}`),
        );
      }
      return summary;
    } catch (caught) {
      throw auditFailed(caught, logger, metrics);
    }
  };

  return withPowertools(audit, wiring);
}

/** The invocation's result (and the summary log line). */
export interface AuditSummary {
  readonly checkedAt: string;
  readonly listed: number;
  readonly audited: number;
  readonly skipped: number;
  readonly verdicts: AuditResult['verdicts'];
  readonly warnings: AuditResult['warnings'];
  readonly errors: number;
  readonly notAudited: number;
  readonly retired: number;
  /** Previous secrets that could have been retired early, not checked before the deadline. */
  readonly retirementsSkipped: number;
  readonly pingOneThrottled: number;
  /** The name of the last secret this run started (the next run starts after it). */
  readonly cursor: string | undefined;
  /** Whether this run started the last secret in name order (a sweep through the fleet ended). */
  readonly sweepEnded: boolean;
  /** An upper bound on the age of the oldest audit (lib/audit/cursor.ts); undefined: the cursor was lost. */
  readonly oldestAuditAgeSeconds: number | undefined;
  readonly durationMs: number;
}

/**
 * A failed audit invocation (single or distributed): whatever an AWS SDK or transport error quotes is scrubbed
 * (lib/redact.ts) before it is counted, logged or returned.
 */
export function auditFailed(caught: unknown, logger: Logger, metrics: Metrics): unknown {
  const error = Redactor.none.error(caught);
  metrics.addMetric('AuditFailed', MetricUnit.Count, 1);
  logger.error('audit failed', {
    errorCode: error instanceof RotationError ? error.code : ((error as Error)?.name ?? 'Error'),
    error: error as Error,
  });
  return error;
}

export function summarize(
  result: AuditResult,
  throttled: number,
  coverage: CursorState | undefined,
  now: number,
): AuditSummary {
  return {
    checkedAt: result.checkedAt,
    listed: result.listed,
    audited: result.reports.length,
    skipped: result.skipped,
    verdicts: result.verdicts,
    warnings: result.warnings,
    errors: result.errors.length,
    notAudited: result.notAudited.length,
    retired: result.retirements.filter((r) => r.outcome === 'retired').length,
    retirementsSkipped: result.retirementsSkipped.length,
    pingOneThrottled: throttled,
    cursor: coverage?.position,
    sweepEnded: result.progress.sweepEndedAt !== undefined,
    oldestAuditAgeSeconds: coverage ? Math.round(oldestAuditAgeMs(coverage, now) / 1000) : undefined,
    durationMs: result.durationMs,
  };
}

/** Metrics and log lines for one run. Nothing here holds a secret value: the reports carry none. */
export function publish(
  result: AuditResult,
  summary: AuditSummary,
  logger: Logger,
  metrics: Metrics,
  listMaxBytes: number,
): void {
  // One metric per verdict and per warning, zeros included, so every alarm sees a value each run.
  for (const verdict of VERDICTS) {
    const single = metrics.singleMetric();
    single.addDimension('verdict', verdict);
    single.addMetric('Secrets', MetricUnit.Count, result.verdicts[verdict]);
  }
  for (const warning of CONFIG_WARNINGS) {
    const single = metrics.singleMetric();
    single.addDimension('warning', warning);
    single.addMetric('SecretsWithWarning', MetricUnit.Count, result.warnings[warning]);
  }
  metrics.addMetric('SecretsAudited', MetricUnit.Count, summary.audited);
  metrics.addMetric('AuditErrors', MetricUnit.Count, summary.errors);
  metrics.addMetric('SecretsNotAudited', MetricUnit.Count, summary.notAudited);
  metrics.addMetric('PreviousSecretRetired', MetricUnit.Count, summary.retired);
  metrics.addMetric('PingOneThrottled', MetricUnit.Count, summary.pingOneThrottled);
  // Coverage: AuditCoverageAlarm fires when this exceeds AuditCoverageMaxAge (infra/audit.yml).
  if (summary.oldestAuditAgeSeconds !== undefined)
    metrics.addMetric('OldestAuditAge', MetricUnit.Seconds, summary.oldestAuditAgeSeconds);
  if (summary.errors === 0 && summary.notAudited === 0)
    metrics.addMetric('AuditCompleted', MetricUnit.Count, 1);

  for (const report of result.reports) {
    const fields = {
      secretName: report.secret.name,
      secretArn: report.secret.arn,
      verdict: report.verdict,
      reason: report.reason,
      ...(report.notes.length > 0 ? { notes: report.notes } : {}),
      ...(report.warnings.length > 0 ? { warnings: report.warnings.map((w) => w.code) } : {}),
      ...(report.duplicates ? { duplicates: report.duplicates } : {}),
      ...(report.pingone
        ? {
            pingone: {
              kind: report.pingone.kind,
              environmentId: report.pingone.environmentId,
              id: report.pingone.resourceId ?? report.pingone.applicationId,
              region: report.pingone.region,
              ...(report.pingone.previous
                ? {
                    previousExpiresAt: report.pingone.previous.expiresAt,
                    ...(report.pingone.previous.lastUsed
                      ? { previousLastUsed: report.pingone.previous.lastUsed }
                      : {}),
                  }
                : {}),
            },
          }
        : {}),
      ...(report.rotation.nextRotation ? { nextRotation: report.rotation.nextRotation } : {}),
    };
    if (isUnhealthy(report.verdict)) logger.warn('secret unhealthy', fields);
    else if (report.warnings.length > 0) logger.info('secret configuration warning', fields);
  }
  for (const failure of result.errors) logger.error('secret not audited', failure);
  // Lists of names in bounded lines (lib/audit/chunks.ts): a large fleet's would exceed CloudWatch's 256 KB.
  const warn = (message: string, fields: Record<string, unknown>) => logger.warn(message, fields);
  if (result.notAudited.length > 0) {
    logInChunks(
      warn,
      'secrets not audited before the deadline',
      'secrets',
      result.notAudited,
      {
        nextRunStartsAfter: summary.cursor,
      },
      listMaxBytes,
    );
  }
  for (const retirement of result.retirements) {
    if (retirement.outcome === 'retired') logger.info('previous secret retired early', { ...retirement });
    else if (retirement.outcome === 'failed') logger.error('early retirement failed', { ...retirement });
    else if (retirement.deleteNotApplied) logger.warn('previous secret not retired', { ...retirement });
  }
  if (result.retirementsSkipped.length > 0) {
    logInChunks(
      warn,
      'early retirement not checked before the deadline',
      'secrets',
      result.retirementsSkipped,
      {},
      listMaxBytes,
    );
  }
  logger.info('audit complete', { ...summary });
}
