/**
 * The rotation function's settings: the one table of their names (the environment variable each is read from
 * and the CLI flag that overrides it), how a value is read (a flag over its variable), and the checks of each
 * setting that is not a duration (those are config.ts's, with the tags that override them). loadConfig
 * (config.ts) assembles them into the RotationConfig.
 */
import { ConfigurationError } from './errors.js';
import { expandRegionTemplate, isRegion, type PingOneRegion, REGIONS } from './pingone/regions.js';
import { isUuid } from './pingone/types.js';
import { parseWorkers, singleWorker, type WorkerSpec } from './pingone/workers.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The rotation function's settings: the environment variable each is read from and, for the operator CLI
 * (which reads the same variables), the flag that overrides it. The one table of these names: configuration
 * errors carry the setting they are about, and the CLI names the flag or the variable from here.
 */
export const SETTINGS = {
  workerParameter: { variable: 'PINGONE_WORKER_PARAMETER', flag: '--worker-parameter' },
  workers: { variable: 'PINGONE_WORKERS', flag: '--workers' },
  workerCacheSeconds: { variable: 'PINGONE_WORKER_CACHE_SECONDS' },
  region: { variable: 'PINGONE_REGION', flag: '--pingone-region' },
  apiUrl: { variable: 'PINGONE_API_URL', flag: '--pingone-api-url' },
  authUrl: { variable: 'PINGONE_AUTH_URL', flag: '--pingone-auth-url' },
  previousSecretTtl: { variable: 'PREVIOUS_SECRET_TTL' },
  previousSecretInUseWindow: { variable: 'PREVIOUS_SECRET_IN_USE_WINDOW' },
  allowedEnvironments: { variable: 'PINGONE_ALLOWED_ENVIRONMENTS' },
  ledgerTable: { variable: 'ROTATION_LEDGER_TABLE', flag: '--ledger-table' },
  rotationRequestsPerSecond: { variable: 'ROTATION_PINGONE_REQUESTS_PER_SECOND' },
} as const satisfies Record<string, { readonly variable: string; readonly flag?: string }>;

export type Setting = keyof typeof SETTINGS;

/** Values given for settings directly (the CLI's flags): each wins over its environment variable. */
export type GivenSettings = { readonly [S in Setting]?: string | undefined };

/** A setting's value and the name it was given under (the flag or the variable), for error messages. */
export interface SettingValue {
  readonly value: string | undefined;
  readonly name: string;
  readonly setting: Setting;
}

/** A setting's value: the flag's when given, else the variable's (blank is unset). */
export function readSetting(env: Env, given: GivenSettings, setting: Setting): SettingValue {
  const entry: { readonly variable: string; readonly flag?: string } = SETTINGS[setting];
  const direct = given[setting]?.trim();
  if (direct) return { value: direct, name: entry.flag ?? entry.variable, setting };
  const value = env[entry.variable]?.trim();
  return { value: value ? value : undefined, name: entry.variable, setting };
}

function fail(s: SettingValue, message: string): ConfigurationError {
  return new ConfigurationError(message, { setting: s.setting });
}

/** PINGONE_REGION: the default region, NA when unset. */
export function parseRegion(regionSetting: SettingValue): PingOneRegion {
  const region = regionSetting.value ?? 'NA';
  if (!isRegion(region)) {
    throw fail(
      regionSetting,
      `${regionSetting.name} is '${region}': it must be one of ${REGIONS.join(', ')}`,
    );
  }
  return region;
}

/** PINGONE_WORKER_CACHE_SECONDS: 0 to 3600, default 300. */
export function parseCacheSeconds(cache: SettingValue): number {
  const cacheText = cache.value ?? '300';
  const workerCacheMaxAgeSeconds = Number(cacheText);
  if (
    !Number.isInteger(workerCacheMaxAgeSeconds) ||
    workerCacheMaxAgeSeconds < 0 ||
    workerCacheMaxAgeSeconds > 3600
  ) {
    throw fail(cache, `${cache.name} is '${cacheText}': it must be a whole number of seconds from 0 to 3600`);
  }
  return workerCacheMaxAgeSeconds;
}

