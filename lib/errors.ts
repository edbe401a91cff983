/**
 * One error class per failure mode. Messages name the secret, the step and what to do next; they never
 * contain a secret value, a RotationToken, a bearer token or a worker credential.
 */

export abstract class RotationError extends Error {
  /** Stable machine-readable name, also used as the metric/log `errorCode`. */
  abstract readonly code: string;
  /** True when nothing can have changed and retrying later may succeed on its own. */
  get retryable(): boolean {
    return false;
  }

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The Lambda event is not a Secrets Manager rotation event. */
export class InvalidEventError extends RotationError {
  readonly code = 'InvalidEvent';
}

/** The function's configuration (environment, tags, worker parameter) is malformed. */
export class ConfigurationError extends RotationError {
  readonly code = 'Configuration';
  /** The setting the error is about (a key of SETTINGS in lib/settings.ts), when it is one. */
  readonly setting: string | undefined;

  constructor(message: string, options?: { cause?: unknown; setting?: string }) {
    super(message, options);
    this.setting = options?.setting;
  }
}

/**
 * A secret's tag (previous-secret TTL, in-use window) asks for less safety than the deployer's bounds allow
 * tags to (TAG_MIN_PREVIOUS_SECRET_TTL, TAG_IN_USE_WINDOW_MAY). Nothing was changed at PingOne.
 */
export class TagOutOfBoundsError extends RotationError {
  readonly code = 'TagOutOfBounds';
}

/** A secret version's value is not the JSON this function rotates. */
export class SecretFormatError extends RotationError {
  readonly code = 'SecretFormat';
}

/** The preamble's checks failed: rotation disabled, unknown token, token not AWSPENDING. */
export class RotationStateError extends RotationError {
  readonly code = 'RotationState';
}

/** The secret names a PingOne environment outside PINGONE_ALLOWED_ENVIRONMENTS. */
export class EnvironmentNotAllowedError extends RotationError {
  readonly code = 'EnvironmentNotAllowed';
}

/**
 * No configured worker covers the secret's PingOne environment in its region (PINGONE_WORKERS, or the single
 * worker's region): nothing was sent to PingOne. A token is only ever used in the region that issued it.
 */
export class EnvironmentNotCoveredError extends RotationError {
  readonly code = 'EnvironmentNotCovered';
}

/**
 * The secret names a PingOne object this function must not or cannot rotate: a SAML (or other non-OIDC)
 * application, an application PingOne returns no secret for, or the function's own worker application.
 */
export class OwnerNotRotatableError extends RotationError {
  readonly code = 'OwnerNotRotatable';
}

/** AWSCURRENT no longer proves possession of the PingOne resource. */
export class DriftError extends RotationError {
  readonly code = 'Drift';
}

/**
 * PingOne's previous secret was used within the in-use window: a regenerate would evict it and lock out the
 * consumers still on it. Nothing was changed; Secrets Manager retries the rotation, which proceeds once the
 * previous secret has been quiet for the window (or has expired).
 */
export class PreviousSecretInUseError extends RotationError {
  readonly code = 'PreviousSecretInUse';
  readonly lastUsed: string;
  readonly expiresAt: string;

  constructor(message: string, info: { lastUsed: string; expiresAt: string }) {
    super(message);
    this.lastUsed = info.lastUsed;
    this.expiresAt = info.expiresAt;
  }
}

/**
 * The fleet audit did not cover the whole fleet: a secret could not be judged, the deadline came before
 * every secret was started, or an early retirement failed. The auditor's invocation fails, so its alarm fires.
 */
export class AuditIncompleteError extends RotationError {
  readonly code = 'AuditIncomplete';
}

/** AWSPENDING and AWSCURRENT disagree, or PingOne does not use the pending secret. */
export class PendingMismatchError extends RotationError {
  readonly code = 'PendingMismatch';
}

/** PingOne rejected the pending secret in testSecret. */
export class SecretTestFailedError extends RotationError {
  readonly code = 'SecretTestFailed';
}

/**
 * A regenerate POST failed in a way that leaves its outcome unknown (timeout, reset, gateway error) and a
 * re-read of PingOne showed no change. The next attempt re-reads PingOne before deciding anything.
 */
export class RegenerateOutcomeUnknownError extends RotationError {
  readonly code = 'RegenerateOutcomeUnknown';
}

/**
 * PingOne's endpoint answered with an error status, or a 2xx whose body is not what PingOne documents.
 * Carries the status, PingOne's code and request id (the body's `id`), and two facts a caller needs before it
 * decides anything after a call that changes PingOne (lib/pingone/change-outcome.ts):
 * - `fromPingOne`: the body is PingOne's own error document for this kind of endpoint (Management API:
 *   a JSON object with `id`, `code` and `message`; OAuth endpoints: a JSON object with `error`). Only such an
 *   answer says what PingOne did. A gateway's plain-text or HTML 503, a proxy's own JSON, an empty body are
 *   not PingOne's word: the request may still be (or already have been) processed behind it.
 * - `operation`: the request that failed (e.g. `regenerate secret`, `worker token`).
 */
export class PingOneApiError extends RotationError {
  readonly code = 'PingOneApi';
  readonly status: number;
  readonly pingOneCode: string | undefined;
  readonly requestId: string | undefined;
  readonly details: readonly PingOneErrorDetail[];
  readonly retryAfterMs: number | undefined;
  readonly fromPingOne: boolean;
  readonly operation: string | undefined;

