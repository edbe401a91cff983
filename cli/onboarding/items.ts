/**
 * What fleet onboarding is given: the items (one secret each, from a manifest or Terraform's state), the
 * run's options, and the checks every item passes before the run starts.
 */
import { parseTtl } from '../../lib/config.js';
import { isRegion, REGIONS } from '../../lib/pingone/regions.js';
import type { SecretOwnerKind } from '../../lib/pingone/types.js';
import { isUuid } from '../../lib/pingone/types.js';
import { checkSecretNamePrefix, isFunctionArn, isScheduleExpression } from '../commands/onboard-input.js';
import { CliError } from '../errors.js';

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
