/**
 * The rotation ledger as the operator CLI uses it: read an owner's record, and write a binding only with
 * proof of possession (the secret holds PingOne's current secret, read as the worker app) and, when it moves
 * a binding away from another secret, the operator's confirmation.
 */
import { type LedgerCallOptions, ledgerFromConfig, type RotationLedger } from '../lib/ledger/ledger.js';
import {
  type BindingHow,
  intentIsLive,
  intentSettlesAt,
  type LedgerRecord,
  withBinding,
} from '../lib/ledger/record.js';
import { describeOwner } from '../lib/owner.js';
import type { SecretOwner } from '../lib/pingone/types.js';
import { type CliDeps, secretsOf } from './deps.js';
import { CliError, UsageError } from './errors.js';
import { line } from './format.js';

export interface CliLedger {
  readonly ledger: RotationLedger;
  readonly options: () => LedgerCallOptions;
}

/** The ledger table from the function's configuration (ROTATION_LEDGER_TABLE / --ledger-table). */
export function cliLedger(deps: CliDeps): CliLedger {
  return {
    ledger: ledgerFromConfig(deps.dynamodb, deps.config()),
    options: () => ({ deadline: deps.now() + 15_000, now: deps.now, consequence: 'Nothing was changed' }),
  };
}

/** Refuses while a rotation of the owner may have a regenerate in flight: its intent must not be cleared. */
export function assertNoLiveIntent(record: LedgerRecord | undefined, owner: SecretOwner, now: number): void {
  const intent = record?.intent;
  if (intentIsLive(intent, now)) {
    throw new CliError(
      `a rotation of ${describeOwner(owner)} (version ${intent.token} of ${intent.secretArn}) began a ` +
        `regenerate at ${intent.startedAt} that may still be in flight`,
      `nothing was changed; run this again after ${intentSettlesAt(intent).toISOString()}`,
    );
  }
}

/** Asks (or takes --yes); throws when no one can be asked or the answer is not yes. */
export async function confirm(deps: CliDeps, yes: boolean | undefined, what: string): Promise<void> {
  if (yes) return;
  if (!deps.prompt) {
    // No one to ask: a missing flag, so a usage error (exit 2) naming it.
    throw new UsageError(
      `${what} needs confirmation, but stdin is not a terminal`,
      'nothing was changed; re-run with --yes to carry out the plan above',
      { setting: '--yes' },
    );
  }
  const answer = (await deps.prompt('Proceed? [y/N] ')).trim();
  if (!/^y(es)?$/i.test(answer)) throw new CliError(`${what} cancelled`, 'nothing was changed');
}

/**
 * Writes the binding of `owner` to `secretArn` (conditional on the record read before: a concurrent change
 * refuses). The caller has proven that the secret holds PingOne's current secret.
 */
export async function writeBinding(
  cli: CliLedger,
  owner: SecretOwner,
  record: LedgerRecord | undefined,
  secretArn: string,
  how: BindingHow,
  now: number,
): Promise<void> {
  const base = record ?? { rev: 0, binding: undefined, intent: undefined, history: [] };
  const next = withBinding(base, { secretArn, now, how, region: owner.region });
  if ((await cli.ledger.write(owner, next, cli.options())) === 'conflict') {
    throw new CliError(
      `the rotation ledger record of ${describeOwner(owner)} changed meanwhile (a rotation or another operator)`,
      'the binding was not written; run the command again',
    );
  }
}

/** Who besides IAM principals of the account can read a secret: its resource policy and its KMS key. */
export interface SecretReaders {
  /** Principals the secret's resource policy allows (Allow statements), sorted; empty without a policy. */
  readonly principals: readonly string[];
  /** `aws/secretsmanager` (the AWS managed key) or the customer key's id/ARN. */
  readonly kmsKey: string;
  /** One line naming both, which `--accept-readers` must repeat to confirm without a terminal. */
  readonly spec: string;
}

/** Reads the secret's resource policy (GetResourcePolicy) and KMS key (DescribeSecret). */
async function secretReaders(deps: CliDeps, secretId: string): Promise<SecretReaders> {
  const sm = secretsOf(deps);
  const [policy, described] = await Promise.all([sm.resourcePolicy(secretId), sm.describe(secretId)]);
  const principals = new Set<string>();
  if (policy) {
    let document: unknown;
    try {
      document = JSON.parse(policy);
    } catch {
      principals.add('(a resource policy that is not JSON)');
    }
    const statements = (document as { Statement?: unknown })?.Statement;
    for (const statement of Array.isArray(statements) ? statements : statements ? [statements] : []) {
      const st = statement as { Effect?: string; Principal?: unknown; NotPrincipal?: unknown };
      if (st.Effect !== 'Allow') continue;
      if (st.NotPrincipal !== undefined) principals.add('* (NotPrincipal: everyone but the listed)');
      const principal = st.Principal;
      if (typeof principal === 'string') principals.add(principal);
      else if (principal && typeof principal === 'object') {
        for (const value of Object.values(principal as Record<string, unknown>)) {
          for (const p of Array.isArray(value) ? value : [value]) principals.add(String(p));
        }
      }
    }
  }
  const key = described.kmsKeyId;
  const kmsKey =
    key === undefined || key === '' || /alias\/aws\/secretsmanager$/.test(key) ? 'aws/secretsmanager' : key;
  const sorted = [...principals].sort();
  return {
    principals: sorted,
    kmsKey,
    spec: `policy=${sorted.length ? sorted.join(',') : 'none'};kms=${kmsKey}`,
  };
}

/**
 * Before a PingOne secret goes into `secretName` (onboard --force, rebind): says who else can read it and
 * asks. Without a terminal, `--accept-readers` must name exactly what was found (SecretReaders.spec), so a
 * script accepts a known set of readers, never whatever the secret has by then.
 */
export async function confirmReaders(
  deps: CliDeps,
  secretName: string,
  arn: string,
  acceptReaders: string | undefined,
  what: string,
): Promise<void> {
  const readers = await secretReaders(deps, arn);
  const policy =
    readers.principals.length === 0
      ? 'no resource policy (only IAM principals of this account whose own policies allow it)'
      : `a resource policy allowing ${readers.principals.join(', ')}`;
  const kms =
    readers.kmsKey === 'aws/secretsmanager'
      ? 'the AWS managed key aws/secretsmanager (this account only)'
      : `the customer key ${readers.kmsKey} (whoever its key policy lets decrypt, other accounts included if it says so)`;
  line(
    deps.out,
    `Who can read ${secretName}: ${policy}; encrypted with ${kms}. PingOne's current secret goes into it: ` +
      "make sure this secret is the owner's, not one planted for it.",
  );
  if (acceptReaders !== undefined) {
    if (acceptReaders === readers.spec) return;
    throw new CliError(
      `${what}: --accept-readers '${acceptReaders}' does not match who can read ${secretName} ('${readers.spec}')`,
      'nothing was changed; check the readers above, then pass exactly what was found',
    );
  }
  if (!deps.prompt) {
    throw new UsageError(
      `${what} writes PingOne's current secret into ${secretName}, which needs confirmation of who can read it, but stdin is not a terminal`,
      `nothing was changed; if these readers are right, re-run with --accept-readers '${readers.spec}'`,
      { setting: '--accept-readers' },
    );
  }
  const answer = (await deps.prompt(`Write PingOne's current secret into ${secretName}? [y/N] `)).trim();
  if (!/^y(es)?$/i.test(answer)) throw new CliError(`${what} cancelled`, 'nothing was changed');
}