  constructor(
    message: string,
    info: {
      status: number;
      pingOneCode?: string | undefined;
      requestId?: string | undefined;
      details?: readonly PingOneErrorDetail[];
      retryAfterMs?: number | undefined;
      /** Default false: an answer is PingOne's only when its body proves it. */
      fromPingOne?: boolean;
      operation?: string | undefined;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.status = info.status;
    this.pingOneCode = info.pingOneCode;
    this.requestId = info.requestId;
    this.details = info.details ?? [];
    this.retryAfterMs = info.retryAfterMs;
    this.fromPingOne = info.fromPingOne ?? false;
    this.operation = info.operation;
  }

  override get retryable(): boolean {
    return isRetryableStatus(this.status);
  }
}

export interface PingOneErrorDetail {
  code?: string;
  target?: string;
  message?: string;
}

/**
 * No complete answer (DNS, refused or reset connection, per-attempt timeout). For a call that changes PingOne
 * the outcome is unknown: the request may have been processed. `operation` names the request.
 */
export class PingOneNetworkError extends RotationError {
  readonly code = 'PingOneNetwork';
  readonly operation: string | undefined;

  constructor(message: string, options?: { cause?: unknown; operation?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.operation = options?.operation;
  }

  override get retryable(): boolean {
    return true;
  }
}

/** The worker app could not get an access token (bad credentials, wrong environment or region). */
export class WorkerAuthError extends RotationError {
  readonly code = 'WorkerAuth';
}

/** Not enough of the Lambda's time is left to make (or retry) a call safely. */
export class DeadlineExceededError extends RotationError {
  readonly code = 'DeadlineExceeded';
}

/** 408, 429 and 5xx are worth retrying (Ping's retry guidance). */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/** The rotation ledger (DynamoDB) could not be read or written, after the SDK's own retries. */
export class LedgerUnavailableError extends RotationError {
  readonly code = 'LedgerUnavailable';
}

/** The PingOne owner is bound in the ledger to another Secrets Manager secret. */
export class OwnerBoundElsewhereError extends RotationError {
  readonly code = 'OwnerBoundElsewhere';
  constructor(
    message: string,
    /** The secret that owns the PingOne secret. */
    readonly boundSecretArn: string,
  ) {
    super(message);
  }
}

/**
 * The secret names its PingOne owner under another region than the one the rotation ledger bound it in.
 * Nothing was sent to PingOne.
 */
export class OwnerRegionMismatchError extends RotationError {
  readonly code = 'OwnerRegionMismatch';
}

/**
 * The rotation ledger's items from before issue 17 (keys holding a region) bind one PingOne owner to two
 * secrets. Nothing is sent to PingOne for the owner until an operator deletes the wrong item.
 */
export class LedgerLegacyConflictError extends RotationError {
  readonly code = 'LedgerLegacyConflict';
}

/**
 * A regenerate for this owner may still be in flight (this rotation's earlier attempt, or another rotation),
 * or another invocation changed the ledger while this one decided. Nothing was sent to PingOne.
 */
export class RegenerateInFlightError extends RotationError {
  readonly code = 'RegenerateInFlight';
}

/**
 * The fleet auditor holds the owner's early-retirement intent: its DELETE of PingOne's previous secret may
 * be in flight, and a regenerate now could make that DELETE remove the secret AWSCURRENT holds. Nothing was
 * sent to PingOne; Secrets Manager's retry after the intent settles goes on.
 */
export class RetirementInProgressError extends RotationError {
  readonly code = 'RetirementInProgress';
  override get retryable(): boolean {
    return true;
  }
}

/**
 * PingOne shows a regenerate (AWSCURRENT is its previous secret) that the ledger does not record as this
 * function's own for this secret: someone regenerated outside the function. Nothing is adopted.
 */
export class UnexplainedRegenerateError extends RotationError {
  readonly code = 'UnexplainedRegenerate';
}
