/**
 * Fleet onboarding: the one engine behind `onboard-fleet` (a manifest) and `import-terraform` (Terraform's
 * state). For each item it brings a PingOne owner's CURRENT secret under Secrets Manager exactly as
 * `onboard` does — read as the worker app, never regenerated — and binds, tags and schedules it.
 *
 * Every item is a sequence of checks and the one change each check finds missing, so a run that stopped
 * (a crash, Ctrl-C, a failed call) is completed by running it again: an existing secret that already names
 * the owner is taken as this run's own (no second secret), a binding that exists is not rewritten, a
 * rotation already attached is left alone. Nothing here can regenerate a PingOne secret: the worker only
 * reads. PingOne requests (the worker's token included) are paced through one shared budget
 * (lib/audit/paced-transport.ts).
 */
import { type PacingStats, pacedTransport } from '../../lib/audit/paced-transport.js';
import { ENVIRONMENT_TAG, parseTtl, TTL_TAG } from '../../lib/config.js';
import { describeOwner, ownerOf } from '../../lib/owner.js';
import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import type { SecretOwner, SecretOwnerKind } from '../../lib/pingone/types.js';
import { isUuid } from '../../lib/pingone/types.js';
import { OWNER_ID_FIELDS, parseSecretValue, sameSecret } from '../../lib/secret-value.js';
import {
  AWSCURRENT,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretView,
} from '../../lib/secrets/secrets-store.js';
import { checkSecretNamePrefix, isFunctionArn, isScheduleExpression } from '../commands/onboard-input.js';
import { ownerTag, readOwnerAtPingOne, taggedHolders } from '../commands/onboard-owner.js';
import { attachRotation } from '../commands/onboard-rotation.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, oneLine } from '../errors.js';
import type { Output } from '../format.js';
import { assertNoLiveIntent, cliLedger, writeBinding } from '../ledger.js';
import type { PingOneAccess } from '../pingone-access.js';

/** One secret to onboard. */
export interface OnboardingItem {
  readonly secretName: string;
  readonly environmentId: string;
  readonly kind: SecretOwnerKind;
  readonly ownerId: string;
  /** The owner's PingOne region; default the function's PINGONE_REGION. */
  readonly region?: string | undefined;
  /** Attach rotation on this schedule (needs the run's rotation function ARN). */
  readonly schedule?: string | undefined;
  /** Rotation window, e.g. 4h. */
  readonly window?: string | undefined;
  /** pingone:previous-secret-ttl, e.g. 7d. */
  readonly ttl?: string | undefined;
  /** More tags for the secret (keys under pingone: and aws: are the function's and AWS's). */
  readonly tags?: Readonly<Record<string, string>> | undefined;
  /** Where the item came from, for messages: `fleet.csv line 4`, a Terraform address. */
  readonly source: string;
}

export interface OnboardingOptions {
  /** The stack's secret-name prefix: names outside it are refused before anything is created. */
  readonly prefix: string;
  /** The rotation function to attach to items with a schedule. */
  readonly rotationFunctionArn?: string | undefined;
  /** PingOne requests per second, at most, for the whole run. */
  readonly requestsPerSecond: number;
  /** Items in progress at once. */
  readonly concurrency: number;
  readonly kmsKeyId?: string | undefined;
}

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

export interface OnboardingResult {
  readonly results: readonly ItemResult[];
  readonly interrupted: boolean;
  readonly pingone: PacingStats;
  readonly elapsedMs: number;
}

export const SUCCESS: readonly ItemOutcome[] = ['onboarded', 'completed', 'unchanged'];

/** Secrets Manager's own rule for a name: 1–512 of letters, digits and /_+=.@- */
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;

/** Reserved tag prefixes: the function's own tags and AWS's. */
const RESERVED_TAG = /^(pingone:|aws:)/i;

/**
 * Every problem with the items, each naming its item: bad ids, names outside the prefix, bad schedules or
 * TTLs, the same secret or owner twice. The run starts only when there is none.
 */
