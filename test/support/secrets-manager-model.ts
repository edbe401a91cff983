import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';

export interface ModelVersion {
  stages: string[];
  value?: string;
}

/**
 * A small in-memory Secrets Manager behind aws-sdk-client-mock: enough of DescribeSecret, GetSecretValue,
 * PutSecretValue and UpdateSecretVersionStage semantics for unit tests to assert on the resulting labels.
 */
export class SecretsManagerModel {
  readonly mock = mockClient(SecretsManagerClient);
  readonly client = new SecretsManagerClient({ region: 'us-east-1' });
  rotationEnabled = true;
  tags: Record<string, string> = {};
  versions: Record<string, ModelVersion> = {};
  /** Make the next PutSecretValue fail after storing (a crash right after the write). */
  failAfterPut: Error | undefined;
  /** Runs before the next PutSecretValue is applied (e.g. another invocation storing the version first). */
  beforePut: (() => void) | undefined;

  constructor(readonly name = 'pingone/app') {
    this.mock.on(DescribeSecretCommand).callsFake(() => ({
      ARN: `arn:aws:secretsmanager:us-east-1:123456789012:secret:${this.name}-AbCdEf`,
      Name: this.name,
      RotationEnabled: this.rotationEnabled,
      VersionIdsToStages: Object.fromEntries(
        Object.entries(this.versions)
          .filter(([, v]) => v.stages.length > 0)
          .map(([id, v]) => [id, [...v.stages]]),
      ),
      Tags: Object.entries(this.tags).map(([Key, Value]) => ({ Key, Value })),
    }));
    this.mock.on(GetSecretValueCommand).callsFake((input) => {
      const entry = Object.entries(this.versions).find(
        ([id, v]) =>
          (input.VersionId === undefined || input.VersionId === id) &&
          (input.VersionStage === undefined || v.stages.includes(input.VersionStage)),
      );
      if (!entry || entry[1].value === undefined) {
        throw new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret value",
          $metadata: {},
        });
      }
      return {
        Name: this.name,
        VersionId: entry[0],
        SecretString: entry[1].value,
        VersionStages: entry[1].stages,
      };
    });
    this.mock.on(PutSecretValueCommand).callsFake((input) => {
      const hook = this.beforePut;
      this.beforePut = undefined;
      hook?.();
      const token = input.ClientRequestToken as string;
      const existing = this.versions[token];
      if (existing?.value !== undefined && existing.value !== input.SecretString) {
        throw new ResourceExistsException({
          message: `You can't use ClientRequestToken ${token} because that value is already in use for a version of secret`,
          $metadata: {},
        });
      }
      const stages = input.VersionStages ?? ['AWSCURRENT'];
      for (const v of Object.values(this.versions)) v.stages = v.stages.filter((s) => !stages.includes(s));
      this.versions[token] = {
        stages: [...new Set([...(existing?.stages ?? []), ...stages])],
        value: input.SecretString,
      };
      if (this.failAfterPut) {
        const error = this.failAfterPut;
        this.failAfterPut = undefined;
        throw error;
      }
      return { VersionId: token };
    });
    this.mock.on(UpdateSecretVersionStageCommand).callsFake((input) => {
      const stage = input.VersionStage as string;
      const holder = Object.entries(this.versions).find(([, v]) => v.stages.includes(stage))?.[0];
      if (holder && holder !== input.MoveToVersionId && holder !== input.RemoveFromVersionId) {
        throw new Error(`stage ${stage} is on ${holder}; RemoveFromVersionId must name it`);
      }
      if (input.RemoveFromVersionId) {
        const v = this.versions[input.RemoveFromVersionId];
        if (v) v.stages = v.stages.filter((s) => s !== stage);
      }
      if (input.MoveToVersionId) {
        const target = this.versions[input.MoveToVersionId];
        if (!target) throw new ResourceNotFoundException({ message: 'no such version', $metadata: {} });
        target.stages.push(stage);
        if (stage === 'AWSCURRENT' && input.RemoveFromVersionId) {
          for (const v of Object.values(this.versions))
            v.stages = v.stages.filter((s) => s !== 'AWSPREVIOUS');
          this.versions[input.RemoveFromVersionId]?.stages.push('AWSPREVIOUS');
        }
      }
      return {};
    });
  }

  /** RotateSecret's state before it invokes the function: an AWSPENDING placeholder with no value. */
  startRotation(token: string): void {
    for (const v of Object.values(this.versions)) v.stages = v.stages.filter((s) => s !== 'AWSPENDING');
    this.versions[token] = { stages: ['AWSPENDING'] };
  }

  current(): { id: string; value: string } {
    const entry = Object.entries(this.versions).find(([, v]) => v.stages.includes('AWSCURRENT'));
    if (!entry || entry[1].value === undefined) throw new Error('no AWSCURRENT');
    return { id: entry[0], value: entry[1].value };
  }

  /** Every write the function sent: PutSecretValue and UpdateSecretVersionStage. */
  writes(): number {
    return (
      this.mock.commandCalls(PutSecretValueCommand).length +
      this.mock.commandCalls(UpdateSecretVersionStageCommand).length
    );
  }

  restore(): void {
    this.mock.restore();
  }
}
