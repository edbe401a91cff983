import { ConfigurationError } from '../errors.js';
import { parseJsonObject } from '../json-object.js';
import { Redactor } from '../redact.js';
import { isRegion, type PingOneRegion, REGIONS } from './regions.js';
import { isUuid } from './types.js';

/** The worker app that calls PingOne's Management API. It may live in another environment than the resources. */
export interface WorkerCredentials {
  readonly environmentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly region: PingOneRegion;
  readonly tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST';
}

/** Returns the worker credentials, from a cache unless `forceFetch` (e.g. after PingOne rejected them). */
export type WorkerCredentialsSource = (options?: { forceFetch?: boolean }) => Promise<WorkerCredentials>;

/** What a worker parameter's errors are about (lib/config.ts SETTINGS). */
const WORKER_SETTING = { setting: 'workerParameter' } as const;

/**
 * Parses the worker parameter's JSON `{ environmentId, clientId, clientSecret, region?, tokenEndpointAuthMethod? }`.
 * Errors name the parameter and the field, never the value.
 */
export function parseWorkerCredentials(
  raw: string | undefined,
  parameterName: string,
  defaultRegion: PingOneRegion,
): WorkerCredentials {
  const where = parameterName.startsWith('Worker ') ? parameterName : `Worker parameter '${parameterName}'`;
  if (raw === undefined || raw === '') throw new ConfigurationError(`${where} is empty`, WORKER_SETTING);
  const f = parseJsonObject(
    raw,
    where,
    'environmentId, clientId and clientSecret',
    (message) => new ConfigurationError(message, WORKER_SETTING),
  );
  // A worker credential kept in Secrets Manager is a rotated application secret: `applicationId` is its client id.
  if (f.clientId === undefined && typeof f.applicationId === 'string') f.clientId = f.applicationId;
  const problems: string[] = [];
  if (!isUuid(f.environmentId)) problems.push('environmentId must be a UUID');
  if (typeof f.clientId !== 'string' || f.clientId === '')
    problems.push('clientId must be a non-empty string');
  if (typeof f.clientSecret !== 'string' || f.clientSecret === '') {
    problems.push('clientSecret must be a non-empty string');
  }
  if (f.region !== undefined && !isRegion(f.region))
    problems.push(`region must be one of ${REGIONS.join(', ')}`);
  const method = f.tokenEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC';
  if (method !== 'CLIENT_SECRET_BASIC' && method !== 'CLIENT_SECRET_POST') {
    problems.push('tokenEndpointAuthMethod must be CLIENT_SECRET_BASIC or CLIENT_SECRET_POST');
  }
  if (problems.length > 0) {
    throw new ConfigurationError(`${where} is malformed: ${problems.join('; ')}`, WORKER_SETTING);
  }
  return Object.freeze({
    environmentId: (f.environmentId as string).toLowerCase(),
    clientId: f.clientId as string,
    clientSecret: f.clientSecret as string,
    region: (f.region as PingOneRegion | undefined) ?? defaultRegion,
    tokenEndpointAuthMethod: method as WorkerCredentials['tokenEndpointAuthMethod'],
  });
}

/** The minimal shape of Powertools' SSMProvider that we use (decrypting, cached `get`). */
export interface ParameterReader {
  get(
    name: string,
    options: { decrypt: boolean; maxAge: number; forceFetch?: boolean },
  ): Promise<string | Record<string, unknown> | undefined>;
}

/**
 * Worker credentials from an SSM SecureString, read with decryption through Powertools Parameters, which
 * caches them in the container for `maxAgeSeconds` so a rotated worker credential is picked up.
 */
export function ssmWorkerCredentials(
  reader: ParameterReader,
  parameterName: string,
  maxAgeSeconds: number,
  defaultRegion: PingOneRegion,
): WorkerCredentialsSource {
  return async (options) => {
    let raw: unknown;
    try {
      raw = await reader.get(parameterName, {
        decrypt: true,
        maxAge: maxAgeSeconds,
        forceFetch: options?.forceFetch ?? false,
      });
    } catch (cause) {
      // Powertools wraps the SDK error in GetParameterError; the SDK's exception name is on its cause.
      const inner = (cause as { cause?: { name?: string } }).cause ?? (cause as { name?: string });
      const name = inner.name ?? 'Error';
      const why =
        name === 'ParameterNotFound'
          ? 'does not exist'
          : `could not be read (${name}); check ssm:GetParameter and kms:Decrypt permissions`;
      throw new ConfigurationError(`Worker parameter '${parameterName}' ${why}`, {
        ...WORKER_SETTING,
        cause: Redactor.none.error(cause),
      });
    }
    return parseWorkerCredentials(typeof raw === 'string' ? raw : undefined, parameterName, defaultRegion);
  };
}

/** The minimal Secrets Manager read a worker credential needs: the AWSCURRENT value. */
export type SecretStringReader = (secretId: string) => Promise<string | undefined>;

/**
 * Worker credentials from a Secrets Manager secret (`{ environmentId, applicationId | clientId, clientSecret,
 * region? }`, the JSON an application secret has, so the function can rotate it through another worker),
 * cached for `maxAgeSeconds`. A warm container keeps the cached AWSCURRENT after a rotation: PingOne keeps the
 * replaced secret valid for the grace period, and the client reads again as soon as PingOne refuses it.
 */
export function secretsManagerWorkerCredentials(
  read: SecretStringReader,
  secretId: string,
  maxAgeSeconds: number,
  defaultRegion: PingOneRegion,
  now: () => number = Date.now,
): WorkerCredentialsSource {
  let cached: { credentials: WorkerCredentials; at: number } | undefined;
  const where = `Worker secret '${secretId}'`;
  return async (options) => {
    if (cached && !options?.forceFetch && now() - cached.at < maxAgeSeconds * 1000) return cached.credentials;
    let raw: string | undefined;
    try {
      raw = await read(secretId);
    } catch (cause) {
      const name = (cause as { name?: string }).name ?? 'Error';
      const why =
        name === 'ResourceNotFoundException'
          ? 'does not exist'
          : `could not be read (${name}); check secretsmanager:GetSecretValue and kms:Decrypt permissions`;
      throw new ConfigurationError(`${where} ${why}`, {
        setting: 'workers',
        cause: Redactor.none.error(cause),
      });
    }
    const credentials = parseWorkerCredentials(raw, where, defaultRegion);
    cached = { credentials, at: now() };
    return credentials;
  };
}
