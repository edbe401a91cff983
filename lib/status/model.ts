/**
 * The status model: what state a rotated secret is in, as one verdict with its reason, its exit code and
 * a report. `pingone-rotation status` prints it; the fleet auditor calls it for every secret it finds. All
 * it touches is injected (Secrets Manager, PingOne, the clock), so it runs the same in a Lambda, the CLI
 * and tests. Holds no secret value unless `includeSecrets` is asked for.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  APPLICATION_TAG,
  DEFAULT_IN_USE_WINDOW,
  ENVIRONMENT_TAG,
  IN_USE_WINDOW_TAG,
  type InUseWindow,
  parseInUseWindow,
  parseTtl,
  RESOURCE_TAG,
  type RotationConfig,
  TTL_TAG,
  type Ttl,
} from '../config.js';
import type { RotationLedger } from '../ledger/ledger.js';
import {
  intentIsLive,
  intentSettlesAt,
  type LedgerRecord,
  type LedgerRun,
  unfinishedRuns,
} from '../ledger/record.js';
import type { PingOneClient, PingOneSecretState, SecretOwnerKind } from '../pingone/types.js';
import { previousInUse } from '../rotation/in-use-guard.js';
import { proofFor } from '../rotation/test-secret.js';
import { OWNER_ID_FIELDS, type ResourceSecretValue } from '../secret-value.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../secrets/secrets-store.js';
import { noHint, type RotationErrorHint } from './explain.js';
import {
  matchAtPingOne,
  ownerFor,
  type PingOneMatch,
  type PingOneView,
  pendingDisposition,
  readPingOne,
  readSecretView,
  readVersionValue,
  type SecretView,
  type VersionValue,
} from './inspect.js';
import { duration, isoTime, when } from './text.js';

export type Verdict =
  | 'healthy'
  | 'not-rotating'
  | 'drift'
  | 'grace'
  | 'rotation-in-progress'
  | 'stuck-pending'
  | 'pingone-error'
  | 'misconfigured'
  | 'previous-in-use-near-expiry'
  | 'rotation-overdue'
  | 'duplicate-owner';

/** Every verdict, in the order the auditor reports them. */
export const VERDICTS: readonly Verdict[] = [
  'healthy',
  'not-rotating',
  'drift',
  'grace',
  'rotation-in-progress',
  'stuck-pending',
  'pingone-error',
  'misconfigured',
  'previous-in-use-near-expiry',
  'rotation-overdue',
  'duplicate-owner',
];

/**
 * Configuration that works today but hurts consumers: the previous-secret TTL is at least the rotation
 * interval (every rotation then replaces a previous secret that is still valid), or shorter than a typical
 * consumer cache (1 hour).
 */
export type ConfigWarning = 'ttl-not-shorter-than-rotation-interval' | 'ttl-shorter-than-consumer-cache';

export const CONFIG_WARNINGS: readonly ConfigWarning[] = [
  'ttl-not-shorter-than-rotation-interval',
  'ttl-shorter-than-consumer-cache',
];

/** A TTL under this is shorter than a typical consumer's cache of the secret. */
export const CONSUMER_CACHE_MS = 3_600_000;
/** previous-in-use-near-expiry: a previous secret still in use that expires within this (default). */
export const DEFAULT_NEAR_EXPIRY_MS = 24 * 3_600_000;
/** rotation-overdue: how long past its due date a rotation may still run, without a rotation window. */
export const DEFAULT_OVERDUE_GRACE_MS = 24 * 3_600_000;

/** `status` exit codes, one per verdict (documented in --help). */
export const STATUS_EXIT: Readonly<Record<Verdict, number>> = Object.freeze({
  healthy: 0,
  'not-rotating': 0,
  drift: 3,
  grace: 4,
  'rotation-in-progress': 5,
  'stuck-pending': 6,
  'pingone-error': 7,
  misconfigured: 8,
  'previous-in-use-near-expiry': 10,
  'rotation-overdue': 11,
  'duplicate-owner': 12,
});

/**
 * The verdicts a rotation fixes or leaves fine: `rotate` refuses the others (unless --force), because a
 * rotation there fails deterministically, retries, and leaves an AWSPENDING behind.
 */
export const ROTATION_FIXES: ReadonlySet<Verdict> = new Set<Verdict>(['healthy', 'not-rotating', 'grace']);

/** `not-rotating` under --strict. */
export const NOT_ROTATING_STRICT_EXIT = 9;

export const DEFAULT_STUCK_AFTER_MS = 15 * 60_000;

/** PingOne as the rotation function sees it: its configuration and a client acting as its worker app. */
export interface StatusPingOne {
  readonly config: RotationConfig;
  readonly client: PingOneClient;
}

