/**
 * The Secrets Manager adapter for moto (the local world), where it differs from Secrets Manager.
 */
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { Redactor } from '../lib/redact.js';
import { AWSCURRENT, SecretsStore, versionWithStage } from '../lib/secrets/secrets-store.js';

export class MotoSecretsStore extends SecretsStore {
  /**
   * moto's PutSecretValue moves AWSCURRENT off the version it last created, not off the labelled one
   * (UpdateSecretVersionStage, as used by every rotation, does not tell it): after a rotation it would leave
   * two AWSCURRENT versions. So here: store the version unlabelled (Secrets Manager itself refuses an empty
   * VersionStages), then move AWSCURRENT to it from the labelled current.
   */
  override async putCurrent(secretId: string, secretString: string): Promise<string | undefined> {
    const current = versionWithStage(await this.describe(secretId), AWSCURRENT);
    const out = await this.client
      .send(new PutSecretValueCommand({ SecretId: secretId, SecretString: secretString, VersionStages: [] }))
      .catch((error: unknown) => {
        throw Redactor.none.secret(secretString).error(error);
      });
    if (out.VersionId) await this.promote(secretId, out.VersionId, current);
    return out.VersionId;
  }
}
