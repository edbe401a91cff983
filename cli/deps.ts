import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotationConfig } from '../lib/config.js';
import { SecretsStore } from '../lib/secrets/secrets-store.js';
import type { GivenSettings } from '../lib/settings.js';
import type { Output } from './format.js';
import type { LocalRotation } from './local.js';
import type { PingOneAccess } from './pingone-access.js';

/**
 * Everything a command touches, injected: `cli/main.ts` builds the real ones, tests build them on the
 * local world and call the commands in-process.
 */
export interface CliDeps {
  readonly secretsManager: SecretsManagerClient;
  /** The rotation ledger's DynamoDB client (the table comes from the function's configuration). */
  readonly dynamodb: DynamoDBClient;
  /**
   * The rotation function's configuration with the flags applied (cli/pingone-access.ts cliConfig); throws
   * a UsageError naming the flag or variable of a bad or missing setting.
   */
  readonly config: () => RotationConfig;
  /** PingOne as the rotation function sees it; throws a UsageError when PingOne is not configured. */
  readonly pingone: () => PingOneAccess;
  readonly out: Output;
  readonly err: Output;
  /** Epoch milliseconds. */
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** Asks a question on the terminal; undefined when stdin is not a terminal (no one to ask). */
  readonly prompt: ((question: string) => Promise<string>) | undefined;
  /** Present when the AWS endpoint is loopback (moto): no rotation service, the steps run here. */
  readonly local: LocalRotation | undefined;
  /**
   * Calls `handler` on SIGINT/SIGTERM instead of the default exit, until the returned function is called.
   * Absent in tests that run commands in-process.
   */
  readonly onInterrupt?: (handler: (signal: NodeJS.Signals) => void) => () => void;
}

/** The Secrets Manager adapter a command uses: moto's in the local world, else on `deps.secretsManager`. */
export function secretsOf(deps: Pick<CliDeps, 'secretsManager' | 'local'>): SecretsStore {
  return deps.local?.secrets ?? new SecretsStore(deps.secretsManager);
}

/** The options every command accepts. */
export interface GlobalOptions {
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  readonly endpointUrl?: string | undefined;
  /** The rotation function's settings given by flags (--worker-parameter, --pingone-region, …). */
  readonly settings: GivenSettings;
  /** --aws-timeout: how long one attempt of an AWS call may go unanswered. */
  readonly awsTimeoutMs?: number | undefined;
  readonly debug: boolean;
}