/** What the model reads from, injected. */
export interface StatusDeps {
  readonly secretsManager: SecretsManagerClient;
  /**
   * PingOne access, or a function returning it. The function is called only once AWSCURRENT holds a value
   * naming an owner, so a secret can be judged misconfigured without PingOne configured (it may throw).
   */
  readonly pingone: StatusPingOne | (() => StatusPingOne);
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * Nothing resumes an AWSPENDING here (the local world has no rotation service): every AWSPENDING is
   * stuck, whatever its age.
   */
  readonly noRotationService?: boolean;
  /** How a RotationError's message says where the setting lives (the CLI names its flags). */
  readonly hint?: RotationErrorHint;
  /** Deadline for PingOne's reads (default 30 s). */
  readonly pingOneTimeoutMs?: number;
  /**
   * The rotation ledger (binding, intent, recent rotations); called once an owner is known. Without it the
   * report has no `ledger` and the verdicts do not consider it.
   */
  readonly ledger?: RotationLedger | (() => RotationLedger);
}

/** How many of the ledger's recent rotations a report shows. */
export const LEDGER_HISTORY_SHOWN = 5;

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

export const DEFAULT_PINGONE_TIMEOUT_MS = 30_000;

/** Everything the model found, as `status --json` prints it. Holds no secret value unless `includeSecrets`. */
export interface StatusReport {
  readonly secret: { readonly arn: string; readonly name: string };
  readonly verdict: Verdict;
  readonly exitCode: number;
  readonly reason: string;
  readonly notes: readonly string[];
  readonly checkedAt: string;
  readonly versions: readonly {
    readonly versionId: string;
    readonly stages: readonly string[];
    readonly created?: string;
  }[];
  readonly rotation: {
    readonly enabled: boolean;
    readonly lambdaArn?: string;
    readonly scheduleExpression?: string;
    readonly duration?: string;
    readonly automaticallyAfterDays?: number;
    readonly lastRotated?: string;
    readonly nextRotation?: string;
  };
  readonly previousSecretTtl: {
    /** `tag`: the secret's pingone:previous-secret-ttl; `function-default`: the function's PREVIOUS_SECRET_TTL. */
    readonly source: 'tag' | 'function-default';
    readonly tag?: string;
    /** The TTL in effect (the tag's, else the function's), when known. */
    readonly effective?: string;
    readonly problem?: string;
  };
  /** The in-use guard's window for this secret (pingone:previous-secret-in-use-window or the function's). */
  readonly previousSecretInUseWindow: {
    readonly source: 'tag' | 'function-default';
    readonly tag?: string;
    readonly effective?: string;
    readonly problem?: string;
  };
  /** Configuration warnings: the verdict stands, but consumers are at risk. */
  readonly warnings: readonly { readonly code: ConfigWarning; readonly message: string }[];
  /** Other secrets naming the same PingOne owner (see markDuplicates). */
  readonly duplicates?: readonly string[];
  /** The rotation ledger's record of the owner (only when the model was given the ledger). */
  readonly ledger?: {
    readonly table: string;
    readonly binding?: {
      readonly secretArn: string;
      readonly boundAt: string;
      readonly how: string;
      /** Bound to this secret (else its rotations are refused). */
      readonly thisSecret: boolean;
    };
    readonly intent?: {
      readonly versionId: string;
      readonly secretArn: string;
      readonly startedAt: string;
      /** Until then a regenerate may be in flight and no other is sent. */
      readonly settlesAt: string;
      readonly live: boolean;
    };
    /** The most recent rotations, newest first (times from the ledger; moto keeps no LastRotatedDate). */
    readonly history: readonly (Omit<LedgerRun, 'token'> & { readonly versionId: string })[];
    /** The last rotation the ledger records as finished. */
    readonly lastRotated?: string;
    readonly problem?: string;
  };
  readonly awsCurrent:
    | {
        readonly versionId?: string;
        /** Which PingOne object the value names: `resourceId` or `applicationId`. */
        readonly kind?: SecretOwnerKind;
        readonly environmentId?: string;
        readonly resourceId?: string;
        readonly applicationId?: string;
        readonly region?: string;
        readonly problem?: string;
      }
    | undefined;
  readonly pending:
    | {
        readonly versionId: string;
        readonly created?: string;
        readonly ageSeconds?: number;
        readonly kind: VersionValue['kind'];
        readonly pingOneUsesIt?: boolean;
        readonly stuck: boolean;
        readonly unstickWould: 'finish' | 'remove-label';
      }
    | undefined;
  readonly pingone:
    | {
        /** What owns the secret at PingOne: `resource` (a CUSTOM resource) or `application` (an OIDC application). */
        readonly kind: SecretOwnerKind;
        readonly environmentId: string;
        /** Resources: the resource id, name and type. */
        readonly resourceId?: string;
        readonly region: string;
        readonly resourceName?: string;
        readonly resourceType?: string;
        /** Applications: the application id, name, protocol, type and token endpoint auth method. */
        readonly applicationId?: string;
        readonly applicationName?: string;
        readonly protocol?: string;
        readonly applicationType?: string;
        readonly tokenEndpointAuthMethod?: string;
        /**
         * How testSecret proves a new secret: by introspection with it (`method`), or — when the auth method
         * does not use the secret (PRIVATE_KEY_JWT, NONE) — only by comparing it with PingOne's current one.
         */
        readonly secretTest?: { readonly proof: 'introspection' | 'comparison'; readonly method: string };
        readonly awsCurrentIs?: PingOneMatch;
        readonly previous?: {
          readonly expiresAt: string;
          readonly lastUsed?: string;
          /** Used within the in-use window: a regenerate now would be refused by the in-use guard. */
          readonly inUse: boolean;
          readonly heldBy: readonly string[];
        };
        readonly problem?: string;
      }
    | undefined;
  /** Only with `includeSecrets` (status --show-secrets). */
  readonly secrets?: Readonly<Record<string, string | undefined>>;
}

