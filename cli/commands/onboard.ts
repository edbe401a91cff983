import {
  CreateSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { APPLICATION_TAG, ENVIRONMENT_TAG, parseTtl, RESOURCE_TAG, TTL_TAG } from '../../lib/config.js';
import { ConfigurationError } from '../../lib/errors.js';
import { applicationRefusal, describeOwner, ownerOf } from '../../lib/owner.js';
import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import { isUuid, type SecretOwner } from '../../lib/pingone/types.js';
import { proofFor } from '../../lib/rotation/test-secret.js';
import { OWNER_ID_FIELDS, parseSecretValue, replaceMemberValue, sameSecret } from '../../lib/secret-value.js';
import { AWSPENDING, SecretsStore } from '../../lib/secrets/secrets-store.js';
import { type RotationInfo, readSecretView } from '../../lib/status/inspect.js';
import { withArticle } from '../../lib/status/text.js';
import type { CliDeps } from '../deps.js';
import { CliError, EXIT, explainPingOneError, UsageError } from '../errors.js';
import { labelsLine, line } from '../format.js';
import { assertNoLiveIntent, cliLedger, confirm, confirmReaders, writeBinding } from '../ledger.js';
import { callOptions, type PingOneAccess } from '../pingone-access.js';

export { APPLICATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG };

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
  );
}

/**
 * `onboard`: reads the CUSTOM resource (or, with --application-id, the OIDC application: SAML apps and the
 * function's own worker app are refused) and its current secret from PingOne as the function's worker, stores
 * them as the secret's AWSCURRENT with the owner tags, and optionally attaches rotation without rotating
 * now, so the first scheduled rotation starts from a secret PingOne knows (proof of possession).
 */
