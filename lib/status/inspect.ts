/**
 * Reading a secret and its PingOne resource: what the status model, `unstick` and the auditor judge from.
 * The values read here never leave the process; a report holds them only when asked (`status --show-secrets`).
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type GetSecretValueCommandOutput,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  type SecretsManagerClient,
  type SecretVersionsListEntry,
} from '@aws-sdk/client-secrets-manager';
import type { RotationConfig } from '../config.js';
import { PingOneApiError } from '../errors.js';
import { applicationRefusal, describeOwner, ownerOf } from '../owner.js';
import type {
  PingOneApplication,
  PingOneClient,
  PingOneResource,
  PingOneSecretState,
  SecretOwner,
} from '../pingone/types.js';
import { parseSecretValue, type ResourceSecretValue, sameSecret } from '../secret-value.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS } from '../secrets/secrets-store.js';
import { explainPingOneError, noHint, type RotationErrorHint } from './explain.js';
import { withArticle } from './text.js';

export interface VersionInfo {
  readonly id: string;
  readonly stages: readonly string[];
  readonly created?: Date;
  readonly lastAccessed?: Date;
}

export interface RotationInfo {
  readonly enabled: boolean;
  readonly lambdaArn?: string;
  readonly scheduleExpression?: string;
  readonly duration?: string;
  readonly automaticallyAfterDays?: number;
  readonly lastRotated?: Date;
  readonly nextRotation?: Date;
}

/** Secrets Manager's side: metadata, labels and which version carries which label. */
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

export async function readSecretView(sm: SecretsManagerClient, secretId: string): Promise<SecretView> {
  const out = await sm.send(new DescribeSecretCommand({ SecretId: secretId }));
  const listed = new Map<string, SecretVersionsListEntry>();
  let nextToken: string | undefined;
  do {
    const page = await sm.send(
      new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: 100, NextToken: nextToken }),
    );
    for (const entry of page.Versions ?? []) if (entry.VersionId) listed.set(entry.VersionId, entry);
    nextToken = page.NextToken;
  } while (nextToken);

  const rank = (stages: readonly string[]) =>
    stages.includes(AWSCURRENT) ? 0 : stages.includes(AWSPENDING) ? 1 : stages.includes(AWSPREVIOUS) ? 2 : 3;
  const versions = Object.entries(out.VersionIdsToStages ?? {})
    .filter(([, stages]) => stages.length > 0)
    .map(([id, stages]): VersionInfo => {
      const entry = listed.get(id);
      return {
        id,
        stages: [...stages].sort(),
        ...(entry?.CreatedDate ? { created: entry.CreatedDate } : {}),
        ...(entry?.LastAccessedDate ? { lastAccessed: entry.LastAccessedDate } : {}),
      };
    })
    .sort((a, b) => rank(a.stages) - rank(b.stages));
  const find = (predicate: (stages: readonly string[]) => boolean) =>
    versions.find((version) => predicate(version.stages))?.id;
  const rules = out.RotationRules;
  const currentVersionId = find((s) => s.includes(AWSCURRENT));
  const previousVersionId = find((s) => s.includes(AWSPREVIOUS));
  const pendingVersionId = find((s) => s.includes(AWSPENDING) && !s.includes(AWSCURRENT));
  return {
    arn: out.ARN ?? secretId,
    name: out.Name ?? secretId,
    rotation: {
      enabled: out.RotationEnabled === true,
      ...(out.RotationLambdaARN ? { lambdaArn: out.RotationLambdaARN } : {}),
      ...(rules?.ScheduleExpression ? { scheduleExpression: rules.ScheduleExpression } : {}),
      ...(rules?.Duration ? { duration: rules.Duration } : {}),
      ...(rules?.AutomaticallyAfterDays ? { automaticallyAfterDays: rules.AutomaticallyAfterDays } : {}),
      ...(out.LastRotatedDate ? { lastRotated: out.LastRotatedDate } : {}),
      ...(out.NextRotationDate ? { nextRotation: out.NextRotationDate } : {}),
    },
    ...(out.LastChangedDate ? { lastChanged: out.LastChangedDate } : {}),
    ...(out.LastAccessedDate ? { lastAccessed: out.LastAccessedDate } : {}),
    tags: Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
    versions,
    ...(currentVersionId ? { currentVersionId } : {}),
    ...(previousVersionId ? { previousVersionId } : {}),
    ...(pendingVersionId ? { pendingVersionId } : {}),
  };
}

/** A version's value: parsed, an empty placeholder, or not the JSON the function rotates. */
export type VersionValue =
  | { readonly kind: 'value'; readonly value: ResourceSecretValue; readonly created?: Date }
  | { readonly kind: 'placeholder' }
  | { readonly kind: 'malformed'; readonly problem: string; readonly created?: Date };

/**
 * A version's value, with its creation date from GetSecretValue (moto's ListSecretVersionIds reports every
 * version as created just now; GetSecretValue has the real date).
 */