interface Gathered {
  readonly view: SecretView;
  readonly current: VersionValue;
  readonly previous: VersionValue | undefined;
  readonly pending: VersionValue | undefined;
  readonly ownerProblem?: string;
  readonly pingone?: PingOneView;
  /** The function's configuration, once PingOne access was built (for its default TTL and in-use window). */
  readonly config?: RotationConfig;
  readonly ledger?: { readonly table: string; readonly record?: LedgerRecord; readonly problem?: string };
}

async function gather(deps: StatusDeps, secretId: string): Promise<Gathered> {
  const sm = deps.secretsManager;
  const view = await readSecretView(sm, secretId);
  const current = view.currentVersionId
    ? await readVersionValue(sm, view.arn, { stage: AWSCURRENT }, 'AWSCURRENT')
    : ({ kind: 'placeholder' } as const);
  const previous = view.previousVersionId
    ? await readVersionValue(sm, view.arn, { stage: AWSPREVIOUS }, 'AWSPREVIOUS')
    : undefined;
  const pending = view.pendingVersionId
    ? await readVersionValue(
        sm,
        view.arn,
        { versionId: view.pendingVersionId, stage: AWSPENDING },
        `AWSPENDING (version ${view.pendingVersionId})`,
      )
    : undefined;
  if (current.kind !== 'value') return { view, current, previous, pending };
  const access = typeof deps.pingone === 'function' ? deps.pingone() : deps.pingone;
  const owner = ownerFor(current.value, access.config);
  if ('problem' in owner) {
    return { view, current, previous, pending, ownerProblem: owner.problem, config: access.config };
  }
  const ledger = await readLedger(deps, owner.owner);
  const pingone = await readPingOne(access.client, owner.owner, {
    deadline: deps.now() + (deps.pingOneTimeoutMs ?? DEFAULT_PINGONE_TIMEOUT_MS),
    hint: deps.hint ?? noHint,
  });
  return { view, current, previous, pending, pingone, config: access.config, ...(ledger ? { ledger } : {}) };
}

async function readLedger(
  deps: StatusDeps,
  owner: Parameters<RotationLedger['read']>[0],
): Promise<Gathered['ledger']> {
  if (!deps.ledger) return undefined;
  let table = 'the rotation ledger';
  try {
    const ledger = typeof deps.ledger === 'function' ? deps.ledger() : deps.ledger;
    table = ledger.table;
    const record = await ledger.read(owner, {
      deadline: deps.now() + 15_000,
      now: deps.now,
      consequence: '',
    });
    return { table, ...(record ? { record } : {}) };
  } catch (error) {
    return { table, problem: (error as Error).message.trim() };
  }
}

