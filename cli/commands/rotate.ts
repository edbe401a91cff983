import { randomUUID } from 'node:crypto';
import { hostname, userInfo } from 'node:os';
import {
  DescribeSecretCommand,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { APPLICATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG } from '../../lib/config.js';
import { CLOCK_SKEW_MS } from '../../lib/ledger/record.js';
import { recordRotationRequest } from '../../lib/ledger/requests.js';
import { AWSCURRENT, AWSPENDING, SecretsStore } from '../../lib/secrets/secrets-store.js';
import { readSecretView } from '../../lib/status/inspect.js';
import { onboardCommand, ROTATION_FIXES, type StatusReport } from '../../lib/status/model.js';
import {
  ALL_STEPS,
  LOCAL_ROTATION_LAMBDA_ARN,
  RotationInProgressError,
  type RotationReport,
} from '../../local/driver.js';
import type { CliDeps } from '../deps.js';
import { CliError, describeError, EXIT, oneLine, PROGRAM } from '../errors.js';
import { duration, labelsLine, line, ProgressLine, shortId, when } from '../format.js';
import { statusReport } from './status.js';

export const DEFAULT_ROTATE_TIMEOUT_MS = 5 * 60_000;
export const DEFAULT_POLL_INTERVAL_MS = 2_000;

export interface RotateOptions {
  readonly secretId: string;
  /** Follow the rotation until it succeeds, fails or times out. */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Rotate even when `status` says a rotation cannot fix the state. */
  readonly force?: boolean;
  /**
   * false (`--no-settle-wait`): when an earlier regenerate of the owner may still be in flight, say until
   * when and change nothing, instead of waiting for it to settle.
   */
  readonly settleWait?: boolean;
}

/** How often a plain (non-terminal) output says how long the wait has left. */
const SETTLE_NOTE_EVERY_MS = 30_000;

/**
 * `rotate`: RotateSecret, then (with --wait) a live progress line until the new version is AWSCURRENT.
 * In the local world there is no rotation service: LocalRotationDriver plays it and the steps run here.
 */
export async function rotate(deps: CliDeps, options: RotateOptions): Promise<number> {
  let report: StatusReport | undefined;
  if (!options.force) {
    report = await refuseUnlessRotationFixes(deps, options.secretId);
    const owner = ownerLine(report);
    if (owner) line(deps.out, `${report.secret.name}: ${owner} (status: ${report.verdict})`);
  } else {
    // Not to refuse anything (--force), only to see whether an earlier regenerate is still settling.
    report = await statusReport(deps, { secretId: options.secretId }).catch(() => undefined);
  }
  if (report && !(await waitForSettledIntent(deps, report, options))) return EXIT.interrupted;
  return deps.local ? rotateLocally(deps, options) : rotateWithService(deps, options);
}

/**
 * An earlier rotation's regenerate of this owner may still be in flight (the ledger's intent, e.g. of the
 * rotation `unstick` just cleared): until it settles the rotation function refuses to regenerate (retryable,
 * so Secrets Manager's or the local driver's attempts all fail at once and leave AWSPENDING behind). So
 * `rotate` waits it out first, with a countdown on a terminal and a plain line every 30 s otherwise; with
 * `--no-settle-wait` it says until when and changes nothing. No wait when the rotation will adopt PingOne's
 * current secret (no regenerate). Returns false when interrupted (Ctrl-C) during the wait: nothing changed.
 */
async function waitForSettledIntent(
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

/** Which PingOne owner the secret names, as status saw it: a resource or an application. */
function ownerLine(report: StatusReport): string | undefined {
  const p = report.pingone;
  if (!p) return undefined;
  const where = `in environment ${p.environmentId} (${p.region})`;
  return p.kind === 'application'
    ? `PingOne OIDC application${p.applicationName ? ` "${p.applicationName}"` : ''} ${p.applicationId} ${where}`
    : `PingOne ${p.resourceType ?? 'CUSTOM'} resource${p.resourceName ? ` "${p.resourceName}"` : ''} ${p.resourceId} ${where}`;
}

/**
 * Runs the status model first: a rotation of a misconfigured secret, a drifted one, one PingOne cannot
 * judge or one with an outstanding AWSPENDING fails the same way every attempt and leaves AWSPENDING
 * behind. Refused with the verdict's exit code and its advice; nothing is changed.
 */
async function refuseUnlessRotationFixes(deps: CliDeps, secretId: string): Promise<StatusReport> {
  const report = await statusReport(deps, { secretId });
  if (ROTATION_FIXES.has(report.verdict)) return report;
  throw new CliError(
    `not rotating ${report.secret.name}: status says ${report.verdict}, which a rotation cannot fix (${report.reason})`,
    'nothing was changed; do what the status says, or pass --force to rotate anyway',
    report.exitCode,
  );
}

async function rotateLocally(deps: CliDeps, options: RotateOptions): Promise<number> {
  const local = deps.local!;
  const sm = deps.secretsManager;
  const view = await readSecretView(sm, options.secretId);
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
      const out = await sm.send(new DescribeSecretCommand({ SecretId: view.arn }));
      const index = ALL_STEPS.indexOf(boundary.step) + 1;
      const attempt = boundary.attempt > 1 ? ` (attempt ${boundary.attempt})` : '';
      const outcome = report.ok ? `✓ ${report.ms} ms` : `✗ ${oneLine(report.error ?? 'failed')}`;
      const text = `[${index}/${ALL_STEPS.length}] ${boundary.step}${attempt} ${outcome}   ${labelsLine(out.VersionIdsToStages ?? {})}`;
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
    const afterStart = await sm.send(new DescribeSecretCommand({ SecretId: view.arn }));
    progress.update(
      'start',
      `RotateSecret: version ${shortId(token)} is AWSPENDING (empty)   ${labelsLine(afterStart.VersionIdsToStages ?? {})}`,
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
    const after = await sm.send(new DescribeSecretCommand({ SecretId: view.arn }));
    if (!report.ok) {
      progress.done(
        `Rotation failed after ${report.attempts} attempt(s)   ${labelsLine(after.VersionIdsToStages ?? {})}`,
      );
      throw new CliError(
        `rotation of ${view.name} failed at ${oneLine(report.error ?? 'an unknown step')}`,
        `AWSPENDING stays on version ${token}; see \`pingone-rotation status --secret-id ${view.name}\` ` +
          'and recover with `pingone-rotation unstick`',
      );
    }
    progress.done(
      `Rotated ${view.name} in ${seconds(deps.now() - started)}: AWSCURRENT is version ${token}   ${labelsLine(after.VersionIdsToStages ?? {})}`,
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
    await deps.secretsManager.send(
      new UpdateSecretVersionStageCommand({
        SecretId: view.arn,
        VersionStage: AWSPENDING,
        RemoveFromVersionId: token,
      }),
    );
  }
  say(
    'Stopped',
    `${last ? `after ${last.step}${last.ok ? '' : ' (failed)'}` : 'after RotateSecret'}, before ${report.stoppedBefore}; no step was cut short`,
  );
  const labels = await deps.secretsManager.send(new DescribeSecretCommand({ SecretId: view.arn }));
  say('Labels', labelsLine(labels.VersionIdsToStages ?? {}));
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

/**
 * Records in the ledger table that this rotation (its ClientRequestToken) was asked for by hand, before it
 * starts: the compliance report tells manual rotations from scheduled ones by it. Best effort: a table that
 * cannot be written costs only that label (the rotation itself then meets the same table and says so).
 */
async function recordManualRequest(deps: CliDeps, token: string, secretArn: string): Promise<void> {
  let table: string;
  try {
    table = deps.config().ledgerTable;
  } catch {
    return; // no function configuration here (no ledger table named): nothing to record it in
  }
  try {
    let who = 'unknown';
    try {
      who = `${userInfo().username}@${hostname()}`;
    } catch {
      // no user name (a container without one): unknown
    }
    await recordRotationRequest(
      deps.dynamodb,
      table,
      {
        token,
        secretArn,
        requestedAt: new Date(deps.now()).toISOString(),
        requestedBy: who,
        via: 'pingone-rotation rotate',
      },
      { abortSignal: AbortSignal.timeout(10_000) },
    );
  } catch (error) {
    line(
      deps.err,
      `${PROGRAM}: note: could not record this rotation as manual in the rotation ledger (${oneLine(describeError(error, {}).line)}); ` +
        'the compliance report will count it as scheduled',
    );
  }
}

function inProgress(name: string, pendingVersionId: string | undefined): CliError {
  return new CliError(
    `a previous rotation of ${name} is not complete${pendingVersionId ? ` (AWSPENDING is on version ${pendingVersionId})` : ''}`,
    `see \`pingone-rotation status --secret-id ${name}\`; if it is stuck, recover with \`pingone-rotation unstick --secret-id ${name}\``,
  );
}

async function rotateWithService(deps: CliDeps, options: RotateOptions): Promise<number> {
  const sm = deps.secretsManager;
  const view = await readSecretView(sm, options.secretId);
  if (!view.rotation.enabled && !view.rotation.lambdaArn) {
    const application = view.tags[APPLICATION_TAG];
    const ids =
      application !== undefined && view.tags[RESOURCE_TAG] === undefined
        ? { environmentId: view.tags[ENVIRONMENT_TAG], kind: 'application' as const, ownerId: application }
        : {
            environmentId: view.tags[ENVIRONMENT_TAG],
            kind: 'resource' as const,
            ownerId: view.tags[RESOURCE_TAG],
          };
    throw new CliError(
      `${view.name} has no rotation function`,
      `attach one with \`${onboardCommand(view.name, ids, { rotationFunctionArn: undefined })}\``,
    );
  }
  const token = randomUUID();
  await recordManualRequest(deps, token, view.arn);
  try {
    await sm.send(new RotateSecretCommand({ SecretId: view.arn, ClientRequestToken: token }));
  } catch (error) {
    const message = (error as Error).message ?? '';
    if ((error as Error).name === 'InvalidRequestException' && /previous rotation/i.test(message)) {
      throw inProgress(view.name, view.pendingVersionId);
    }
    throw error;
  }
  if (!options.wait) {
    line(
      deps.out,
      `Rotation of ${view.name} started: version ${token} is AWSPENDING and Secrets Manager runs the four steps now.`,
    );
    line(deps.out, `Follow it with \`pingone-rotation status --secret-id ${view.name}\` (or use --wait).`);
    return EXIT.ok;
  }
  return follow(deps, view.arn, view.name, token, view.rotation.lambdaArn, options);
}

/** Polls DescribeSecret until `token` is AWSCURRENT without AWSPENDING, the label vanishes, or time runs out. */
async function follow(
  deps: CliDeps,
  arn: string,
  name: string,
  token: string,
  lambdaArn: string | undefined,
  options: RotateOptions,
): Promise<number> {
  const sm = deps.secretsManager;
  const store = new SecretsStore(sm);
  const timeout = options.timeoutMs ?? DEFAULT_ROTATE_TIMEOUT_MS;
  const interval = options.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const progress = new ProgressLine(deps.out);
  const started = deps.now();
  let valueStored = false;
  let seen = false;
  let polls = 0;
  let phase = 'RotateSecret accepted';
  // Ctrl-C stops following, not the rotation: Secrets Manager carries on with it.
  let interrupted: NodeJS.Signals | undefined;
  const release = deps.onInterrupt?.((signal) => {
    interrupted = signal;
  });
  try {
    for (;;) {
      polls++;
      const out = await sm.send(new DescribeSecretCommand({ SecretId: arn }));
      const versions = out.VersionIdsToStages ?? {};
      const stages = versions[token] ?? [];
      const elapsed = deps.now() - started;
      if (interrupted) {
        progress.done(
          `Stopped following (${interrupted}) after ${duration(elapsed)}: ${phase}   ${labelsLine(versions)}`,
        );
        line(deps.out, 'The rotation goes on in Secrets Manager: only this command stopped.');
        line(deps.out, `Continue: pingone-rotation status --secret-id ${name}`);
        return EXIT.interrupted;
      }
      if (stages.includes(AWSCURRENT) && !stages.includes(AWSPENDING)) {
        progress.done(
          `Rotated ${name} in ${seconds(elapsed)}: AWSCURRENT is version ${token}   ${labelsLine(versions)}` +
            `${out.LastRotatedDate ? `; last rotated ${out.LastRotatedDate.toISOString().replace(/\.\d{3}Z$/, 'Z')}` : ''}`,
        );
        return EXIT.ok;
      }
      if (stages.includes(AWSCURRENT)) {
        phase = 'finishSecret: AWSCURRENT moved to the new version, AWSPENDING being removed';
      } else if (stages.includes(AWSPENDING)) {
        seen = true;
        if (!valueStored) {
          valueStored = (await store.getValue(arn, { versionId: token, stage: AWSPENDING })) !== undefined;
        }
        phase = valueStored
          ? 'setSecret/testSecret: the new secret is stored and being verified at PingOne'
          : "createSecret: waiting for PingOne's new secret";
      } else if (seen || polls > 3) {
        progress.done(`Rotation abandoned   ${labelsLine(versions)}`);
        throw new CliError(
          `AWSPENDING left version ${token} of ${name} before it became AWSCURRENT`,
          'someone removed the label (unstick) or the rotation was cancelled; run ' +
            `\`pingone-rotation status --secret-id ${name}\``,
        );
      }
      if (elapsed >= timeout) {
        progress.done(`Timed out after ${duration(elapsed)}: ${phase}   ${labelsLine(versions)}`);
        const fn = lambdaArn?.split(':')[6];
        throw new CliError(
          `rotation of ${name} did not finish within ${duration(timeout)} (${phase})`,
          `the rotation function is probably failing: read its log${
            fn ? ` (aws logs tail /aws/lambda/${fn} --since 30m)` : ''
          }, then run \`pingone-rotation status --secret-id ${name}\``,
        );
      }
      progress.update(
        `${phase}|${labelsLine(versions)}`,
        `${duration(elapsed).padStart(6)}  ${phase}   ${labelsLine(versions)}`,
      );
      await deps.sleep(interval);
    }
  } finally {
    release?.();
  }
}

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms);
}
