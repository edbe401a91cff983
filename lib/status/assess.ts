/**
 * Assess: what the facts imply, before any verdict — the tags parsed, where AWSCURRENT stands at PingOne,
 * whether the previous secret is in use and about to expire, whether rotation is overdue, what the ledger
 * says, how old AWSPENDING is. Pure: no I/O, the clock is the facts' `now`.
 */
import {
  assertTtlTagInBounds,
  assertWindowTagInBounds,
  DEFAULT_IN_USE_WINDOW,
  IN_USE_WINDOW_TAG,
  type InUseWindow,
  parseInUseWindow,
  parseTtl,
  TTL_TAG,
  type Ttl,
} from '../config.js';
import { type LedgerBinding, unfinishedRuns } from '../ledger/record.js';
import type { PingOneSecretState } from '../pingone/types.js';
import { previousInUse } from '../rotation/in-use-guard.js';
import { proofFor } from '../rotation/test-secret.js';
import type { ResourceSecretValue } from '../secret-value.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, type SecretView } from '../secrets/secrets-store.js';
import type { JudgePolicy, StatusFacts } from './facts.js';
import {
  matchAtPingOne,
  type PingOneMatch,
  type PingOneView,
  pendingDisposition,
  type VersionValue,
} from './inspect.js';
import type { ConfigWarning } from './verdicts.js';

/** A TTL under this is shorter than a typical consumer's cache of the secret. */
const CONSUMER_CACHE_MS = 3_600_000;
/** rotation-overdue: how long past its due date a rotation may still run, without a rotation window. */
const DEFAULT_OVERDUE_GRACE_MS = 24 * 3_600_000;

/** The outstanding AWSPENDING version, as judged. */
export interface PendingFinding {
  readonly versionId: string;
  readonly value: VersionValue;
  readonly created?: Date;
  readonly ageMs?: number;
  /** PingOne's current secret is the pending value (only when both are known). */
  readonly pingOneUsesIt?: boolean;
  readonly stuck: boolean;
  readonly unstickWould: 'finish' | 'remove-label';
}

export interface Findings {
  /** AWSCURRENT's parsed value, when it has one. */
  readonly currentValue?: ResourceSecretValue;
  /** PingOne's secrets, when it could be read. */
  readonly state?: PingOneSecretState;
  /** What testSecret can prove for this owner. */
  readonly secretTest?: { readonly proof: 'introspection' | 'comparison'; readonly method: string };
  readonly ttlTag?: string;
  readonly ttlProblem?: string;
  /** The TTL in effect: the tag's, else the function's. */
  readonly ttl?: Ttl;
  readonly windowTag?: string;
  readonly windowProblem?: string;
  /** The in-use window in effect: the tag's, else the function's. */
  readonly window?: InUseWindow;
  /** The previous secret was used within the in-use window (the default one when the guard is off). */
  readonly previousIsInUse: boolean;
  /** In use and expiring within the policy's nearExpiryMs. */
  readonly nearExpiry: boolean;
  readonly overdue?: { readonly due: Date };
  readonly warnings: readonly { readonly code: ConfigWarning; readonly message: string }[];
  readonly awsCurrentIs?: PingOneMatch;
  /** The ledger binds the owner to another secret. */
  readonly boundElsewhere?: LedgerBinding;
  /** The ledger was asked and answered (a record or none). */
  readonly ledgerRecordKnown: boolean;
  /** The ledger records an unfinished rotation of this secret (its own regenerate). */
  readonly ownRegenerate: boolean;
  /** The labels whose version holds PingOne's previous secret. */
  readonly holders: readonly string[];
  /** Version creation dates by version id. */
  readonly created: ReadonlyMap<string, Date>;
  readonly pending?: PendingFinding;
}

