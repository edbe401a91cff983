/**
 * `onboard-worker-pair`'s flags, checked before AWS or PingOne is asked anything (see onboard-worker-pair.ts).
 */

import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import { isUuid } from '../../lib/pingone/types.js';
import { isOrganizationId } from '../../lib/pingone/workers.js';
import { UsageError } from '../errors.js';
import {
  checkSecretNamePrefix,
  DEFAULT_SECRET_NAME_PREFIX,
  type RotationInput,
  validate,
} from './onboard-input.js';

export const COMMAND = 'onboard-worker-pair';

export interface OnboardWorkerPairOptions {
  readonly environmentId: string;
  /** The two worker apps' client ids (their application ids). */
  readonly workerA: string;
  readonly workerB: string;
  /** Default `<prefix>workers/<client id>`. */
  readonly secretNameA?: string | undefined;
  readonly secretNameB?: string | undefined;
  readonly pingoneRegion?: string | undefined;
  readonly prefix?: string | undefined;
  readonly rotationFunctionArn?: string | undefined;
  readonly schedule?: string | undefined;
  readonly window?: string | undefined;
  readonly previousSecretTtl?: string | undefined;
  readonly kmsKeyId?: string | undefined;
  /** The PingOne organization's id, for the printed PINGONE_WORKERS entries (their shared rate budget). */
  readonly organizationId?: string | undefined;
  readonly json: boolean;
}

export interface PairInput {
  readonly environmentId: string;
  readonly workers: readonly {
    readonly worker: 'a' | 'b';
    readonly clientId: string;
    readonly name: string;
  }[];
  readonly region: PingOneRegion | undefined;
  readonly rotation: RotationInput;
  readonly ttl: string | undefined;
  readonly kmsKeyId: string | undefined;
  /** Lower-cased, as PINGONE_WORKERS keeps it. */
  readonly organization: string | undefined;
}

/** Every flag checked before AWS or PingOne is asked anything; a bad one is a usage error naming it. */
export function validateInput(options: OnboardWorkerPairOptions): PairInput {
  const prefix = options.prefix ?? DEFAULT_SECRET_NAME_PREFIX;
  for (const [flag, id] of [
    ['--worker-a', options.workerA],
    ['--worker-b', options.workerB],
  ] as const) {
    if (!isUuid(id)) {
      throw new UsageError(
        `${flag} '${id}' is not a UUID`,
        "pass the worker app's client id (its application id)",
        {
          setting: flag,
        },
      );
    }
  }
  if (options.workerA.toLowerCase() === options.workerB.toLowerCase()) {
    throw new UsageError(
      '--worker-b is the same app as --worker-a',
      "a worker pair is two worker apps of one organization: each rotates the other's secret",
      { setting: '--worker-b' },
    );
  }
  if (options.pingoneRegion !== undefined && !isRegion(options.pingoneRegion)) {
    throw new UsageError(
      `--pingone-region '${options.pingoneRegion}' is not a PingOne region`,
      `use one of ${REGIONS.join(', ')}`,
      { setting: '--pingone-region' },
    );
  }
  if (options.organizationId !== undefined && !isOrganizationId(options.organizationId)) {
    throw new UsageError(
      `--organization-id '${options.organizationId}' is not a PingOne organization id`,
      "pass the PingOne organization's id (1-128 letters, digits or _.:/-) as the workers param's " +
        '"organization" takes it, or leave it out',
      { setting: '--organization-id' },
    );
  }
  if (!options.rotationFunctionArn || !options.schedule) {
    throw new UsageError(
      `${COMMAND} needs ${options.rotationFunctionArn ? '--schedule' : '--rotation-function-arn'}`,
      "the pair rotates each other only with rotation attached (and the function's role reads a worker " +
        'secret only when its rotation runs that function): pass --rotation-function-arn (stack output ' +
        'RotateFunctionArn) and --schedule, e.g. "rate(30 days)"',
      { setting: options.rotationFunctionArn ? '--schedule' : '--rotation-function-arn' },
    );
  }
  const names = {
    a: options.secretNameA ?? `${prefix}workers/${options.workerA.toLowerCase()}`,
    b: options.secretNameB ?? `${prefix}workers/${options.workerB.toLowerCase()}`,
  };
  if (names.a === names.b) {
    throw new UsageError(
      '--secret-name-b is the same secret as --secret-name-a',
      'each worker needs its own secret',
      { setting: '--secret-name-b' },
    );
  }
  for (const [flag, name] of [
    ['--secret-name-a', names.a],
    ['--secret-name-b', names.b],
  ] as const) {
    try {
      checkSecretNamePrefix(name, prefix);
    } catch (error) {
      if (!(error instanceof UsageError) || error.setting !== '--secret-name') throw error;
      throw new UsageError(error.what.replace('--secret-name', flag), error.todo, { setting: flag });
    }
  }
  // The rest as onboard checks it (environment, TTL, rotation function, schedule, window).
  const checked = validate({
    secretName: names.a,
    environmentId: options.environmentId,
    applicationId: options.workerA,
    ...(options.previousSecretTtl !== undefined ? { previousSecretTtl: options.previousSecretTtl } : {}),
    rotationFunctionArn: options.rotationFunctionArn,
    schedule: options.schedule,
    ...(options.window !== undefined ? { window: options.window } : {}),
  });
  return {
    environmentId: checked.environmentId,
    workers: [
      { worker: 'a', clientId: options.workerA.toLowerCase(), name: names.a },
      { worker: 'b', clientId: options.workerB.toLowerCase(), name: names.b },
    ],
    region: options.pingoneRegion as PingOneRegion | undefined,
    rotation: checked.rotation as RotationInput,
    ttl: checked.ttl,
    kmsKeyId: options.kmsKeyId,
    organization: options.organizationId?.toLowerCase(),
  };
}
