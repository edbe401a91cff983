/**
 * `onboard-worker-pair`'s checks and plan (see onboard-worker-pair.ts): read both workers' current secrets from
 * PingOne, then find every refusal for both workers (a secret holding something else, an owner held by another
 * secret, a rotation in flight) before anything is written.
 */

import { OwnerNotRotatableError } from '../../lib/errors.js';
import { describeOwner } from '../../lib/owner.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../lib/pingone/worker-credentials.js';
import { sameSecret } from '../../lib/secret-value.js';
import type { SecretView } from '../../lib/secrets/description.js';
import { AWSCURRENT, ResourceNotFoundException } from '../../lib/secrets/secrets-store.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError } from '../errors.js';
import { assertNoLiveIntent, cliLedger } from '../ledger.js';
import type { PingOneAccess } from '../pingone-access.js';
import { ownerTag, readOwnerAtPingOne, taggedHolders } from './onboard-owner.js';
import type { PairInput } from './onboard-worker-pair-input.js';

export interface Planned {
  readonly worker: 'a' | 'b';
  readonly owner: SecretOwner;
  readonly name: string;
  /** PingOne's current secret of the worker app (never printed). */
  readonly current: string;
  readonly tokenEndpointAuthMethod: string | undefined;
  readonly view: SecretView | undefined;
  /** The secret exists and holds the worker's current secret for this owner. */
  readonly record: Awaited<ReturnType<ReturnType<typeof cliLedger>['ledger']['read']>>;
}

/** Both workers' plans, in input order; throws the first refusal found (nothing is written here). */
export async function planPair(
  deps: CliDeps,
  input: PairInput,
  access: PingOneAccess,
  region: PingOneRegion,
  say: (text: string) => void,
): Promise<Planned[]> {
  const sm = secretsOf(deps);
  const ledger = cliLedger(deps);

  // 1. Read both workers' current secrets from PingOne. A worker never reads its own secret: when the
  // configured worker is one of the pair, the other's credential (just read) reads it.
  const owners = input.workers.map(
    (w): SecretOwner => ({ kind: 'application', environmentId: input.environmentId, id: w.clientId, region }),
  );
  const read = new Map<string, { secret: string; method: string | undefined }>();
  const pending: number[] = [];
  for (const [i, owner] of owners.entries()) {
    try {
      read.set(owner.id, await readWorker(deps, owner, say, access));
    } catch (error) {
      if (!(error instanceof OwnerNotRotatableError) && !isOwnRefusal(error)) throw error;
      pending.push(i);
    }
  }
  for (const i of pending) {
    const owner = owners[i] as SecretOwner;
    const partner = owners[1 - i] as SecretOwner;
    const partnerRead = read.get(partner.id);
    if (!partnerRead) {
      throw new CliError(
        `no configured worker may read ${describeOwner(owner)} or ${describeOwner(partner)}`,
        'nothing was created or changed; run it with a worker that covers the environment (--workers / ' +
          '--worker-parameter), e.g. the one the stack uses today',
      );
    }
    say(`${describeOwner(owner)} is a configured worker: its secret is read with its partner's credential.`);
    read.set(owner.id, await readWorker(deps, owner, say, partnerAccess(access, partner, partnerRead, deps)));
  }

  // 2. The plan for both, every refusal before anything is written.
  const plans: Planned[] = [];
  for (const [i, w] of input.workers.entries()) {
    const owner = owners[i] as SecretOwner;
    const current = read.get(owner.id) as { secret: string; method: string | undefined };
    const view = await viewOf(deps, w.name);
    const value = view ? await sm.getValue(view.arn, { stage: AWSCURRENT }) : undefined;
    const holdsCurrent = view !== undefined && holds(value, owner, current.secret);
    if (view && !holdsCurrent) {
      throw new CliError(
        `secret ${w.name} exists but does not hold worker ${w.worker.toUpperCase()}'s (${owner.id}) current secret`,
        'nothing was created or changed; choose another --secret-name-' +
          `${w.worker}, or store PingOne's current secret in it with pingone-rotation onboard --force ` +
          `--secret-name ${w.name} --environment-id ${owner.environmentId} --application-id ${owner.id} ` +
          '(it shows who can read the secret first), then run this again',
      );
    }
    if (view?.pendingVersionId) {
      throw new CliError(
        `AWSPENDING is on version ${view.pendingVersionId} of ${w.name}`,
        `nothing was changed; see pingone-rotation status --secret-id ${w.name} (unstick recovers it)`,
      );
    }
    const record = await ledger.ledger.read(owner, ledger.options());
    const bound = record?.binding?.secretArn;
    const others = [
      ...(bound && bound !== view?.arn ? [`${bound} (rotation ledger binding)`] : []),
      ...(await taggedHolders(deps, owner))
        .filter((arn) => arn !== view?.arn && arn !== bound)
        .map((arn) => `${arn} (tag ${ownerTag(owner)}=${owner.id})`),
    ];
    if (others.length > 0) {
      throw new CliError(
        `${describeOwner(owner)} is already held by secret ${others.join(' and by ')}`,
        `nothing was created or changed; to move it to ${w.name}, run pingone-rotation onboard --rebind ` +
          `--secret-name ${w.name} --environment-id ${owner.environmentId} --application-id ${owner.id}, then this again`,
      );
    }
    assertNoLiveIntent(record, owner, deps.now());
    plans.push({
      worker: w.worker,
      owner,
      name: w.name,
      current: current.secret,
      tokenEndpointAuthMethod: current.method,
      view,
      record,
    });
  }

  return plans;
}

