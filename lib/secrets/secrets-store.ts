/**
 * The Secrets Manager adapter: every Secrets Manager command the function, the auditor, the CLI and the local
 * world send goes through SecretsStore (test/unit/secrets/adapter-only.test.ts keeps it so). Its answers are
 * mapped once, in description.ts.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  type Filter,
  GetResourcePolicyCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  ListSecretVersionIdsCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  RotateSecretCommand,
  type SecretListEntry,
  type SecretsManagerClient,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateSecretCommand,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { Redactor } from '../redact.js';
import {
  AWSCURRENT,
  AWSPENDING,
  describedSecret,
  type ListedVersion,
  listedVersion,
  type SecretDescription,
  type SecretView,
  secretView,
} from './description.js';

export { ResourceExistsException, ResourceNotFoundException } from '@aws-sdk/client-secrets-manager';
export {
  AWSCURRENT,
  AWSPENDING,
  AWSPREVIOUS,
  type RotationInfo,
  type SecretDescription,
  type SecretView,
  type VersionInfo,
  versionWithStage,
} from './description.js';

/** The outcome of storing a pending version. */
export type PutPendingResult = 'stored' | 'already-exists';

/** Which version to read: by label, by id, or both (the id must then carry the label). */
export interface VersionSelector {
  readonly versionId?: string | undefined;
  readonly stage?: string | undefined;
}

/** GetSecretValue's answer. */
export interface StoredVersion {
  /** Absent for a version without a string value. */
  readonly secretString?: string;
  readonly versionId?: string;
  readonly created?: Date;
}

/** RotateSecret's request: the rotation function and schedule to record, and whether to rotate now. */
export interface RotationRequest {
  /** The ClientRequestToken: the new version's id. */
  readonly token?: string;
  readonly lambdaArn?: string;
  readonly scheduleExpression?: string;
  readonly duration?: string;
  readonly automaticallyAfterDays?: number;
  readonly rotateImmediately?: boolean;
}

/** A secret to create. */
export interface NewSecret {
  readonly name: string;
  readonly secretString: string;
  readonly description?: string;
  readonly tags?: Readonly<Record<string, string>>;
  readonly kmsKeyId?: string | undefined;
}

