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
import type { CliDeps } from './deps.js';
import { CliError } from './errors.js';

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
    throw new CliError(
      `${what} needs confirmation, but stdin is not a terminal`,
      'nothing was changed; re-run with --yes to carry out the plan above',
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
