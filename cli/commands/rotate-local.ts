/** rotate in the local world: this process plays the rotation service and runs the steps. */

import { randomUUID } from 'node:crypto';
import { ENVIRONMENT_TAG, RESOURCE_TAG } from '../../lib/config.js';
import { AWSPENDING } from '../../lib/secrets/secrets-store.js';
import { onboardCommand, type StatusReport } from '../../lib/status/model.js';
import {
  ALL_STEPS,
  LOCAL_ROTATION_LAMBDA_ARN,
  RotationInProgressError,
  type RotationReport,
} from '../../local/driver.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, describeError, EXIT, oneLine, PROGRAM } from '../errors.js';
import { duration, labelsLine, line, ProgressLine, shortId, when } from '../format.js';
import {
  DEFAULT_ROTATE_TIMEOUT_MS,
  inProgress,
  type RotateOptions,
  recordManualRequest,
  seconds,
} from './rotate-request.js';
import { statusReport } from './status.js';

export async function rotateLocally(deps: CliDeps, options: RotateOptions): Promise<number> {
  const local = deps.local!;
  const sm = secretsOf(deps);
  const view = await sm.view(options.secretId);
  const progress = new ProgressLine(deps.out);
  const started = deps.now();
  const timeout = options.timeoutMs ?? DEFAULT_ROTATE_TIMEOUT_MS;
  // Stops the driver at the next step boundary: on SIGINT/SIGTERM, or once --timeout has passed.
  const stop = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  let running: { text: string; since: number } | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const showRunning = () => {
    if (running) progress.update('running', `${running.text} … ${duration(deps.now() - running.since)}`);
  };
  const { driver, source } = await local.driver({
    ...(view.rotation.lambdaArn ? { rotationLambdaArn: view.rotation.lambdaArn } : {}),
    ...(view.rotation.automaticallyAfterDays ? { rotationDays: view.rotation.automaticallyAfterDays } : {}),
    beforeStep: (boundary) => {
      const index = ALL_STEPS.indexOf(boundary.step) + 1;
      const attempt = boundary.attempt > 1 ? ` (attempt ${boundary.attempt})` : '';
      running = { text: `[${index}/${ALL_STEPS.length}] ${boundary.step}${attempt}`, since: deps.now() };
      // On a terminal, a slow step shows that it is alive: its name and a ticking clock.
      if (deps.out.isTTY) {
        showRunning();
        ticker = setInterval(showRunning, 1_000);
      }
    },
    afterStep: async (boundary, report) => {
      clearInterval(ticker);
      running = undefined;
      const out = await sm.describe(view.arn);
      const index = ALL_STEPS.indexOf(boundary.step) + 1;
      const attempt = boundary.attempt > 1 ? ` (attempt ${boundary.attempt})` : '';
      const outcome = report.ok ? `✓ ${report.ms} ms` : `✗ ${oneLine(report.error ?? 'failed')}`;
      const text = `[${index}/${ALL_STEPS.length}] ${boundary.step}${attempt} ${outcome}   ${labelsLine(out.versions)}`;
      progress.update(text, text);
      if (!report.ok) progress.break();
      if (!stop.signal.aborted && deps.now() - started >= timeout) stop.abort('timeout');
    },
  });
  const release = deps.onInterrupt?.((signal) => {
    if (interrupted) {
      line(
        deps.err,
        `${PROGRAM}: still stopping: waiting for ${running?.text.replace(/^\[\d\/\d\] /, '') ?? 'the running call'} to finish ` +
          '(a step cut short can leave PingOne regenerated with nothing stored)',
      );
      return;
    }
    interrupted = signal;
    progress.break();
    line(
      deps.err,
      `${PROGRAM}: ${signal}: stopping at the next step boundary${
        running ? ` (${running.text.replace(/^\[\d\/\d\] /, '')} finishes first)` : ''
      }`,
    );
    stop.abort(signal);
  });
  try {
    line(
      deps.out,
      `Local world (AWS endpoint ${local.endpoint}): no rotation service there, so this process plays it; ` +
        `the steps run in ${source}.`,
    );
    if (!options.wait)
      line(deps.out, 'The steps run here, so the command waits for them even without --wait.');
    if (!view.rotation.enabled) {
      // RotateSecret turns rotation on; in the local world it also records a function ARN. Say which.
      const days = view.rotation.automaticallyAfterDays ?? 30;
      const attach = onboardCommand(
        view.name,
        { environmentId: view.tags[ENVIRONMENT_TAG], ownerId: view.tags[RESOURCE_TAG] },
        { rotationFunctionArn: undefined },
      );
      line(
        deps.out,
        view.rotation.lambdaArn
          ? `Note: rotation of ${view.name} was not enabled; RotateSecret turns it on, with the function recorded on ` +
              `the secret (${view.rotation.lambdaArn}), every ${days} days.`
          : `Note: ${view.name} had no rotation configured; RotateSecret turns rotation on, and here it records the ` +
              `local stand-in function ${LOCAL_ROTATION_LAMBDA_ARN} (account 000000000000: no real function), every ` +
              `${days} days. To record your function instead, attach it first: \`${attach}\`.`,
      );
    }

    let token: string;
    try {
      const requested = randomUUID();
      await recordManualRequest(deps, requested, view.arn);
      token = await driver.startRotation(view.arn, { token: requested });
    } catch (error) {
      if (error instanceof RotationInProgressError) throw inProgress(view.name, error.pendingVersionId);
      throw error;
    }
    const afterStart = await sm.describe(view.arn);
    progress.update(
      'start',
      `RotateSecret: version ${shortId(token)} is AWSPENDING (empty)   ${labelsLine(afterStart.versions)}`,
    );
    const report = await driver.run(view.arn, token, ALL_STEPS, undefined, { signal: stop.signal });
    if (report.stoppedBefore) {
      progress.break();
      await printStop(deps, view, token, report);
      if (interrupted) return EXIT.interrupted;
      throw new CliError(
        `rotation of ${view.name} stopped: --timeout ${duration(timeout)} passed (after ${duration(deps.now() - started)})`,
        'it stopped between two steps; continue with the command above',
      );
    }
    const after = await sm.describe(view.arn);
    if (!report.ok) {
      progress.done(`Rotation failed after ${report.attempts} attempt(s)   ${labelsLine(after.versions)}`);
      throw new CliError(
        `rotation of ${view.name} failed at ${oneLine(report.error ?? 'an unknown step')}`,
        `AWSPENDING stays on version ${token}; see \`pingone-rotation status --secret-id ${view.name}\` ` +
          'and recover with `pingone-rotation unstick`',
      );
    }
    progress.done(
      `Rotated ${view.name} in ${seconds(deps.now() - started)}: AWSCURRENT is version ${token}   ${labelsLine(after.versions)}`,
    );
    if (interrupted) {
      line(
        deps.out,
        `(${interrupted} came during the last step; the rotation had nothing left to do but finish.)`,
      );
      return EXIT.interrupted;
    }
    return EXIT.ok;
  } finally {
    clearInterval(ticker);
    release?.();
  }
}

