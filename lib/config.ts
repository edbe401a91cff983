import { ConfigurationError, TagOutOfBoundsError } from './errors.js';
import {
  DEFAULT_API_URL_TEMPLATE,
  DEFAULT_AUTH_URL_TEMPLATE,
  expandRegionTemplate,
  isRegion,
  type PingOneRegion,
  REGIONS,
} from './pingone/regions.js';
import { isUuid } from './pingone/types.js';
import { parseWorkers, singleWorker, type WorkerSpec } from './pingone/workers.js';

/** The function's configuration, parsed once from its environment. Only this module reads `process.env`. */
export interface RotationConfig {
  /**
   * SSM SecureString parameter holding the single worker's credentials JSON (PINGONE_WORKER_PARAMETER);
   * undefined when the workers are named in PINGONE_WORKERS.
   */
  readonly workerParameter: string | undefined;
  /** The workers and the environments each covers (lib/pingone/workers.ts): never empty. */
  readonly workers: readonly WorkerSpec[];
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
  /** What a secret's tags may do to the TTL and the in-use window (the deployer's bounds). */
  readonly tagBounds: TagBounds;
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

/**
 * The deployer's bounds on what a secret's tags may do (issue 17, finding 6). Whoever may tag a secret is
 * not necessarily trusted with its consumers' safety: by default a tag may only make things safer — a TTL
 * at least the function's PREVIOUS_SECRET_TTL, an in-use window at least the function's — never a shorter
 * grace or the guard off. A tag outside the bounds is refused (TagOutOfBoundsError) before PingOne is called.
 */
export interface TagBounds {
  /** The shortest previous-secret TTL a tag may set (TAG_MIN_PREVIOUS_SECRET_TTL; default PREVIOUS_SECRET_TTL). */
  readonly minTtl: Ttl;
  /**
   * What a tag may do to the in-use window (TAG_IN_USE_WINDOW_MAY): `lengthen` (default: at least the
   * function's window, never 0), `shorten` (any window but 0), `switch-off` (any, 0 included).
   */
  readonly inUseWindowMay: InUseWindowTagPower;
}

export type InUseWindowTagPower = 'lengthen' | 'shorten' | 'switch-off';
const IN_USE_WINDOW_TAG_POWERS: readonly InUseWindowTagPower[] = ['lengthen', 'shorten', 'switch-off'];

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
export function parseTtl(text: string, source: string, setting?: Setting): Ttl {
  const match = /^\s*(\d{1,6})\s*([mhd])\s*$/.exec(text);
  if (!match) {
    throw new ConfigurationError(`${source} is '${text}': it must be ${TTL_RANGE_TEXT}`, { setting });
  }
  const ms = Number(match[1]) * TTL_UNITS[match[2] as keyof typeof TTL_UNITS];
  if (ms < TTL_MIN_MS || ms > TTL_MAX_MS) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${TTL_RANGE_TEXT}`, {
      setting,
    });
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
export function parseInUseWindow(text: string, source: string, setting?: Setting): InUseWindow {
  if (/^\s*0+\s*[mhd]?\s*$/.test(text)) return Object.freeze({ ms: 0, text: '0' });
  const match = DURATION.exec(text);
  if (!match) {
    throw new ConfigurationError(`${source} is '${text}': it must be ${WINDOW_RANGE_TEXT}`, { setting });
  }
  const ms = Number(match[1]) * TTL_UNITS[match[2] as keyof typeof TTL_UNITS];
  if (ms > WINDOW_MAX_MS) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${WINDOW_RANGE_TEXT}`, {
      setting,
    });
  }
  return Object.freeze({ ms, text: text.trim() });
}

/**
 * The in-use window for one secret: its tag when present (within the deployer's bounds), else the
 * function's setting. A tag outside the bounds throws TagOutOfBoundsError.
 */
