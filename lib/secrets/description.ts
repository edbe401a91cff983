/**
 * What Secrets Manager says about a secret, as plain data: the one mapping of DescribeSecret (and of
 * ListSecretVersionIds) that the rotation steps, the status model, the auditor and the CLI all read.
 */
import type { DescribeSecretCommandOutput, SecretVersionsListEntry } from '@aws-sdk/client-secrets-manager';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface RotationInfo {
  readonly enabled: boolean;
  readonly lambdaArn?: string;
  readonly scheduleExpression?: string;
  readonly duration?: string;
  readonly automaticallyAfterDays?: number;
  readonly lastRotated?: Date;
  readonly nextRotation?: Date;
}

/** DescribeSecret's answer. */
export interface SecretDescription {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  readonly rotation: RotationInfo;
  /** Version id → staging labels. Versions without labels are not listed by Secrets Manager. */
  readonly versions: Readonly<Record<string, readonly string[]>>;
  readonly tags: Readonly<Record<string, string>>;
  readonly lastChanged?: Date;
  readonly lastAccessed?: Date;
  /** The secret's KMS key as DescribeSecret names it; absent for the AWS managed key aws/secretsmanager. */
  readonly kmsKeyId?: string;
}

/** The one mapper of DescribeSecret. */
export function describedSecret(out: DescribeSecretCommandOutput, secretId: string): SecretDescription {
  const rules = out.RotationRules;
  return {
    arn: out.ARN ?? secretId,
    name: out.Name ?? secretId,
    rotationEnabled: out.RotationEnabled === true,
    rotation: {
      enabled: out.RotationEnabled === true,
      ...(out.RotationLambdaARN ? { lambdaArn: out.RotationLambdaARN } : {}),
      ...(rules?.ScheduleExpression ? { scheduleExpression: rules.ScheduleExpression } : {}),
      ...(rules?.Duration ? { duration: rules.Duration } : {}),
      ...(rules?.AutomaticallyAfterDays ? { automaticallyAfterDays: rules.AutomaticallyAfterDays } : {}),
      ...(out.LastRotatedDate ? { lastRotated: out.LastRotatedDate } : {}),
      ...(out.NextRotationDate ? { nextRotation: out.NextRotationDate } : {}),
    },
    versions: out.VersionIdsToStages ?? {},
    tags: Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    ...(out.LastChangedDate ? { lastChanged: out.LastChangedDate } : {}),
    ...(out.LastAccessedDate ? { lastAccessed: out.LastAccessedDate } : {}),
    ...(out.KmsKeyId ? { kmsKeyId: out.KmsKeyId } : {}),
  };
}

/** The version that carries `stage`, if any. */
export function versionWithStage(description: SecretDescription, stage: string): string | undefined {
  return Object.entries(description.versions).find(([, stages]) => stages.includes(stage))?.[0];
}

/** One entry of ListSecretVersionIds. */
export interface ListedVersion {
  readonly id: string;
  readonly created?: Date;
  readonly lastAccessed?: Date;
}

export function listedVersion(entry: SecretVersionsListEntry): ListedVersion | undefined {
  if (!entry.VersionId) return undefined;
  return {
    id: entry.VersionId,
    ...(entry.CreatedDate ? { created: entry.CreatedDate } : {}),
    ...(entry.LastAccessedDate ? { lastAccessed: entry.LastAccessedDate } : {}),
  };
}

export interface VersionInfo {
  readonly id: string;
  readonly stages: readonly string[];
  readonly created?: Date;
  readonly lastAccessed?: Date;
}

/** Secrets Manager's side as the status model, `unstick` and the CLI read it: labels and their versions. */
export interface SecretView {
  readonly arn: string;
  readonly name: string;
  readonly rotation: RotationInfo;
  readonly lastChanged?: Date;
  readonly lastAccessed?: Date;
  readonly tags: Readonly<Record<string, string>>;
  /** Labelled versions, AWSCURRENT first. */
  readonly versions: readonly VersionInfo[];
  readonly currentVersionId?: string;
  readonly previousVersionId?: string;
  /** The version with AWSPENDING but not AWSCURRENT: an outstanding rotation. */
  readonly pendingVersionId?: string;
}

/** The view of a described secret, its labelled versions dated from ListSecretVersionIds. */
export function secretView(description: SecretDescription, listed: readonly ListedVersion[]): SecretView {
  const byId = new Map(listed.map((entry) => [entry.id, entry]));
  const rank = (stages: readonly string[]) =>
    stages.includes(AWSCURRENT) ? 0 : stages.includes(AWSPENDING) ? 1 : stages.includes(AWSPREVIOUS) ? 2 : 3;
  const versions = Object.entries(description.versions)
    .filter(([, stages]) => stages.length > 0)
    .map(([id, stages]): VersionInfo => {
      const entry = byId.get(id);
      return {
        id,
        stages: [...stages].sort(),
        ...(entry?.created ? { created: entry.created } : {}),
        ...(entry?.lastAccessed ? { lastAccessed: entry.lastAccessed } : {}),
      };
    })
    .sort((a, b) => rank(a.stages) - rank(b.stages));
  const find = (predicate: (stages: readonly string[]) => boolean) =>
    versions.find((version) => predicate(version.stages))?.id;
  const currentVersionId = find((s) => s.includes(AWSCURRENT));
  const previousVersionId = find((s) => s.includes(AWSPREVIOUS));
  const pendingVersionId = find((s) => s.includes(AWSPENDING) && !s.includes(AWSCURRENT));
  return {
    arn: description.arn,
    name: description.name,
    rotation: description.rotation,
    ...(description.lastChanged ? { lastChanged: description.lastChanged } : {}),
    ...(description.lastAccessed ? { lastAccessed: description.lastAccessed } : {}),
    tags: description.tags,
    versions,
    ...(currentVersionId ? { currentVersionId } : {}),
    ...(previousVersionId ? { previousVersionId } : {}),
    ...(pendingVersionId ? { pendingVersionId } : {}),
  };
}
