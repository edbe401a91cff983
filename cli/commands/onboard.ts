import { APPLICATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG, TTL_TAG } from '../../lib/config.js';
import { describeOwner, ownerOf } from '../../lib/owner.js';
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SecretOwner } from '../../lib/pingone/types.js';
import { OWNER_ID_FIELDS, parseSecretValue, replaceMemberValue, sameSecret } from '../../lib/secret-value.js';
import {
  AWSCURRENT,
  ResourceExistsException,
  ResourceNotFoundException,
  type RotationInfo,
} from '../../lib/secrets/secrets-store.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT } from '../errors.js';
import { line } from '../format.js';
import { assertNoLiveIntent, cliLedger, confirm, confirmReaders, writeBinding } from '../ledger.js';

import {
  checkSecretNamePrefix,
  DEFAULT_SECRET_NAME_PREFIX,
  type OnboardOptions,
  validate,
} from './onboard-input.js';
import { ownerTag, readOwnerAtPingOne, taggedHolders } from './onboard-owner.js';
import { attachRotation } from './onboard-rotation.js';

export type { OnboardOptions } from './onboard-input.js';

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
  const sm = secretsOf(deps);
  // An existing secret is refused before anything else is read, unless --force.
  let existing: string | undefined;
  try {
    existing = await sm.getValue(options.secretName, { stage: AWSCURRENT });
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
  const targetArn = exists ? (await sm.view(options.secretName)).arn : undefined;
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
      const out = await sm.create({
        name: options.secretName,
        description: `PingOne ${owner.kind === 'application' ? 'OIDC application' : 'CUSTOM resource'} ${owner.id} in environment ${owner.environmentId} (${region}), rotated by pingone-secret-rotation`,
        secretString: JSON.stringify(document),
        tags,
        kmsKeyId: options.kmsKeyId,
      });
      arn = out.arn;
      say(`Created secret ${options.secretName} (${arn}), version ${out.versionId} AWSCURRENT.`);
    } catch (error) {
      if (!(error instanceof ResourceExistsException)) throw error;
      throw alreadyExists(options.secretName);
    }
  } else {
    const view = await sm.view(options.secretName);
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
      await sm.setKmsKey(arn, options.kmsKeyId);
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
      const versionId = await sm.putCurrent(arn, secretString);
      say(
        `Stored PingOne's current secret in ${options.secretName} (${arn}) as version ${versionId} AWSCURRENT.`,
      );
    }
    await sm.tag(arn, tags);
    const staleTag = owner.kind === 'application' ? RESOURCE_TAG : APPLICATION_TAG;
    if (view.tags[staleTag] !== undefined) {
      await sm.untag(arn, [staleTag]);
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

async function secretExists(deps: CliDeps, name: string): Promise<boolean> {
  try {
    await secretsOf(deps).view(name);
    return true;
  } catch (error) {
    if (error instanceof ResourceNotFoundException) return false;
    throw error;
  }
}
