/** Attaching rotation to an onboarded secret without rotating now (and, in the local world, running testSecret). */

import {
  ResourceNotFoundException,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { AWSPENDING } from '../../lib/secrets/secrets-store.js';
import { readSecretView } from '../../lib/status/inspect.js';
import type { CliDeps } from '../deps.js';
import { CliError } from '../errors.js';
import { labelsLine, line } from '../format.js';
import type { RotationInput } from './onboard-input.js';

/**
 * RotateSecret with RotateImmediately=false: Secrets Manager records the schedule and runs only testSecret
 * (against AWSCURRENT, as the pending version is empty), so PingOne is not touched until the first
 * scheduled rotation. In the local world moto cannot invoke the function, so the driver runs testSecret here.
 */
export async function attachRotation(
  deps: CliDeps,
  arn: string,
  name: string,
  rotation: RotationInput,
): Promise<void> {
  const say = (text: string) => line(deps.out, text);
  const rules = {
    ScheduleExpression: rotation.schedule,
    ...(rotation.window ? { Duration: rotation.window } : {}),
  };
  const describe = `${rotation.schedule}${rotation.window ? `, window ${rotation.window}` : ''}`;
  if (!deps.local) {
    await deps.secretsManager.send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: rotation.functionArn,
        RotationRules: rules,
        RotateImmediately: false,
      }),
    );
    say(
      `Rotation attached: ${rotation.functionArn}, ${describe}, without rotating now; Secrets Manager runs ` +
        'testSecret only, which proves AWSCURRENT at PingOne.',
    );
    say(`Next: pingone-rotation status --secret-id ${name}`);
    return;
  }

  // The local world: moto enables rotation only for AutomaticallyAfterDays rules and has no Lambda.
  const days = localDays(rotation.schedule);
  const { driver, source } = await deps.local.driver({ rotationLambdaArn: rotation.functionArn });
  const stuck = await driver.pendingVersion(arn);
  if (stuck) {
    throw new CliError(
      `rotation not attached: AWSPENDING is on version ${stuck} of ${name}`,
      `recover it first with \`pingone-rotation unstick --secret-id ${name}\`, then run onboard --force again`,
    );
  }
  try {
    await deps.secretsManager.send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: rotation.functionArn,
        RotationRules: { AutomaticallyAfterDays: days },
        RotateImmediately: false,
      }),
    );
  } catch (error) {
    // moto records the configuration and the placeholder version, then cannot find the Lambda.
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  say(
    `Local world: moto has no Lambda runtime; it recorded ${rotation.functionArn} with ` +
      `AutomaticallyAfterDays=${days} (it enables rotation only for such rules; asked: ${describe}).`,
  );
  const token = await driver.pendingVersion(arn);
  if (!token) {
    say('moto created no AWSPENDING version, so testSecret was not run.');
    return;
  }
  const report = await driver.run(arn, token, ['testSecret'], 1);
  await deps.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: AWSPENDING,
      RemoveFromVersionId: token,
    }),
  );
  const view = await readSecretView(deps.secretsManager, arn);
  if (!report.ok) {
    throw new CliError(
      `rotation attached, but testSecret failed (${report.error})`,
      `see \`pingone-rotation status --secret-id ${name}\``,
    );
  }
  say(
    `Ran testSecret as Secrets Manager would (in ${source}): PingOne accepts AWSCURRENT. ` +
      `${labelsLine(Object.fromEntries(view.versions.map((v) => [v.id, v.stages])))}`,
  );
  say(`Next: pingone-rotation status --secret-id ${name}`);
}

/** moto's stand-in for a schedule: rate(N days) → N, rate(N hours) → whole days, cron → 30. */
function localDays(schedule: string): number {
  const match = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/.exec(schedule);
  if (!match) return 30;
  const n = Number(match[1]);
  return match[2]?.startsWith('hour') ? Math.max(1, Math.ceil(n / 24)) : Math.max(1, n);
}
