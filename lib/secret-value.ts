import { isUuid } from './config.js';
import { SecretFormatError } from './errors.js';
import { parseJsonObject } from './json-object.js';
import { isRegion, type PingOneRegion, REGIONS } from './pingone/regions.js';

/**
 * The secret this function rotates:
 * `{ "environmentId": "<uuid>", "resourceId": "<uuid>", "clientSecret": "…", "region": "EU" }`.
 * `region` is optional; every other key belongs to the owner and is carried unchanged into new versions.
 */
export interface ResourceSecretValue {
  readonly environmentId: string;
  readonly resourceId: string;
  readonly clientSecret: string;
  readonly region: PingOneRegion | undefined;
  /** The parsed JSON object, all keys included, for carrying into the next version. */
  readonly document: Readonly<Record<string, unknown>>;
}

/**
 * Parses a secret version's SecretString. `label` names the version (e.g. `AWSCURRENT (version v1)`) so the
 * error says which one is wrong. The error never quotes the value.
 */
export function parseSecretValue(secretString: string | undefined, label: string): ResourceSecretValue {
  if (secretString === undefined) {
    throw new SecretFormatError(`${label} has no SecretString (binary secrets are not supported)`);
  }
  const fields = parseJsonObject(
    secretString,
    label,
    'environmentId, resourceId and clientSecret',
    (message) => new SecretFormatError(message),
  );
  const problems: string[] = [];
  const missing = (key: string) => fields[key] === undefined || fields[key] === null;
  if (missing('environmentId')) problems.push('environmentId is missing');
  else if (!isUuid(fields.environmentId)) problems.push('environmentId must be a UUID');
  if (missing('resourceId')) problems.push('resourceId is missing');
  else if (!isUuid(fields.resourceId)) problems.push('resourceId must be a UUID');
  if (missing('clientSecret')) problems.push('clientSecret is missing');
  else if (typeof fields.clientSecret !== 'string' || fields.clientSecret.length === 0) {
    problems.push('clientSecret must be a non-empty string');
  }
  if (fields.region !== undefined && !isRegion(fields.region)) {
    problems.push(`region must be one of ${REGIONS.join(', ')}`);
  }
  if (problems.length > 0) {
    throw new SecretFormatError(`${label} is malformed: ${problems.join('; ')}`);
  }
  return Object.freeze({
    environmentId: (fields.environmentId as string).toLowerCase(),
    resourceId: (fields.resourceId as string).toLowerCase(),
    clientSecret: fields.clientSecret as string,
    region: fields.region as PingOneRegion | undefined,
    document: fields,
  });
}

/** The next version's SecretString: the same document with only `clientSecret` replaced. */
export function withClientSecret(value: ResourceSecretValue, clientSecret: string): string {
  return JSON.stringify({ ...value.document, clientSecret });
}
