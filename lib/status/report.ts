/**
 * Report: a judgement as `status --json` prints it (and the auditor logs it): the facts and findings in plain
 * JSON, the verdict with its reason and notes. Pure. Holds no secret value unless `includeSecrets`.
 */
import {
  intentIsLive,
  intentSettlesAt,
  type LedgerRun,
  retirementIsLive,
  retirementSettlesAt,
} from '../ledger/record.js';
import type { PingOneSecretState, SecretOwnerKind } from '../pingone/types.js';
import { OWNER_ID_FIELDS } from '../secret-value.js';
import type { LedgerFacts, StatusFacts } from './facts.js';
import type { PingOneMatch, PingOneView, VersionValue } from './inspect.js';
import type { Judgement } from './judge.js';
import { isoTime } from './text.js';
import type { ConfigWarning, Verdict } from './verdicts.js';

/** How many of the ledger's recent rotations a report shows. */
const LEDGER_HISTORY_SHOWN = 5;

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
    /** The shortest TTL the stack lets a tag set (TAG_MIN_PREVIOUS_SECRET_TTL), when known. */
    readonly tagMinimum?: string;
    readonly problem?: string;
  };
  /** The in-use guard's window for this secret (pingone:previous-secret-in-use-window or the function's). */
  readonly previousSecretInUseWindow: {
    readonly source: 'tag' | 'function-default';
    readonly tag?: string;
    readonly effective?: string;
    /** What the stack lets a tag do to the window (TAG_IN_USE_WINDOW_MAY), when known. */
    readonly tagMay?: 'lengthen' | 'shorten' | 'switch-off';
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
    /** The fleet auditor's early retirement of PingOne's previous secret; while live, rotations wait. */
    readonly retirement?: {
      readonly secretArn: string;
      readonly startedAt: string;
      /** Until then the DELETE may be in flight and no regenerate is sent (RetirementInProgress). */
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

/** The report of one judgement. `includeSecrets`: put the secret values in (`status --show-secrets` only). */
export function toReport(facts: StatusFacts, judged: Judgement, includeSecrets = false): StatusReport {
  const { view, now } = facts;
  const a = judged.findings;
  const state = a.state;
  const currentValue = a.currentValue;
  const rotation = view.rotation;
  const pending = a.pending;
  return {
    secret: { arn: view.arn, name: view.name },
    verdict: judged.verdict,
    exitCode: judged.exitCode,
    reason: judged.reason,
    notes: [...judged.notes],
    checkedAt: isoTime(new Date(now)),
    versions: view.versions.map((v) => {
      const date = a.created.get(v.id);
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
      source: a.ttlTag !== undefined ? 'tag' : 'function-default',
      ...(a.ttlTag !== undefined ? { tag: a.ttlTag } : {}),
      ...(a.ttl ? { effective: a.ttl.text } : {}),
      ...(facts.config?.tagBounds ? { tagMinimum: facts.config.tagBounds.minTtl.text } : {}),
      ...(a.ttlProblem ? { problem: a.ttlProblem } : {}),
    },
    previousSecretInUseWindow: {
      source: a.windowTag !== undefined ? 'tag' : 'function-default',
      ...(a.windowTag !== undefined ? { tag: a.windowTag } : {}),
      ...(a.window ? { effective: a.window.text } : {}),
      ...(facts.config?.tagBounds ? { tagMay: facts.config.tagBounds.inUseWindowMay } : {}),
      ...(a.windowProblem ? { problem: a.windowProblem } : {}),
    },
    warnings: [...a.warnings],
    ...(facts.ledger ? { ledger: ledgerReport(facts.ledger, view.arn, now) } : {}),
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
          ...(facts.current.kind === 'malformed' ? { problem: facts.current.problem } : {}),
        }
      : undefined,
    pending: pending
      ? {
          versionId: pending.versionId,
          ...(pending.created ? { created: isoTime(pending.created) } : {}),
          ...(pending.ageMs !== undefined ? { ageSeconds: Math.round(pending.ageMs / 1000) } : {}),
          kind: pending.value.kind,
          ...(pending.pingOneUsesIt !== undefined ? { pingOneUsesIt: pending.pingOneUsesIt } : {}),
          stuck: pending.stuck,
          unstickWould: pending.unstickWould,
        }
      : undefined,
    pingone: facts.pingone
      ? {
          kind: facts.pingone.owner.kind,
          environmentId: facts.pingone.owner.environmentId,
          ...(facts.pingone.owner.kind === 'resource' ? { resourceId: facts.pingone.owner.id } : {}),
          region: facts.pingone.owner.region,
          ...(facts.pingone.resource?.name ? { resourceName: facts.pingone.resource.name } : {}),
          ...(facts.pingone.resource ? { resourceType: facts.pingone.resource.type } : {}),
          ...applicationFields(facts.pingone),
          ...(a.secretTest ? { secretTest: a.secretTest } : {}),
          ...(a.awsCurrentIs ? { awsCurrentIs: a.awsCurrentIs } : {}),
          ...(state?.previous
            ? {
                previous: {
                  expiresAt: isoTime(state.previous.expiresAt),
                  ...(state.previous.lastUsed ? { lastUsed: isoTime(state.previous.lastUsed) } : {}),
                  inUse: a.previousIsInUse,
                  heldBy: [...a.holders],
                },
              }
            : {}),
          ...(facts.pingone.problem ? { problem: facts.pingone.problem } : {}),
        }
      : undefined,
    ...(includeSecrets ? { secrets: secretsOf(facts, state) } : {}),
  };
}

/** The PingOne owner a report's AWSCURRENT names, as a key (kind/environment/id), when known. */
export function ownerKey(report: StatusReport): string | undefined {
  const p = report.pingone;
  const id = p?.resourceId ?? p?.applicationId;
  if (p && id) return `${p.kind}/${p.environmentId.toLowerCase()}/${id.toLowerCase()}`;
  return undefined;
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

function secretsOf(
  facts: StatusFacts,
  state: PingOneSecretState | undefined,
): Record<string, string | undefined> {
  const value = (v: VersionValue | undefined) => (v?.kind === 'value' ? v.value.clientSecret : undefined);
  return {
    awsCurrent: value(facts.current),
    awsPrevious: value(facts.previous),
    awsPending: value(facts.pending),
    pingOneCurrent: state?.secret,
    pingOnePrevious: state?.previous?.secret,
  };
}

function ledgerReport(ledger: LedgerFacts, arn: string, now: number): NonNullable<StatusReport['ledger']> {
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
    ...(record?.retirement
      ? {
          retirement: {
            secretArn: record.retirement.secretArn,
            startedAt: record.retirement.startedAt,
            settlesAt: isoTime(retirementSettlesAt(record.retirement)),
            live: retirementIsLive(record.retirement, now),
          },
        }
      : {}),
    history,
    ...(lastRotated ? { lastRotated } : {}),
    ...(ledger.problem ? { problem: ledger.problem } : {}),
  };
}
