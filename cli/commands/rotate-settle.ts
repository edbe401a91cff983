/** rotate's wait for an earlier regenerate of the owner to settle (the ledger's intent). */

import { CLOCK_SKEW_MS } from '../../lib/ledger/record.js';
import type { StatusReport } from '../../lib/status/model.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { duration, line, ProgressLine } from '../format.js';
import type { RotateOptions } from './rotate-request.js';

/** How often a plain (non-terminal) output says how long the wait has left. */
const SETTLE_NOTE_EVERY_MS = 30_000;

/**
 * An earlier rotation's regenerate of this owner may still be in flight (the ledger's intent, e.g. of the
 * rotation `unstick` just cleared): until it settles the rotation function refuses to regenerate (retryable,
 * so Secrets Manager's or the local driver's attempts all fail at once and leave AWSPENDING behind). So
 * `rotate` waits it out first, with a countdown on a terminal and a plain line every 30 s otherwise; with
 * `--no-settle-wait` it says until when and changes nothing. No wait when the rotation will adopt PingOne's
 * current secret (no regenerate). Returns false when interrupted (Ctrl-C) during the wait: nothing changed.
 */
export async function waitForSettledIntent(
  deps: CliDeps,
  report: StatusReport,
  options: RotateOptions,
): Promise<boolean> {
  const intent = report.ledger?.intent;
  if (!intent || report.pingone?.awsCurrentIs === 'previous') return true;
  // The function's clock and this machine's may differ a little: wait that much longer.
  const until = Date.parse(intent.settlesAt) + CLOCK_SKEW_MS;
  const name = report.secret.name;
  if (deps.now() >= until) return true;
  const whose =
    intent.secretArn === report.secret.arn
      ? `rotation version ${intent.versionId} of this secret`
      : `rotation version ${intent.versionId} of ${intent.secretArn}`;
  const what = `a regenerate sent by ${whose} at ${intent.startedAt} may still be in flight at PingOne until ${intent.settlesAt}`;
  if (options.settleWait === false) {
    throw new CliError(
      `not rotating ${name} yet: ${what}, and until then the rotation function sends no other regenerate`,
      `nothing was changed; run this again after ${new Date(until).toISOString()} (or without --no-settle-wait, which waits)`,
    );
  }
  line(
    deps.out,
    `Waiting ${duration(until - deps.now())} before rotating ${name}: ${what} (a rotation now would fail and ` +
      'leave AWSPENDING behind). Ctrl-C stops here and changes nothing; --no-settle-wait says so and exits.',
  );
  let interrupted: NodeJS.Signals | undefined;
  const release = deps.onInterrupt?.((signal) => {
    interrupted = signal;
  });
  const progress = new ProgressLine(deps.out);
  let lastNote = deps.now();
  try {
    for (;;) {
      const left = until - deps.now();
      if (interrupted) {
        progress.done(`Stopped waiting (${interrupted}); nothing was changed.`);
        return false;
      }
      if (left <= 0) break;
      if (deps.out.isTTY) {
        progress.update('wait', `Waiting for the earlier regenerate to settle: ${duration(left)} left`);
      } else if (deps.now() - lastNote >= SETTLE_NOTE_EVERY_MS) {
        lastNote = deps.now();
        line(deps.out, `Still waiting: ${duration(left)} left`);
      }
      await deps.sleep(Math.min(1_000, left));
    }
    progress.done(`The earlier regenerate has settled; rotating ${name}.`);
    return true;
  } finally {
    release?.();
  }
}
