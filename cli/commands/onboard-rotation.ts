/** Attaching rotation to an onboarded secret without rotating now (and, in the local world, running testSecret). */

import { AWSPENDING } from '../../lib/secrets/secrets-store.js';
import { motoRotationDays } from '../../local/driver.js';
import { type CliDeps, secretsOf } from '../deps.js';
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
  const describe = `${rotation.schedule}${rotation.window ? `, window ${rotation.window}` : ''}`;
  const secrets = secretsOf(deps);
  if (!deps.local) {
    await secrets.rotate(arn, {
      lambdaArn: rotation.functionArn,
      scheduleExpression: rotation.schedule,
      ...(rotation.window ? { duration: rotation.window } : {}),
      rotateImmediately: false,
    });
    say(
      `Rotation attached: ${rotation.functionArn}, ${describe}, without rotating now; Secrets Manager runs ` +
        'testSecret only, which proves AWSCURRENT at PingOne.',
    );
    say(`Next: pingone-rotation status --secret-id ${name}`);
    return;
  }

  // The local world: moto enables rotation only for AutomaticallyAfterDays rules and has no Lambda.
  const days = motoRotationDays(rotation.schedule);
  const { driver, source } = await deps.local.driver({
    rotationLambdaArn: rotation.functionArn,
    rotationDays: days,
  });
  const stuck = await driver.pendingVersion(arn);
  if (stuck) {
    throw new CliError(
      `rotation not attached: AWSPENDING is on version ${stuck} of ${name}`,
      `recover it first with \`pingone-rotation unstick --secret-id ${name}\`, then run onboard --force again`,
    );
  }
  await driver.startRotation(arn, { rotateImmediately: false });
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
  await secrets.removeStage(arn, AWSPENDING, token);
  const view = await secrets.view(arn);
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