export function assess(facts: StatusFacts, policy: JudgePolicy): Findings {
  const { view, now } = facts;
  const currentValue = facts.current.kind === 'value' ? facts.current.value : undefined;
  const state = facts.pingone?.state;
  const secretTest = secretTestOf(facts.pingone);

  // The previous-secret TTL tag: a bad one fails every rotation with a configuration error.
  const ttlTag = view.tags[TTL_TAG];
  // Within the deployer's bounds too (TAG_MIN_PREVIOUS_SECRET_TTL): a rotation refuses a tag outside them.
  const config = facts.config;
  const ttlProblem =
    ttlTag === undefined
      ? undefined
      : problemOf(() => {
          const parsed = parseTtl(ttlTag, `Tag '${TTL_TAG}'`);
          if (config?.tagBounds) assertTtlTagInBounds(parsed, { tagBounds: config.tagBounds });
        });
  // The in-use window tag: a bad one fails every regenerate with a configuration error.
  const windowTag = view.tags[IN_USE_WINDOW_TAG];
  const windowProblem =
    windowTag === undefined
      ? undefined
      : problemOf(() => {
          const parsed = parseInUseWindow(windowTag, `Tag '${IN_USE_WINDOW_TAG}'`);
          if (config?.tagBounds) assertWindowTagInBounds(parsed, { ...config, tagBounds: config.tagBounds });
        });
  const window: InUseWindow | undefined =
    windowTag === undefined
      ? facts.config?.previousSecretInUseWindow
      : windowProblem
        ? undefined
        : parseInUseWindow(windowTag, `Tag '${IN_USE_WINDOW_TAG}'`);
  const ttl: Ttl | undefined =
    ttlTag === undefined
      ? facts.config?.previousSecretTtl
      : ttlProblem
        ? undefined
        : parseTtl(ttlTag, TTL_TAG);

  // "In use" as the guard judges it; with the guard off, by the default window.
  const inUseWindow =
    window && window.ms > 0 ? window : parseInUseWindow(DEFAULT_IN_USE_WINDOW, 'default window');
  const previousIsInUse = state ? previousInUse(state, inUseWindow, now).inUse : false;
  const expiresInMs = state?.previous ? Date.parse(state.previous.expiresAt) - now : Number.NaN;
  const nearExpiry = previousIsInUse && expiresInMs > 0 && expiresInMs <= policy.nearExpiryMs;
  const overdue = overdueBy(view, now);

  const record = facts.ledger?.record;
  const boundElsewhere =
    record?.binding && record.binding.secretArn !== view.arn ? record.binding : undefined;
  const created = creationDates(facts);
  const pending = pendingFinding(facts, policy, currentValue, state, created);
  return {
    ...(currentValue ? { currentValue } : {}),
    ...(state ? { state } : {}),
    ...(secretTest ? { secretTest } : {}),
    ...(ttlTag !== undefined ? { ttlTag } : {}),
    ...(ttlProblem ? { ttlProblem } : {}),
    ...(ttl ? { ttl } : {}),
    ...(windowTag !== undefined ? { windowTag } : {}),
    ...(windowProblem ? { windowProblem } : {}),
    ...(window ? { window } : {}),
    previousIsInUse,
    nearExpiry,
    ...(overdue ? { overdue } : {}),
    warnings: configWarnings(ttl, ttlTag !== undefined, view),
    ...(currentValue && state ? { awsCurrentIs: matchAtPingOne(currentValue.clientSecret, state) } : {}),
    ...(boundElsewhere ? { boundElsewhere } : {}),
    ledgerRecordKnown: facts.ledger !== undefined && !facts.ledger.problem,
    ownRegenerate: unfinishedRuns(record, view.arn).length > 0,
    holders: previousHolders(facts, state),
    created,
    ...(pending ? { pending } : {}),
  };
}

function problemOf(parse: () => unknown): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

/** The rotation interval of a `rate(…)` schedule or AutomaticallyAfterDays; undefined for cron. */
function rotationIntervalMs(rotation: SecretView['rotation']): number | undefined {
  const rate = /^rate\(\s*(\d+)\s+(hour|hours|day|days)\s*\)$/i.exec(rotation.scheduleExpression ?? '');
  if (rate) return Number(rate[1]) * (rate[2]?.toLowerCase().startsWith('hour') ? 3_600_000 : 86_400_000);
  if (rotation.scheduleExpression) return undefined;
  return rotation.automaticallyAfterDays ? rotation.automaticallyAfterDays * 86_400_000 : undefined;
}

/**
 * When rotation is enabled and its due date has passed by more than the rotation window (default 24 h):
 * Secrets Manager's NextRotationDate (which stays in the past while rotations fail), else the last rotation
 * plus the interval.
 */
function overdueBy(view: SecretView, now: number): { due: Date } | undefined {
  const rotation = view.rotation;
  if (!rotation.enabled) return undefined;
  const interval = rotationIntervalMs(rotation);
  const due =
    rotation.nextRotation ??
    (rotation.lastRotated && interval !== undefined
      ? new Date(rotation.lastRotated.getTime() + interval)
      : undefined);
  if (!due) return undefined;
  const windowHours = /^(\d+)h$/.exec(rotation.duration ?? '');
  const grace = windowHours ? Number(windowHours[1]) * 3_600_000 : DEFAULT_OVERDUE_GRACE_MS;
  return now > due.getTime() + grace ? { due } : undefined;
}

