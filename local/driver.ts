import { randomBytes, randomUUID } from 'node:crypto';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import {
  AWSCURRENT,
  AWSPENDING,
  ResourceNotFoundException,
  SecretsStore,
} from '../lib/secrets/secrets-store.js';

export type Step = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';
export const ALL_STEPS: readonly Step[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

export interface RotationEventPayload {
  Step: Step;
  SecretId: string;
  ClientRequestToken: string;
  RotationToken?: string;
}

/** The Lambda handler under test: the built bundle's `handler` or `createRotationHandler()`. */
export type InvokeFn = (event: RotationEventPayload, context: Context) => Promise<unknown>;

export interface StepReport {
  readonly attempt: number;
  readonly step: Step;
  readonly ok: boolean;
  readonly error?: string;
  readonly ms: number;
}

export interface RotationReport {
  readonly secretId: string;
  readonly token: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly steps: readonly StepReport[];
  readonly error?: string;
  /** Set when `run`'s signal stopped it at a step boundary: the step that was not started. */
  readonly stoppedBefore?: Step;
}

export interface StepBoundary {
  readonly secretId: string;
  readonly token: string;
  readonly attempt: number;
  readonly step: Step;
}

export interface DriverOptions {
  readonly secretsManager: SecretsManagerClient;
  readonly invoke: InvokeFn;
  readonly rotationLambdaArn?: string;
  /** RotateSecret's AutomaticallyAfterDays (moto enables rotation only for such rules); default 30. */
  readonly rotationDays?: number;
  /** The function's configured timeout: what `getRemainingTimeInMillis` counts down from. */
  readonly functionTimeoutMs?: number;
  /** Whole-rotation attempts, the first included (Secrets Manager retries a failed rotation). */
  readonly maxAttempts?: number;
  /** Called before every step invocation (progress lines). */
  readonly beforeStep?: (boundary: StepBoundary) => Promise<void> | void;
  /** Called before Secrets Manager's next attempt of a failed rotation (tests move a clock). */
  readonly beforeRetry?: (attempt: number) => Promise<void> | void;
  /** Called after every step invocation, failed or not (invariant checks, progress lines). */
  readonly afterStep?: (boundary: StepBoundary, report: StepReport) => Promise<void> | void;
  /** Send a RotationToken in each event, as Secrets Manager does for assumed-role rotation (default true). */
  readonly sendRotationToken?: boolean;
  /** Makes each rotation's RotationToken (tests keep them to scan logs for them). */
  readonly newRotationToken?: () => string;
}

/**
 * What Lambda's runtime tells a function about its container, for running the handler outside Lambda.
 * Powertools reads AWS_LAMBDA_INITIALIZATION_TYPE when its Logger and Metrics are constructed: without
 * `on-demand`, the first invocation logs cold_start:false and no ColdStart metric is emitted.
 */
const LAMBDA_RUNTIME_ENV: Readonly<Record<string, string>> = Object.freeze({
  AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
});

/**
 * Sets LAMBDA_RUNTIME_ENV's variables that are not set yet. Call it before the handler module is loaded
 * (or createRotationHandler is called); the driver's constructor calls it too.
 */
export function prepareLambdaEnvironment(env: NodeJS.ProcessEnv = process.env): void {
  for (const [key, value] of Object.entries(LAMBDA_RUNTIME_ENV)) env[key] ??= value;
}

export const LOCAL_ROTATION_LAMBDA_ARN =
  'arn:aws:lambda:us-east-1:000000000000:function:pingone-rotation-local';

/** The error Secrets Manager gives RotateSecret while another rotation's AWSPENDING is outstanding. */
export class RotationInProgressError extends Error {
  constructor(
    readonly secretId: string,
    readonly pendingVersionId: string,
  ) {
    super(
      `A previous rotation isn't complete (AWSPENDING is on version ${pendingVersionId}). That rotation will be reattempted.`,
    );
    this.name = 'RotationInProgressError';
  }
}

/**
 * Plays Secrets Manager's rotation service against moto, which cannot run a Lambda here:
 * registers the AWSPENDING placeholder for a new token exactly as RotateSecret does (a version with that
 * label and no value), invokes the real handler for each step in order, retries a failed rotation the way
 * Secrets Manager does (again from createSecret, same token), and reports each step's outcome.
 */
export class LocalRotationDriver {
  readonly #sm: SecretsStore;
  readonly #options: DriverOptions;

  constructor(options: DriverOptions) {
    this.#sm = new SecretsStore(options.secretsManager);
    this.#options = options;
    prepareLambdaEnvironment();
  }

  /** RotateSecret: a new token with an empty AWSPENDING version (refused while another rotation is pending). */
  async startRotation(
    secretId: string,
    options: { rotateImmediately?: boolean; token?: string } = {},
  ): Promise<string> {
    const stuck = await this.pendingVersion(secretId);
    if (stuck) throw new RotationInProgressError(secretId, stuck);
    const token = options.token ?? randomUUID();
    try {
      await this.#sm.rotate(secretId, {
        token,
        lambdaArn: this.#options.rotationLambdaArn ?? LOCAL_ROTATION_LAMBDA_ARN,
        // moto enables rotation only for AutomaticallyAfterDays rules.
        automaticallyAfterDays: this.#options.rotationDays ?? 30,
        rotateImmediately: options.rotateImmediately ?? true,
      });
    } catch (error) {
      // moto registers the version and then fails to find the Lambda: the state we want.
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    return token;
  }

  /** A full rotation: RotateSecret, then the four steps, retried as Secrets Manager would. */
  async rotate(secretId: string): Promise<RotationReport> {
    const token = await this.startRotation(secretId);
    return this.run(secretId, token, ALL_STEPS);
  }

  /** Re-attempts the outstanding rotation (what Secrets Manager does for a stuck AWSPENDING). */
  async resume(secretId: string): Promise<RotationReport | undefined> {
    const token = await this.pendingVersion(secretId);
    return token ? this.run(secretId, token, ALL_STEPS) : undefined;
  }

  /**
   * RotateImmediately=false: Secrets Manager runs only testSecret against an AWSPENDING version, then
   * removes that label.
   */
  async testOnly(secretId: string): Promise<RotationReport> {
    const token = await this.startRotation(secretId, { rotateImmediately: false });
    const report = await this.run(secretId, token, ['testSecret'], 1);
    await this.#removePending(secretId, token);
    return report;
  }

  /**
   * Runs `steps` for `token`, from the first step again on failure, up to maxAttempts. An aborted `signal`
   * stops it at the next step boundary, never inside a step: the report says which step was not started.
   */
  async run(
    secretId: string,
    token: string,
    steps: readonly Step[],
    maxAttempts?: number,
    options: { signal?: AbortSignal } = {},
  ): Promise<RotationReport> {
    const attempts = maxAttempts ?? this.#options.maxAttempts ?? 3;
    const reports: StepReport[] = [];
    // One RotationToken per rotation attempt series, as Secrets Manager sends it; tests supply their own
    // (newRotationToken) so they can scan the logs for it.
    const rotationToken =
      this.#options.sendRotationToken === false
        ? undefined
        : (this.#options.newRotationToken?.() ?? randomBytes(24).toString('hex'));
    let lastError: string | undefined;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      if (attempt > 1) await this.#options.beforeRetry?.(attempt);
      lastError = undefined;
      for (const step of steps) {
        if (options.signal?.aborted) {
          return {
            secretId,
            token,
            ok: false,
            attempts: attempt,
            steps: reports,
            error: `stopped before ${step}`,
            stoppedBefore: step,
          };
        }
        await this.#options.beforeStep?.({ secretId, token, attempt, step });
        const report = await this.#invoke({ secretId, token, attempt, step }, rotationToken);
        reports.push(report);
        await this.#options.afterStep?.({ secretId, token, attempt, step }, report);
        if (!report.ok) {
          lastError = `${step}: ${report.error}`;
          break;
        }
      }
      if (lastError === undefined) {
        if (steps.includes('finishSecret')) await this.#cleanUpPending(secretId, token);
        return { secretId, token, ok: true, attempts: attempt, steps: reports };
      }
    }
    return {
      secretId,
      token,
      ok: false,
      attempts,
      steps: reports,
      ...(lastError ? { error: lastError } : {}),
    };
  }

  /** The version carrying AWSPENDING but not AWSCURRENT, if any: an outstanding rotation. */
  async pendingVersion(secretId: string): Promise<string | undefined> {
    const { versions } = await this.#sm.describe(secretId);
    return Object.entries(versions).find(
      ([, stages]) => stages.includes(AWSPENDING) && !stages.includes(AWSCURRENT),
    )?.[0];
  }

  async #invoke(boundary: StepBoundary, rotationToken: string | undefined): Promise<StepReport> {
    const started = Date.now();
    const timeoutMs = this.#options.functionTimeoutMs ?? 60_000;
    const event: RotationEventPayload = {
      Step: boundary.step,
      SecretId: boundary.secretId,
      ClientRequestToken: boundary.token,
      ...(rotationToken ? { RotationToken: rotationToken } : {}),
    };
    const base = { attempt: boundary.attempt, step: boundary.step };
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Task timed out after ${timeoutMs} ms`)), timeoutMs);
      });
      await Promise.race([this.#options.invoke(event, lambdaContext(started, timeoutMs)), timeout]);
      return { ...base, ok: true, ms: Date.now() - started };
    } catch (error) {
      return {
        ...base,
        ok: false,
        error: (error as Error).message ?? String(error),
        ms: Date.now() - started,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** What Secrets Manager's backend does after a successful rotation: AWSPENDING leaves the new AWSCURRENT. */
  async #cleanUpPending(secretId: string, token: string): Promise<void> {
    const { versions } = await this.#sm.describe(secretId);
    if (versions[token]?.includes(AWSPENDING)) await this.#removePending(secretId, token);
  }

  async #removePending(secretId: string, token: string): Promise<void> {
    await this.#sm.removeStage(secretId, AWSPENDING, token);
  }
}

/** The Lambda context an invocation that started at `started` with the function's timeout sees. */
export function lambdaContext(started: number, timeoutMs: number): Context {
  return {
    functionName: 'pingone-rotation-local',
    functionVersion: '$LATEST',
    invokedFunctionArn: LOCAL_ROTATION_LAMBDA_ARN,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/pingone-rotation-local',
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => Math.max(0, started + timeoutMs - Date.now()),
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/**
 * moto's stand-in for a schedule (it enables rotation only for AutomaticallyAfterDays rules): rate(N days) → N,
 * rate(N hours) → whole days, cron → 30.
 */
export function motoRotationDays(schedule: string): number {
  const match = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/.exec(schedule);
  if (!match) return 30;
  const n = Number(match[1]);
  return match[2]?.startsWith('hour') ? Math.max(1, Math.ceil(n / 24)) : Math.max(1, n);
}
