import { readFile } from 'node:fs/promises';
import type { CliDeps } from '../deps.js';
import { UsageError } from '../errors.js';
import type { OnboardingItem } from '../onboarding/items.js';
import { parseManifest } from '../onboarding/manifest.js';
import { runFleet } from '../onboarding/run-fleet.js';
import { DEFAULT_SECRET_NAME_PREFIX } from './onboard-input.js';

export const DEFAULT_REQUESTS_PER_SECOND = 10;
export const DEFAULT_CONCURRENCY = 4;

export interface FleetCommonOptions {
  /** --pingone-region: the region of items that name none (else the function's PINGONE_REGION). */
  readonly pingoneRegion?: string | undefined;
  readonly prefix?: string | undefined;
  readonly rotationFunctionArn?: string | undefined;
  /** The schedule of items that name none. */
  readonly schedule?: string | undefined;
  readonly requestsPerSecond?: string | undefined;
  readonly concurrency?: string | undefined;
  readonly kmsKeyId?: string | undefined;
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
}

export interface OnboardFleetOptions extends FleetCommonOptions {
  readonly manifest: string;
}

/** `onboard-fleet --manifest f.csv|f.json`: every row through the onboarding engine. */
export async function onboardFleet(deps: CliDeps, options: OnboardFleetOptions): Promise<number> {
  // A bad flag is named before the manifest is read.
  const fleet = fleetOptions(options);
  let text: string;
  try {
    text = await readFile(options.manifest, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read manifest ${options.manifest} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'check the path',
      { setting: '--manifest' },
    );
  }
  const items = parseManifest(text, options.manifest).map((item) => withDefaults(item, options));
  return runFleet(deps, items, fleet);
}

/** The item with the flags' defaults for what it does not say (schedule, region). */
export function withDefaults(item: OnboardingItem, options: FleetCommonOptions): OnboardingItem {
  return {
    ...item,
    ...(item.schedule === undefined && options.schedule ? { schedule: options.schedule } : {}),
    ...(item.region === undefined && options.pingoneRegion ? { region: options.pingoneRegion } : {}),
  };
}

/** The engine's options from the shared flags. */
export function fleetOptions(options: FleetCommonOptions) {
  return {
    prefix: options.prefix ?? DEFAULT_SECRET_NAME_PREFIX,
    rotationFunctionArn: options.rotationFunctionArn,
    requestsPerSecond: positive(
      options.requestsPerSecond,
      '--requests-per-second',
      DEFAULT_REQUESTS_PER_SECOND,
      1000,
    ),
    concurrency: positive(options.concurrency, '--concurrency', DEFAULT_CONCURRENCY, 32),
    kmsKeyId: options.kmsKeyId,
    json: options.json,
    dryRun: options.dryRun,
    yes: options.yes,
  };
}

function positive(text: string | undefined, flag: string, fallback: number, max: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || n > max) {
    throw new UsageError(`${flag} '${text}' is not a number from 1 to ${max}`, `e.g. ${flag} ${fallback}`, {
      setting: flag,
    });
  }
  return n;
}
