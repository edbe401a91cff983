/**
 * `onboard-worker-pair`: two worker apps of one PingOne organization become each other's rotators (issue 19).
 * Each worker's credential becomes a Secrets Manager secret under the stack's prefix
 * ({environmentId, applicationId, clientSecret, region}: PingOne's CURRENT secret, never regenerated), with the
 * owner tags, the owner bound to it in the rotation ledger (proof of possession) and rotation attached to the
 * rotation function without rotating now. Then the function rotates each worker's secret through the other.
 *
 * Idempotent: a step already done (the secret holds the worker's current secret, the tags, the binding, the
 * same rotation) is left alone, so a rerun changes nothing and a run cut short completes on the next. Every
 * refusal (a secret holding something else, an owner held by another secret, a rotation in flight) is found
 * for both workers before anything is written.
 */

import { ENVIRONMENT_TAG, TTL_TAG } from '../../lib/config.js';
import { OwnerNotRotatableError } from '../../lib/errors.js';
import { describeOwner } from '../../lib/owner.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import { isUuid, type SecretOwner } from '../../lib/pingone/types.js';
import type { WorkerCredentials } from '../../lib/pingone/worker-credentials.js';
import { sameSecret } from '../../lib/secret-value.js';
import type { SecretView } from '../../lib/secrets/description.js';
import { AWSCURRENT, ResourceNotFoundException } from '../../lib/secrets/secrets-store.js';
import { motoRotationDays } from '../../local/driver.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { line } from '../format.js';
import { failureDocument, JsonAlreadyPrinted } from '../json-result.js';
import { assertNoLiveIntent, cliLedger, writeBinding } from '../ledger.js';
import type { PingOneAccess } from '../pingone-access.js';
import {
  checkSecretNamePrefix,
  DEFAULT_SECRET_NAME_PREFIX,
  type RotationInput,
  validate,
} from './onboard-input.js';
import { ownerTag, readOwnerAtPingOne, taggedHolders } from './onboard-owner.js';
import { attachRotation } from './onboard-rotation.js';

export const COMMAND = 'onboard-worker-pair';

export interface OnboardWorkerPairOptions {
  readonly environmentId: string;
  /** The two worker apps' client ids (their application ids). */
  readonly workerA: string;
  readonly workerB: string;
  /** Default `<prefix>workers/<client id>`. */
  readonly secretNameA?: string | undefined;
  readonly secretNameB?: string | undefined;
  readonly pingoneRegion?: string | undefined;
  readonly prefix?: string | undefined;
  readonly rotationFunctionArn?: string | undefined;
  readonly schedule?: string | undefined;
  readonly window?: string | undefined;
  readonly previousSecretTtl?: string | undefined;
  readonly kmsKeyId?: string | undefined;
  readonly json: boolean;
}

/** What the command did to one worker's secret. */
export type PairChange = 'created' | 'stored' | 'tagged' | 'bound' | 'rotation-attached';

export interface PairWorkerResult {
  readonly worker: 'a' | 'b';
  readonly clientId: string;
  readonly secret: { readonly name: string; arn: string | null };
  readonly changes: PairChange[];
}