function configWarnings(
  ttl: Ttl | undefined,
  fromTag: boolean,
  view: SecretView,
): { code: ConfigWarning; message: string }[] {
  if (!ttl) return [];
  const where = fromTag ? `tag ${TTL_TAG}` : "the function's PREVIOUS_SECRET_TTL";
  const warnings: { code: ConfigWarning; message: string }[] = [];
  const interval = rotationIntervalMs(view.rotation);
  if (view.rotation.enabled && interval !== undefined && ttl.ms >= interval) {
    warnings.push({
      code: 'ttl-not-shorter-than-rotation-interval',
      message:
        `the previous-secret TTL ${ttl.text} (${where}) is not shorter than the rotation interval ` +
        `(${view.rotation.scheduleExpression ?? `every ${view.rotation.automaticallyAfterDays} days`}): each ` +
        'rotation replaces a previous secret that is still valid, cutting its grace period short (and the in-use ' +
        'guard may refuse the rotation). Shorten the TTL or rotate less often',
    });
  }
  if (ttl.ms < CONSUMER_CACHE_MS) {
    warnings.push({
      code: 'ttl-shorter-than-consumer-cache',
      message:
        `the previous-secret TTL ${ttl.text} (${where}) is shorter than a typical consumer cache (1 hour): ` +
        'consumers that cached the secret fail before they refresh it. Use at least 1h',
    });
  }
  return warnings;
}

/** What testSecret can prove for this owner, once PingOne said how it authenticates. */
function secretTestOf(view: PingOneView | undefined): Findings['secretTest'] {
  if (!view?.state) return undefined;
  const proof =
    view.owner.kind === 'application'
      ? proofFor('application', view.application?.tokenEndpointAuthMethod)
      : proofFor('resource', view.resource?.introspectEndpointAuthMethod);
  return { proof: proof.kind, method: proof.method };
}

/** The labels whose version holds PingOne's previous secret. */
function previousHolders(facts: StatusFacts, state: PingOneSecretState | undefined): string[] {
  if (state?.previous?.secret === undefined) return [];
  const holders: string[] = [];
  const check = (label: string, value: VersionValue | undefined) => {
    if (value?.kind === 'value' && matchAtPingOne(value.value.clientSecret, state) === 'previous') {
      holders.push(label);
    }
  };
  check(AWSCURRENT, facts.current);
  check(AWSPREVIOUS, facts.previous);
  check(AWSPENDING, facts.pending);
  return holders;
}

/** Version creation dates: GetSecretValue's where a value was read, else ListSecretVersionIds'. */
function creationDates(facts: StatusFacts): Map<string, Date> {
  const dates = new Map<string, Date>();
  for (const v of facts.view.versions) if (v.created) dates.set(v.id, v.created);
  const set = (id: string | undefined, value: VersionValue | undefined) => {
    if (id && value && value.kind !== 'placeholder' && value.created) dates.set(id, value.created);
  };
  set(facts.view.currentVersionId, facts.current);
  set(facts.view.previousVersionId, facts.previous);
  set(facts.view.pendingVersionId, facts.pending);
  return dates;
}

function pendingFinding(
  facts: StatusFacts,
  policy: JudgePolicy,
  currentValue: ResourceSecretValue | undefined,
  state: PingOneSecretState | undefined,
  dates: ReadonlyMap<string, Date>,
): PendingFinding | undefined {
  const versionId = facts.view.pendingVersionId;
  const value = facts.pending;
  if (!versionId || !value) return undefined;
  const created = dates.get(versionId);
  const ageMs = created ? Math.max(0, facts.now - created.getTime()) : undefined;
  // The local world has no rotation service: nothing resumes a rotation there, so any AWSPENDING is stuck.
  const stuck = facts.noRotationService || ageMs === undefined || ageMs >= policy.stuckAfterMs;
  const pingOneUsesIt =
    value.kind === 'value' && state
      ? matchAtPingOne(value.value.clientSecret, state) === 'current'
      : undefined;
  return {
    versionId,
    value,
    ...(created ? { created } : {}),
    ...(ageMs !== undefined ? { ageMs } : {}),
    ...(pingOneUsesIt !== undefined ? { pingOneUsesIt } : {}),
    stuck,
    unstickWould: pendingDisposition(value, currentValue, state),
  };
}
