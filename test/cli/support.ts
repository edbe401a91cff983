/**
 * Running `pingone-rotation` in-process against the local world (moto + the PingOne simulator), and the
 * scan that no secret value ever reaches its output (in any encoding: test/support/leaks.ts).
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  DescribeSecretCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { expect } from 'vitest';
import type { CliDeps } from '../../cli/deps.js';
import type { Output } from '../../cli/format.js';
import { createLocalRotation, libraryHandler } from '../../cli/local.js';
import { createPingOneAccess } from '../../cli/pingone-access.js';
import { runCli } from '../../cli/run.js';
import { EMPTY_RECORD, withRegenerateIntent } from '../../lib/ledger/record.js';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import { LOCAL_ROTATION_LAMBDA_ARN, LocalRotationDriver } from '../../local/driver.js';
import type { LocalWorld } from '../../local/world.js';
import { watch } from '../support/child.js';
import { describeLeaks } from '../support/leaks.js';
import { pingOneSecretsOf } from '../support/world.js';

export class MemoryOutput implements Output {
  readonly chunks: string[] = [];
  constructor(readonly isTTY = false) {}
  write(text: string): void {
    this.chunks.push(text);
  }
  get text(): string {
    return this.chunks.join('');
  }
}

export interface RunOptions {
  /** Milliseconds added to the real clock (an AWSPENDING becomes "stuck" after 15 minutes). */
  readonly clockOffsetMs?: number;
  /** The terminal's answer; undefined: stdin is not a terminal. */
  readonly answer?: string;
  readonly tty?: boolean;
  /** false: deps as against real AWS (no local rotation driver), e.g. for "rotation in progress". */
  readonly local?: boolean;
}

export interface CliRun {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly prompts: readonly string[];
}

/** Every secret value the simulator (or the worker parameter) has held since the world started. */
const secretsSeen = new Set<string>();

export function recordSecrets(world: LocalWorld): void {
  secretsSeen.add(world.worker.clientSecret);
  for (const secret of pingOneSecretsOf(world)) secretsSeen.add(secret);
}

/** Fails if any secret value seen so far occurs in `text`, in any encoding (test/support/leaks.ts). */
export function expectNoSecrets(text: string): void {
  const leaks = describeLeaks(text, secretsSeen);
  if (leaks.length > 0) expect.fail(`CLI output contains a secret value: ${leaks.join(', ')}`);
}

export function knownSecrets(): readonly string[] {
  return [...secretsSeen];
}

/** The dependencies main.ts builds, on the world's clients (the handler from lib/handler.ts). */
export function worldDeps(world: LocalWorld, options: RunOptions = {}) {
  const out = new MemoryOutput(options.tty ?? false);
  const err = new MemoryOutput(false);
  const prompts: string[] = [];
  const access = createPingOneAccess({ env: world.functionEnv, flags: {}, ssm: world.ssm });
  const deps: CliDeps = {
    secretsManager: world.secretsManager,
    dynamodb: world.dynamodb,
    config: () => access.config,
    pingone: () => access,
    out,
    err,
    now: () => Date.now() + (options.clockOffsetMs ?? 0),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    prompt:
      options.answer === undefined
        ? undefined
        : async (question) => {
            prompts.push(question);
            return options.answer!;
          },
    local:
      options.local === false
        ? undefined
        : createLocalRotation({
            endpoint: world.moto.url,
            secretsManager: world.secretsManager,
            loadHandler: () =>
              libraryHandler({
                functionEnv: world.functionEnv,
                secretsManager: world.secretsManager,
                ssm: world.ssm,
                dynamodb: world.dynamodb,
              }),
          }),
  };
  return { deps, out, err, prompts };
}

/** `pingone-rotation <argv>` in-process; asserts no secret value was printed unless --show-secrets. */
export async function cli(
  world: LocalWorld,
  argv: readonly string[],
  options: RunOptions = {},
): Promise<CliRun> {
  recordSecrets(world);
  const { deps, out, err, prompts } = worldDeps(world, options);
  const code = await runCli(argv, { out, err }, () => deps);
  recordSecrets(world);
  if (!argv.includes('--show-secrets')) expectNoSecrets(out.text + err.text + prompts.join(''));
  return { code, out: out.text, err: err.text, prompts };
}

/** A LocalRotationDriver on the in-process handler, for building states (failed rotations, placeholders). */
export async function worldDriver(
  world: LocalWorld,
  options: { maxAttempts?: number } = {},
): Promise<LocalRotationDriver> {
  const handler = await libraryHandler({
    functionEnv: world.functionEnv,
    secretsManager: world.secretsManager,
    ssm: world.ssm,
    dynamodb: world.dynamodb,
  });
  return new LocalRotationDriver({
    secretsManager: world.secretsManager,
    invoke: handler.invoke,
    ...(options.maxAttempts ? { maxAttempts: options.maxAttempts } : {}),
  });
}

