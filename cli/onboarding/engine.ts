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
 * (lib/audit/paced-transport.ts). The items and their checks are items.ts's; one item's steps, onboard-item.ts's.
 */
import { type PacingStats, pacedTransport } from '../../lib/audit/paced-transport.js';
import type { CliDeps } from '../deps.js';
import type { PingOneAccess } from '../pingone-access.js';
import type { OnboardingItem, OnboardingOptions } from './items.js';
import { type ItemResult, onboardItem } from './onboard-item.js';

export interface OnboardingResult {
  readonly results: readonly ItemResult[];
  readonly interrupted: boolean;
  readonly pingone: PacingStats;
  readonly elapsedMs: number;
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