export async function readVersionValue(
  sm: SecretsManagerClient,
  secretId: string,
  selector: { versionId?: string; stage: string },
  label: string,
): Promise<VersionValue> {
  let out: GetSecretValueCommandOutput;
  try {
    out = await sm.send(
      new GetSecretValueCommand({
        SecretId: secretId,
        VersionStage: selector.stage,
        ...(selector.versionId ? { VersionId: selector.versionId } : {}),
      }),
    );
  } catch (error) {
    // RotateSecret's placeholder: a version with the label and no value.
    if (error instanceof ResourceNotFoundException) return { kind: 'placeholder' };
    throw error;
  }
  const created = out.CreatedDate ? { created: out.CreatedDate } : {};
  try {
    return { kind: 'value', value: parseSecretValue(out.SecretString, label), ...created };
  } catch (error) {
    return { kind: 'malformed', problem: (error as Error).message, ...created };
  }
}

/** Where a secret stands at PingOne. */
export type PingOneMatch = 'current' | 'previous' | 'neither';

export function matchAtPingOne(secret: string, state: PingOneSecretState): PingOneMatch {
  if (sameSecret(state.secret, secret)) return 'current';
  if (sameSecret(state.previous?.secret, secret)) return 'previous';
  return 'neither';
}

/** PingOne's side of a secret: the resource or application and its secrets, or why they could not be read. */
export interface PingOneView {
  readonly owner: SecretOwner;
  readonly resource?: PingOneResource;
  readonly application?: PingOneApplication;
  readonly state?: PingOneSecretState;
  /** Set when PingOne could not be judged: not CUSTOM / not OIDC, not found, no access, unreachable. */
  readonly problem?: string;
}

/** An application's side: refused unless OIDC; its secret, or why it could not be read. */
async function readApplicationView(
  client: PingOneClient,
  owner: SecretOwner,
  options: { deadline: number; hint?: RotationErrorHint },
): Promise<PingOneView> {
  const hint = options.hint ?? noHint;
  let application: PingOneApplication;
  try {
    application = await client.readApplication(owner, { deadline: options.deadline });
  } catch (error) {
    const problem = explainPingOneError(error, owner, hint);
    if (problem === undefined) throw error;
    return { owner, problem };
  }
  const refusal = applicationRefusal(owner, application);
  if (refusal) return { owner, application, problem: `${refusal}; check the application id` };
  try {
    return { owner, application, state: await client.readSecret(owner, { deadline: options.deadline }) };
  } catch (error) {
    if (error instanceof PingOneApiError && error.status === 404) {
      return {
        owner,
        application,
        problem: `PingOne returns no client secret for ${describeOwner(owner)} (404): it has no secret to rotate`,
      };
    }
    const problem = explainPingOneError(error, owner, hint);
    if (problem === undefined) throw error;
    return { owner, application, problem };
  }
}

export async function readPingOne(
  client: PingOneClient,
  owner: SecretOwner,
  options: { deadline: number; hint?: RotationErrorHint },
): Promise<PingOneView> {
  if (owner.kind === 'application') return readApplicationView(client, owner, options);
  const hint = options.hint ?? noHint;
  let resource: PingOneResource;
  try {
    resource = await client.readResource(owner, { deadline: options.deadline });
  } catch (error) {
    const problem = explainPingOneError(error, owner, hint);
    if (problem === undefined) throw error;
    return { owner, problem };
  }
  if (resource.type !== 'CUSTOM') {
    return {
      owner,
      resource,
      problem:
        `${describeOwner(owner)} is ${withArticle(resource.type)} resource, not CUSTOM: only CUSTOM resources have a ` +
        'secret to rotate; check the resource id',
    };
  }
  try {
    return { owner, resource, state: await client.readSecret(owner, { deadline: options.deadline }) };
  } catch (error) {
    const problem = explainPingOneError(error, owner, hint);
    if (problem === undefined) throw error;
    return { owner, resource, problem };
  }
}

/**
 * What `unstick` does with an outstanding AWSPENDING version: finish the rotation when the version holds a
 * value for the same resource and PingOne already uses it as its current secret (then AWSCURRENT must follow,
 * or consumers lose access when PingOne's previous secret expires); otherwise remove the label, which
 * changes nothing at PingOne.
 */
export function pendingDisposition(
  pending: VersionValue,
  current: ResourceSecretValue | undefined,
  state: PingOneSecretState | undefined,
): 'finish' | 'remove-label' {
  if (pending.kind !== 'value' || current === undefined || state === undefined) return 'remove-label';
  const sameOwner =
    pending.value.environmentId === current.environmentId &&
    pending.value.kind === current.kind &&
    pending.value.ownerId === current.ownerId &&
    (pending.value.region ?? '') === (current.region ?? '');
  return sameOwner && sameSecret(state.secret, pending.value.clientSecret) ? 'finish' : 'remove-label';
}

/** The owner AWSCURRENT names, or why the function would refuse it (PINGONE_ALLOWED_ENVIRONMENTS). */
export function ownerFor(
  value: ResourceSecretValue,
  config: RotationConfig,
): { owner: SecretOwner } | { problem: string } {
  try {
    return { owner: ownerOf(value, config) };
  } catch (error) {
    return { problem: (error as Error).message };
  }
}
