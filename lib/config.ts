import { ConfigurationError } from './errors.js';
import {
  DEFAULT_API_URL_TEMPLATE,
  DEFAULT_AUTH_URL_TEMPLATE,
  expandRegionTemplate,
  isRegion,
  type PingOneRegion,
  REGIONS,
} from './pingone/regions.js';
import { isUuid } from './pingone/types.js';

/** The function's configuration, parsed once from its environment. Only this module reads `process.env`. */
export interface RotationConfig {
  /** SSM SecureString parameter holding the worker app's credentials JSON. */
  readonly workerParameter: string;
  /** How long (seconds) the worker credentials are cached in the container. */
  readonly workerCacheMaxAgeSeconds: number;
  readonly defaultRegion: PingOneRegion;
  /** Base URL templates; `{tld}` and `{region}` are expanded per region. */
  readonly apiUrlTemplate: string;
  readonly authUrlTemplate: string;
  /** How long PingOne keeps the replaced secret valid, unless a secret's tag overrides it. */
  readonly previousSecretTtl: Ttl;
  /**
   * The in-use guard: a previous secret used more recently than this is not evicted by a regenerate
   * (PREVIOUS_SECRET_IN_USE_WINDOW, default 1h; `0` turns the guard off). A secret's tag overrides it.
   */
  readonly previousSecretInUseWindow: InUseWindow;
  /** Environments this function may touch; undefined means any. */
  readonly allowedEnvironments: ReadonlySet<string> | undefined;
  /** The rotation ledger's DynamoDB table (name or ARN). */
  readonly ledgerTable: string;
}

export interface Ttl {
  readonly ms: number;
  /** As written, e.g. `7d`. */
  readonly text: string;
}

/** The per-secret tag that overrides PREVIOUS_SECRET_TTL. */
export const TTL_TAG = 'pingone:previous-secret-ttl';

/** The per-secret tag that overrides PREVIOUS_SECRET_IN_USE_WINDOW. */
export const IN_USE_WINDOW_TAG = 'pingone:previous-secret-in-use-window';

/** How recent a use of PingOne's previous secret blocks a regenerate; `ms` 0 means the guard is off. */
export interface InUseWindow {
  readonly ms: number;
  /** As written, e.g. `1h` or `0`. */
  readonly text: string;
}

export const DEFAULT_IN_USE_WINDOW = '1h';

/** The tags `onboard` writes: which PingOne owner the secret was onboarded for (informational). */
export const ENVIRONMENT_TAG = 'pingone:environment-id';
export const RESOURCE_TAG = 'pingone:resource-id';
export const APPLICATION_TAG = 'pingone:application-id';

const TTL_MIN_MS = 60_000;
const TTL_MAX_MS = 30 * 24 * 3_600_000;
const TTL_UNITS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const TTL_RANGE_TEXT = 'written <n>m, <n>h or <n>d, from 1m to 30d (e.g. 7d)';
/**
 * Parses a previous-secret TTL such as `7d`. `source` names where it came from (the variable or the tag),
 * so the error tells the operator what to fix.
 */
export function parseTtl(text: string, source: string): Ttl {
  const match = /^\s*(\d{1,6})\s*([mhd])\s*$/.exec(text);
  if (!match) {
    throw new ConfigurationError(`${source} is '${text}': it must be ${TTL_RANGE_TEXT}`);
  }
  const ms = Number(match[1]) * TTL_UNITS[match[2] as keyof typeof TTL_UNITS];
  if (ms < TTL_MIN_MS || ms > TTL_MAX_MS) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${TTL_RANGE_TEXT}`);
  }
  return Object.freeze({ ms, text: text.trim() });
}

const DURATION = /^\s*(\d{1,6})\s*([mhd])\s*$/;
const WINDOW_MAX_MS = 30 * 24 * 3_600_000;
const WINDOW_RANGE_TEXT = "written <n>m, <n>h or <n>d up to 30d (e.g. 1h), or '0' to turn the guard off";

/**
 * Parses an in-use window such as `1h`, or `0` (guard off). `source` names the variable or tag, so the error
 * tells the operator what to fix.
 */
export function parseInUseWindow(text: string, source: string): InUseWindow {
  if (/^\s*0+\s*[mhd]?\s*$/.test(text)) return Object.freeze({ ms: 0, text: '0' });
  const match = DURATION.exec(text);
  if (!match) {
    throw new ConfigurationError(`${source} is '${text}': it must be ${WINDOW_RANGE_TEXT}`);
  }
  const ms = Number(match[1]) * TTL_UNITS[match[2] as keyof typeof TTL_UNITS];
  if (ms > WINDOW_MAX_MS) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${WINDOW_RANGE_TEXT}`);
  }
  return Object.freeze({ ms, text: text.trim() });
}

/** The in-use window for one secret: its tag when present, else the function's setting. */
export function resolveInUseWindow(
  config: RotationConfig,
  tags: Readonly<Record<string, string>>,
): InUseWindow & { readonly source: 'tag' | 'function-default' } {
  const tagged = tags[IN_USE_WINDOW_TAG];
  return tagged === undefined
    ? { ...config.previousSecretInUseWindow, source: 'function-default' }
    : { ...parseInUseWindow(tagged, `Tag '${IN_USE_WINDOW_TAG}'`), source: 'tag' };
}