export function resolveInUseWindow(
  config: RotationConfig,
  tags: Readonly<Record<string, string>>,
): InUseWindow & { readonly source: 'tag' | 'function-default' } {
  const tagged = tags[IN_USE_WINDOW_TAG];
  if (tagged === undefined) return { ...config.previousSecretInUseWindow, source: 'function-default' };
  const window = parseInUseWindow(tagged, `Tag '${IN_USE_WINDOW_TAG}'`);
  assertWindowTagInBounds(window, config);
  return { ...window, source: 'tag' };
}

/** The TTL for one secret: its tag when present (within the deployer's bounds), else the function's default. */
export function resolveTtl(config: RotationConfig, tags: Readonly<Record<string, string>>): Ttl {
  const tagged = tags[TTL_TAG];
  if (tagged === undefined) return config.previousSecretTtl;
  const ttl = parseTtl(tagged, `Tag '${TTL_TAG}'`);
  assertTtlTagInBounds(ttl, config);
  return ttl;
}

/** Refuses a TTL tag shorter than the deployer allows tags to set. */
export function assertTtlTagInBounds(ttl: Ttl, config: Pick<RotationConfig, 'tagBounds'>): void {
  const min = config.tagBounds.minTtl;
  if (ttl.ms < min.ms) {
    throw new TagOutOfBoundsError(
      `Tag '${TTL_TAG}' is '${ttl.text}', shorter than the stack allows a tag to set: at least ${min.text} ` +
        '(TAG_MIN_PREVIOUS_SECRET_TTL, stack parameter TagMinPreviousSecretTtl). Nothing was changed at PingOne; ' +
        `remove the tag or set it to ${min.text} or more`,
    );
  }
}

/** Refuses an in-use window tag that lowers or switches off the guard further than the deployer allows. */
export function assertWindowTagInBounds(
  window: InUseWindow,
  config: Pick<RotationConfig, 'tagBounds' | 'previousSecretInUseWindow'>,
): void {
  const may = config.tagBounds.inUseWindowMay;
  const own = config.previousSecretInUseWindow;
  const where = `(TAG_IN_USE_WINDOW_MAY=${may}, stack parameter TagInUseWindowMay)`;
  if (window.ms === 0 && may !== 'switch-off') {
    throw new TagOutOfBoundsError(
      `Tag '${IN_USE_WINDOW_TAG}' is '${window.text}', which switches the in-use guard off: the stack does not ` +
        `allow a tag to switch it off ${where}. Nothing was changed at PingOne; remove the tag`,
    );
  }
  if (may === 'lengthen' && own.ms > 0 && window.ms < own.ms) {
    throw new TagOutOfBoundsError(
      `Tag '${IN_USE_WINDOW_TAG}' is '${window.text}', shorter than the function's window ${own.text}: the stack ` +
        `allows a tag only to lengthen it ${where}. Nothing was changed at PingOne; remove the tag or set it to ` +
        `${own.text} or more`,
    );
  }
}

const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** Validates a base-URL template: https, or http only to a loopback host. */
function parseUrlTemplate(given: SettingValue, fallback: string): string {
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

type Env = Readonly<Record<string, string | undefined>>;

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
} as const satisfies Record<string, { readonly variable: string; readonly flag?: string }>;

export type Setting = keyof typeof SETTINGS;

/** Values given for settings directly (the CLI's flags): each wins over its environment variable. */
export type GivenSettings = { readonly [S in Setting]?: string | undefined };

/** A setting's value and the name it was given under (the flag or the variable), for error messages. */
interface SettingValue {
  readonly value: string | undefined;
  readonly name: string;
  readonly setting: Setting;
}

function read(env: Env, given: GivenSettings, setting: Setting): SettingValue {
  const entry: { readonly variable: string; readonly flag?: string } = SETTINGS[setting];
  const direct = given[setting]?.trim();
  if (direct) return { value: direct, name: entry.flag ?? entry.variable, setting };
  const value = env[entry.variable]?.trim();
  return { value: value ? value : undefined, name: entry.variable, setting };
}

