/**
 * The commands the status model advises in its reasons. Pure.
 */
import type { SecretOwnerKind } from '../pingone/types.js';
import type { SecretValue } from '../secret-value.js';
import type { LedgerFacts } from './facts.js';

/**
 * The `onboard --force` that stores PingOne's current secret (and, with `rotationFunctionArn`, attaches
 * rotation) for this secret: every id filled in where known, an upper-case placeholder where not.
 */
export function onboardCommand(
  name: string,
  ids:
    | {
        environmentId?: string | undefined;
        kind?: SecretOwnerKind | undefined;
        ownerId?: string | undefined;
        region?: string | undefined;
      }
    | undefined,
  rotation?: { rotationFunctionArn: string | undefined },
): string {
  const parts = [
    `pingone-rotation onboard --secret-name ${name}`,
    `--environment-id ${ids?.environmentId ?? 'ENVIRONMENT_ID'}`,
    ids?.kind === 'application'
      ? `--application-id ${ids.ownerId ?? 'APPLICATION_ID'}`
      : `--resource-id ${ids?.ownerId ?? 'RESOURCE_ID'}`,
    ...(ids?.region ? [`--pingone-region ${ids.region}`] : []),
    '--force',
    ...(rotation
      ? [
          `--rotation-function-arn ${rotation.rotationFunctionArn ?? 'ROTATION_FUNCTION_ARN'}`,
          '--schedule "rate(30 days)"',
        ]
      : []),
  ];
  return parts.join(' ');
}

/**
 * How `status` advises `onboard --force`, which writes PingOne's current secret into this secret and binds
 * the owner to it. Safe only where the rotation ledger already binds the owner to this very secret (it
 * receives nothing it does not own); anywhere else the secret may have been planted by someone who wants the
 * owner's secret, so the operator is told to check where it came from (and onboard shows who can read it).
 */
export function forceAdvice(
  name: string,
  value: SecretValue | undefined,
  ledger: LedgerFacts | undefined,
  arn: string,
): string {
  const command = onboardCommand(name, value);
  const binding = ledger?.record?.binding;
  if (binding && binding.secretArn === arn && !ledger?.problem) {
    return (
      `\`${command}\` (safe to force: the rotation ledger binds this ${value?.kind ?? 'owner'} to this secret ` +
      `since ${binding.boundAt}, by ${binding.how}, so the secret receives nothing it does not already own)`
    );
  }
  return `${verifyOrigin(name, ledger)} If it is: \`${command}\``;
}

/** The caution before an `onboard --force` the rotation ledger does not vouch for. */
export function verifyOrigin(name: string, ledger: LedgerFacts | undefined): string {
  const why =
    ledger === undefined
      ? 'the rotation ledger was not consulted'
      : ledger.problem
        ? 'the rotation ledger could not be read'
        : 'the rotation ledger does not bind the owner to this secret';
  return (
    `Verify where ${name} came from before forcing (${why}): onboard --force writes PingOne's current ` +
    'secret into it and binds the owner to it, so whoever created the secret or can read it (its resource ' +
    'policy, its KMS key) gets the secret; onboard shows them and asks first. Force only a secret you know is ' +
    "this owner's."
  );
}

export function rotateCommand(name: string): string {
  return `pingone-rotation rotate --secret-id ${name} --wait`;
}

export function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
