/** onboard's options and their checks, before anything is read: also used by onboard-fleet and import-terraform. */

import { parseTtl } from '../../lib/config.js';
import { ConfigurationError } from '../../lib/errors.js';
import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import { isUuid, type SecretOwner } from '../../lib/pingone/types.js';
import { UsageError } from '../errors.js';

export interface OnboardOptions {
  readonly secretName: string;
  readonly environmentId: string;
  /** Exactly one of resourceId (a CUSTOM resource) and applicationId (an OIDC application). */
  readonly resourceId?: string | undefined;
  readonly applicationId?: string | undefined;
  /** The resource's PingOne region; default the function's PINGONE_REGION. */
  readonly pingoneRegion?: string;
  readonly previousSecretTtl?: string;
  readonly rotationFunctionArn?: string;
  readonly schedule?: string;
  readonly window?: string;
  readonly kmsKeyId?: string;
  /** Store PingOne's current secret in an existing secret. */
  readonly force?: boolean;
  /** Take the owner over from the secret that holds it (the ledger binding, the tags), after confirmation. */
  readonly rebind?: boolean;
  /** Confirm --rebind without asking. */
  readonly yes?: boolean;
  /** --force without a terminal: who may read the existing secret, exactly as onboard reports it. */
  readonly acceptReaders?: string;
  /** The stack's secretNamePrefix (default pingone/, the stack's default): names outside it are refused. */
  readonly secretNamePrefix?: string;
}

/** The stack's default secretNamePrefix (serverless.yml). */
export const DEFAULT_SECRET_NAME_PREFIX = 'pingone/';

/**
 * Refuses a secret name outside the stack's prefix, before anything is created: the rotation function's role
 * may only rotate secrets under it and the auditor only lists those, so such a secret would be created, every
 * rotation of it denied, and nothing would report it; a secret's name cannot be changed afterwards.
 */
export function checkSecretNamePrefix(secretName: string, prefix: string): void {
  if (!/^[^*?]+\/$/.test(prefix)) {
    throw new UsageError(
      `--prefix '${prefix}' is not a secret-name prefix`,
      "pass the stack's secretNamePrefix (stack output SecretNamePrefix): it ends with '/' and has no wildcards, e.g. pingone/",
      { setting: '--prefix' },
    );
  }
  // A name, or (with --force) an existing secret's ARN: arn:…:secret:NAME-XXXXXX.
  const name = /^arn:[^:]+:secretsmanager:[^:]*:\d*:secret:(.+)$/.exec(secretName)?.[1] ?? secretName;
  if (name.startsWith(prefix)) return;
  throw new UsageError(
    `--secret-name '${secretName}' is outside the stack's secret-name prefix '${prefix}'`,
    `the rotation function may only rotate secrets under it and the auditor only sees those, and a secret's name ` +
      `cannot be changed later: name it ${prefix}…, or pass --prefix with the stack's secretNamePrefix (stack ` +
      'output SecretNamePrefix); nothing was created',
    { setting: '--secret-name' },
  );
}

export interface RotationInput {
  readonly functionArn: string;
  readonly schedule: string;
  readonly window?: string;
}

interface ValidInput {
  readonly environmentId: string;
  readonly kind: SecretOwner['kind'];
  readonly ownerId: string;
  readonly region?: PingOneRegion;
  readonly ttl?: string;
  readonly rotation?: RotationInput;
}

export function validate(options: OnboardOptions): ValidInput {
  if (!isUuid(options.environmentId)) {
    throw new UsageError(
      `--environment-id '${options.environmentId}' is not a UUID`,
      "pass the PingOne environment's id",
    );
  }
  if ((options.resourceId === undefined) === (options.applicationId === undefined)) {
    throw new UsageError(
      options.resourceId === undefined
        ? 'onboard needs --resource-id or --application-id'
        : 'pass either --resource-id or --application-id, not both',
      'a secret belongs to exactly one PingOne owner: --resource-id for a CUSTOM resource, --application-id for an OIDC application',
    );
  }
  const kind: SecretOwner['kind'] = options.applicationId === undefined ? 'resource' : 'application';
  const ownerId = (options.applicationId ?? options.resourceId) as string;
  if (!isUuid(ownerId)) {
    throw new UsageError(
      `--${kind}-id '${ownerId}' is not a UUID`,
      kind === 'application' ? "pass the OIDC application's id" : "pass the CUSTOM resource's id",
    );
  }
  if (options.pingoneRegion !== undefined && !isRegion(options.pingoneRegion)) {
    throw new UsageError(
      `--pingone-region '${options.pingoneRegion}' is not a PingOne region`,
      `use one of ${REGIONS.join(', ')}`,
    );
  }
  let ttl: string | undefined;
  if (options.previousSecretTtl !== undefined) {
    try {
      ttl = parseTtl(options.previousSecretTtl, '--previous-secret-ttl').text;
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      // parseTtl says "--previous-secret-ttl is '7': it must be …": split it into what and what to do.
      const [what, ...todo] = error.message.split(': it must be ');
      throw new UsageError(
        what ?? error.message,
        todo.length > 0 ? `it must be ${todo.join(': it must be ')}` : 'see --help',
      );
    }
  }
  const wantsRotation =
    options.rotationFunctionArn !== undefined ||
    options.schedule !== undefined ||
    options.window !== undefined;
  let rotation: RotationInput | undefined;
  if (wantsRotation) {
    if (!options.rotationFunctionArn || !options.schedule) {
      throw new UsageError(
        'attaching rotation needs both --rotation-function-arn and --schedule',
        'pass e.g. --rotation-function-arn arn:aws:lambda:REGION:ACCOUNT:function:NAME --schedule "rate(30 days)"',
      );
    }
    if (!isFunctionArn(options.rotationFunctionArn)) {
      throw new UsageError(
        `--rotation-function-arn '${options.rotationFunctionArn}' is not a Lambda function ARN`,
        'pass arn:aws:lambda:REGION:ACCOUNT:function:NAME',
      );
    }
    if (!isScheduleExpression(options.schedule)) {
      throw new UsageError(
        `--schedule '${options.schedule}' is not a Secrets Manager schedule`,
        'use rate(N days), rate(N hours) or cron(...), e.g. "rate(30 days)"',
      );
    }
    if (options.window !== undefined) {
      const hours = /^(\d{1,2})h$/.exec(options.window);
      if (!hours || Number(hours[1]) < 1 || Number(hours[1]) > 24) {
        throw new UsageError(
          `--window '${options.window}' is not a rotation window`,
          'use whole hours from 1h to 24h, e.g. 4h',
        );
      }
    }
    rotation = {
      functionArn: options.rotationFunctionArn,
      schedule: options.schedule.trim(),
      ...(options.window ? { window: options.window } : {}),
    };
  }
  return {
    environmentId: options.environmentId.toLowerCase(),
    kind,
    ownerId: ownerId.toLowerCase(),
    ...(options.pingoneRegion ? { region: options.pingoneRegion as PingOneRegion } : {}),
    ...(ttl ? { ttl } : {}),
    ...(rotation ? { rotation } : {}),
  };
}

/** A Lambda function ARN (optionally with a version or alias). */
export function isFunctionArn(text: string): boolean {
  return /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9-_]+(:[A-Za-z0-9-_$]+)?$/.test(text);
}

/** A Secrets Manager schedule onboard accepts: rate(N days), rate(N hours), cron(...). */
export function isScheduleExpression(text: string): boolean {
  return /^(rate\(\s*\d+\s+(hours?|days?)\s*\)|cron\(.+\))$/.test(text.trim());
}
