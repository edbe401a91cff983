import { ConfigurationError, TagOutOfBoundsError } from './errors.js';
import type { PingOneRegion } from './pingone/regions.js';
import { DEFAULT_API_URL_TEMPLATE, DEFAULT_AUTH_URL_TEMPLATE } from './pingone/regions.js';
import type { WorkerSpec } from './pingone/workers.js';
import {
  type Env,
  type GivenSettings,
  parseAllowedEnvironments,
  parseCacheSeconds,
  parseLedgerTable,
  parseRegion,
  parseRequestsPerSecond,
  parseUrlTemplate,
  parseWorkerSettings,
  readSetting,
  type Setting,
} from './settings.js';

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
  /**
   * PingOne requests per second per licence that the rotation function's containers share, through a
   * limiter in the ledger table (ROTATION_PINGONE_REQUESTS_PER_SECOND); 0: no shared limit.
   */
  readonly rotationRequestsPerSecond: number;
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

const DURATION = /^\s*(\d{1,6})\s*([mhd])\s*$/;
const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;
const DURATION_MAX_MS = 30 * UNIT_MS.d;
const TTL_MIN_MS = UNIT_MS.m;
const TTL_RANGE_TEXT = 'written <n>m, <n>h or <n>d, from 1m to 30d (e.g. 7d)';
const WINDOW_RANGE_TEXT = "written <n>m, <n>h or <n>d up to 30d (e.g. 1h), or '0' to turn the guard off";

/**
 * Parses a previous-secret TTL such as `7d`. `source` names where it came from (the variable or the tag),
 * so the error tells the operator what to fix.
 */
export function parseTtl(text: string, source: string, setting?: Setting): Ttl {
  return parseDuration(text, source, setting, TTL_MIN_MS, TTL_RANGE_TEXT);
}

/**
 * Parses an in-use window such as `1h`, or `0` (guard off). `source` names the variable or tag, so the error
 * tells the operator what to fix.
 */
export function parseInUseWindow(text: string, source: string, setting?: Setting): InUseWindow {
  if (/^\s*0+\s*[mhd]?\s*$/.test(text)) return Object.freeze({ ms: 0, text: '0' });
  return parseDuration(text, source, setting, 0, WINDOW_RANGE_TEXT);
}

/** `<n>m`, `<n>h` or `<n>d` from `minMs` to 30 days, kept as written; an error says it must be `rangeText`. */
function parseDuration(
  text: string,
  source: string,
  setting: Setting | undefined,
  minMs: number,
  rangeText: string,
): { readonly ms: number; readonly text: string } {
  const match = DURATION.exec(text);
  if (!match) {
    throw new ConfigurationError(`${source} is '${text}': it must be ${rangeText}`, { setting });
  }
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms < minMs || ms > DURATION_MAX_MS) {
    throw new ConfigurationError(`${source} is '${text}', out of range: it must be ${rangeText}`, {
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

/**
 * Parses and validates the configuration from the environment and any values given directly (the CLI's
 * flags); every error names the flag or variable the value came from, says what it accepts, and carries
 * the setting (`ConfigurationError.setting`). The settings and their checks are settings.ts's.
 */
export function loadConfig(env: Env = process.env, given: GivenSettings = {}): RotationConfig {
  const setting = (name: Setting) => readSetting(env, given, name);

  const { workerParameter, workers } = parseWorkerSettings(setting('workerParameter'), setting('workers'));
  const ledgerTable = parseLedgerTable(setting('ledgerTable'));
  const region = parseRegion(setting('region'));
  const workerCacheMaxAgeSeconds = parseCacheSeconds(setting('workerCacheSeconds'));
  const rotationRequestsPerSecond = parseRequestsPerSecond(setting('rotationRequestsPerSecond'));
  const allowedEnvironments = parseAllowedEnvironments(setting('allowedEnvironments'));

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
    rotationRequestsPerSecond,
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