export async function onboard(deps: CliDeps, options: OnboardOptions): Promise<number> {
  const say = (text: string) => line(deps.out, text);
  const input = validate(options);
  checkSecretNamePrefix(options.secretName, options.secretNamePrefix ?? DEFAULT_SECRET_NAME_PREFIX);
  const sm = deps.secretsManager;
  // An existing secret is refused before anything else is read, unless --force.
  let existing: string | undefined;
  try {
    existing = (
      await sm.send(new GetSecretValueCommand({ SecretId: options.secretName, VersionStage: 'AWSCURRENT' }))
    ).SecretString;
  } catch (error) {
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  const exists = existing !== undefined || (await secretExists(deps, options.secretName));
  if (exists && !options.force) throw alreadyExists(options.secretName);
  const access = deps.pingone();
  const region = (input.region ?? access.config.defaultRegion) as PingOneRegion;
  const owner: SecretOwner = {
    kind: input.kind,
    environmentId: input.environmentId,
    id: input.ownerId,
    region,
  };
  const idField = OWNER_ID_FIELDS[owner.kind];
  const otherIdField = OWNER_ID_FIELDS[owner.kind === 'resource' ? 'application' : 'resource'];
  // The function would refuse an environment outside PINGONE_ALLOWED_ENVIRONMENTS: say so now.
  const draft = parseSecretValue(
    JSON.stringify({
      environmentId: owner.environmentId,
      [idField]: owner.id,
      clientSecret: '-',
      region,
    }),
    'the new secret',
  );
  try {
    ownerOf(draft, access.config);
  } catch (error) {
    throw new CliError(`cannot onboard ${describeOwner(owner)}`, (error as Error).message);
  }

  const { described, secret: currentSecret } = await readOwnerAtPingOne(deps, owner, say);
  say(
    `PingOne: ${described} ${owner.id} in environment ${owner.environmentId} (${region}); read its current ` +
      'secret as the worker app.',
  );

  // One secret per PingOne owner: the ledger's binding (and, for secrets onboarded but never rotated, the
  // owner tag onboard writes: pingone:resource-id, or pingone:application-id for an application) name the one
  // that holds it; another is refused unless --rebind.
  const ledger = cliLedger(deps);
  const record = await ledger.ledger.read(owner, ledger.options());
  const targetArn = exists ? (await readSecretView(sm, options.secretName)).arn : undefined;
  const bound = record?.binding;
  const holders = [
    ...(bound && bound.secretArn !== targetArn
      ? [`${bound.secretArn} (rotation ledger binding since ${bound.boundAt}, by ${bound.how})`]
      : []),
    ...(await taggedHolders(deps, owner))
      .filter((arn) => arn !== targetArn && arn !== bound?.secretArn)
      .map((arn) => `${arn} (tag ${ownerTag(owner)}=${owner.id})`),
  ];
  if (holders.length > 0 && !options.rebind) {
    throw new CliError(
      `${describeOwner(owner)} is already held by secret ${holders.join(' and by ')}`,
      `nothing was changed. If ${options.secretName} should hold it instead, run the same onboard with ` +
        `--rebind (it asks for confirmation, stores PingOne's current secret in ${options.secretName} and ` +
        `moves the binding; the other secret's rotations are then refused); otherwise onboard another ${owner.kind}`,
    );
  }
  assertNoLiveIntent(record, owner, deps.now());
  if (holders.length > 0) {
    say(
      `Plan: take ${describeOwner(owner)} over from ${holders.join(' and ')}: store PingOne's current secret in ` +
        `${options.secretName} and bind the owner to it in the rotation ledger. The other secret keeps its ` +
        'value, but its rotations are refused from then on.',
    );
    await confirm(deps, options.yes, `onboard --rebind of ${options.secretName}`);
  }
  // An existing secret may have been planted for this owner: who else can read it, before PingOne's secret goes in.
  if (targetArn !== undefined) {
    await confirmReaders(
      deps,
      options.secretName,
      targetArn,
      options.acceptReaders,
      `onboard --force of ${options.secretName}`,
    );
  }

  const tags: Record<string, string> = {
    [ENVIRONMENT_TAG]: owner.environmentId,
    [ownerTag(owner)]: owner.id,
    ...(input.ttl ? { [TTL_TAG]: input.ttl } : {}),
  };
  const tagList = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
  const tagText = Object.entries(tags)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');
  const document = {
    environmentId: owner.environmentId,
    [idField]: owner.id,
    clientSecret: currentSecret,
    region,
  };

  let arn: string;
  let rotationBefore: RotationInfo | undefined;
  if (!exists) {
    try {
      const out = await sm.send(
        new CreateSecretCommand({
          Name: options.secretName,
          Description: `PingOne ${owner.kind === 'application' ? 'OIDC application' : 'CUSTOM resource'} ${owner.id} in environment ${owner.environmentId} (${region}), rotated by pingone-secret-rotation`,
          SecretString: JSON.stringify(document),
          Tags: tagList,
          ...(options.kmsKeyId ? { KmsKeyId: options.kmsKeyId } : {}),
        }),
      );
      arn = out.ARN ?? options.secretName;
      say(`Created secret ${options.secretName} (${arn}), version ${out.VersionId} AWSCURRENT.`);
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      throw alreadyExists(options.secretName);
    }
  } else {
    const view = await readSecretView(sm, options.secretName);
    arn = view.arn;
    rotationBefore = view.rotation;
    // Keep the owner's other keys; replace the ones this function owns.
    let carried: Record<string, unknown> = {};
    let unchanged = false;
    // The same owner already: only the clientSecret's value changes in the stored text (the owner's other keys
    // stay byte for byte, big numbers included).
    let sameOwner = false;
    if (existing !== undefined) {
      try {
        const old = JSON.parse(existing) as unknown;
        if (typeof old === 'object' && old !== null && !Array.isArray(old)) {
          carried = old as Record<string, unknown>;
          sameOwner =
            carried.environmentId === owner.environmentId &&
            carried[idField] === owner.id &&
            carried[otherIdField] === undefined &&
            (carried.region === region || carried.region === undefined);
          unchanged =
            carried.environmentId === owner.environmentId &&
            carried[idField] === owner.id &&
            carried[otherIdField] === undefined &&
            carried.region === region &&
            sameSecret(
              typeof carried.clientSecret === 'string' ? carried.clientSecret : undefined,
              currentSecret,
            );
          if (carried[idField] !== undefined && carried[idField] !== owner.id) {
            say(
              `Note: ${options.secretName} named ${owner.kind} ${String(carried[idField])}; it now names ${owner.id}.`,
            );
          }
          if (carried[otherIdField] !== undefined) {
            // A secret names exactly one owner: the other id goes (the function would refuse both).
            say(
              `Note: ${options.secretName} named ${owner.kind === 'application' ? 'resource' : 'application'} ` +
                `${String(carried[otherIdField])}; it now names ${owner.kind} ${owner.id} instead.`,
            );
            const { [otherIdField]: _dropped, ...rest } = carried;
            carried = rest;
          }
        }
      } catch {
        // not JSON: replaced entirely
      }
    }
    if (options.kmsKeyId) {
      await sm.send(new UpdateSecretCommand({ SecretId: arn, KmsKeyId: options.kmsKeyId }));
    }
    if (unchanged) {
      say(
        `${options.secretName} already holds PingOne's current secret for this ${owner.kind}: value unchanged.`,
      );
    } else {
      const secretString =
        (sameOwner && existing !== undefined
          ? withRegion(
              replaceMemberValue(existing, 'clientSecret', JSON.stringify(currentSecret)),
              carried,
              region,
            )
          : undefined) ?? JSON.stringify({ ...carried, ...document });
      let versionId: string | undefined;
      if (deps.local) {
        // moto's PutSecretValue moves AWSCURRENT off the version it last created, not off the labelled one
        // (UpdateSecretVersionStage, as used by every rotation, does not tell it): after a rotation it would
        // leave two AWSCURRENT versions. So here: store the version unlabelled, then move AWSCURRENT to it.
        const out = await sm.send(
          new PutSecretValueCommand({ SecretId: arn, SecretString: secretString, VersionStages: [] }),
        );
        versionId = out.VersionId;
        if (versionId) await new SecretsStore(sm).promote(arn, versionId, view.currentVersionId);
      } else {
        versionId = (await sm.send(new PutSecretValueCommand({ SecretId: arn, SecretString: secretString })))
          .VersionId;
      }
      say(
        `Stored PingOne's current secret in ${options.secretName} (${arn}) as version ${versionId} AWSCURRENT.`,
      );
    }
    await sm.send(new TagResourceCommand({ SecretId: arn, Tags: tagList }));
    const staleTag = owner.kind === 'application' ? RESOURCE_TAG : APPLICATION_TAG;
    if (view.tags[staleTag] !== undefined) {
      await sm.send(new UntagResourceCommand({ SecretId: arn, TagKeys: [staleTag] }));
    }
    if (view.pendingVersionId) {
      say(
        `Note: AWSPENDING is still on version ${view.pendingVersionId}; see \`pingone-rotation status\` / \`unstick\`.`,
      );
    }
  }
  say(`Tags: ${tagText}.`);
  await writeBinding(ledger, owner, record, arn, holders.length > 0 ? 'rebind' : 'onboard', deps.now());
  say(
    `Rotation ledger: ${describeOwner(owner)} is bound to ${options.secretName} (proof: it holds PingOne's ` +
      'current secret); a rotation of any other secret naming it is refused.',
  );

  if (input.rotation) {
    await attachRotation(deps, arn, options.secretName, input.rotation);
  } else if (rotationBefore?.enabled) {
    say(
      `Rotation stays as configured (${rotationBefore.lambdaArn ?? 'its function'}). Check it: ` +
        `pingone-rotation status --secret-id ${options.secretName}`,
    );
  } else {
    say(
      `Rotation not attached (no --rotation-function-arn). Check it: pingone-rotation status --secret-id ${options.secretName}`,
    );
  }
  return EXIT.ok;
}

/**
 * Reads the owner and its current secret from PingOne as the worker app (never regenerates): a resource must
 * be CUSTOM, an application OIDC and not the worker itself. `described` names it for messages ("CUSTOM
 * resource "Orders API""). PingOne's refusals become a CliError saying nothing was created or changed.
 */
export async function readOwnerAtPingOne(
  deps: CliDeps,
  owner: SecretOwner,
  say: (text: string) => void,
  access: PingOneAccess = deps.pingone(),
): Promise<{ described: string; secret: string }> {
  const pingoneCall = async <T>(_what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      const explained = explainPingOneError(error, owner);
      if (explained === undefined) throw error;
      // The explanation already says what failed (and carries PingOne's own message once).
      throw new CliError(explained, 'nothing was created or changed', EXIT.error, {
        cause: error,
      });
    }
  };
  let described: string;
  if (owner.kind === 'application') {
    const application = await pingoneCall('read application', () =>
      access.client.readApplication(owner, callOptions(deps.now)),
    );
    const refusal = applicationRefusal(owner, application);
    if (refusal) throw new CliError(refusal, 'nothing was created or changed; check --application-id');
    described =
      `OIDC application${application.name ? ` "${application.name}"` : ''} (${application.type}, ` +
      `${application.tokenEndpointAuthMethod ?? 'no tokenEndpointAuthMethod'})`;
    const proof = proofFor('application', application.tokenEndpointAuthMethod);
    if (proof.kind === 'comparison') {
      say(
        `Note: its tokenEndpointAuthMethod is ${proof.method}, which does not use the client secret: testSecret ` +
          "can only compare a new secret with PingOne's current one, not prove it (pingone-rotation status says so).",
      );
    }
  } else {
    const resource = await pingoneCall('read resource', () =>
      access.client.readResource(owner, callOptions(deps.now)),
    );
    if (resource.type !== 'CUSTOM') {
      throw new CliError(
        `${describeOwner(owner)}${resource.name ? ` ("${resource.name}")` : ''} is ${withArticle(resource.type)} resource, not CUSTOM`,
        'only CUSTOM resources have a client secret to rotate; check --resource-id',
      );
    }
    described = `CUSTOM resource${resource.name ? ` "${resource.name}"` : ''}`;
  }
  const state = await pingoneCall(`read ${owner.kind} secret`, () =>
    access.client.readSecret(owner, callOptions(deps.now)),
  );
  return { described, secret: state.secret };
}