/** Turns rotation on (as moto allows) without leaving the placeholder RotateSecret creates. */
export async function enableRotation(world: LocalWorld, secretId: string): Promise<void> {
  try {
    await world.secretsManager.send(
      new RotateSecretCommand({
        SecretId: secretId,
        RotationLambdaARN: LOCAL_ROTATION_LAMBDA_ARN,
        RotationRules: { AutomaticallyAfterDays: 30 },
        RotateImmediately: false,
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const out = await world.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
  for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
    if (stages.includes('AWSPENDING') && !stages.includes('AWSCURRENT')) {
      await world.secretsManager.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: 'AWSPENDING',
          RemoveFromVersionId: id,
        }),
      );
    }
  }
}

/** A CUSTOM resource in a new environment of the world's PingOne, not in Secrets Manager yet. */
export function pingOneResource(
  world: LocalWorld,
  options: { region?: PingOneRegion; name?: string } = {},
): { environmentId: string; resourceId: string; secret: string } {
  const environmentId = world.createEnvironment(options.region ?? 'EU');
  const created = world.sim.createResource(environmentId, { name: options.name ?? 'Orders API' });
  recordSecrets(world);
  return { environmentId, resourceId: created.id, secret: created.secret };
}

/** `onboard` of an EU resource's (or application's) secret into `name`, then `extra`. */
export function onboardArgs(
  name: string,
  owner: { environmentId: string } & ({ resourceId: string } | { applicationId: string }),
  ...extra: string[]
): string[] {
  return [
    'onboard',
    '--secret-name',
    name,
    '--environment-id',
    owner.environmentId,
    ...('resourceId' in owner
      ? ['--resource-id', owner.resourceId]
      : ['--application-id', owner.applicationId]),
    '--pingone-region',
    'EU',
    ...extra,
  ];
}

/** Whether Secrets Manager has a secret by that name or ARN. */
export async function secretExists(world: LocalWorld, name: string): Promise<boolean> {
  try {
    await world.secretsManager.send(new DescribeSecretCommand({ SecretId: name }));
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}

/** The version carrying `stage`. */
export async function versionWith(
  world: LocalWorld,
  secretId: string,
  stage: string,
): Promise<string | undefined> {
  const labels = await world.labels(secretId);
  return Object.entries(labels).find(([, stages]) => stages.includes(stage))?.[0];
}

export const HOUR = 3_600_000;

/**
 * The built CLI, what `npx pingone-rotation` runs (`npm run build` makes it; land.sh builds first).
 * PINGONE_ROTATION_CLI_UNDER_TEST points the tests at another build (e.g. of main, to watch a test fail).
 */
export const CLI_BINARY =
  process.env.PINGONE_ROTATION_CLI_UNDER_TEST ??
  fileURLToPath(new URL('../../dist/cli/pingone-rotation.mjs', import.meta.url));

export interface BinaryResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface BinaryProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout matches `pattern`; rejects after `ms` or when the process ends first. */
  waitFor(pattern: RegExp, ms?: number): Promise<void>;
  readonly done: Promise<BinaryResult>;
}

/**
 * Starts the real binary (node dist/cli/pingone-rotation.mjs) with the local world in its environment and
 * stdin a pipe (not a terminal). `env` adds or overrides variables.
 */
export function startBinary(
  world: LocalWorld,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): BinaryProcess {
  if (!existsSync(CLI_BINARY)) throw new Error(`${CLI_BINARY} is missing: run npm run build first`);
  recordSecrets(world);
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    ...world.awsEnv,
    ...world.functionEnv,
    ...options.env,
  })) {
    if (value !== undefined) env[key] = value;
  }
  const child = spawn(process.execPath, [CLI_BINARY, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  const output = watch(child);
  const done = output.done.then((result) => {
    recordSecrets(world);
    return result;
  });
  return { child, stdout: output.stdout, stderr: output.stderr, done, waitFor: output.waitFor };
}

/** The real binary to completion; asserts no secret value was printed unless --show-secrets. */
export async function binary(
  world: LocalWorld,
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; cwd?: string } = {},
): Promise<BinaryResult> {
  const result = await startBinary(world, args, options).done;
  if (!args.includes('--show-secrets')) expectNoSecrets(result.stdout + result.stderr);
  return result;
}

/**
 * What the ledger holds after a rotation of `secret` recorded its intent and then died (before or after its
 * regenerate): an unfinished run of this secret, its window long settled. PingOne's regenerate after that is
 * then this function's own, and a rotation adopts it.
 */
export async function recordAbandonedRotation(
  world: LocalWorld,
  secret: { arn: string; environmentId: string; resourceId: string; region: PingOneRegion },
): Promise<void> {
  const owner = {
    kind: 'resource',
    environmentId: secret.environmentId,
    id: secret.resourceId,
    region: secret.region,
  } as const;
  const options = { deadline: Date.now() + 10_000, now: Date.now };
  const record = (await world.ledger.read(owner, options)) ?? EMPTY_RECORD;
  const next = withRegenerateIntent(record, {
    secretArn: secret.arn,
    token: `abandoned-${Date.now()}`,
    now: Date.now() - 10 * 60_000,
    postUntil: Date.now() - 9 * 60_000,
  });
  expect(await world.ledger.write(owner, next, options)).toBe('written');
}
