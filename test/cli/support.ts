/**
 * Running `pingone-rotation` in-process against the local world (moto + the PingOne simulator), and the
 * scan that no secret value ever reaches its output.
 */
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
import { LOCAL_ROTATION_LAMBDA_ARN, LocalRotationDriver } from '../../local/driver.js';
import type { LocalWorld } from '../../local/world.js';

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
  for (const resource of world.sim.snapshot().resources) {
    if (resource.secret) {
      secretsSeen.add(resource.secret.secret);
      if (resource.secret.previous) secretsSeen.add(resource.secret.previous.secret);
    }
  }
}

/** Fails if any secret value seen so far occurs in `text`. */
export function expectNoSecrets(text: string): void {
  for (const secret of secretsSeen) {
    if (text.includes(secret)) {
      expect.fail(`CLI output contains a secret value (${secret.slice(0, 4)}…)`);
    }
  }
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
