/**
 * duplicate-owner for one secret (`pingone-rotation status`): which other secrets name the same PingOne
 * owner. The fleet auditor compares every secret it audits; a single-secret check cannot afford that, so it
 * asks Secrets Manager for the secrets tagged with the owner's id (`onboard` tags pingone:resource-id /
 * pingone:application-id) and confirms each by reading its AWSCURRENT. Untagged duplicates are found only by
 * the auditor.
 */
import {
  GetSecretValueCommand,
  ListSecretsCommand,
  type ListSecretsCommandOutput,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parseSecretValue } from '../secret-value.js';
import type { StatusReport } from './model.js';

/** Names of the other secrets whose AWSCURRENT names the same PingOne owner as `report`. */
export async function otherSecretsNamingOwner(
  sm: SecretsManagerClient,
  report: StatusReport,
  options: { maxCandidates?: number } = {},
): Promise<string[]> {
  try {
    return await lookUp(sm, report, options);
  } catch {
    // Best effort: a role without ListSecrets (or an odd answer) must not fail the status check itself.
    return [];
  }
}

async function lookUp(
  sm: SecretsManagerClient,
  report: StatusReport,
  options: { maxCandidates?: number } = {},
): Promise<string[]> {
  const p = report.pingone;
  const kind = p?.kind ?? 'resource';
  const ownerId = kind === 'application' ? p?.applicationId : p?.resourceId;
  if (!p || ownerId === undefined) return [];
  const id = ownerId.toLowerCase();
  const candidates: { arn: string; name: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page: ListSecretsCommandOutput = await sm.send(
      new ListSecretsCommand({
        MaxResults: 100,
        Filters: [{ Key: 'tag-value', Values: [ownerId] }],
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    for (const entry of page?.SecretList ?? []) {
      if (entry.ARN && entry.ARN !== report.secret.arn && !entry.DeletedDate) {
        candidates.push({ arn: entry.ARN, name: entry.Name ?? entry.ARN });
      }
    }
    nextToken = page?.NextToken;
  } while (nextToken && candidates.length < (options.maxCandidates ?? 50));
  const others: string[] = [];
  for (const candidate of candidates.slice(0, options.maxCandidates ?? 50)) {
    try {
      const out = await sm.send(
        new GetSecretValueCommand({ SecretId: candidate.arn, VersionStage: 'AWSCURRENT' }),
      );
      const value = parseSecretValue(out.SecretString, 'AWSCURRENT');
      if (
        value.kind === kind &&
        value.ownerId === id &&
        value.environmentId.toLowerCase() === p.environmentId.toLowerCase()
      ) {
        others.push(candidate.name);
      }
    } catch {
      // Not readable or not a secret of ours: it cannot be a duplicate we can prove.
    }
  }
  return others.sort();
}
