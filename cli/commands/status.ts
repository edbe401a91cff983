import { otherSecretsNamingOwner } from '../../lib/status/duplicates.js';
import { inspectStatus, markDuplicates, type StatusReport } from '../../lib/status/model.js';
import { reportText } from '../../lib/status/report-text.js';
import type { CliDeps } from '../deps.js';
import { rotationErrorHint } from '../errors.js';
import { line } from '../format.js';
import { cliLedger } from '../ledger.js';

export {
  DEFAULT_STUCK_AFTER_MS,
  NOT_ROTATING_STRICT_EXIT,
  type StatusReport,
  type Verdict,
} from '../../lib/status/model.js';

export interface StatusOptions {
  readonly secretId: string;
  readonly json?: boolean;
  readonly showSecrets?: boolean;
  /** An AWSPENDING version older than this is stuck rather than in progress. */
  readonly stuckAfterMs?: number;
  /** not-rotating exits 9 instead of 0. */
  readonly strict?: boolean;
}

/** `status`: the status model's report (lib/status), printed or as JSON; returns the verdict's exit code. */
export async function status(deps: CliDeps, options: StatusOptions): Promise<number> {
  const report = await statusReport(deps, options);
  if (options.json) {
    line(deps.out, JSON.stringify(report, null, 2));
  } else {
    printReport(deps, report);
  }
  return report.exitCode;
}

/** The status model on the CLI's dependencies. */
export async function statusReport(deps: CliDeps, options: StatusOptions): Promise<StatusReport> {
  const report = await inspectStatus(
    {
      secretsManager: deps.secretsManager,
      pingone: deps.pingone,
      now: deps.now,
      noRotationService: deps.local !== undefined,
      hint: rotationErrorHint,
      ledger: () => cliLedger(deps).ledger,
    },
    {
      secretId: options.secretId,
      ...(options.stuckAfterMs !== undefined ? { stuckAfterMs: options.stuckAfterMs } : {}),
      ...(options.strict ? { strict: true } : {}),
      ...(options.showSecrets ? { includeSecrets: true } : {}),
    },
  );
  // duplicate-owner: other secrets tagged with the same PingOne owner id that name it in AWSCURRENT.
  const others = await otherSecretsNamingOwner(deps.secretsManager, report);
  return markDuplicates(report, others);
}

function printReport(deps: CliDeps, report: StatusReport): void {
  for (const text of reportText(report, deps.now())) line(deps.out, text);
}