/** Reads the secret and PingOne and judges them. Throws only when Secrets Manager itself cannot be read. */
export async function inspectStatus(deps: StatusDeps, options: InspectOptions): Promise<StatusReport> {
  const now = deps.now();
  const g = await gather(deps, options.secretId);
  const { view } = g;
  const stuckAfter = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
  const currentValue = g.current.kind === 'value' ? g.current.value : undefined;
  const state = g.pingone?.state;
  const notes: string[] = [];
  const secretTest = secretTestOf(g.pingone);
  if (secretTest?.proof === 'comparison') {
    notes.push(
      `testSecret cannot prove a new secret at PingOne: this ${g.pingone?.owner.kind}'s auth method ` +
        `${secretTest.method} does not use the secret, so it only compares it with PingOne's current secret`,
    );
  }

  // The previous-secret TTL tag: a bad one fails every rotation with a configuration error.
  const ttlTag = view.tags[TTL_TAG];
  let ttlProblem: string | undefined;
  if (ttlTag !== undefined) {
    try {
      parseTtl(ttlTag, `Tag '${TTL_TAG}'`);
    } catch (error) {
      ttlProblem = (error as Error).message;
    }
  }

  // The in-use window tag: a bad one fails every regenerate with a configuration error.
  const windowTag = view.tags[IN_USE_WINDOW_TAG];
  let windowProblem: string | undefined;
  let window: InUseWindow | undefined = g.config?.previousSecretInUseWindow;
  if (windowTag !== undefined) {
    try {
      window = parseInUseWindow(windowTag, `Tag '${IN_USE_WINDOW_TAG}'`);
    } catch (error) {
      windowProblem = (error as Error).message;
      window = undefined;
    }
  }
  const ttl: Ttl | undefined =
    ttlTag !== undefined && !ttlProblem ? parseTtl(ttlTag, TTL_TAG) : g.config?.previousSecretTtl;
  // "In use" as the guard judges it; with the guard off, by the default window.
  const inUseWindow =
    window && window.ms > 0 ? window : parseInUseWindow(DEFAULT_IN_USE_WINDOW, 'default window');
  const previousIsInUse = state ? previousInUse(state, inUseWindow, now).inUse : false;
  const nearExpiryMs = options.nearExpiryMs ?? DEFAULT_NEAR_EXPIRY_MS;
  const expiresInMs = state?.previous ? Date.parse(state.previous.expiresAt) - now : Number.NaN;
  const nearExpiry = previousIsInUse && expiresInMs > 0 && expiresInMs <= nearExpiryMs;
  const overdue = overdueBy(view, now);
  const warnings = configWarnings(ttl, ttlTag !== undefined, view);

  const awsCurrentIs = currentValue && state ? matchAtPingOne(currentValue.clientSecret, state) : undefined;
  const ledgerRecord = g.ledger?.record;
  const boundElsewhere =
    ledgerRecord?.binding && ledgerRecord.binding.secretArn !== view.arn ? ledgerRecord.binding : undefined;
  const ledgerRecordKnown = g.ledger !== undefined && !g.ledger.problem;
  const ownRegenerate = unfinishedRuns(ledgerRecord, view.arn).length > 0;
  const holders = previousHolders(g, state);
  const created = creationDates(g);
  const pendingInfo = describePending(g, view, state, currentValue, {
    now,
    stuckAfter,
    created,
    local: deps.noRotationService === true,
  });

  let verdict: Verdict;
  let reason: string;
  const name = view.name;
  if (g.current.kind !== 'value') {
    verdict = 'misconfigured';
    // The ids are not in a value we can read: the onboard tags know them, when they are there.
    const env = view.tags[ENVIRONMENT_TAG];
    const application = view.tags[APPLICATION_TAG];
    const resource = view.tags[RESOURCE_TAG];
    const command = onboardCommand(
      name,
      application !== undefined && resource === undefined
        ? { environmentId: env, kind: 'application', ownerId: application }
        : { environmentId: env, kind: 'resource', ownerId: resource },
    );
    const fromTags =
      env && (resource ?? application)
        ? ' (the ids are from its pingone:* tags: check them)'
        : ' (put in the PingOne ids)';
    // No value names the owner, so the ledger was not read: nothing shows this secret is the owner's.
    const advice = `${verifyOrigin(name, undefined)} If it is: \`${command}\`${fromTags}`;
    reason =
      g.current.kind === 'placeholder'
        ? `${name} has no AWSCURRENT value. ${advice}`
        : `${g.current.problem}. ${advice}`;
  } else if (g.ownerProblem) {
    verdict = 'misconfigured';
    reason = g.ownerProblem;
  } else if (boundElsewhere) {
    verdict = 'duplicate-owner';
    reason =
      `The rotation ledger binds PingOne ${g.pingone?.owner.kind ?? 'owner'} ${g.pingone?.owner.id ?? ''} to ` +
      `another secret, ${boundElsewhere.secretArn} (since ${boundElsewhere.boundAt}, by ${boundElsewhere.how}): ` +
      "every rotation of this secret is refused before PingOne is called. If this secret should own it, hold PingOne's " +
      `current secret in it and run \`pingone-rotation rebind --secret-id ${name}\`; otherwise turn its rotation off`;
  } else if (g.pingone?.problem || !state) {
    verdict = 'pingone-error';
    reason = g.pingone?.problem ?? 'PingOne could not be read';
  } else if (ttlProblem || windowProblem) {
    verdict = 'misconfigured';
    reason = `${ttlProblem ?? windowProblem}; every rotation fails until the tag is fixed (aws secretsmanager tag-resource)`;
  } else if (pendingInfo) {
    verdict = pendingInfo.stuck ? 'stuck-pending' : 'rotation-in-progress';
    reason = pendingInfo.reason(awsCurrentIs, state);
  } else if (awsCurrentIs === 'current' && nearExpiry && state.previous) {
    verdict = 'previous-in-use-near-expiry';
    reason =
      `Consumers still use PingOne's previous secret (last used ${when(state.previous.lastUsed, now)}) and it ` +
      `expires ${when(state.previous.expiresAt, now)}: whoever still uses it will fail then. Find them (caches, ` +
      'long-lived pods, a service that reads the secret only at start-up) and move them to AWSCURRENT, which is ' +
      "PingOne's current secret; the previous secret cannot be extended (PingOne has no such operation)";
  } else if (awsCurrentIs === 'current' && view.rotation.enabled && overdue) {
    verdict = 'rotation-overdue';
    reason =
      `The next rotation was due ${when(overdue.due, now)} and has not happened` +
      `${view.rotation.lastRotated ? ` (last rotated ${when(view.rotation.lastRotated, now)})` : ''}: Secrets ` +
      "Manager's rotations of this secret are failing or not being attempted. Look for RotationFailed events " +
      `and the rotation function's errors (e.g. PreviousSecretInUse), fix the cause, then run ` +
      `\`pingone-rotation rotate --secret-id ${name} --wait\``;
  } else if (awsCurrentIs === 'current') {
    if (view.rotation.enabled) {
      verdict = 'healthy';
      reason = "AWSCURRENT is PingOne's current secret and no rotation is pending";
    } else {
      verdict = 'not-rotating';
      const arn = view.rotation.lambdaArn;
      reason =
        "AWSCURRENT is PingOne's current secret, but rotation is not enabled: attach the rotation function with " +
        `\`${onboardCommand(name, currentValue, { rotationFunctionArn: arn })}\`${arn ? '' : ' (put in your rotation function ARN)'}`;
    }
  } else if (awsCurrentIs === 'previous' && ledgerRecordKnown && !ownRegenerate) {
    verdict = 'drift';
    reason =
      `AWSCURRENT is PingOne's previous secret, valid until ${when(state.previous?.expiresAt, now)}, but the ` +
      'rotation ledger records no regenerate by the rotation function for this secret: someone regenerated it ' +
      'outside the function (the console, the API), and a rotation refuses to adopt it (UnexplainedRegenerate). ' +
      "Consumers keep working until then. If the new secret should be this secret's, store it. " +
      forceAdvice(name, currentValue, g.ledger, view.arn);
  } else if (awsCurrentIs === 'previous' && ledgerRecordKnown) {
    verdict = 'grace';
    reason =
      `AWSCURRENT is PingOne's previous secret, valid until ${when(state.previous?.expiresAt, now)}; PingOne's ` +
      'current secret is in no version (a rotation of this secret regenerated it and did not finish: the ' +
      'rotation ledger records the regenerate). Consumers keep working until then: run ' +
      `\`pingone-rotation rotate --secret-id ${name} --wait\` before it, and the rotation adopts PingOne's current secret`;
  } else if (awsCurrentIs === 'previous') {
    // Without the ledger's record a console regenerate cannot be told from the function's own.
    verdict = 'grace';
    reason =
      `AWSCURRENT is PingOne's previous secret, valid until ${when(state.previous?.expiresAt, now)}; PingOne's ` +
      'current secret is in no version (a rotation regenerated it and did not finish, or it was regenerated ' +
      'outside the function: without the rotation ledger it cannot be told which). Consumers keep working until ' +
      `then: run \`pingone-rotation rotate --secret-id ${name} --wait\` before it; the rotation adopts PingOne's ` +
      "current secret only if the ledger records the regenerate as this secret's own (else it refuses: UnexplainedRegenerate)";
  } else {
    verdict = 'drift';
    const hint = driftHint(g, state);
    reason =
      "AWSCURRENT is neither PingOne's current nor its previous secret: consumers using it cannot authenticate " +
      `and rotation fails.${hint} Recover by storing PingOne's current secret. ` +
      forceAdvice(name, currentValue, g.ledger, view.arn);
  }
  if (!view.rotation.enabled && verdict !== 'not-rotating')
    notes.push('rotation is not enabled for this secret');
  if (g.ledger?.problem) notes.push(`rotation ledger not read: ${g.ledger.problem}`);
  if (g.ledger && !g.ledger.problem && !g.ledger.record?.binding && awsCurrentIs === 'current') {
    notes.push(
      "not bound in the rotation ledger yet: the first rotation claims it (AWSCURRENT is PingOne's current secret)",
    );
  }
  if (ttlProblem && verdict !== 'misconfigured') notes.push(ttlProblem);
  if (windowProblem && verdict !== 'misconfigured') notes.push(windowProblem);

  const exitCode =
    verdict === 'not-rotating' && options.strict ? NOT_ROTATING_STRICT_EXIT : STATUS_EXIT[verdict];
  const rotation = view.rotation;
  return {
    secret: { arn: view.arn, name: view.name },
    verdict,
    exitCode,
    reason,
    notes,
    checkedAt: isoTime(new Date(now)),
    versions: view.versions.map((v) => {
      const date = created.get(v.id);
      return { versionId: v.id, stages: v.stages, ...(date ? { created: isoTime(date) } : {}) };
    }),
    rotation: {
      enabled: rotation.enabled,
      ...(rotation.lambdaArn ? { lambdaArn: rotation.lambdaArn } : {}),
      ...(rotation.scheduleExpression ? { scheduleExpression: rotation.scheduleExpression } : {}),
      ...(rotation.duration ? { duration: rotation.duration } : {}),
      ...(rotation.automaticallyAfterDays ? { automaticallyAfterDays: rotation.automaticallyAfterDays } : {}),
      ...(rotation.lastRotated ? { lastRotated: isoTime(rotation.lastRotated) } : {}),
      ...(rotation.nextRotation ? { nextRotation: isoTime(rotation.nextRotation) } : {}),
    },
    previousSecretTtl: {
      source: ttlTag !== undefined ? 'tag' : 'function-default',
      ...(ttlTag !== undefined ? { tag: ttlTag } : {}),
      ...(ttl ? { effective: ttl.text } : {}),
      ...(ttlProblem ? { problem: ttlProblem } : {}),
    },
    previousSecretInUseWindow: {
      source: windowTag !== undefined ? 'tag' : 'function-default',
      ...(windowTag !== undefined ? { tag: windowTag } : {}),
      ...(window ? { effective: window.text } : {}),
      ...(windowProblem ? { problem: windowProblem } : {}),
    },
    warnings,
    ...(g.ledger ? { ledger: ledgerReport(g.ledger, view.arn, now) } : {}),
    awsCurrent: view.currentVersionId
      ? {
          versionId: view.currentVersionId,
          ...(currentValue
            ? {
                kind: currentValue.kind,
                environmentId: currentValue.environmentId,
                [OWNER_ID_FIELDS[currentValue.kind]]: currentValue.ownerId,
                ...(currentValue.region ? { region: currentValue.region } : {}),
              }
            : {}),
          ...(g.current.kind === 'malformed' ? { problem: g.current.problem } : {}),
        }
      : undefined,
    pending: pendingInfo?.json,
    pingone: g.pingone
      ? {
          kind: g.pingone.owner.kind,
          environmentId: g.pingone.owner.environmentId,
          ...(g.pingone.owner.kind === 'resource' ? { resourceId: g.pingone.owner.id } : {}),
          region: g.pingone.owner.region,
          ...(g.pingone.resource?.name ? { resourceName: g.pingone.resource.name } : {}),
          ...(g.pingone.resource ? { resourceType: g.pingone.resource.type } : {}),
          ...applicationFields(g.pingone),
          ...(secretTest ? { secretTest } : {}),
          ...(awsCurrentIs ? { awsCurrentIs } : {}),
          ...(state?.previous
            ? {
                previous: {
                  expiresAt: isoTime(state.previous.expiresAt),
                  ...(state.previous.lastUsed ? { lastUsed: isoTime(state.previous.lastUsed) } : {}),
                  inUse: previousIsInUse,
                  heldBy: holders,
                },
              }
            : {}),
          ...(g.pingone.problem ? { problem: g.pingone.problem } : {}),
        }
      : undefined,
    ...(options.includeSecrets ? { secrets: secretsOf(g, state) } : {}),
  };
}

