import { type AuditResult, isUnhealthy, runAudit } from '../../lib/audit/audit.js';
import {
  CONFIG_WARNINGS,
  DEFAULT_NEAR_EXPIRY_MS,
  DEFAULT_STUCK_AFTER_MS,
  VERDICTS,
} from '../../lib/status/model.js';
import type { CliDeps } from '../deps.js';
import { rotationErrorHint } from '../errors.js';
import { line } from '../format.js';
import { cliLedger } from '../ledger.js';

/** `audit` exit codes. */
export const AUDIT_EXIT = Object.freeze({ healthy: 0, error: 1, unhealthy: 13 });

/** The stack's default secret-name prefix (serverless.yml secretNamePrefix). */
export const DEFAULT_AUDIT_PREFIX = 'pingone/';

export interface AuditOptions {
  readonly prefix?: string;
  readonly rotationFunctionArn?: string;
  readonly json?: boolean;
  readonly nearExpiryMs?: number;
  readonly stuckAfterMs?: number;
  readonly concurrency?: number;
}

/**
 * `audit`: the fleet auditor's run (lib/audit) from a laptop, read-only (it never retires a previous
 * secret). Prints a verdict count, one line per secret that needs someone and the configuration warnings,
 * or the whole result as JSON.
 */
export async function audit(deps: CliDeps, options: AuditOptions): Promise<number> {
  const access = deps.pingone();
  const now = deps.now;
  let ledger: ReturnType<typeof cliLedger>['ledger'] | undefined;
  const result = await runAudit(
    {
      secretsManager: deps.secretsManager,
      pingone: access,
      now,
      deadline: now() + 15 * 60_000,
      hint: rotationErrorHint,
      // As `status` reads it: the audit and status give one verdict.
      rotationLedger: () => {
        ledger ??= cliLedger(deps).ledger;
        return ledger;
      },
    },
    {
      secretNamePrefix: options.prefix ?? DEFAULT_AUDIT_PREFIX,
      rotationFunctionArn: options.rotationFunctionArn,
      concurrency: options.concurrency ?? 4,
      nearExpiryMs: options.nearExpiryMs ?? DEFAULT_NEAR_EXPIRY_MS,
      stuckAfterMs: options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
      noRotationService: deps.local !== undefined,
    },
  );
  // Nothing under the prefix is not a healthy fleet: most often the wrong region, profile or prefix.
  const code =
    result.reports.length === 0 || result.errors.length > 0
      ? AUDIT_EXIT.error
      : result.reports.some((r) => isUnhealthy(r.verdict) && r.verdict !== 'not-rotating')
        ? AUDIT_EXIT.unhealthy
        : AUDIT_EXIT.healthy;
  if (options.json) line(deps.out, JSON.stringify({ ...result, exitCode: code }, null, 2));
  else printAudit(deps, result);
  // Secrets listed but not judged (each with its error above) are not the wrong region, profile or prefix.
  if (result.reports.length === 0 && result.errors.length === 0) {
    const region = await deps.secretsManager.config.region().catch(() => undefined);
    line(
      deps.err,
      `pingone-rotation: no secret to audit under ${result.prefix}${region ? ` in ${region}` : ''} ` +
        `(${result.listed} listed): nothing was judged; check --region, --profile and --prefix (the stack's ` +
        'SecretNamePrefix output)',
    );
  }
  return code;
}

function printAudit(deps: CliDeps, result: AuditResult): void {
  const out = (text = '') => line(deps.out, text);
  const scope = result.rotationFunctionArn ? `, rotated by ${result.rotationFunctionArn}` : '';
  out(
    `Audited ${result.reports.length} secrets under ${result.prefix}${scope} ` +
      `(${result.listed} listed, ${result.skipped} rotated by another function or none) in ${(result.durationMs / 1000).toFixed(1)} s`,
  );
  const counts = VERDICTS.filter((v) => result.verdicts[v] > 0).map((v) => `${v} ${result.verdicts[v]}`);
  out(`Verdicts: ${counts.length > 0 ? counts.join(', ') : 'none'}`);
  const unhealthy = result.reports.filter((r) => isUnhealthy(r.verdict));
  if (unhealthy.length > 0) {
    out();
    const width = Math.min(48, Math.max(...unhealthy.map((r) => r.secret.name.length)));
    for (const report of unhealthy) {
      out(`${report.secret.name.padEnd(width)}  ${report.verdict}: ${report.reason}`);
    }
  }
  const warned = result.reports.filter((r) => r.warnings.length > 0);
  if (warned.length > 0) {
    out();
    for (const code of CONFIG_WARNINGS) {
      for (const report of warned) {
        const warning = report.warnings.find((w) => w.code === code);
        if (warning) out(`${report.secret.name}  warning ${code}: ${warning.message}`);
      }
    }
  }
  if (result.errors.length > 0) {
    out();
    for (const failure of result.errors) out(`${failure.secret}  not audited: ${failure.error}`);
  }
}
