import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { Redactor } from '../redact.js';

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

export interface SecretDescription {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  /** Version id → staging labels. Versions without labels are not listed by Secrets Manager. */
  readonly versions: Readonly<Record<string, readonly string[]>>;
  readonly tags: Readonly<Record<string, string>>;
}

/** The outcome of storing a pending version. */
export type PutPendingResult = 'stored' | 'already-exists';

/**
 * The Secrets Manager calls the rotation needs, on an injected SDK client (whose own retry and endpoint
 * handling apply: AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_MAX_ATTEMPTS, …).
 *
 * SDK errors leave through the redactor: AWS validation errors quote request values (`Value '…' at
 * 'secretString' failed to satisfy constraint`), so PutSecretValue's failure is scrubbed of the secret
 * string, every string inside it and the RotationToken.
 */
export class SecretsStore {
  readonly #client: SecretsManagerClient;

  constructor(client: SecretsManagerClient) {
    this.#client = client;
  }

  async describe(secretId: string): Promise<SecretDescription> {
    const out = await scrubbed(Redactor.none, () =>
      this.#client.send(new DescribeSecretCommand({ SecretId: secretId })),
    );
    return {
      arn: out.ARN ?? secretId,
      name: out.Name ?? secretId,
      rotationEnabled: out.RotationEnabled === true,
      versions: out.VersionIdsToStages ?? {},
      tags: Object.fromEntries((out.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])),
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
      const out = await scrubbed(Redactor.none, () =>
        this.#client.send(
          new GetSecretValueCommand({
            SecretId: secretId,
            VersionStage: selector.stage,
            ...(selector.versionId ? { VersionId: selector.versionId } : {}),
          }),
        ),
      );
      return out.SecretString;
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
        this.#client.send(
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
      this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: AWSCURRENT,
          MoveToVersionId: token,
          ...(currentVersionId ? { RemoveFromVersionId: currentVersionId } : {}),
        }),
      ),
    );
  }
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

/** The version that carries `stage`, if any. */
export function versionWithStage(description: SecretDescription, stage: string): string | undefined {
  return Object.entries(description.versions).find(([, stages]) => stages.includes(stage))?.[0];
}
