import { GetParameterCommand, type SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig, type RotationConfig } from '../lib/config.js';
import { ConfigurationError } from '../lib/errors.js';
import { PingOneHttpClient } from '../lib/pingone/http-client.js';
import { defaultTransport, type Transport } from '../lib/pingone/transport.js';
import type { PingOneClient } from '../lib/pingone/types.js';
import { type ParameterReader, ssmWorkerCredentials } from '../lib/pingone/worker-credentials.js';
import { UsageError } from './errors.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The PingOne flags; each overrides the environment variable the rotation function uses. */
export interface PingOneFlags {
  /** --worker-parameter → PINGONE_WORKER_PARAMETER */
  readonly workerParameter?: string | undefined;
  /** --pingone-region → PINGONE_REGION */
  readonly region?: string | undefined;
  /** --pingone-api-url → PINGONE_API_URL */
  readonly apiUrl?: string | undefined;
  /** --pingone-auth-url → PINGONE_AUTH_URL */
  readonly authUrl?: string | undefined;
  /** --ledger-table → ROTATION_LEDGER_TABLE */
  readonly ledgerTable?: string | undefined;
}

/** PingOne as the CLI sees it: the function's configuration and a client acting as its worker app. */
export interface PingOneAccess {
  readonly config: RotationConfig;
  readonly client: PingOneClient;
  /** The function's environment (PINGONE_* with the flags applied), for a local rotation handler. */
  readonly functionEnv: Env;
  /**
   * The same access on another transport, made from the current one (fleet onboarding paces every PingOne
   * request, the worker's token included, through lib/audit/paced-transport.ts).
   */
  readonly withTransport?: (wrap: (inner: Transport) => Transport) => PingOneAccess;
}

/** The environment with the flags applied: what the rotation function would see. */
export function functionEnvironment(env: Env, flags: PingOneFlags): Record<string, string | undefined> {
  return {
    ...env,
    ...(flags.workerParameter ? { PINGONE_WORKER_PARAMETER: flags.workerParameter } : {}),
    ...(flags.region ? { PINGONE_REGION: flags.region } : {}),
    ...(flags.apiUrl ? { PINGONE_API_URL: flags.apiUrl } : {}),
    ...(flags.authUrl ? { PINGONE_AUTH_URL: flags.authUrl } : {}),
    ...(flags.ledgerTable ? { ROTATION_LEDGER_TABLE: flags.ledgerTable } : {}),
  };
}

/**
 * The function's configuration, validated by the function's own loadConfig (https unless loopback, UUIDs,
 * regions); a bad or missing value is a usage error that names both the variable and the flag.
 */
export function pingOneConfig(env: Env, flags: PingOneFlags): RotationConfig {
  try {
    return loadConfig(functionEnvironment(env, flags));
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    const flag = /PINGONE_WORKER_PARAMETER/.test(error.message)
      ? '--worker-parameter'
      : /PINGONE_REGION/.test(error.message)
        ? '--pingone-region'
        : /PINGONE_API_URL/.test(error.message)
          ? '--pingone-api-url'
          : /PINGONE_AUTH_URL/.test(error.message)
            ? '--pingone-auth-url'
            : /ROTATION_LEDGER_TABLE/.test(error.message)
              ? '--ledger-table'
              : undefined;
    const variable = /^([A-Z][A-Z0-9_]+) /.exec(error.message)?.[1];
    throw new UsageError(
      `${variable && !variable.startsWith('PINGONE_') ? 'rotation function configuration' : 'PingOne configuration'}: ${error.message}`,
      flag
        ? `pass ${flag} or set the variable the rotation function uses`
        : `fix ${variable ?? 'the variable'} in this shell's environment (the CLI reads the rotation function's variables)`,
      { cause: error },
    );
  }
}

/** Reads the worker parameter (a SecureString) once per process; again only when PingOne rejected it. */
export function ssmParameterReader(ssm: SSMClient): ParameterReader {
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
  readonly flags: PingOneFlags;
  readonly ssm: SSMClient;
  readonly transport?: Transport;
  readonly now?: () => number;
  /** The client's waits between retries (the simulation's clock; default real time). */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Builds PingOne access the way the function does: worker credentials from SSM, the same HTTP client. */
export function createPingOneAccess(options: PingOneAccessOptions): PingOneAccess {
  const config = pingOneConfig(options.env, options.flags);
  const workerCredentials = ssmWorkerCredentials(
    ssmParameterReader(options.ssm),
    config.workerParameter,
    0,
    config.defaultRegion,
  );
  const client = new PingOneHttpClient({
    apiUrlTemplate: config.apiUrlTemplate,
    authUrlTemplate: config.authUrlTemplate,
    workerCredentials,
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.now ? { now: options.now } : {}),
    ...(options.sleep ? { sleep: options.sleep } : {}),
    // An operator is waiting: fewer, shorter retries than the Lambda.
    retry: { maxAttempts: 3, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
  });
  return {
    config,
    client,
    functionEnv: functionEnvironment(options.env, options.flags),
    withTransport: (wrap) =>
      createPingOneAccess({ ...options, transport: wrap(options.transport ?? defaultTransport()) }),
  };
}

/** A call deadline for one CLI operation against PingOne. */
export function callOptions(now: () => number, ms = 30_000): { deadline: number } {
  return { deadline: now() + ms };
}