/**
 * Parses and validates the configuration from the environment and any values given directly (the CLI's
 * flags); every error names the flag or variable the value came from, says what it accepts, and carries
 * the setting (`ConfigurationError.setting`).
 */
export function loadConfig(env: Env = process.env, given: GivenSettings = {}): RotationConfig {
  const setting = (name: Setting) => read(env, given, name);
  const fail = (s: SettingValue, message: string) => new ConfigurationError(message, { setting: s.setting });

  const { workerParameter, workers } = parseWorkerSettings(setting('workerParameter'), setting('workers'));

  const ledgerTable = parseLedgerTable(setting('ledgerTable'));

  const regionSetting = setting('region');
  const region = regionSetting.value ?? 'NA';
  if (!isRegion(region)) {
    throw fail(
      regionSetting,
      `${regionSetting.name} is '${region}': it must be one of ${REGIONS.join(', ')}`,
    );
  }

  const cache = setting('workerCacheSeconds');
  const cacheText = cache.value ?? '300';
  const workerCacheMaxAgeSeconds = Number(cacheText);
  if (
    !Number.isInteger(workerCacheMaxAgeSeconds) ||
    workerCacheMaxAgeSeconds < 0 ||
    workerCacheMaxAgeSeconds > 3600
  ) {
    throw fail(cache, `${cache.name} is '${cacheText}': it must be a whole number of seconds from 0 to 3600`);
  }

  const allowed = setting('allowedEnvironments');
  let allowedEnvironments: ReadonlySet<string> | undefined;
  if (allowed.value) {
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
    allowedEnvironments = new Set(ids.map((id) => id.toLowerCase()));
  }

  const ttl = setting('previousSecretTtl');
  const window = setting('previousSecretInUseWindow');
  const previousSecretTtl = parseTtl(ttl.value ?? '7d', ttl.name, ttl.setting);
  // The deployer's bounds on tags: the stack's parameters, never a CLI flag.
  const minTagTtlText = env.TAG_MIN_PREVIOUS_SECRET_TTL?.trim() || undefined;
  const mayText = env.TAG_IN_USE_WINDOW_MAY?.trim() || 'lengthen';
  if (!(IN_USE_WINDOW_TAG_POWERS as readonly string[]).includes(mayText)) {
    throw new ConfigurationError(
      `TAG_IN_USE_WINDOW_MAY is '${mayText}': it must be one of ${IN_USE_WINDOW_TAG_POWERS.join(', ')}`,
    );
  }
  const tagBounds: TagBounds = Object.freeze({
    minTtl: minTagTtlText ? parseTtl(minTagTtlText, 'TAG_MIN_PREVIOUS_SECRET_TTL') : previousSecretTtl,
    inUseWindowMay: mayText as InUseWindowTagPower,
  });

  return Object.freeze({
    workerParameter,
    workers,
    workerCacheMaxAgeSeconds,
    defaultRegion: region,
    apiUrlTemplate: parseUrlTemplate(setting('apiUrl'), DEFAULT_API_URL_TEMPLATE),
    authUrlTemplate: parseUrlTemplate(setting('authUrl'), DEFAULT_AUTH_URL_TEMPLATE),
    previousSecretTtl,
    previousSecretInUseWindow: parseInUseWindow(
      window.value ?? DEFAULT_IN_USE_WINDOW,
      window.name,
      window.setting,
    ),
    tagBounds,
    allowedEnvironments,
    ledgerTable,
  });
}

/**
 * PINGONE_WORKERS (the workers per organization) or PINGONE_WORKER_PARAMETER (one worker); one of them. A flag
 * wins over the other's variable (an operator's `--worker-parameter` with PINGONE_WORKERS in the shell).
 */
function parseWorkerSettings(
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
function parseLedgerTable(given: SettingValue): string {
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