/**
 * What a stopped local rotation leaves, from the status model: the labels, whether PingOne regenerated,
 * and the one command that continues from there. A stop before any step ran removes this run's empty
 * AWSPENDING placeholder (nothing happened at PingOne), so the secret is as it was.
 */
async function printStop(
  deps: CliDeps,
  view: { arn: string; name: string },
  token: string,
  report: RotationReport,
): Promise<void> {
  const say = (label: string, text: string) => line(deps.out, `${label.padEnd(11)}${text}`);
  const last = report.steps.at(-1);
  const removedPlaceholder = report.steps.length === 0;
  if (removedPlaceholder) {
    await secretsOf(deps).removeStage(view.arn, AWSPENDING, token);
  }
  say(
    'Stopped',
    `${last ? `after ${last.step}${last.ok ? '' : ' (failed)'}` : 'after RotateSecret'}, before ${report.stoppedBefore}; no step was cut short`,
  );
  const labels = await secretsOf(deps).describe(view.arn);
  say('Labels', labelsLine(labels.versions));
  let status: StatusReport;
  try {
    status = await statusReport(deps, { secretId: view.arn });
  } catch (error) {
    say('PingOne', `not checked (${describeError(error).line})`);
    say('Continue', `pingone-rotation status --secret-id ${view.name}`);
    return;
  }
  const pending = status.pending;
  const previous = status.pingone?.previous;
  const until = previous ? `, valid until ${when(previous.expiresAt, deps.now())}` : '';
  say(
    'PingOne',
    removedPlaceholder
      ? 'not regenerated (no step had run); the empty AWSPENDING placeholder was removed'
      : pending?.kind === 'value' && pending.pingOneUsesIt
        ? `regenerated: its new current secret is stored in AWSPENDING (version ${pending.versionId}); AWSCURRENT is its previous secret${until}`
        : status.pingone?.awsCurrentIs === 'current'
          ? 'not regenerated: AWSCURRENT is still its current secret'
          : status.pingone?.awsCurrentIs === 'previous'
            ? `regenerated, and its new current secret is in no version; AWSCURRENT is its previous secret${until}`
            : `status ${status.verdict}: ${status.reason}`,
  );
  if (pending) {
    say(
      'Continue',
      `pingone-rotation unstick --secret-id ${view.name} --yes   (${
        pending.unstickWould === 'finish'
          ? 'finishes the rotation: AWSCURRENT moves to the new version'
          : 'removes the AWSPENDING label; nothing changes at PingOne'
      })`,
    );
  } else if (status.verdict === 'healthy') {
    say('Continue', `nothing to do: status is healthy (pingone-rotation status --secret-id ${view.name})`);
  } else {
    say(
      'Continue',
      `pingone-rotation rotate --secret-id ${view.name} --wait${
        status.verdict === 'grace' ? "   (adopts PingOne's current secret)" : ''
      }`,
    );
  }
}
