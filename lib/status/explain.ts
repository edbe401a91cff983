import { PingOneApiError, PingOneNetworkError, RotationError, WorkerAuthError } from '../errors.js';
import { describeOwner } from '../owner.js';
import type { SecretOwner } from '../pingone/types.js';
import { oneLine } from './text.js';

/**
 * What to add to a RotationError's message to say where the setting lives: the CLI names its flags, the
 * auditor the function's variables. Returns '' when there is nothing to add.
 */
export type RotationErrorHint = (error: RotationError) => string;

/** No hint: the error's own message. */
export const noHint: RotationErrorHint = () => '';

/** The function's variables (for the deployed functions, which have no flags). */
export const functionSettingHint: RotationErrorHint = (error) => {
  if (error instanceof WorkerAuthError) return ' (set by PINGONE_WORKER_PARAMETER)';
  if (error instanceof PingOneNetworkError)
    return ': check PINGONE_API_URL / PINGONE_AUTH_URL and the network';
  return '';
};

/**
 * What a PingOne failure means for `owner`, with what to do: the wording `status`, `onboard` and the
 * auditor share. Returns undefined for errors that are not PingOne's (AWS, programming errors).
 */
export function explainPingOneError(
  error: unknown,
  owner: SecretOwner,
  hint: RotationErrorHint = noHint,
): string | undefined {
  const who = describeOwner(owner);
  if (error instanceof PingOneApiError) {
    if (error.status === 404) {
      return (
        `PingOne has no such ${owner.kind}: ${who} was not found (${oneLine(error.message)}): check the ` +
        `environment id, ${owner.kind} id and PingOne region`
      );
    }
    if (error.status === 403) {
      return (
        `the worker app may not read ${who} (${oneLine(error.message)}): give the worker app a role on ` +
        `environment ${owner.environmentId}`
      );
    }
    return `PingOne refused a call for ${who}: ${oneLine(error.message)}`;
  }
  if (error instanceof RotationError) return `${oneLine(error.message)}${hint(error)}`;
  return undefined;
}