export class SecretsStore {
  /** The SDK client; protected so the local world's moto store (local/moto-secrets.ts) can work around moto. */
  protected readonly client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.client = client;
  }

  async describe(secretId: string): Promise<SecretDescription> {
    const out = await scrubbed(Redactor.none, () =>
      this.client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    return describedSecret(out, secretId);
  }

  /** Every version ListSecretVersionIds lists (labelled or not), with its dates. */
  async listVersions(secretId: string): Promise<ListedVersion[]> {
    const listed: ListedVersion[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await scrubbed(Redactor.none, () =>
        this.client.send(
          new ListSecretVersionIdsCommand({ SecretId: secretId, MaxResults: 100, NextToken: token }),
        ),
      );
      for (const entry of page.Versions ?? []) {
        const version = listedVersion(entry);
        if (version) listed.push(version);
      }
      nextToken = page.NextToken;
    } while (nextToken);
    return listed;
  }

  /** The secret's labels and versions as the status model, `unstick` and the CLI read them. */
  async view(secretId: string): Promise<SecretView> {
    const description = await this.describe(secretId);
    return secretView(description, await this.listVersions(secretId));
  }

  /**
   * A version's value and creation date (GetSecretValue). Throws ResourceNotFoundException for a version
   * that holds no value (RotateSecret's AWSPENDING placeholder) or does not exist.
   */
  async getVersion(secretId: string, selector: VersionSelector): Promise<StoredVersion> {
    const out = await scrubbed(Redactor.none, () =>
      this.client.send(
        new GetSecretValueCommand({
          SecretId: secretId,
          ...(selector.stage ? { VersionStage: selector.stage } : {}),
          ...(selector.versionId ? { VersionId: selector.versionId } : {}),
        }),
      ),
    );
    return {
      ...(out.SecretString !== undefined ? { secretString: out.SecretString } : {}),
      ...(out.VersionId ? { versionId: out.VersionId } : {}),
      ...(out.CreatedDate ? { created: out.CreatedDate } : {}),
    };
  }

  /**
   * The SecretString of a version, or `undefined` when that version holds no value (RotateSecret's
   * AWSPENDING placeholder) or does not exist.
   */
  async getValue(
    secretId: string,
    selector: { versionId?: string; stage: string },
  ): Promise<string | undefined> {
    try {
      return (await this.getVersion(secretId, selector)).secretString;
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw error;
    }
  }

  /**
   * Stores the pending version under the rotation's token. The token is the idempotency key: a
   * `ResourceExistsException` means a version with this token already holds a value.
   */
  async putPending(
    secretId: string,
    token: string,
    secretString: string,
    rotationToken: string | undefined,
  ): Promise<PutPendingResult> {
    const redactor = Redactor.none.secret(secretString, rotationToken, ...stringsIn(secretString));
    try {
      await scrubbed(redactor, () =>
        this.client.send(
          new PutSecretValueCommand({
            SecretId: secretId,
            ClientRequestToken: token,
            SecretString: secretString,
            VersionStages: [AWSPENDING],
            ...(rotationToken ? { RotationToken: rotationToken } : {}),
          }),
        ),
      );
      return 'stored';
    } catch (error) {
      if (error instanceof ResourceExistsException) return 'already-exists';
      throw error;
    }
  }

  /** Moves AWSCURRENT to `token`; Secrets Manager moves AWSPREVIOUS to the old current by itself. */
  async promote(secretId: string, token: string, currentVersionId: string | undefined): Promise<void> {
    await scrubbed(Redactor.none, () =>
      this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: AWSCURRENT,
          MoveToVersionId: token,
          ...(currentVersionId ? { RemoveFromVersionId: currentVersionId } : {}),
        }),
      ),
    );
  }

  /** Removes `stage` from `versionId` (UpdateSecretVersionStage without a move). */
  async removeStage(secretId: string, stage: string, versionId: string): Promise<void> {
    await scrubbed(Redactor.none, () =>
      this.client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: stage,
          RemoveFromVersionId: versionId,
        }),
      ),
    );
  }

  /**
   * Stores `secretString` as a new version that becomes AWSCURRENT (Secrets Manager moves AWSPREVIOUS to the
   * old current). Returns the new version's id.
   */
  async putCurrent(secretId: string, secretString: string): Promise<string | undefined> {
    const out = await scrubbed(secretRedactor(secretString), () =>
      this.client.send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString })),
    );
    return out.VersionId;
  }

  /** CreateSecret; its first version is AWSCURRENT. ResourceExistsException when the name is taken. */
  async create(secret: NewSecret): Promise<{ arn: string; versionId?: string }> {
    const out = await scrubbed(secretRedactor(secret.secretString), () =>
      this.client.send(
        new CreateSecretCommand({
          Name: secret.name,
          ...(secret.description ? { Description: secret.description } : {}),
          SecretString: secret.secretString,
          ...(secret.tags ? { Tags: tagList(secret.tags) } : {}),
          ...(secret.kmsKeyId ? { KmsKeyId: secret.kmsKeyId } : {}),
        }),
      ),
    );
    return { arn: out.ARN ?? secret.name, ...(out.VersionId ? { versionId: out.VersionId } : {}) };
  }

  /** Encrypts the secret's future versions with `kmsKeyId` (UpdateSecret). */
  async setKmsKey(secretId: string, kmsKeyId: string): Promise<void> {
    await scrubbed(Redactor.none, () =>
      this.client.send(new UpdateSecretCommand({ SecretId: secretId, KmsKeyId: kmsKeyId })),
    );
  }

  async tag(secretId: string, tags: Readonly<Record<string, string>>): Promise<void> {
    await scrubbed(Redactor.none, () =>
      this.client.send(new TagResourceCommand({ SecretId: secretId, Tags: tagList(tags) })),
    );
  }

  async untag(secretId: string, keys: readonly string[]): Promise<void> {
    await scrubbed(Redactor.none, () =>
      this.client.send(new UntagResourceCommand({ SecretId: secretId, TagKeys: [...keys] })),
    );
  }

  /** RotateSecret: records the rotation function and schedule given, and (unless told not to) rotates now. */
  async rotate(secretId: string, request: RotationRequest = {}): Promise<void> {
    const rules = {
      ...(request.automaticallyAfterDays ? { AutomaticallyAfterDays: request.automaticallyAfterDays } : {}),
      ...(request.scheduleExpression ? { ScheduleExpression: request.scheduleExpression } : {}),
      ...(request.duration ? { Duration: request.duration } : {}),
    };
    await scrubbed(Redactor.none, () =>
      this.client.send(
        new RotateSecretCommand({
          SecretId: secretId,
          ...(request.token ? { ClientRequestToken: request.token } : {}),
          ...(request.lambdaArn ? { RotationLambdaARN: request.lambdaArn } : {}),
          ...(Object.keys(rules).length > 0 ? { RotationRules: rules } : {}),
          ...(request.rotateImmediately !== undefined
            ? { RotateImmediately: request.rotateImmediately }
            : {}),
        }),
      ),
    );
  }

  /** The secret's resource policy (GetResourcePolicy), if it has one. */
  async resourcePolicy(secretId: string): Promise<string | undefined> {
    const out = await scrubbed(Redactor.none, () =>
      this.client.send(new GetResourcePolicyCommand({ SecretId: secretId })),
    );
    return out.ResourcePolicy;
  }

  /** ListSecrets, one page at a time (deleted secrets included, as Secrets Manager lists them). */
  async *listSecrets(
    filters: readonly Filter[],
    options: { maxResults?: number } = {},
  ): AsyncGenerator<readonly SecretListEntry[]> {
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      const page = await scrubbed(Redactor.none, () =>
        this.client.send(
          new ListSecretsCommand({
            ...(options.maxResults ? { MaxResults: options.maxResults } : {}),
            Filters: [...filters],
            ...(token ? { NextToken: token } : {}),
          }),
        ),
      );
      yield page?.SecretList ?? [];
      nextToken = page?.NextToken;
    } while (nextToken);
  }
}

function tagList(tags: Readonly<Record<string, string>>): { Key: string; Value: string }[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

/** Scrubs a secret's value (and each string in its JSON) from a failed write's error. */
function secretRedactor(secretString: string): Redactor {
  return Redactor.none.secret(secretString, ...stringsIn(secretString));
}

/** Runs one SDK call; its error (class kept, for the callers' instanceof checks) scrubbed by `redactor`. */
async function scrubbed<T>(redactor: Redactor, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw redactor.error(error);
  }
}

/** The string values of a JSON secret (the client secret among them), to redact each on its own. */
function stringsIn(secretString: string): string[] {
  try {
    const doc: unknown = JSON.parse(secretString);
    if (typeof doc !== 'object' || doc === null) return [];
    return Object.values(doc).filter((v): v is string => typeof v === 'string');
  } catch {
    return [];
  }
}