/**
 * The `onboard --force` that stores PingOne's current secret (and, with `rotationFunctionArn`, attaches
 * rotation) for this secret: every id filled in where known, an upper-case placeholder where not.
 */
export function onboardCommand(
  name: string,
  ids:
    | {
        environmentId?: string | undefined;
        kind?: SecretOwnerKind | undefined;
        ownerId?: string | undefined;
        region?: string | undefined;
      }
    | undefined,
  rotation?: { rotationFunctionArn: string | undefined },
): string {
  const parts = [
    `pingone-rotation onboard --secret-name ${name}`,
    `--environment-id ${ids?.environmentId ?? 'ENVIRONMENT_ID'}`,
    ids?.kind === 'application'
      ? `--application-id ${ids.ownerId ?? 'APPLICATION_ID'}`
      : `--resource-id ${ids?.ownerId ?? 'RESOURCE_ID'}`,
    ...(ids?.region ? [`--pingone-region ${ids.region}`] : []),
    '--force',
    ...(rotation
      ? [
          `--rotation-function-arn ${rotation.rotationFunctionArn ?? 'ROTATION_FUNCTION_ARN'}`,
          '--schedule "rate(30 days)"',
        ]
      : []),
  ];
  return parts.join(' ');
}

/**
 * How `status` advises `onboard --force`, which writes PingOne's current secret into this secret and binds
 * the owner to it. Safe only where the rotation ledger already binds the owner to this very secret (it
 * receives nothing it does not own); anywhere else the secret may have been planted by someone who wants the
 * owner's secret, so the operator is told to check where it came from (and onboard shows who can read it).
 */
