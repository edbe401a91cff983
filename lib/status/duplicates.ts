/**
 * duplicate-owner for one secret (`pingone-rotation status`): which other secrets name the same PingOne
 * owner. The fleet auditor compares every secret it audits; a single-secret check cannot afford that, so it
 * asks Secrets Manager for the secrets tagged with the owner's id (`onboard` tags pingone:resource-id /
 * pingone:application-id) and confirms each by reading its AWSCURRENT. Untagged duplicates are found only by
 * the auditor.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { parseSecretValue } from '../secret-value.js';
import { AWSCURRENT, SecretsStore } from '../secrets/secrets-store.js';
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
  const secrets = new SecretsStore(sm);
  const candidates: { arn: string; name: string }[] = [];
  const pages = secrets.listSecrets([{ Key: 'tag-value', Values: [ownerId] }], { maxResults: 100 });
  for await (const page of pages) {
    for (const entry of page) {
      if (entry.ARN && entry.ARN !== report.secret.arn && !entry.DeletedDate) {
        candidates.push({ arn: entry.ARN, name: entry.Name ?? entry.ARN });
      }
    }
    if (candidates.length >= (options.maxCandidates ?? 50)) break;
  }
  const others: string[] = [];
  for (const candidate of candidates.slice(0, options.maxCandidates ?? 50)) {
    try {
      const out = await secrets.getVersion(candidate.arn, { stage: AWSCURRENT });
      const value = parseSecretValue(out.secretString, 'AWSCURRENT');
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