export function itemProblems(items: readonly OnboardingItem[], options: OnboardingOptions): string[] {
  const problems: string[] = [];
  const names = new Map<string, string>();
  const owners = new Map<string, string>();
  for (const item of items) {
    const say = (text: string) => problems.push(`${item.source}: ${text}`);
    if (!isUuid(item.environmentId)) say(`environment id '${item.environmentId}' is not a UUID`);
    if (item.kind !== 'resource' && item.kind !== 'application') {
      say(`owner kind '${String(item.kind)}' is neither resource nor application`);
    }
    if (!isUuid(item.ownerId)) say(`${item.kind} id '${item.ownerId}' is not a UUID`);
    if (!SECRET_NAME.test(item.secretName)) {
      say(
        `secret name '${item.secretName}' is not a Secrets Manager name (1-512 of letters, digits and /_+=.@-)`,
      );
    }
    try {
      // onboard's own check: the same rule and the same words for one secret or a fleet.
      checkSecretNamePrefix(item.secretName, options.prefix);
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      say(error.what.replace(/^--secret-name /, 'secret name '));
    }
    if (item.region !== undefined && !isRegion(item.region.toUpperCase())) {
      say(`PingOne region '${item.region}' is not one of ${REGIONS.join(', ')}`);
    }
    if (item.ttl !== undefined) {
      try {
        parseTtl(item.ttl, 'previous-secret TTL');
      } catch (error) {
        say((error as Error).message);
      }
    }
    if (item.schedule !== undefined) {
      if (!isScheduleExpression(item.schedule)) {
        say(`schedule '${item.schedule}' is not rate(N days), rate(N hours) or cron(...)`);
      }
      if (!options.rotationFunctionArn) {
        say(
          'a schedule needs the rotation function: pass --rotation-function-arn (the stack’s RotateFunctionArn)',
        );
      }
    }
    if (item.window !== undefined && !/^([1-9]|1\d|2[0-4])h$/.test(item.window)) {
      say(`rotation window '${item.window}' is not whole hours from 1h to 24h`);
    }
    for (const key of Object.keys(item.tags ?? {})) {
      if (RESERVED_TAG.test(key))
        say(`tag '${key}' is reserved (pingone: and aws: tags are set by onboarding)`);
    }
    const seenName = names.get(item.secretName);
    if (seenName) say(`secret name ${item.secretName} is also used by ${seenName}`);
    else names.set(item.secretName, item.source);
    const ownerKey = `${item.kind}#${item.environmentId.toLowerCase()}#${item.ownerId.toLowerCase()}`;
    const seenOwner = owners.get(ownerKey);
    if (seenOwner)
      say(`${item.kind} ${item.ownerId} is also onboarded by ${seenOwner} (one secret per owner)`);
    else owners.set(ownerKey, item.source);
  }
  if (options.rotationFunctionArn !== undefined && !isFunctionArn(options.rotationFunctionArn)) {
    problems.push(`--rotation-function-arn '${options.rotationFunctionArn}' is not a Lambda function ARN`);
  }
  return problems;
}

export interface RunHooks {
  /** Called as each item starts and ends (progress). */
  readonly onStart?: (item: OnboardingItem) => void;
  readonly onResult?: (result: ItemResult, done: number, total: number) => void;
}

/**
 * Onboards every item (the caller has checked them with itemProblems): `concurrency` at a time, PingOne
 * paced to `requestsPerSecond`. A failed item is reported and the others go on. Ctrl-C (deps.onInterrupt)
 * lets the running items finish and starts no more.
 */
export async function runOnboarding(
  deps: CliDeps,
  items: readonly OnboardingItem[],
  options: OnboardingOptions,
  hooks: RunHooks = {},
): Promise<OnboardingResult> {
  const started = deps.now();
  const base = deps.pingone();
  const pacing = { stats: { requests: 0, throttled: 0, waitedMs: 0 } as PacingStats };
  const access: PingOneAccess = base.withTransport
    ? base.withTransport((inner) => {
        const paced = pacedTransport(inner, {
          requestsPerSecond: options.requestsPerSecond,
          now: deps.now,
          sleep: deps.sleep,
        });
        pacing.stats = paced.stats;
        return paced.transport;
      })
    : base;
  const results: (ItemResult | undefined)[] = items.map(() => undefined);
  let stopping = false;
  const release = deps.onInterrupt?.(() => {
    stopping = true;
  });
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (!stopping && next < items.length) {
      const index = next++;
      const item = items[index] as OnboardingItem;
      hooks.onStart?.(item);
      const result = await onboardItem(deps, access, item, options);
      results[index] = result;
      done += 1;
      hooks.onResult?.(result, done, items.length);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.concurrency, items.length)) }, worker),
    );
  } finally {
    release?.();
  }
  return {
    results: results.map(
      (result, i) =>
        result ?? { item: items[i] as OnboardingItem, outcome: 'not-started', changes: [], notes: [] },
    ),
    interrupted: stopping,
    pingone: pacing.stats,
    elapsedMs: deps.now() - started,
  };
}

/** One item; never throws (a failure is the item's result). */
async function onboardItem(
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

async function currentValue(deps: CliDeps, arn: string): Promise<Record<string, unknown> | undefined> {
  try {
    const out = await secretsOf(deps).getVersion(arn, { stage: AWSCURRENT });
    const parsed = JSON.parse(out.secretString ?? '') as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch (error) {
    if (error instanceof ResourceNotFoundException || error instanceof SyntaxError) return undefined;
    throw error;
  }
}
