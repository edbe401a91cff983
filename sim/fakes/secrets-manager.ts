/**
 * Secrets Manager in memory, at the SDK client's `send()`: staging labels (AWSCURRENT / AWSPENDING /
 * AWSPREVIOUS, moved as the service moves them), ClientRequestToken idempotency, RotateSecret's placeholder
 * and "a previous rotation isn't complete", a manual write abandoning a rotation, tags, and throttling that
 * the SDK's standard retry (3 attempts) absorbs or surfaces.
 */
import {
  InvalidParameterException,
  InvalidRequestException,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { awsCall, type Proc, type SimEnv, withSend } from '../env.js';

export const ACCOUNT = '123456789012';

export interface SmVersion {
  readonly id: string;
  value: string | undefined;
  stages: string[];
  readonly created: number;
  /** When PutSecretValue last stored its value. */
  writtenAt?: number;
}

export interface SmSecret {
  readonly arn: string;
  readonly name: string;
  readonly created: number;
  versions: SmVersion[];
  tags: Record<string, string>;
  rotationEnabled: boolean;
  rotationLambdaArn: string | undefined;
  kmsKeyId: string | undefined;
  lastChanged: number;
  lastRotated: number | undefined;
}

/** What RotateSecret hands to the rotation service (sim/actors/rotation-service.ts). */
export type RotationStarter = (secret: SmSecret, token: string, how: 'new' | 'resume') => void;

const meta = { $metadata: { httpStatusCode: 400 } };

export class SecretsManagerState {
  readonly secrets = new Map<string, SmSecret>();
  rotationStarter: RotationStarter | undefined;
  /** Bumped by every change to a secret's versions or labels (the invariants re-check only then). */
  mutations = 0;

  constructor(private readonly env: SimEnv) {}

  /** Version ids are ClientRequestTokens; the SDK makes one when none is given. */
  newToken(): string {
    return this.env.prng.uuid();
  }

  find(id: string | undefined): SmSecret {
    const secret = id === undefined ? undefined : (this.secrets.get(id) ?? this.byArn(id));
    if (!secret) {
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret.",
        ...meta,
      });
    }
    return secret;
  }

  byArn(arn: string): SmSecret | undefined {
    for (const secret of this.secrets.values()) if (secret.arn === arn) return secret;
    return undefined;
  }

  /** Creates a secret directly (the world's initial state). */
  create(name: string, value: string, tags: Record<string, string> = {}): SmSecret {
    const now = this.env.scheduler.now();
    const secret: SmSecret = {
      arn: `arn:aws:secretsmanager:us-east-1:${ACCOUNT}:secret:${name}-${this.env.prng.text(6)}`,
      name,
      created: now,
      versions: [{ id: this.newToken(), value, stages: ['AWSCURRENT'], created: now }],
      tags: { ...tags },
      rotationEnabled: false,
      rotationLambdaArn: undefined,
      kmsKeyId: undefined,
      lastChanged: now,
      lastRotated: undefined,
    };
    this.secrets.set(name, secret);
    return secret;
  }

  version(secret: SmSecret, stage: string): SmVersion | undefined {
    return secret.versions.find((v) => v.stages.includes(stage));
  }

  /** The version with AWSPENDING that is not AWSCURRENT: an outstanding rotation. */
  pending(secret: SmSecret): SmVersion | undefined {
    return secret.versions.find((v) => v.stages.includes('AWSPENDING') && !v.stages.includes('AWSCURRENT'));
  }

  /** Moves `stage` onto `target`, as the service does; AWSCURRENT leaves AWSPREVIOUS behind. */
  moveStage(secret: SmSecret, stage: string, target: SmVersion): void {
    this.mutations += 1;
    const holder = this.version(secret, stage);
    if (holder === target) return;
    if (holder) holder.stages = holder.stages.filter((s) => s !== stage);
    target.stages.push(stage);
    // Finishing a rotation: the call that moves AWSCURRENT onto the pending version removes AWSPENDING too.
    if (stage === 'AWSCURRENT') target.stages = target.stages.filter((s) => s !== 'AWSPENDING');
    if (stage === 'AWSCURRENT' && holder) {
      for (const v of secret.versions) v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
      holder.stages.push('AWSPREVIOUS');
    }
  }

  /** The client a process uses. */
  client(proc: Proc): SecretsManagerClient {
    const send = async (command: { constructor: { name: string }; input: unknown }) => {
      const name = command.constructor.name.replace(/Command$/, '');
      const input = command.input as Record<string, unknown>;
      // The SDK's standard retry: up to 3 attempts on throttling, with backoff.
      for (let attempt = 1; ; attempt++) {
        const throttled =
          !proc.reliable &&
          this.env.faults.has('secrets-manager') &&
          this.env.prng.chance(this.env.faults.rate / 3);
        const label = `SecretsManager ${name}`;
        if (throttled) {
          await awsCall(this.env, proc, label, () => undefined);
          if (attempt < 3) {
            await this.env.scheduler.sleep(this.env.prng.int(50, 100 * 2 ** attempt));
            continue;
          }
          this.env.trace(proc.name, `${label}: ThrottlingException (after 3 attempts)`);
          throw Object.assign(new Error('Rate exceeded'), {
            name: 'ThrottlingException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400, attempts: 3 },
          });
        }
        return awsCall(this.env, proc, label, () => this.#handle(name, input));
      }
    };
    secretsmanagerclientBase ??= new SecretsManagerClient({ region: 'us-east-1' });
    return withSend(secretsmanagerclientBase, send);
  }

  #handle(name: string, input: Record<string, unknown>): unknown {
    const now = this.env.scheduler.now();
    switch (name) {
      case 'DescribeSecret': {
        const s = this.find(input.SecretId as string);
        return {
          ARN: s.arn,
          Name: s.name,
          RotationEnabled: s.rotationEnabled,
          ...(s.rotationLambdaArn ? { RotationLambdaARN: s.rotationLambdaArn } : {}),
          ...(s.rotationEnabled ? { RotationRules: { AutomaticallyAfterDays: 30 } } : {}),
          VersionIdsToStages: Object.fromEntries(
            s.versions.filter((v) => v.stages.length > 0).map((v) => [v.id, [...v.stages]]),
          ),
          Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
          CreatedDate: new Date(s.created),
          LastChangedDate: new Date(s.lastChanged),
          ...(s.lastRotated ? { LastRotatedDate: new Date(s.lastRotated) } : {}),
          ...(s.kmsKeyId ? { KmsKeyId: s.kmsKeyId } : {}),
        };
      }
      case 'GetSecretValue': {
        const s = this.find(input.SecretId as string);
        const versionId = input.VersionId as string | undefined;
        const stage = (input.VersionStage as string | undefined) ?? (versionId ? undefined : 'AWSCURRENT');
        const v = s.versions.find(
          (x) =>
            (versionId === undefined || x.id === versionId) &&
            (stage === undefined || x.stages.includes(stage)),
        );
        if (!v || v.value === undefined) {
          throw new ResourceNotFoundException({
            message:
              "Secrets Manager can't find the specified secret value for staging label: " + (stage ?? ''),
            ...meta,
          });
        }
        return {
          ARN: s.arn,
          Name: s.name,
          VersionId: v.id,
          SecretString: v.value,
          VersionStages: [...v.stages],
          CreatedDate: new Date(v.created),
        };
      }
      case 'PutSecretValue': {
        const s = this.find(input.SecretId as string);
        const token = (input.ClientRequestToken as string | undefined) ?? this.newToken();
        const value = input.SecretString as string;
        const stages = (input.VersionStages as string[] | undefined) ?? ['AWSCURRENT'];
        let v = s.versions.find((x) => x.id === token);
        if (v?.value !== undefined) {
          if (v.value !== value) {
            throw new ResourceExistsException({
              message: `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret ${s.arn}.`,
              ...meta,
            });
          }
          return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages] };
        }
        // A version written outside the rotation abandons it: the service removes AWSPENDING.
        const pending = this.pending(s);
        if (pending && pending.id !== token) {
          pending.stages = pending.stages.filter((x) => x !== 'AWSPENDING');
          this.mutations += 1;
          this.env.trace(
            'secrets-manager',
            `${s.name}: rotation ${short(pending.id)} abandoned by a manual write`,
          );
        }
        if (!v) {
          v = { id: token, value, stages: [], created: now };
          s.versions.push(v);
        } else v.value = value;
        v.writtenAt = now;
        this.mutations += 1;
        for (const stage of stages) this.moveStage(s, stage, v);
        s.lastChanged = now;
        return { ARN: s.arn, Name: s.name, VersionId: v.id, VersionStages: [...v.stages] };
      }
      case 'UpdateSecretVersionStage': {
        const s = this.find(input.SecretId as string);
        const stage = input.VersionStage as string;
        const moveTo = input.MoveToVersionId as string | undefined;
        const removeFrom = input.RemoveFromVersionId as string | undefined;
        const holder = this.version(s, stage);
        if (moveTo !== undefined) {
          const target = s.versions.find((x) => x.id === moveTo);
          if (!target) throw new ResourceNotFoundException({ message: 'version not found', ...meta });
          if (holder && holder !== target && holder.id !== removeFrom) {
            throw new InvalidParameterException({
              message: `The staging label ${stage} is currently attached to version ${holder.id}, so you must explicitly reference that version in RemoveFromVersionId.`,
              ...meta,
            });
          }
          this.moveStage(s, stage, target);
        } else if (removeFrom !== undefined) {
          const from = s.versions.find((x) => x.id === removeFrom);
          if (from && !from.stages.includes(stage)) {
            throw new InvalidParameterException({
              message: `The staging label ${stage} is not attached to version ${removeFrom}.`,
              ...meta,
            });
          }
          if (from) from.stages = from.stages.filter((x) => x !== stage);
          this.mutations += 1;
        }
        s.lastChanged = now;
        if (stage === 'AWSCURRENT' && moveTo) s.lastRotated = now;
        return { ARN: s.arn, Name: s.name };
      }
      case 'ListSecrets': {
        const filters = (input.Filters as { Key: string; Values: string[] }[] | undefined) ?? [];
        const prefix = filters.find((f) => f.Key === 'name')?.Values?.[0] ?? '';
        const list = [...this.secrets.values()]
          .filter((s) => s.name.startsWith(prefix))
          .filter((s) =>
            filters
              .filter((f) => f.Key === 'tag-key')
              .every((f) => f.Values.some((k) => s.tags[k] !== undefined)),
          )
          .filter((s) =>
            filters
              .filter((f) => f.Key === 'tag-value')
              .every((f) => f.Values.some((val) => Object.values(s.tags).includes(val))),
          )
          .map((s) => ({
            ARN: s.arn,
            Name: s.name,
            RotationEnabled: s.rotationEnabled,
            ...(s.rotationLambdaArn ? { RotationLambdaARN: s.rotationLambdaArn } : {}),
            Tags: Object.entries(s.tags).map(([Key, Value]) => ({ Key, Value })),
            SecretVersionsToStages: Object.fromEntries(
              s.versions.filter((v) => v.stages.length > 0).map((v) => [v.id, [...v.stages]]),
            ),
            CreatedDate: new Date(s.created),
            LastChangedDate: new Date(s.lastChanged),
          }));
        return { SecretList: list };
      }
      case 'ListSecretVersionIds': {
        const s = this.find(input.SecretId as string);
        return {
          ARN: s.arn,
          Name: s.name,
          Versions: s.versions
            .filter((v) => v.stages.length > 0 || input.IncludeDeprecated)
            .map((v) => ({
              VersionId: v.id,
              VersionStages: [...v.stages],
              CreatedDate: new Date(v.created),
            })),
        };
      }
      case 'CreateSecret': {
        const secretName = input.Name as string;
        if (this.secrets.has(secretName)) {
          throw new ResourceExistsException({
            message: `The operation failed because the secret ${secretName} already exists.`,
            ...meta,
          });
        }
        const tags = Object.fromEntries(
          ((input.Tags as { Key: string; Value: string }[] | undefined) ?? []).map((t) => [t.Key, t.Value]),
        );
        const s = this.create(secretName, input.SecretString as string, tags);
        s.kmsKeyId = input.KmsKeyId as string | undefined;
        return { ARN: s.arn, Name: s.name, VersionId: s.versions[0]?.id };
      }
      case 'TagResource': {
        const s = this.find(input.SecretId as string);
        for (const tag of (input.Tags as { Key: string; Value: string }[]) ?? []) s.tags[tag.Key] = tag.Value;
        return {};
      }
      case 'UntagResource': {
        const s = this.find(input.SecretId as string);
        for (const key of (input.TagKeys as string[]) ?? []) delete s.tags[key];
        return {};
      }
      case 'UpdateSecret': {
        const s = this.find(input.SecretId as string);
        if (input.KmsKeyId) s.kmsKeyId = input.KmsKeyId as string;
        if (input.SecretString !== undefined) {
          return this.#handle('PutSecretValue', { SecretId: s.arn, SecretString: input.SecretString });
        }
        return { ARN: s.arn, Name: s.name };
      }
      case 'GetResourcePolicy': {
        const s = this.find(input.SecretId as string);
        return { ARN: s.arn, Name: s.name };
      }
      case 'RotateSecret': {
        const s = this.find(input.SecretId as string);
        if (input.RotationLambdaARN) s.rotationLambdaArn = input.RotationLambdaARN as string;
        if (!s.rotationLambdaArn) {
          throw new InvalidRequestException({
            message: 'No Lambda rotation function ARN is associated with this secret.',
            ...meta,
          });
        }
        s.rotationEnabled = true;
        const pending = this.pending(s);
        if (pending) {
          this.rotationStarter?.(s, pending.id, 'resume');
          throw new InvalidRequestException({
            message: "A previous rotation isn't complete. That rotation will be reattempted.",
            ...meta,
          });
        }
        if (input.RotateImmediately === false) return { ARN: s.arn, Name: s.name };
        const token = (input.ClientRequestToken as string | undefined) ?? this.newToken();
        const v: SmVersion = { id: token, value: undefined, stages: [], created: now };
        s.versions.push(v);
        this.moveStage(s, 'AWSPENDING', v);
        this.rotationStarter?.(s, token, 'new');
        return { ARN: s.arn, Name: s.name, VersionId: token };
      }
      default:
        throw new Error(`sim: Secrets Manager ${name} is not modelled`);
    }
  }
}

export function short(id: string): string {
  return id.slice(0, 8);
}

/** One real client per process of the simulator (building one is costly); each caller gets its own `send`. */
let secretsmanagerclientBase: SecretsManagerClient | undefined;
