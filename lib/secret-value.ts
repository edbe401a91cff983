import { timingSafeEqual } from 'node:crypto';
import { SecretFormatError } from './errors.js';
import { parseJsonObject } from './json-object.js';
import { isRegion, type PingOneRegion, REGIONS } from './pingone/regions.js';
import { isUuid, type SecretOwnerKind } from './pingone/types.js';

/**
 * The secret this function rotates, in one of two shapes:
 * - a custom resource's: `{ "environmentId": "<uuid>", "resourceId": "<uuid>", "clientSecret": "…", "region": "EU" }`;
 * - an OIDC application's: `{ "environmentId": "<uuid>", "applicationId": "<uuid>", "clientSecret": "…", "region": "EU" }`.
 *
 * Exactly one of `resourceId` / `applicationId`. `region` is optional; every other key belongs to the owner
 * and is carried unchanged into new versions.
 */
export interface SecretValue {
  readonly environmentId: string;
  /** Which PingOne object owns the secret: the key the value names. */
  readonly kind: SecretOwnerKind;
  /** `resourceId` or `applicationId`, lower-cased. */
  readonly ownerId: string;
  readonly clientSecret: string;
  readonly region: PingOneRegion | undefined;
  /** The parsed JSON object, all keys included, for carrying into the next version. */
  readonly document: Readonly<Record<string, unknown>>;
  /**
   * The SecretString as stored. The next version is this text with only the clientSecret's value replaced,
   * so the owner's other keys stay byte for byte (JSON.parse would round a number beyond 2^53, turn `1.50`
   * into `1.5` and unescape `\u00e9`).
   */
  readonly text?: string;
}

/** @deprecated the value may name an application too; use {@link SecretValue}. */
export type ResourceSecretValue = SecretValue;

/** The JSON key naming the owner of each kind. */
export const OWNER_ID_FIELDS: Readonly<Record<SecretOwnerKind, 'resourceId' | 'applicationId'>> = {
  resource: 'resourceId',
  application: 'applicationId',
};

/**
 * Parses a secret version's SecretString. `label` names the version (e.g. `AWSCURRENT (version v1)`) so the
 * error says which one is wrong. The error never quotes the value.
 */
export function parseSecretValue(secretString: string | undefined, label: string): SecretValue {
  if (secretString === undefined) {
    throw new SecretFormatError(`${label} has no SecretString (binary secrets are not supported)`);
  }
  const fields = parseJsonObject(
    secretString,
    label,
    'environmentId, resourceId or applicationId, and clientSecret',
    (message) => new SecretFormatError(message),
  );
  const problems: string[] = [];
  const missing = (key: string) => fields[key] === undefined || fields[key] === null;
  if (missing('environmentId')) problems.push('environmentId is missing');
  else if (!isUuid(fields.environmentId)) problems.push('environmentId must be a UUID');
  const hasResource = !missing('resourceId');
  const hasApplication = !missing('applicationId');
  let kind: SecretOwnerKind = 'resource';
  if (hasResource && hasApplication) {
    problems.push(
      'it names both resourceId and applicationId; a secret belongs to exactly one: keep resourceId for a ' +
        'custom resource or applicationId for an OIDC application',
    );
  } else if (!hasResource && !hasApplication) {
    problems.push(
      'resourceId or applicationId is missing (name exactly one: resourceId for a custom resource, ' +
        'applicationId for an OIDC application)',
    );
  } else {
    kind = hasApplication ? 'application' : 'resource';
    const field = OWNER_ID_FIELDS[kind];
    if (!isUuid(fields[field])) problems.push(`${field} must be a UUID`);
  }
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
    kind,
    ownerId: (fields[OWNER_ID_FIELDS[kind]] as string).toLowerCase(),
    clientSecret: fields.clientSecret as string,
    region: fields.region as PingOneRegion | undefined,
    document: fields,
    text: secretString,
  });
}

/**
 * The next version's SecretString: the same document with only `clientSecret`'s value replaced. Every other
 * byte of the stored text is kept (the owner's keys, their numbers and escapes, the layout).
 */
export function withClientSecret(value: SecretValue, clientSecret: string): string {
  const replaced =
    value.text === undefined
      ? undefined
      : replaceMemberValue(value.text, 'clientSecret', JSON.stringify(clientSecret));
  return replaced ?? JSON.stringify({ ...value.document, clientSecret });
}

/**
 * `text` (a JSON object) with the value of its top-level member `key` replaced by `json`; the last such member
 * when the key repeats (the one JSON.parse keeps). Undefined when `text` is not an object with that member.
 */
export function replaceMemberValue(text: string, key: string, json: string): string | undefined {
  let i = 0;
  const space = () => {
    while (i < text.length && ' \t\n\r'.includes(text.charAt(i))) i++;
  };
  const string = (): string | undefined => {
    if (text.charAt(i) !== '"') return undefined;
    const start = i++;
    while (i < text.length && text.charAt(i) !== '"') i += text.charAt(i) === '\\' ? 2 : 1;
    if (i >= text.length) return undefined;
    i++;
    return text.slice(start, i);
  };
  const value = (): boolean => {
    space();
    const c = text.charAt(i);
    if (c === '"') return string() !== undefined;
    if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      i++;
      space();
      if (text.charAt(i) === close) {
        i++;
        return true;
      }
      for (;;) {
        if (c === '{') {
          space();
          if (string() === undefined) return false;
          space();
          if (text.charAt(i++) !== ':') return false;
        }
        if (!value()) return false;
        space();
        const next = text.charAt(i++);
        if (next === close) return true;
        if (next !== ',') return false;
      }
    }
    const start = i;
    while (i < text.length && /[-+.0-9a-zA-Z]/.test(text.charAt(i))) i++;
    return i > start;
  };
  space();
  if (text.charAt(i++) !== '{') return undefined;
  let span: [number, number] | undefined;
  space();
  if (text.charAt(i) === '}') return undefined;
  for (;;) {
    space();
    const name = string();
    if (name === undefined) return undefined;
    space();
    if (text.charAt(i++) !== ':') return undefined;
    space();
    const start = i;
    if (!value()) return undefined;
    if ((JSON.parse(name) as string) === key) span = [start, i];
    space();
    const next = text.charAt(i++);
    if (next === '}') break;
    if (next !== ',') return undefined;
  }
  return span ? text.slice(0, span[0]) + json + text.slice(span[1]) : undefined;
}

/** Compares two secrets in constant time (for equal lengths). */
export function sameSecret(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