function forceAdvice(
  name: string,
  value: ResourceSecretValue | undefined,
  ledger: Gathered['ledger'],
  arn: string,
): string {
  const command = onboardCommand(name, value);
  const binding = ledger?.record?.binding;
  if (binding && binding.secretArn === arn && !ledger?.problem) {
    return (
      `\`${command}\` (safe to force: the rotation ledger binds this ${value?.kind ?? 'owner'} to this secret ` +
      `since ${binding.boundAt}, by ${binding.how}, so the secret receives nothing it does not already own)`
    );
  }
  return `${verifyOrigin(name, ledger)} If it is: \`${command}\``;
}

/** The caution before an `onboard --force` the rotation ledger does not vouch for. */
function verifyOrigin(name: string, ledger: Gathered['ledger']): string {
  const why =
    ledger === undefined
      ? 'the rotation ledger was not consulted'
      : ledger.problem
        ? 'the rotation ledger could not be read'
        : 'the rotation ledger does not bind the owner to this secret';
  return (
    `Verify where ${name} came from before forcing (${why}): onboard --force writes PingOne's current ` +
    'secret into it and binds the owner to it, so whoever created the secret or can read it (its resource ' +
    'policy, its KMS key) gets the secret; onboard shows them and asks first. Force only a secret you know is ' +
    "this owner's."
  );
}

