/**
 * Onboarding one item: a sequence of checks and the one change each check finds missing (create, bind, tag,
 * attach rotation), so running an interrupted item again completes it. The worker only reads PingOne.
 */
import { ENVIRONMENT_TAG, parseTtl, TTL_TAG } from '../../lib/config.js';
import { describeOwner, ownerOf } from '../../lib/owner.js';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import { OWNER_ID_FIELDS, parseSecretValue, sameSecret } from '../../lib/secret-value.js';
import {
  AWSCURRENT,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretView,
} from '../../lib/secrets/secrets-store.js';
import { ownerTag, readOwnerAtPingOne, taggedHolders } from '../commands/onboard-owner.js';
import { attachRotation } from '../commands/onboard-rotation.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, oneLine } from '../errors.js';
import type { Output } from '../format.js';
import { assertNoLiveIntent, cliLedger, writeBinding } from '../ledger.js';
import type { PingOneAccess } from '../pingone-access.js';
import type { OnboardingItem, OnboardingOptions } from './items.js';

/**
 * onboarded: this run created the secret (and did the rest); completed: the secret existed (an earlier,
 * interrupted run) and this run did what was missing; unchanged: nothing was missing; failed: see `error`;
 * not-started: the run was interrupted first.
 */
export type ItemOutcome = 'onboarded' | 'completed' | 'unchanged' | 'failed' | 'not-started';

export interface ItemResult {
  readonly item: OnboardingItem;
  readonly outcome: ItemOutcome;
  readonly secretArn?: string | undefined;
  /** What this run changed for the item, in order: created, tagged, bound, rotation attached. */
  readonly changes: readonly string[];
  /** Why it failed, and what to do. */
  readonly error?: string | undefined;
  /** Remarks worth reading (an application whose auth method cannot prove a secret, …). */
  readonly notes: readonly string[];
}

export const SUCCESS: readonly ItemOutcome[] = ['onboarded', 'completed', 'unchanged'];

/** One item; never throws (a failure is the item's result). */
export async function onboardItem(
  deps: CliDeps,
  access: PingOneAccess,
  item: OnboardingItem,
  options: OnboardingOptions,
): Promise<ItemResult> {
  const changes: string[] = [];
  const notes: string[] = [];
  let secretArn: string | undefined;
  try {
    secretArn = await onboardSteps(deps, access, item, options, changes, notes, (arn) => {
      secretArn = arn;
    });
    const outcome: ItemOutcome = changes.includes('created')
      ? 'onboarded'
      : changes.length > 0
        ? 'completed'
        : 'unchanged';
    return { item, outcome, secretArn, changes, notes };
  } catch (error) {
    const message =
      error instanceof CliError
        ? `${error.what}: ${error.todo}`
        : oneLine((error as Error)?.message ?? String(error));
    const kept =
      changes.length > 0 ? ` (done before the failure: ${changes.join(', ')}; run again to complete)` : '';
    return { item, outcome: 'failed', secretArn, changes, notes, error: `${message}${kept}` };
  }
}

