/** rotate with the rotation service: RotateSecret, then (with --wait) following it. */

import { randomUUID } from 'node:crypto';
import { APPLICATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG } from '../../lib/config.js';
import { AWSCURRENT, AWSPENDING } from '../../lib/secrets/secrets-store.js';
import { onboardCommand } from '../../lib/status/model.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT } from '../errors.js';
import { duration, labelsLine, line, ProgressLine } from '../format.js';
import {
  DEFAULT_POLL_INTERVAL_MS,
  DEFAULT_ROTATE_TIMEOUT_MS,
  inProgress,
  type RotateOptions,
  recordManualRequest,
  seconds,
} from './rotate-request.js';

export async function rotateWithService(deps: CliDeps, options: RotateOptions): Promise<number> {
  const sm = secretsOf(deps);
  const view = await sm.view(options.secretId);
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
    await sm.rotate(view.arn, { token });
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
  const sm = secretsOf(deps);
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
      const out = await sm.describe(arn);
      const versions = out.versions;
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
            `${out.rotation.lastRotated ? `; last rotated ${out.rotation.lastRotated.toISOString().replace(/\.\d{3}Z$/, 'Z')}` : ''}`,
        );
        return EXIT.ok;
      }
      if (stages.includes(AWSCURRENT)) {
        phase = 'finishSecret: AWSCURRENT moved to the new version, AWSPENDING being removed';
      } else if (stages.includes(AWSPENDING)) {
        seen = true;
        if (!valueStored) {
          valueStored = (await sm.getValue(arn, { versionId: token, stage: AWSPENDING })) !== undefined;
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
