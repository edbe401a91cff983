import { InvalidEventError } from '../errors.js';

export const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;
export type RotationStep = (typeof STEPS)[number];

/**
 * A Secrets Manager rotation event. `RotationToken` is sensitive: it goes to PutSecretValue and nowhere
 * else (never into a log line or an error message).
 */
export interface RotationEvent {
  readonly step: RotationStep;
  readonly secretId: string;
  /** The ClientRequestToken: the version id being built, and the rotation's idempotency key. */
  readonly token: string;
  readonly rotationToken: string | undefined;
}

/** Validates the raw event; the error names the missing or malformed field (never its value). */
export function parseRotationEvent(raw: unknown): RotationEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidEventError('The event is not a Secrets Manager rotation event (expected a JSON object)');
  }
  const event = raw as Record<string, unknown>;
  const missing = ['Step', 'SecretId', 'ClientRequestToken'].filter(
    (field) => typeof event[field] !== 'string' || event[field] === '',
  );
  if (missing.length > 0) {
    throw new InvalidEventError(
      `The rotation event is missing ${missing.join(', ')} (each must be a non-empty string)`,
    );
  }
  const step = event.Step as string;
  if (!(STEPS as readonly string[]).includes(step)) {
    throw new InvalidEventError(
      `The rotation event has an unknown Step '${step.slice(0, 40)}': expected one of ${STEPS.join(', ')}`,
    );
  }
  const token = event.ClientRequestToken as string;
  if (token.length > 64 || !/^[\w-]+$/.test(token)) {
    throw new InvalidEventError(
      'The rotation event has a malformed ClientRequestToken (expected up to 64 letters, digits or dashes)',
    );
  }
  const rotationToken = event.RotationToken;
  if (rotationToken !== undefined && (typeof rotationToken !== 'string' || rotationToken === '')) {
    throw new InvalidEventError(
      'The rotation event has a malformed RotationToken (expected a non-empty string)',
    );
  }
  return Object.freeze({
    step: step as RotationStep,
    secretId: event.SecretId as string,
    token,
    rotationToken: rotationToken as string | undefined,
  });
}