/** ROTATION_PINGONE_REQUESTS_PER_SECOND: 0 (no shared limit, the default) to 1000. */
export function parseRequestsPerSecond(rate: SettingValue): number {
  const rateText = rate.value ?? '0';
  const value = Number(rateText);
  if (!Number.isInteger(value) || value < 0 || value > 1000) {
    throw fail(
      rate,
      `${rate.name} is '${rateText}': it must be a whole number of requests per second from 0 (no shared limit) to 1000`,
    );
  }
  return value;
}

/** PINGONE_ALLOWED_ENVIRONMENTS: environment UUIDs, lower-cased; unset means any environment. */
export function parseAllowedEnvironments(allowed: SettingValue): ReadonlySet<string> | undefined {
  if (!allowed.value) return undefined;
  const ids = allowed.value
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  const bad = ids.filter((id) => !isUuid(id));
  if (ids.length === 0 || bad.length > 0) {
    throw fail(
      allowed,
      `${allowed.name} must be a comma-separated list of environment UUIDs; not a UUID: ${bad.join(', ') || '(empty)'}`,
    );
  }
  return new Set(ids.map((id) => id.toLowerCase()));
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Validates a base-URL template: https, or http only to a loopback host. */
export function parseUrlTemplate(given: SettingValue, fallback: string): string {
  const { name, setting } = given;
  const value = given.value ?? fallback;
  const template = value.trim().replace(/\/+$/, '');
  for (const region of REGIONS) {
    let url: URL;
    try {
      url = new URL(expandRegionTemplate(template, region));
    } catch {
      throw new ConfigurationError(`${name} is not a valid URL: '${value}'`, { setting });
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new ConfigurationError(
        `${name} must use https (http is accepted only for a loopback host such as 127.0.0.1): '${value}'`,
        { setting },
      );
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ConfigurationError(`${name} must not carry credentials, a query or a fragment`, { setting });
    }
  }
  return template;
}

/**
 * PINGONE_WORKERS (the workers per organization) or PINGONE_WORKER_PARAMETER (one worker); one of them. A flag
 * wins over the other's variable (an operator's `--worker-parameter` with PINGONE_WORKERS in the shell).
 */
export function parseWorkerSettings(
  parameter: SettingValue,
  list: SettingValue,
): { workerParameter: string | undefined; workers: readonly WorkerSpec[] } {
  const flagged = (s: SettingValue) => s.name !== SETTINGS[s.setting].variable;
  let useList = list.value !== undefined;
  if (parameter.value && list.value) {
    if (flagged(parameter) === flagged(list)) {
      throw new ConfigurationError(
        `${parameter.name} and ${list.name} are both set: name the workers in ${list.name} only (the single ` +
          'worker is a list of one)',
        { setting: 'workers' },
      );
    }
    useList = flagged(list);
  }
  if (useList && list.value) {
    return { workerParameter: undefined, workers: parseWorkers(list.value, list.name) };
  }
  if (!parameter.value) {
    throw new ConfigurationError(
      'PINGONE_WORKER_PARAMETER is not set: it must name the SSM SecureString parameter holding the worker ' +
        'credentials (or set PINGONE_WORKERS to name a worker per PingOne organization)',
      { setting: parameter.setting },
    );
  }
  return { workerParameter: parameter.value, workers: Object.freeze([singleWorker(parameter.value)]) };
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]{3,255})$/;

/** ROTATION_LEDGER_TABLE: required, a DynamoDB table name or table ARN. */
export function parseLedgerTable(given: SettingValue): string {
  const { value, name, setting } = given;
  if (!value) {
    throw new ConfigurationError(
      'ROTATION_LEDGER_TABLE is not set: it must name the rotation ledger DynamoDB table (the stack output ' +
        'RotationLedgerTableName); the function changes nothing without it',
      { setting },
    );
  }
  if (!TABLE_NAME.test(value) && !TABLE_ARN.test(value)) {
    throw new ConfigurationError(
      `${name} is '${value.slice(0, 300)}': it must be a DynamoDB table name (3-255 letters, digits, ` +
        "'_', '-', '.') or a table ARN",
      { setting },
    );
  }
  return value;
}