/** The PingOne owner a report's AWSCURRENT names, as a key (kind/environment/id), when known. */
export function ownerKey(report: StatusReport): string | undefined {
  const p = report.pingone;
  const id = p?.resourceId ?? p?.applicationId;
  if (p && id) return `${p.kind}/${p.environmentId.toLowerCase()}/${id.toLowerCase()}`;
  return undefined;
}

/**
 * duplicate-owner: other secrets (`others`, by name) name the same PingOne owner. Rotating one regenerates
 * the secret the others hold. The verdict becomes duplicate-owner unless a more urgent one applies (drift,
 * stuck-pending, … stand, with the duplicates in a note).
 */
export function markDuplicates(report: StatusReport, others: readonly string[]): StatusReport {
  if (others.length === 0 || !report.pingone) return report;
  const p = report.pingone;
  const list = others.join(', ');
  const also = `${list} also name${others.length === 1 ? 's' : ''} PingOne ${p.kind} ${p.resourceId ?? p.applicationId} in environment ${p.environmentId}`;
  if (!DUPLICATE_OWNER_OUTRANKS.has(report.verdict)) {
    return { ...report, duplicates: [...others], notes: [...report.notes, `duplicate owner: ${also}`] };
  }
  return {
    ...report,
    verdict: 'duplicate-owner',
    exitCode: STATUS_EXIT['duplicate-owner'],
    reason:
      `${also}: rotating one regenerates the secret the other holds, whose consumers fail once PingOne's ` +
      'previous secret expires. Keep one secret per PingOne owner: point the others at the one that stays (or ' +
      'delete them), then rotate it',
    notes: [`${report.verdict}: ${report.reason}`, ...report.notes],
    duplicates: [...others],
  };
}

/** Verdicts duplicate-owner replaces (the original is kept as a note); more urgent ones stand. */
const DUPLICATE_OWNER_OUTRANKS: ReadonlySet<Verdict> = new Set([
  'healthy',
  'not-rotating',
  'grace',
  'rotation-in-progress',
]);

/** The rotation interval of a `rate(…)` schedule or AutomaticallyAfterDays; undefined for cron. */
export function rotationIntervalMs(rotation: SecretView['rotation']): number | undefined {
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

function applicationFields(view: PingOneView): Record<string, string> {
  if (view.owner.kind !== 'application') return {};
  const app = view.application;
  return {
    applicationId: view.owner.id,
    ...(app?.name ? { applicationName: app.name } : {}),
    ...(app ? { protocol: app.protocol, applicationType: app.type } : {}),
    ...(app?.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: app.tokenEndpointAuthMethod } : {}),
  };
}

/** What testSecret can prove for this owner, once PingOne said how it authenticates. */
function secretTestOf(
  view: PingOneView | undefined,
): { proof: 'introspection' | 'comparison'; method: string } | undefined {
  if (!view?.state) return undefined;
  const proof =
    view.owner.kind === 'application'
      ? proofFor('application', view.application?.tokenEndpointAuthMethod)
      : proofFor('resource', view.resource?.introspectEndpointAuthMethod);
  return { proof: proof.kind, method: proof.method };
}

/** The labels whose version holds PingOne's previous secret. */
function previousHolders(g: Gathered, state: PingOneSecretState | undefined): string[] {
  const previous = state?.previous?.secret;
  if (previous === undefined) return [];
  const holders: string[] = [];
  const check = (label: string, value: VersionValue | undefined) => {
    if (value?.kind === 'value' && matchAtPingOne(value.value.clientSecret, state!) === 'previous') {
      holders.push(label);
    }
  };
  check(AWSCURRENT, g.current);
  check(AWSPREVIOUS, g.previous);
  check(AWSPENDING, g.pending);
  return holders;
}

function driftHint(g: Gathered, state: PingOneSecretState): string {
  if (g.previous?.kind === 'value') {
    const match = matchAtPingOne(g.previous.value.clientSecret, state);
    if (match === 'current') {
      return " AWSPREVIOUS holds PingOne's current secret: AWSCURRENT was moved or overwritten by hand.";
    }
  }
  return '';
}

/** Version creation dates: GetSecretValue's where a value was read, else ListSecretVersionIds'. */
function creationDates(g: Gathered): Map<string, Date> {
  const dates = new Map<string, Date>();
  for (const v of g.view.versions) if (v.created) dates.set(v.id, v.created);
  const set = (id: string | undefined, value: VersionValue | undefined) => {
    if (id && value && value.kind !== 'placeholder' && value.created) dates.set(id, value.created);
  };
  set(g.view.currentVersionId, g.current);
  set(g.view.previousVersionId, g.previous);
  set(g.view.pendingVersionId, g.pending);
  return dates;
}

