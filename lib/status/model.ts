/**
 * The status model: what state a rotated secret is in, as one verdict with its reason, its exit code and
 * a report. `pingone-rotation status` prints it, `rotate` checks it first, and the fleet auditor calls it for
 * every secret it finds. Three parts, each in its own file:
 *
 *   gather.ts   every read (Secrets Manager, the rotation ledger, PingOne) into plain facts (facts.ts)
 *   judge.ts    a pure function from facts to verdict, reason and notes (assess.ts derives what they imply)
 *   report.ts   the judgement as JSON; report-text.ts as `status` prints it
 *
 * The verdicts themselves are declared once, in verdicts.ts. All I/O is injected (Secrets Manager, PingOne,
 * the ledger, the clock), so it runs the same in a Lambda, the CLI and tests. Holds no secret value unless
 * `includeSecrets` is asked for.
 */
import type { JudgePolicy } from './facts.js';
import { gatherFacts, type StatusDeps } from './gather.js';
import { judge } from './judge.js';
import { toReport } from './report.js';
import type { StatusReport } from './report-shape.js';

export { onboardCommand } from './advice.js';
export type { JudgePolicy, LedgerFacts, StatusFacts } from './facts.js';
export type { StatusDeps, StatusPingOne } from './gather.js';
export { type Judgement, markDuplicates } from './judge.js';
export { ownerKey } from './report.js';
export type { StatusReport } from './report-shape.js';
export {
  CONFIG_WARNINGS,
  type ConfigWarning,
  NOT_ROTATING_STRICT_EXIT,
  ROTATION_FIXES,
  STATUS_EXIT,
  VERDICTS,
  type Verdict,
} from './verdicts.js';

/** previous-in-use-near-expiry: a previous secret still in use that expires within this (default). */
export const DEFAULT_NEAR_EXPIRY_MS = 24 * 3_600_000;
export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;

export interface InspectOptions {
  /** Name or ARN. */
  readonly secretId: string;
  /** An AWSPENDING version older than this is stuck rather than in progress. */
  readonly stuckAfterMs?: number;
  /** not-rotating exits 9 instead of 0. */
  readonly strict?: boolean;
  /** Put the secret values in the report (`status --show-secrets` only; never the auditor). */
  readonly includeSecrets?: boolean;
  /** previous-in-use-near-expiry: a previous secret still in use that expires within this. Default 24h. */
  readonly nearExpiryMs?: number;
}

/** The thresholds of InspectOptions, defaults applied. */
function policyOf(options: Omit<InspectOptions, 'secretId'>): JudgePolicy {
  return {
    stuckAfterMs: options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
    nearExpiryMs: options.nearExpiryMs ?? DEFAULT_NEAR_EXPIRY_MS,
    strict: options.strict === true,
  };
}

/** Reads the secret and PingOne and judges them. Throws only when Secrets Manager itself cannot be read. */
export async function inspectStatus(deps: StatusDeps, options: InspectOptions): Promise<StatusReport> {
  const facts = await gatherFacts(deps, options.secretId);
  return toReport(facts, judge(facts, policyOf(options)), options.includeSecrets === true);
}
