/**
 * The facts the status model judges: plain data read from Secrets Manager, the rotation ledger and PingOne
 * (gather.ts reads them), with nothing derived yet. judge.ts turns them into a verdict without any I/O, so a
 * test can write facts by hand.
 */
import type { RotationConfig } from '../config.js';
import type { LedgerRecord } from '../ledger/record.js';
import type { SecretView } from '../secrets/secrets-store.js';
import type { PingOneView, VersionValue } from './inspect.js';

/** The rotation ledger's record of the owner, or why it could not be read. */
export interface LedgerFacts {
  readonly table: string;
  readonly record?: LedgerRecord;
  readonly problem?: string;
}

export interface StatusFacts {
  /** When the facts were read (epoch milliseconds): the clock every age and expiry is measured against. */
  readonly now: number;
  readonly view: SecretView;
  /** AWSCURRENT's value; `placeholder` when the secret has no AWSCURRENT version. */
  readonly current: VersionValue;
  readonly previous: VersionValue | undefined;
  /** The value of the version with AWSPENDING but not AWSCURRENT (view.pendingVersionId). */
  readonly pending: VersionValue | undefined;
  /** Why the function would refuse the owner AWSCURRENT names (PINGONE_ALLOWED_ENVIRONMENTS, …). */
  readonly ownerProblem?: string;
  /** PingOne's side; read only once AWSCURRENT names an acceptable owner. */
  readonly pingone?: PingOneView;
  /** The function's defaults for the tags (once PingOne access was built). */
  readonly config?: Pick<RotationConfig, 'previousSecretTtl' | 'previousSecretInUseWindow'> &
    Partial<Pick<RotationConfig, 'tagBounds'>>;
  /** Only when the model was given the ledger and an owner is known. */
  readonly ledger?: LedgerFacts;
  /** Nothing resumes an AWSPENDING (the local world): every AWSPENDING is stuck, whatever its age. */
  readonly noRotationService: boolean;
}

/** The thresholds a verdict is judged by (InspectOptions' defaults applied). */
export interface JudgePolicy {
  /** An AWSPENDING version older than this is stuck rather than in progress. */
  readonly stuckAfterMs: number;
  /** previous-in-use-near-expiry: a previous secret still in use that expires within this. */
  readonly nearExpiryMs: number;
  /** not-rotating exits 9 instead of 0. */
  readonly strict: boolean;
}