function describePending(
  g: Gathered,
  view: SecretView,
  state: PingOneSecretState | undefined,
  currentValue: ResourceSecretValue | undefined,
  clock: { now: number; stuckAfter: number; created: Map<string, Date>; local: boolean },
):
  | {
      stuck: boolean;
      json: NonNullable<StatusReport['pending']>;
      reason: (awsCurrentIs: PingOneMatch | undefined, state: PingOneSecretState) => string;
    }
  | undefined {
  const versionId = view.pendingVersionId;
  if (!versionId || !g.pending) return undefined;
  const { now, stuckAfter, local } = clock;
  const created = clock.created.get(versionId);
  const age = created ? Math.max(0, now - created.getTime()) : undefined;
  // The local world has no rotation service: nothing resumes a rotation there, so any AWSPENDING is stuck.
  const stuck = local || age === undefined || age >= stuckAfter;
  const pending = g.pending;
  const uses =
    pending.kind === 'value' && state
      ? matchAtPingOne(pending.value.clientSecret, state) === 'current'
      : undefined;
  const disposition = pendingDisposition(pending, currentValue, state);
  const json: NonNullable<StatusReport['pending']> = {
    versionId,
    ...(created ? { created: isoTime(created) } : {}),
    ...(age !== undefined ? { ageSeconds: Math.round(age / 1000) } : {}),
    kind: pending.kind,
    ...(uses !== undefined ? { pingOneUsesIt: uses } : {}),
    stuck,
    unstickWould: disposition,
  };
  const reason = (awsCurrentIs: PingOneMatch | undefined, s: PingOneSecretState) => {
    const what =
      pending.kind === 'placeholder'
        ? 'an empty placeholder (createSecret never stored a value)'
        : pending.kind === 'malformed'
          ? `a value that is not a valid secret (${pending.problem})`
          : uses
            ? 'a value PingOne already uses as its current secret'
            : 'a value PingOne does not use';
    const since = age !== undefined ? `, created ${duration(age)} ago` : '';
    const currentIs =
      awsCurrentIs === 'current'
        ? "AWSCURRENT is still PingOne's current secret"
        : awsCurrentIs === 'previous'
          ? `AWSCURRENT is PingOne's previous secret, valid until ${when(s.previous?.expiresAt, now)}`
          : "AWSCURRENT is neither PingOne's current nor previous secret";
    const next = stuck
      ? `${local && (age === undefined || age < stuckAfter) ? 'nothing resumes it in the local world (no rotation service): ' : ''}run \`pingone-rotation unstick --secret-id ${view.name}\`, which will ${
          disposition === 'finish'
            ? 'finish the rotation (move AWSCURRENT to it)'
            : 'remove the AWSPENDING label (nothing changes at PingOne)'
        }`
      : `a rotation may still be running: check again after ${duration(stuckAfter - (age ?? 0))}`;
    return `AWSPENDING is on version ${versionId}, ${what}${since}; ${currentIs}. ${capitalize(next)}`;
  };
  return { stuck, json, reason };
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function secretsOf(g: Gathered, state: PingOneSecretState | undefined): Record<string, string | undefined> {
  const value = (v: VersionValue | undefined) => (v?.kind === 'value' ? v.value.clientSecret : undefined);
  return {
    awsCurrent: value(g.current),
    awsPrevious: value(g.previous),
    awsPending: value(g.pending),
    pingOneCurrent: state?.secret,
    pingOnePrevious: state?.previous?.secret,
  };
}

function ledgerReport(
  ledger: NonNullable<Gathered['ledger']>,
  arn: string,
  now: number,
): NonNullable<StatusReport['ledger']> {
  const record = ledger.record;
  const intent = record?.intent;
  const history = (record?.history ?? []).slice(0, LEDGER_HISTORY_SHOWN).map((run) => ({
    versionId: run.token,
    secretArn: run.secretArn,
    startedAt: run.startedAt,
    ...(run.regeneratedAt ? { regeneratedAt: run.regeneratedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.outcome ? { outcome: run.outcome } : {}),
  }));
  const lastRotated = record?.history.find((run) => run.outcome === 'rotated')?.finishedAt;
  return {
    table: ledger.table,
    ...(record?.binding
      ? { binding: { ...record.binding, thisSecret: record.binding.secretArn === arn } }
      : {}),
    ...(intent
      ? {
          intent: {
            versionId: intent.token,
            secretArn: intent.secretArn,
            startedAt: intent.startedAt,
            settlesAt: isoTime(intentSettlesAt(intent)),
            live: intentIsLive(intent, now),
          },
        }
      : {}),
    history,
    ...(lastRotated ? { lastRotated } : {}),
    ...(ledger.problem ? { problem: ledger.problem } : {}),
  };
}
