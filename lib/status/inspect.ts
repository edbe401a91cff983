/**
 * Reading a secret and its PingOne resource: what the status model, `unstick` and the auditor judge from.
 * The values read here never leave the process; a report holds them only when asked (`status --show-secrets`).
 */
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
import {
  ResourceNotFoundException,
  type SecretsStore,
  type StoredVersion,
} from '../secrets/secrets-store.js';
import { explainPingOneError, noHint, type RotationErrorHint } from './explain.js';
import { withArticle } from './text.js';

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
  secrets: SecretsStore,
  secretId: string,
  selector: { versionId?: string; stage: string },
  label: string,
): Promise<VersionValue> {
  let out: StoredVersion;
  try {
    out = await secrets.getVersion(secretId, selector);
  } catch (error) {
    // RotateSecret's placeholder: a version with the label and no value.
    if (error instanceof ResourceNotFoundException) return { kind: 'placeholder' };
    throw error;
  }
  const created = out.created ? { created: out.created } : {};
  try {
    return { kind: 'value', value: parseSecretValue(out.secretString, label), ...created };
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
