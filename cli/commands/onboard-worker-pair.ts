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
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SecretView } from '../../lib/secrets/description.js';
import { motoRotationDays } from '../../local/driver.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { EXIT } from '../errors.js';
import { line } from '../format.js';
import { failureDocument, JsonAlreadyPrinted } from '../json-result.js';
import { cliLedger, writeBinding } from '../ledger.js';
import type { RotationInput } from './onboard-input.js';
import { ownerTag } from './onboard-owner.js';
import { attachRotation } from './onboard-rotation.js';
import {
  COMMAND,
  type OnboardWorkerPairOptions,
  type PairInput,
  validateInput,
} from './onboard-worker-pair-input.js';
import { planPair } from './onboard-worker-pair-plan.js';

export type { OnboardWorkerPairOptions };
export { COMMAND };

/** What the command did to one worker's secret. */
export type PairChange = 'created' | 'stored' | 'tagged' | 'bound' | 'rotation-attached';

export interface PairWorkerResult {
  readonly worker: 'a' | 'b';
  readonly clientId: string;
  readonly secret: { readonly name: string; arn: string | null };
  readonly changes: PairChange[];
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

async function run(deps: CliDeps, input: PairInput, results: PairWorkerResult[]): Promise<PingOneRegion> {
  const say = (text: string) => line(deps.out, text);
  const access = deps.pingone();
  const region = input.region ?? access.config.defaultRegion;
  const sm = secretsOf(deps);
  const ledger = cliLedger(deps);

  // 1-2. Both workers read and checked, every refusal before anything is written.
  const plans = await planPair(deps, input, access, region, say);

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
  if (input.organization === undefined) {
    say(
      'Add "organization": "<the PingOne organization\'s id>" to both entries (or rerun with --organization-id) ' +
        "so the pair shares one PingOne rate budget: PingOne's rate limits are per organization (licence), and " +
        'without it the auditor and the rotations count each worker as a licence of its own.',
    );
  }
  return region;
}

/** The PINGONE_WORKERS entries of the pair: each covers its whole organization (named with --organization-id). */
function workersSetting(input: PairInput, region: PingOneRegion): string {
  return JSON.stringify(
    input.workers.map((w) => ({
      name: `worker-${w.clientId.slice(0, 8)}`,
      region,
      secret: w.name,
      environments: '*',
      ...(input.organization !== undefined ? { organization: input.organization } : {}),
    })),
  );
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