/** The TTL for one secret: its tag when present, else the function's default. */
export function resolveTtl(config: RotationConfig, tags: Readonly<Record<string, string>>): Ttl {
  const tagged = tags[TTL_TAG];
  return tagged === undefined ? config.previousSecretTtl : parseTtl(tagged, `Tag '${TTL_TAG}'`);
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Validates a base-URL template: https, or http only to a loopback host. */
function parseUrlTemplate(name: string, value: string): string {
  const template = value.trim().replace(/\/+$/, '');
  for (const region of REGIONS) {
    let url: URL;
    try {
      url = new URL(expandRegionTemplate(template, region));
    } catch {
      throw new ConfigurationError(`${name} is not a valid URL: '${value}'`);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
      throw new ConfigurationError(
        `${name} must use https (http is accepted only for a loopback host such as 127.0.0.1): '${value}'`,
      );
    }
    if (url.username || url.password || url.search || url.hash) {
      throw new ConfigurationError(`${name} must not carry credentials, a query or a fragment`);
    }
  }
  return template;
}

type Env = Readonly<Record<string, string | undefined>>;

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

/** Parses and validates the configuration; every error names the variable and what it accepts. */
export function loadConfig(env: Env = process.env): RotationConfig {
  const workerParameter = optional(env, 'PINGONE_WORKER_PARAMETER');
  if (!workerParameter) {
    throw new ConfigurationError(
      'PINGONE_WORKER_PARAMETER is not set: it must name the SSM SecureString parameter holding the worker credentials',
    );
  }

  const ledgerTable = parseLedgerTable(optional(env, 'ROTATION_LEDGER_TABLE'));

  const region = optional(env, 'PINGONE_REGION') ?? 'NA';
  if (!isRegion(region)) {
    throw new ConfigurationError(`PINGONE_REGION is '${region}': it must be one of ${REGIONS.join(', ')}`);
  }

  const cacheText = optional(env, 'PINGONE_WORKER_CACHE_SECONDS') ?? '300';
  const workerCacheMaxAgeSeconds = Number(cacheText);
  if (
    !Number.isInteger(workerCacheMaxAgeSeconds) ||
    workerCacheMaxAgeSeconds < 0 ||
    workerCacheMaxAgeSeconds > 3600
  ) {
    throw new ConfigurationError(
      `PINGONE_WORKER_CACHE_SECONDS is '${cacheText}': it must be a whole number of seconds from 0 to 3600`,
    );
  }

  const allowedText = optional(env, 'PINGONE_ALLOWED_ENVIRONMENTS');
  let allowedEnvironments: ReadonlySet<string> | undefined;
  if (allowedText) {
    const ids = allowedText
      .split(',')
      .map((id) => id.trim())
      .filter(Boolean);
    const bad = ids.filter((id) => !isUuid(id));
    if (ids.length === 0 || bad.length > 0) {
      throw new ConfigurationError(
        `PINGONE_ALLOWED_ENVIRONMENTS must be a comma-separated list of environment UUIDs; not a UUID: ${bad.join(', ') || '(empty)'}`,
      );
    }
    allowedEnvironments = new Set(ids.map((id) => id.toLowerCase()));
  }

  return Object.freeze({
    workerParameter,
    workerCacheMaxAgeSeconds,
    defaultRegion: region,
    apiUrlTemplate: parseUrlTemplate(
      'PINGONE_API_URL',
      optional(env, 'PINGONE_API_URL') ?? DEFAULT_API_URL_TEMPLATE,
    ),
    authUrlTemplate: parseUrlTemplate(
      'PINGONE_AUTH_URL',
      optional(env, 'PINGONE_AUTH_URL') ?? DEFAULT_AUTH_URL_TEMPLATE,
    ),
    previousSecretTtl: parseTtl(optional(env, 'PREVIOUS_SECRET_TTL') ?? '7d', 'PREVIOUS_SECRET_TTL'),
    previousSecretInUseWindow: parseInUseWindow(
      optional(env, 'PREVIOUS_SECRET_IN_USE_WINDOW') ?? DEFAULT_IN_USE_WINDOW,
      'PREVIOUS_SECRET_IN_USE_WINDOW',
    ),
    allowedEnvironments,
    ledgerTable,
  });
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;
const TABLE_ARN = /^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table\/([A-Za-z0-9_.-]{3,255})$/;

/** ROTATION_LEDGER_TABLE: required, a DynamoDB table name or table ARN. */
function parseLedgerTable(value: string | undefined): string {
  if (!value) {
    throw new ConfigurationError(
      'ROTATION_LEDGER_TABLE is not set: it must name the rotation ledger DynamoDB table (the stack output ' +
        'RotationLedgerTableName); the function changes nothing without it',
    );
  }
  if (!TABLE_NAME.test(value) && !TABLE_ARN.test(value)) {
    throw new ConfigurationError(
      `ROTATION_LEDGER_TABLE is '${value.slice(0, 300)}': it must be a DynamoDB table name (3-255 letters, digits, ` +
        "'_', '-', '.') or a table ARN",
    );
  }
  return value;
}