async function onboardSteps(
  deps: CliDeps,
  access: PingOneAccess,
  item: OnboardingItem,
  options: OnboardingOptions,
  changes: string[],
  notes: string[],
  setArn: (arn: string) => void,
): Promise<string> {
  const sm = secretsOf(deps);
  const config = access.config;
  const region = (item.region?.toUpperCase() ?? config.defaultRegion) as PingOneRegion;
  const owner: SecretOwner = {
    kind: item.kind,
    environmentId: item.environmentId.toLowerCase(),
    id: item.ownerId.toLowerCase(),
    region,
  };
  const idField = OWNER_ID_FIELDS[owner.kind];
  const document = (clientSecret: string) => ({
    environmentId: owner.environmentId,
    [idField]: owner.id,
    clientSecret,
    region,
  });
  // The function would refuse an environment outside PINGONE_ALLOWED_ENVIRONMENTS: refuse it now.
  try {
    ownerOf(parseSecretValue(JSON.stringify(document('-')), 'the new secret'), config);
  } catch (error) {
    throw new CliError(`cannot onboard ${describeOwner(owner)}`, (error as Error).message);
  }
  const say = (text: string) => notes.push(text);
  const quiet: CliDeps = {
    ...deps,
    out: { write: (text: string) => notes.push(text.trimEnd()) } satisfies Output,
  };
  const ledger = cliLedger(deps);
  const record = await ledger.ledger.read(owner, ledger.options());
  let view = await describeIfExists(deps, item.secretName);
  const bound = record?.binding;
  if (bound && bound.secretArn !== view?.arn) {
    throw new CliError(
      `${describeOwner(owner)} is already held by secret ${bound.secretArn} (rotation ledger binding since ` +
        `${bound.boundAt}, by ${bound.how})`,
      `nothing was changed for ${item.secretName}; to move it here use \`pingone-rotation onboard --force --rebind\``,
    );
  }
  assertNoLiveIntent(record, owner, deps.now());

  const tags: Record<string, string> = {
    [ENVIRONMENT_TAG]: owner.environmentId,
    [ownerTag(owner)]: owner.id,
    ...(item.ttl ? { [TTL_TAG]: parseTtl(item.ttl, 'previous-secret TTL').text } : {}),
    ...item.tags,
  };
  let proven = false;
  if (!view) {
    const others = await taggedHolders(deps, owner);
    if (others.length > 0) {
      throw new CliError(
        `${describeOwner(owner)} is already held by secret ${others.join(' and ')} (tag ${ownerTag(owner)})`,
        `nothing was changed; onboard another ${owner.kind}, or move it with \`pingone-rotation onboard --force --rebind\``,
      );
    }
    const pingone = await readOwnerAtPingOne(deps, owner, say, access);
    try {
      const out = await sm.create({
        name: item.secretName,
        description: `PingOne ${owner.kind === 'application' ? 'OIDC application' : 'CUSTOM resource'} ${owner.id} in environment ${owner.environmentId} (${region}), rotated by pingone-secret-rotation`,
        secretString: JSON.stringify(document(pingone.secret)),
        tags,
        kmsKeyId: options.kmsKeyId,
      });
      changes.push('created');
      setArn(out.arn);
      proven = true;
    } catch (error) {
      // Created meanwhile (a concurrent run): judged below like any existing secret.
      if (!(error instanceof ResourceExistsException)) throw error;
    }
    view = await sm.view(item.secretName);
  } else {
    // An existing secret is this item's only if its tags and its value name this owner (an earlier run's).
    const mismatch = [ENVIRONMENT_TAG, ownerTag(owner)].filter(
      (key) => view?.tags[key]?.toLowerCase() !== tags[key],
    );
    if (mismatch.length > 0) {
      throw new CliError(
        `secret ${item.secretName} already exists and is not ${describeOwner(owner)}'s (its ${mismatch.join(' and ')} tag ${mismatch.length > 1 ? 'do' : 'does'} not name it)`,
        'nothing was changed; choose another secret name, or bring it under rotation with `pingone-rotation onboard --force`',
      );
    }
  }
  const arn = view.arn;
  setArn(arn);

  if (!proven && bound?.secretArn !== arn) {
    // Proof of possession before binding an existing secret: its AWSCURRENT is PingOne's current secret.
    const current = await currentValue(deps, arn);
    const pingone = await readOwnerAtPingOne(deps, owner, say, access);
    const names =
      current?.environmentId === owner.environmentId &&
      typeof current[idField] === 'string' &&
      (current[idField] as string).toLowerCase() === owner.id;
    if (!names || !sameSecret(current?.clientSecret as string | undefined, pingone.secret)) {
      throw new CliError(
        `secret ${item.secretName} exists but its AWSCURRENT is not PingOne's current secret of ${describeOwner(owner)}`,
        `nothing was changed; see \`pingone-rotation status --secret-id ${item.secretName}\` (\`onboard --force\` stores PingOne's current secret)`,
      );
    }
  }
  if (bound?.secretArn !== arn) {
    await writeBinding(ledger, owner, record, arn, 'onboard', deps.now());
    changes.push('bound');
  }
  const missing = Object.entries(tags).filter(([key, value]) => view?.tags[key] !== value);
  if (missing.length > 0) {
    await sm.tag(arn, Object.fromEntries(missing));
    changes.push('tagged');
  }
  if (item.schedule && options.rotationFunctionArn) {
    if (view.rotation.enabled && view.rotation.lambdaArn === options.rotationFunctionArn) {
      // Attached by an earlier run (or by hand): left as it is.
    } else {
      await attachRotation(quiet, arn, item.secretName, {
        functionArn: options.rotationFunctionArn,
        schedule: item.schedule.trim(),
        ...(item.window ? { window: item.window } : {}),
      });
      changes.push('rotation attached');
    }
  }
  return arn;
}

async function describeIfExists(deps: CliDeps, name: string): Promise<SecretView | undefined> {
  try {
    return await secretsOf(deps).view(name);
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return undefined;
    throw error;
  }
}

/** The secret's AWSCURRENT value as a JSON object; undefined when there is none or it is not one. */
async function currentValue(deps: CliDeps, arn: string): Promise<Record<string, unknown> | undefined> {
  const text = await secretsOf(deps).getValue(arn, { stage: AWSCURRENT });
  try {
    const parsed = JSON.parse(text ?? '') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}
