/**
 * What `onboard-fleet` and `import-terraform` share around the engine: the checks, the plan, the
 * confirmation naming the count, the run with its progress, the summary (or the JSON report) and the exit
 * code.
 */
import type { CliDeps } from '../deps.js';
import { EXIT, UsageError } from '../errors.js';
import { duration, line } from '../format.js';
import { confirm } from '../ledger.js';
import { type OnboardingResult, runOnboarding } from './engine.js';
import { itemProblems, type OnboardingItem, type OnboardingOptions } from './items.js';
import { type ItemResult, SUCCESS } from './onboard-item.js';
import { FleetProgress } from './progress.js';

export interface FleetRunOptions extends OnboardingOptions {
  readonly json: boolean;
  readonly dryRun: boolean;
  readonly yes: boolean;
  /** Printed before the plan (import-terraform's findings); not in --json. */
  readonly preface?: readonly string[];
  /** Extra fields of the --json report. */
  readonly jsonExtra?: Record<string, unknown>;
  /** Called after a run (not a dry run) with its result, before the exit code is chosen. */
  readonly after?: (result: OnboardingResult) => void | Promise<void>;
}

/** Checks, plans, confirms, runs; returns the exit code (0 all succeeded, 1 some failed, 130 interrupted). */
export async function runFleet(
  deps: CliDeps,
  items: readonly OnboardingItem[],
  options: FleetRunOptions,
): Promise<number> {
  const say = (text = '') => line(options.json ? deps.err : deps.out, text);
  const problems = itemProblems(items, options);
  if (problems.length > 0) {
    const shown = problems.slice(0, 20).join('; ');
    throw new UsageError(
      `${problems.length} problem${problems.length === 1 ? '' : 's'} in the items: ${shown}${problems.length > 20 ? '; …' : ''}`,
      'nothing was created; fix them and run again',
    );
  }
  if (items.length === 0) throw new UsageError('nothing to onboard: no items', 'check the input');
  for (const text of options.preface ?? []) say(text);
  const rotating = items.filter((item) => item.schedule).length;
  say(
    `Plan: onboard ${items.length} secret${items.length === 1 ? '' : 's'} under ${options.prefix}, each holding its ` +
      "owner's CURRENT PingOne secret read as the worker app (nothing is regenerated), bound in the rotation " +
      `ledger and tagged; ${rotating} with rotation attached${rotating > 0 ? ` (${options.rotationFunctionArn})` : ''}. ` +
      `PingOne paced to ${options.requestsPerSecond} requests/s. Safe to re-run: done items are left as they are.`,
  );
  if (options.dryRun) {
    for (const [i, item] of items.entries()) {
      say(
        `  ${i + 1}. ${item.secretName} <- ${item.kind} ${item.ownerId} in environment ${item.environmentId}` +
          `${item.region ? ` (${item.region})` : ''}${item.schedule ? `, ${item.schedule}` : ', no rotation'}` +
          `${item.ttl ? `, ttl ${item.ttl}` : ''}  [${item.source}]`,
      );
    }
    if (options.json) {
      deps.out.write(`${JSON.stringify({ dryRun: true, items, ...options.jsonExtra }, null, 2)}\n`);
    }
    say('Dry run: nothing was read or changed.');
    return EXIT.ok;
  }
  await confirm(deps, options.yes, `onboarding of ${items.length} secret${items.length === 1 ? '' : 's'}`);
  const progress = new FleetProgress(options.json ? undefined : deps.out, deps.err, deps.now);
  const result = await runOnboarding(deps, items, options, {
    onResult: (r, done, total) => progress.result(r, done, total),
  });
  progress.end();
  await options.after?.(result);
  const count = (outcome: ItemResult['outcome']) =>
    result.results.filter((r) => r.outcome === outcome).length;
  const failed = count('failed');
  const notStarted = count('not-started');
  const seconds = Math.max(result.elapsedMs, 1) / 1000;
  const summary =
    `Onboarded ${count('onboarded')}, completed ${count('completed')}, unchanged ${count('unchanged')}, ` +
    `failed ${failed}${notStarted ? `, not started ${notStarted}` : ''} of ${items.length} in ${duration(result.elapsedMs)}; ` +
    `PingOne: ${result.pingone.requests} requests (${(result.pingone.requests / seconds).toFixed(1)}/s), ` +
    `${result.pingone.throttled} throttled.`;
  if (options.json) {
    deps.out.write(
      `${JSON.stringify(
        {
          ok: failed === 0 && !result.interrupted,
          interrupted: result.interrupted,
          totals: {
            items: items.length,
            onboarded: count('onboarded'),
            completed: count('completed'),
            unchanged: count('unchanged'),
            failed,
            notStarted,
          },
          pingone: { ...result.pingone },
          elapsedMs: result.elapsedMs,
          items: result.results.map((r) => ({
            source: r.item.source,
            secretName: r.item.secretName,
            environmentId: r.item.environmentId,
            kind: r.item.kind,
            ownerId: r.item.ownerId,
            ...(r.item.region ? { region: r.item.region } : {}),
            ...(r.item.schedule ? { schedule: r.item.schedule } : {}),
            outcome: r.outcome,
            ...(r.secretArn ? { secretArn: r.secretArn } : {}),
            changes: r.changes,
            ...(r.error ? { error: r.error } : {}),
            ...(r.notes.length ? { notes: r.notes } : {}),
          })),
          ...options.jsonExtra,
        },
        null,
        2,
      )}\n`,
    );
  }
  say(summary);
  if (result.interrupted) {
    say(`Interrupted: ${notStarted} not started. Run the same command again to complete the rest.`);
    return EXIT.interrupted;
  }
  if (failed > 0) {
    say(`${failed} failed (see above); the others are done. Fix the cause and run the same command again.`);
    return EXIT.error;
  }
  return result.results.every((r) => SUCCESS.includes(r.outcome)) ? EXIT.ok : EXIT.error;
}