/** The stored text with `"region"` added at the end when it had none (onboard always records the region). */
function withRegion(
  text: string | undefined,
  carried: Record<string, unknown>,
  region: string,
): string | undefined {
  if (text === undefined || carried.region !== undefined) return text;
  const end = text.lastIndexOf('}');
  return end < 0
    ? undefined
    : `${text.slice(0, end).trimEnd()},"region":${JSON.stringify(region)}${text.slice(end)}`;
}

function alreadyExists(name: string): CliError {
  return new CliError(
    `secret ${name} already exists`,
    "pass --force to store PingOne's current secret in it (a new AWSCURRENT version), or choose another --secret-name",
  );
}

/** The tag onboard gives a secret naming `owner`: pingone:resource-id or pingone:application-id. */
export function ownerTag(owner: SecretOwner): string {
  return owner.kind === 'application' ? APPLICATION_TAG : RESOURCE_TAG;
}

/** Secrets carrying the owner's tag with its id (pingone:resource-id=<id> / pingone:application-id=<id>), as ARNs. */
export async function taggedHolders(deps: CliDeps, owner: SecretOwner): Promise<string[]> {
  const key = ownerTag(owner);
  const id = owner.id.toLowerCase();
  const arns: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await deps.secretsManager.send(
      new ListSecretsCommand({
        Filters: [
          { Key: 'tag-key', Values: [key] },
          { Key: 'tag-value', Values: [owner.id] },
        ],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const secret of page.SecretList ?? []) {
      const tagged = (secret.Tags ?? []).some((tag) => tag.Key === key && tag.Value?.toLowerCase() === id);
      if (tagged && secret.ARN) arns.push(secret.ARN);
    }
    nextToken = page.NextToken;
  } while (nextToken);
  return arns;
}

async function secretExists(deps: CliDeps, name: string): Promise<boolean> {
  try {
    await readSecretView(deps.secretsManager, name);
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
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

function validate(options: OnboardOptions): ValidInput {
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

/**
 * RotateSecret with RotateImmediately=false: Secrets Manager records the schedule and runs only testSecret
 * (against AWSCURRENT, as the pending version is empty), so PingOne is not touched until the first
 * scheduled rotation. In the local world moto cannot invoke the function, so the driver runs testSecret here.
 */
export async function attachRotation(
  deps: CliDeps,
  arn: string,
  name: string,
  rotation: RotationInput,
): Promise<void> {
  const say = (text: string) => line(deps.out, text);
  const rules = {
    ScheduleExpression: rotation.schedule,
    ...(rotation.window ? { Duration: rotation.window } : {}),
  };
  const describe = `${rotation.schedule}${rotation.window ? `, window ${rotation.window}` : ''}`;
  if (!deps.local) {
    await deps.secretsManager.send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: rotation.functionArn,
        RotationRules: rules,
        RotateImmediately: false,
      }),
    );
    say(
      `Rotation attached: ${rotation.functionArn}, ${describe}, without rotating now; Secrets Manager runs ` +
        'testSecret only, which proves AWSCURRENT at PingOne.',
    );
    say(`Next: pingone-rotation status --secret-id ${name}`);
    return;
  }

  // The local world: moto enables rotation only for AutomaticallyAfterDays rules and has no Lambda.
  const days = localDays(rotation.schedule);
  const { driver, source } = await deps.local.driver({ rotationLambdaArn: rotation.functionArn });
  const stuck = await driver.pendingVersion(arn);
  if (stuck) {
    throw new CliError(
      `rotation not attached: AWSPENDING is on version ${stuck} of ${name}`,
      `recover it first with \`pingone-rotation unstick --secret-id ${name}\`, then run onboard --force again`,
    );
  }
  try {
    await deps.secretsManager.send(
      new RotateSecretCommand({
        SecretId: arn,
        RotationLambdaARN: rotation.functionArn,
        RotationRules: { AutomaticallyAfterDays: days },
        RotateImmediately: false,
      }),
    );
  } catch (error) {
    // moto records the configuration and the placeholder version, then cannot find the Lambda.
    if (!(error instanceof ResourceNotFoundException)) throw error;
  }
  say(
    `Local world: moto has no Lambda runtime; it recorded ${rotation.functionArn} with ` +
      `AutomaticallyAfterDays=${days} (it enables rotation only for such rules; asked: ${describe}).`,
  );
  const token = await driver.pendingVersion(arn);
  if (!token) {
    say('moto created no AWSPENDING version, so testSecret was not run.');
    return;
  }
  const report = await driver.run(arn, token, ['testSecret'], 1);
  await deps.secretsManager.send(
    new UpdateSecretVersionStageCommand({
      SecretId: arn,
      VersionStage: AWSPENDING,
      RemoveFromVersionId: token,
    }),
  );
  const view = await readSecretView(deps.secretsManager, arn);
  if (!report.ok) {
    throw new CliError(
      `rotation attached, but testSecret failed (${report.error})`,
      `see \`pingone-rotation status --secret-id ${name}\``,
    );
  }
  say(
    `Ran testSecret as Secrets Manager would (in ${source}): PingOne accepts AWSCURRENT. ` +
      `${labelsLine(Object.fromEntries(view.versions.map((v) => [v.id, v.stages])))}`,
  );
  say(`Next: pingone-rotation status --secret-id ${name}`);
}

/** moto's stand-in for a schedule: rate(N days) → N, rate(N hours) → whole days, cron → 30. */
function localDays(schedule: string): number {
  const match = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/.exec(schedule);
  if (!match) return 30;
  const n = Number(match[1]);
  return match[2]?.startsWith('hour') ? Math.max(1, Math.ceil(n / 24)) : Math.max(1, n);
}
