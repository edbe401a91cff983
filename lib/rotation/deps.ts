import type { RotationConfig } from '../config.js';
import type { RotationLedger } from '../ledger/ledger.js';
import type { PingOneClient } from '../pingone/types.js';
import type { SecretsStore } from '../secrets/secrets-store.js';

/** The logger the steps use: short constant messages, structured extras, never a secret value. */
export interface StepLogger {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
}

/** Counters the steps emit (EMF through Powertools Metrics in the Lambda). */
export type RotationMetric =
  | 'SecretRegenerated'
  | 'SecretAdopted'
  | 'DriftDetected'
  | 'RegenerateOutcomeUnknown'
  | 'PreviousSecretInUse'
  | 'UnexplainedRegenerate'
  | 'OwnerBoundElsewhere'
  | 'OwnerRegionMismatch';

export interface StepMetrics {
  count(metric: RotationMetric): void;
}

/** Everything a step may touch: the narrow ports, not globals. */
export interface RotationDeps {
  readonly secrets: SecretsStore;
  readonly pingone: PingOneClient;
  /** State only this function writes: which secret owns which PingOne secret, and its own regenerates. */
  readonly ledger: RotationLedger;
  readonly config: RotationConfig;
  readonly logger: StepLogger;
  readonly metrics: StepMetrics;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** [0, 1), for the jitter of every wait (lib/pingone/backoff.ts); Math.random when omitted. */
  readonly random?: () => number;
  /** Absolute time (epoch ms) by which every call must be done: the Lambda's deadline minus a margin. */
  readonly deadline: number;
}
