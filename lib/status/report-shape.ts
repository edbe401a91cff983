/**
 * The shape of a status report: what `status --json` prints and the auditor logs. Its own module because both
 * report.ts (which builds a report from a judgement) and judge.ts (whose markDuplicates amends one) use it,
 * while report.ts takes judge.ts's Judgement: neither imports the other's side back.
 */
import type { LedgerRun } from '../ledger/record.js';
import type { SecretOwnerKind } from '../pingone/types.js';
import type { PingOneMatch, VersionValue } from './inspect.js';
import type { ConfigWarning, Verdict } from './verdicts.js';

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
