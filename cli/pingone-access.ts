import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig, type RotationConfig } from '../lib/config.js';
import { ConfigurationError } from '../lib/errors.js';
import { PingOneHttpClient } from '../lib/pingone/http-client.js';
import { defaultTransport, type Transport } from '../lib/pingone/transport.js';
import type { PingOneClient } from '../lib/pingone/types.js';
import type { ParameterReader } from '../lib/pingone/worker-credentials.js';
import { type WorkerRouter, workerDirectory, workerSecretReader } from '../lib/pingone/workers.js';
import type { SecretsStore } from '../lib/secrets/secrets-store.js';
import { type GivenSettings, SETTINGS, type Setting } from '../lib/settings.js';
import { UsageError } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** PingOne as the CLI sees it: the function's configuration and a client acting as its worker app. */
export interface PingOneAccess {
  readonly config: RotationConfig;
  readonly client: PingOneClient;
  /** The configured workers and their credentials (doctor). */
  readonly workers?: WorkerRouter;
  /** The function's environment (its variables with the flags applied), for a local rotation handler. */
  readonly functionEnv: Env;
  /**
   * The same access on another transport, made from the current one (fleet onboarding paces every PingOne
   * request, the worker's token included, through lib/audit/paced-transport.ts).
   */
  readonly withTransport?: (wrap: (inner: Transport) => Transport) => PingOneAccess;
}

/**
 * The environment a rotation function started here would see: this shell's, with each setting given by a
 * flag in its variable (the local world runs the built handler, which reads only its environment).
 */
export function functionEnvironment(env: Env, flags: GivenSettings): Record<string, string | undefined> {
  const applied: Record<string, string | undefined> = { ...env };
  for (const [setting, value] of Object.entries(flags) as [Setting, string | undefined][]) {
    if (value?.trim()) applied[SETTINGS[setting].variable] = value;
  }
  return applied;
}

/**
 * The function's configuration as the CLI runs it: the flags are values of its settings, the rest comes from
 * the function's variables in this shell, validated by the function's own loadConfig (https unless loopback,
 * UUIDs, regions). A bad or missing value is a usage error naming the flag or variable it came from.
 */
export function cliConfig(env: Env, flags: GivenSettings): RotationConfig {
  try {
    return loadConfig(env, flags);
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw configurationUsageError(error, flags);
  }
}

/** What to fix for a configuration error, from the settings table: the flag, or the variable in this shell. */
function configurationUsageError(error: ConfigurationError, flags: GivenSettings): UsageError {
  const setting = error.setting as Setting | undefined;
  const entry: { readonly variable: string; readonly flag?: string } | undefined =
    setting !== undefined && Object.hasOwn(SETTINGS, setting) ? SETTINGS[setting] : undefined;
  const what =
    entry && !entry.variable.startsWith('PINGONE_')
      ? 'rotation function configuration'
      : 'PingOne configuration';
  const todo =
    entry?.flag && setting !== undefined && flags[setting]?.trim()
      ? `fix ${entry.flag}`
      : entry?.flag
        ? `pass ${entry.flag} or set the variable the rotation function uses`
        : `fix ${entry?.variable ?? 'the variable'} in this shell's environment (the CLI reads the rotation function's variables)`;
  return new UsageError(`${what}: ${error.message}`, todo, {
    cause: error,
    setting: entry?.flag ?? entry?.variable,
  });
}

/** Reads the worker parameter (a SecureString) once per process; again only when PingOne rejected it. */
function ssmParameterReader(ssm: SSMClient): ParameterReader {
  const cache = new Map<string, string | undefined>();
  return {
    async get(name, options) {
      if (!options.forceFetch && cache.has(name)) return cache.get(name);
      const out = await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: options.decrypt }));
      cache.set(name, out.Parameter?.Value);
      return out.Parameter?.Value;
    },
  };
}

export interface PingOneAccessOptions {
  readonly env: Env;
  /** The settings given by flags (--worker-parameter, --pingone-region, …). */
  readonly flags: GivenSettings;
  /** The configuration, when the caller has already made it from `env` and `flags` (cliConfig). */
  readonly config?: RotationConfig;
  readonly ssm: SSMClient;
  /** Reads worker credentials kept in Secrets Manager (PINGONE_WORKERS entries with "secret"). */
  readonly secrets?: SecretsStore;
  readonly transport?: Transport;
  readonly now?: () => number;
  /** The client's waits between retries (the simulation's clock; default real time). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Builds PingOne access the way the function does: worker credentials from SSM, the same HTTP client. */
export function createPingOneAccess(options: PingOneAccessOptions): PingOneAccess {
  const config = options.config ?? cliConfig(options.env, options.flags);
  const store = options.secrets;
  const workers = workerDirectory(config, {
    ssm: ssmParameterReader(options.ssm),
    secrets: async (secretId) => {
      if (!store) throw new Error('no Secrets Manager client to read the worker secret with');
      return workerSecretReader(store)(secretId);
    },
    maxAgeSeconds: 0,
  });
  const client = new PingOneHttpClient({
    apiUrlTemplate: config.apiUrlTemplate,
    authUrlTemplate: config.authUrlTemplate,
    workers,
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    // An operator is waiting: fewer, shorter retries than the Lambda.
    retry: { maxAttempts: 3, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
  });
  return {
    config,
    client,
    workers,
    functionEnv: functionEnvironment(options.env, options.flags),
    withTransport: (wrap) =>
      createPingOneAccess({ ...options, config, transport: wrap(options.transport ?? defaultTransport()) }),
  };
}

/** A call deadline for one CLI operation against PingOne. */
export function callOptions(now: () => number, ms = 30_000): { deadline: number } {
  return { deadline: now() + ms };
}