async function readWorker(
  deps: CliDeps,
  owner: SecretOwner,
  say: (text: string) => void,
  access: PingOneAccess,
): Promise<{ secret: string; method: string | undefined }> {
  const { described, secret, tokenEndpointAuthMethod } = await readOwnerAtPingOne(deps, owner, say, access);
  say(
    `PingOne: ${described} ${owner.id} in environment ${owner.environmentId} (${owner.region}): read its current secret.`,
  );
  return { secret, method: tokenEndpointAuthMethod };
}

/** The refusal of a worker reading its own application, as readOwnerAtPingOne reports it. */
function isOwnRefusal(error: unknown): boolean {
  return error instanceof CliError && (error as { cause?: unknown }).cause instanceof OwnerNotRotatableError;
}

/** PingOne as the partner worker, from its credential just read (not stored anywhere). */
function partnerAccess(
  access: PingOneAccess,
  partner: SecretOwner,
  partnerRead: { secret: string; method: string | undefined },
  deps: CliDeps,
): PingOneAccess {
  const credentials: WorkerCredentials = {
    environmentId: partner.environmentId,
    clientId: partner.id,
    clientSecret: partnerRead.secret,
    region: partner.region,
    tokenEndpointAuthMethod:
      partnerRead.method === 'CLIENT_SECRET_POST' ? 'CLIENT_SECRET_POST' : 'CLIENT_SECRET_BASIC',
  };
  const client = new PingOneHttpClient({
    apiUrlTemplate: access.config.apiUrlTemplate,
    authUrlTemplate: access.config.authUrlTemplate,
    workerCredentials: async () => credentials,
    now: deps.now,
    retry: { maxAttempts: 3, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
  });
  return { ...access, client };
}

async function viewOf(deps: CliDeps, name: string): Promise<SecretView | undefined> {
  try {
    return await secretsOf(deps).view(name);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** The stored text names this worker (application, environment, region) and holds its current secret. */
function holds(text: string | undefined, owner: SecretOwner, current: string): boolean {
  if (text === undefined) return false;
  try {
    const doc = JSON.parse(text) as Record<string, unknown>;
    return (
      typeof doc.applicationId === 'string' &&
      doc.applicationId.toLowerCase() === owner.id &&
      typeof doc.environmentId === 'string' &&
      doc.environmentId.toLowerCase() === owner.environmentId &&
      doc.resourceId === undefined &&
      (doc.region === undefined || doc.region === owner.region) &&
      sameSecret(typeof doc.clientSecret === 'string' ? doc.clientSecret : undefined, current)
    );
  } catch {
    return false;
  }
}
