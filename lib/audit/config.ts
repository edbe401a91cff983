import { loadConfig, type RotationConfig } from '../config.js';
import { ConfigurationError } from '../errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The fleet auditor's settings, parsed once from its environment (`loadAuditConfig`). */
export interface AuditConfig {
  /**
   * PingOne access as the rotation function has it (region, URLs, TTL, window), with the auditor's own worker
   * parameter (AUDIT_WORKER_PARAMETER) in place of the function's when one is set.
   */
  readonly rotation: RotationConfig;
  /** Whether the worker is the auditor's own (AUDIT_WORKER_PARAMETER) rather than the rotation function's. */
  readonly ownWorker: boolean;
  /** Only secrets whose name starts with this are audited (the stack's SecretNamePrefix). */
  readonly secretNamePrefix: string;
  /** Only secrets rotated by this function are audited; undefined: every secret under the prefix. */
  readonly rotationFunctionArn: string | undefined;
  /** Secrets inspected at once. */
  readonly concurrency: number;
  /** PingOne requests per second, at most, shared by all of them. */
  readonly pingOneRequestsPerSecond: number;
  /** previous-in-use-near-expiry: a previous secret still in use that expires within this. */
  readonly nearExpiryMs: number;
  /** stuck-pending: an AWSPENDING older than this. */
  readonly stuckAfterMs: number;
  /** Early retirement of PingOne's previous secret after this long unused; undefined: off (the default). */
  readonly retireUnusedPreviousAfterMs: number | undefined;
  readonly retireUnusedPreviousAfterText: string | undefined;
}

const UNITS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A duration `<n>s|m|h|d`, within [minMs, maxMs]. `source` names the variable, so the error says what to fix.
 */
function parseDuration(
  text: string,
  source: string,
  range: { minMs: number; maxMs: number; units?: string },
): number {
  const match = /^\s*(\d{1,7})\s*([smhd])\s*$/.exec(text);
  const what = `written <n>${range.units ?? 'm, <n>h or <n>d'} from ${describe(range.minMs)} to ${describe(range.maxMs)}`;
  if (!match) throw new ConfigurationError(`${source} is '${text}': it must be ${what}`);
  const ms = Number(match[1]) * UNITS[match[2] as keyof typeof UNITS];
  if (ms < range.minMs || ms > range.maxMs) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${what}`);
  }
  return ms;
}

function describe(ms: number): string {
  for (const [unit, size] of [
    ['d', UNITS.d],
    ['h', UNITS.h],
    ['m', UNITS.m],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const text = optional(env, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(`${name} is '${text}': it must be a whole number from ${min} to ${max}`);
  }
  return value;
}

const OFF = new Set(['0', 'off', 'false', 'none']);

/** Parses and validates the auditor's configuration; every error names the variable and what it accepts. */
export function loadAuditConfig(env: Env): AuditConfig {
  // The auditor's own worker, so that it need not hold the rotation function's (which can regenerate every
  // secret): read-only roles, plus deleting a previous secret when early retirement is on.
  const auditWorker = optional(env, 'AUDIT_WORKER_PARAMETER');
  if (auditWorker !== undefined && !/^\/?[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(auditWorker)) {
    throw new ConfigurationError(
      `AUDIT_WORKER_PARAMETER is '${auditWorker}': it must be an SSM parameter name such as /pingone/audit-worker, or empty to use PINGONE_WORKER_PARAMETER`,
    );
  }
  // The auditor's own worker replaces the function's worker(s): the single-worker setting, one region.
  const rotation = loadConfig(
    auditWorker ? { ...env, PINGONE_WORKERS: undefined, PINGONE_WORKER_PARAMETER: auditWorker } : env,
  );
  const prefix = optional(env, 'AUDIT_SECRET_NAME_PREFIX');
  if (!prefix || /[*?]/.test(prefix)) {
    throw new ConfigurationError(
      `AUDIT_SECRET_NAME_PREFIX is '${prefix ?? ''}': it must be the non-empty secret-name prefix of the secrets the rotation function may rotate (no wildcards), e.g. pingone/`,
    );
  }
  const arn = optional(env, 'AUDIT_ROTATION_FUNCTION_ARN');
  if (
    arn !== undefined &&
    !/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(:[A-Za-z0-9_$-]+)?$/.test(arn)
  ) {
    throw new ConfigurationError(`AUDIT_ROTATION_FUNCTION_ARN is '${arn}': it must be a Lambda function ARN`);
  }
  const retireText = optional(env, 'RETIRE_UNUSED_PREVIOUS_AFTER');
  const retireOff = retireText === undefined || OFF.has(retireText.toLowerCase());
  const retireMs = retireOff
    ? undefined
    : parseDuration(retireText, 'RETIRE_UNUSED_PREVIOUS_AFTER', {
        minMs: UNITS.h,
        maxMs: 30 * UNITS.d,
        units: "m, <n>h or <n>d (or 'off')",
      });
  return Object.freeze({
    rotation,
    ownWorker: auditWorker !== undefined,
    secretNamePrefix: prefix,
    rotationFunctionArn: arn,
    concurrency: integer(env, 'AUDIT_CONCURRENCY', 8, 1, 64),
    pingOneRequestsPerSecond: integer(env, 'AUDIT_PINGONE_REQUESTS_PER_SECOND', 10, 1, 1_000),
    nearExpiryMs: parseDuration(optional(env, 'AUDIT_NEAR_EXPIRY') ?? '24h', 'AUDIT_NEAR_EXPIRY', {
      minMs: UNITS.m,
      maxMs: 30 * UNITS.d,
    }),
    stuckAfterMs: parseDuration(optional(env, 'AUDIT_STUCK_AFTER') ?? '15m', 'AUDIT_STUCK_AFTER', {
      minMs: UNITS.m,
      maxMs: 7 * UNITS.d,
    }),
    retireUnusedPreviousAfterMs: retireMs,
    retireUnusedPreviousAfterText: retireOff ? undefined : retireText,
  });
}