interface Planned {
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

export async function onboardWorkerPair(deps: CliDeps, options: OnboardWorkerPairOptions): Promise<number> {
  const input = validateInput(options);
  const results: PairWorkerResult[] = [];
  let region: PingOneRegion = 'NA';
  const out = options.json ? { ...deps, out: deps.err } : deps;
  try {
    region = await run(out, input, results);
  } catch (error) {
    if (!options.json) throw error;
    const failure = failureDocument(COMMAND, error, {});
    deps.out.write(
      `${JSON.stringify({ ...failure, changed: changedAny(results), workers: results }, null, 2)}\n`,
    );
    throw new JsonAlreadyPrinted(error);
  }
  if (options.json) {
    const document = {
      version: 1,
      command: COMMAND,
      ok: true,
      exitCode: EXIT.ok,
      changed: changedAny(results),
      workers: results,
      workersSetting: JSON.parse(workersSetting(input, region)),
    };
    deps.out.write(`${JSON.stringify(document, null, 2)}\n`);
  }
  return EXIT.ok;
}

const changedAny = (results: readonly PairWorkerResult[]) => results.some((r) => r.changes.length > 0);

interface PairInput {
  readonly environmentId: string;
  readonly workers: readonly {
    readonly worker: 'a' | 'b';
    readonly clientId: string;
    readonly name: string;
  }[];
  readonly region: PingOneRegion | undefined;
  readonly rotation: RotationInput;
  readonly ttl: string | undefined;
  readonly kmsKeyId: string | undefined;
}

/** Every flag checked before AWS or PingOne is asked anything; a bad one is a usage error naming it. */
function validateInput(options: OnboardWorkerPairOptions): PairInput {
  const prefix = options.prefix ?? DEFAULT_SECRET_NAME_PREFIX;
  for (const [flag, id] of [
    ['--worker-a', options.workerA],
    ['--worker-b', options.workerB],
  ] as const) {
    if (!isUuid(id)) {
      throw new UsageError(
        `${flag} '${id}' is not a UUID`,
        "pass the worker app's client id (its application id)",
        {
          setting: flag,
        },
      );
    }
  }
  if (options.workerA.toLowerCase() === options.workerB.toLowerCase()) {
    throw new UsageError(
      '--worker-b is the same app as --worker-a',
      "a worker pair is two worker apps of one organization: each rotates the other's secret",
      { setting: '--worker-b' },
    );
  }
  if (options.pingoneRegion !== undefined && !isRegion(options.pingoneRegion)) {
    throw new UsageError(
      `--pingone-region '${options.pingoneRegion}' is not a PingOne region`,
      `use one of ${REGIONS.join(', ')}`,
      { setting: '--pingone-region' },
    );
  }
  if (!options.rotationFunctionArn || !options.schedule) {
    throw new UsageError(
      `${COMMAND} needs ${options.rotationFunctionArn ? '--schedule' : '--rotation-function-arn'}`,
      "the pair rotates each other only with rotation attached (and the function's role reads a worker " +
        'secret only when its rotation runs that function): pass --rotation-function-arn (stack output ' +
        'RotateFunctionArn) and --schedule, e.g. "rate(30 days)"',
      { setting: options.rotationFunctionArn ? '--schedule' : '--rotation-function-arn' },
    );
  }
  const names = {
    a: options.secretNameA ?? `${prefix}workers/${options.workerA.toLowerCase()}`,
    b: options.secretNameB ?? `${prefix}workers/${options.workerB.toLowerCase()}`,
  };
  if (names.a === names.b) {
    throw new UsageError(
      '--secret-name-b is the same secret as --secret-name-a',
      'each worker needs its own secret',
      { setting: '--secret-name-b' },
    );
  }
  for (const [flag, name] of [
    ['--secret-name-a', names.a],
    ['--secret-name-b', names.b],
  ] as const) {
    try {
      checkSecretNamePrefix(name, prefix);
    } catch (error) {
      if (!(error instanceof UsageError) || error.setting !== '--secret-name') throw error;
      throw new UsageError(error.what.replace('--secret-name', flag), error.todo, { setting: flag });
    }
  }
  // The rest as onboard checks it (environment, TTL, rotation function, schedule, window).
  const checked = validate({
    secretName: names.a,
    environmentId: options.environmentId,
    applicationId: options.workerA,
    ...(options.previousSecretTtl !== undefined ? { previousSecretTtl: options.previousSecretTtl } : {}),
    rotationFunctionArn: options.rotationFunctionArn,
    schedule: options.schedule,
    ...(options.window !== undefined ? { window: options.window } : {}),
  });
  return {
    environmentId: checked.environmentId,
    workers: [
      { worker: 'a', clientId: options.workerA.toLowerCase(), name: names.a },
      { worker: 'b', clientId: options.workerB.toLowerCase(), name: names.b },
    ],
    region: options.pingoneRegion as PingOneRegion | undefined,
    rotation: checked.rotation as RotationInput,
    ttl: checked.ttl,
    kmsKeyId: options.kmsKeyId,
  };
}

async function run(deps: CliDeps, input: PairInput, results: PairWorkerResult[]): Promise<PingOneRegion> {
  const say = (text: string) => line(deps.out, text);
  const access = deps.pingone();
  const region = input.region ?? access.config.defaultRegion;
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

  // 3. Apply: only what is missing. `results` grows as it goes, so a failure's document says what was done.
  for (const plan of plans) {
    const changes: PairChange[] = [];
    const result = {
      worker: plan.worker,
      clientId: plan.owner.id,
      secret: { name: plan.name, arn: plan.view?.arn ?? null },
      changes,
    };
    results.push(result);
    const label = `Worker ${plan.worker.toUpperCase()} (${plan.owner.id})`;
    const tags: Record<string, string> = {
      [ENVIRONMENT_TAG]: plan.owner.environmentId,
      [ownerTag(plan.owner)]: plan.owner.id,
      ...(input.ttl ? { [TTL_TAG]: input.ttl } : {}),
    };
    let arn: string;
    if (!plan.view) {
      const document = {
        environmentId: plan.owner.environmentId,
        applicationId: plan.owner.id,
        clientSecret: plan.current,
        region: plan.owner.region,
        ...(plan.tokenEndpointAuthMethod === 'CLIENT_SECRET_POST'
          ? { tokenEndpointAuthMethod: plan.tokenEndpointAuthMethod }
          : {}),
      };
      arn = (
        await sm.create({
          name: plan.name,
          description: `PingOne worker app ${plan.owner.id} in environment ${plan.owner.environmentId} (${plan.owner.region}), rotated by pingone-secret-rotation through its pair`,
          secretString: JSON.stringify(document),
          tags,
          kmsKeyId: input.kmsKeyId,
        })
      ).arn;
      result.secret.arn = arn;
      changes.push('created');
      say(`${label}: created secret ${plan.name} (${arn}) with PingOne's current secret as AWSCURRENT.`);
    } else {
      arn = plan.view.arn;
      say(`${label}: ${plan.name} already holds PingOne's current secret: value unchanged.`);
      const tagsNow = plan.view.tags;
      const missing = Object.fromEntries(Object.entries(tags).filter(([k, v]) => tagsNow[k] !== v));
      if (Object.keys(missing).length > 0) {
        await sm.tag(arn, missing);
        changes.push('tagged');
        say(`${label}: tagged ${Object.keys(missing).join(', ')}.`);
      }
    }
    if (plan.record?.binding?.secretArn !== arn) {
      await writeBinding(ledger, plan.owner, plan.record, arn, 'onboard', deps.now());
      changes.push('bound');
      say(
        `${label}: the rotation ledger binds it to ${plan.name} (proof: it holds PingOne's current secret).`,
      );
    } else {
      say(`${label}: the rotation ledger binds it to ${plan.name} already.`);
    }
    if (plan.view && sameRotation(plan.view, input.rotation, deps.local !== undefined)) {
      say(`${label}: rotation already attached (${input.rotation.functionArn}, ${input.rotation.schedule}).`);
    } else {
      await attachRotation(deps, arn, plan.name, input.rotation);
      changes.push('rotation-attached');
    }
  }
  const changed = changedAny(results);
  say(changed ? 'The worker pair is onboarded.' : 'The worker pair was onboarded already: nothing changed.');
  say(
    "Name the pair in the stack's workers param (PINGONE_WORKERS; merge it with the workers you have), then " +
      `deploy: ${workersSetting(input, region)}`,
  );
  return region;
}

/** The PINGONE_WORKERS entries of the pair: each covers its whole organization. */
function workersSetting(input: PairInput, region: PingOneRegion): string {
  return JSON.stringify(
    input.workers.map((w) => ({
      name: `worker-${w.clientId.slice(0, 8)}`,
      region,
      secret: w.name,
      environments: '*',
    })),
  );
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

/** Rotation is on, by this function, on this schedule (locally: moto's AutomaticallyAfterDays for it). */
function sameRotation(view: SecretView, rotation: RotationInput, local: boolean): boolean {
  const r = view.rotation;
  if (!r.enabled || r.lambdaArn !== rotation.functionArn) return false;
  if (local) return r.automaticallyAfterDays === motoRotationDays(rotation.schedule);
  return (
    r.scheduleExpression === rotation.schedule &&
    (rotation.window === undefined || r.duration === rotation.window)
  );
}
