/**
 * createSecret's ledger writes for one invocation (lib/rotation/create-secret.ts): the regenerate intent,
 * the check that an adopted regenerate is this function's own, and the run's informational notes.
 */
import {
  RegenerateInFlightError,
  RetirementInProgressError,
  RotationError,
  UnexplainedRegenerateError,
} from '../errors.js';
import {
  EMPTY_RECORD,
  intentIsLive,
  intentSettlesAt,
  type LedgerRecord,
  MAX_POST_WINDOW_MS,
  retirementIsLive,
  retirementSettlesAt,
  unfinishedRuns,
  withFailed,
  withRegenerated,
  withRegenerateIntent,
} from '../ledger/record.js';
import { describeOwner } from '../owner.js';
import type { PingOneSecretState, SecretOwner } from '../pingone/types.js';
import type { SecretDescription } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import { ledgerOptions, readOwnLedgerRecord } from './reads.js';

/**
 * This invocation's view of the owner's ledger record, and the writes createSecret makes to it: the intent
 * (conditional on the record it decided from), and the regenerate once PingOne holds the new secret.
 */
export class LedgerProgress {
  #record: LedgerRecord | undefined;

  constructor(
    private readonly deps: RotationDeps,
    private readonly owner: SecretOwner,
    private readonly description: SecretDescription,
    private readonly token: string,
    record: LedgerRecord | undefined,
  ) {
    this.#record = record;
  }

  private get secretArn(): string {
    return this.description.arn;
  }

  /**
   * Adopting is allowed only when the ledger records an unfinished regenerate by this function for this
   * secret (any of its rotations: an abandoned rotation followed by a new one still adopts). The record is
   * read again before refusing: another container may have recorded its intent after this one first read it.
   */
  async assertOwnRegenerate(state: PingOneSecretState): Promise<void> {
    if (unfinishedRuns(this.#record, this.secretArn).length > 0) return;
    this.#record = await readOwnLedgerRecord(this.deps, this.owner, this.secretArn);
    if (unfinishedRuns(this.#record, this.secretArn).length > 0) return;
    this.deps.metrics.count('UnexplainedRegenerate');
    throw new UnexplainedRegenerateError(
      `AWSCURRENT's clientSecret is the previous secret of ${describeOwner(this.owner)} ` +
        `(valid until ${state.previous?.expiresAt ?? 'unknown'}): PingOne was regenerated, but the rotation ` +
        `ledger records no regenerate by this function for secret ${this.secretArn}, so PingOne's new secret ` +
        'is not adopted and nothing was stored. Someone regenerated it outside this function (PingOne console, ' +
        'API), or another secret did before it was bound. If this secret should hold the new secret, an ' +
        `operator re-onboards it: \`pingone-rotation onboard --force --secret-name ${this.description.name} ` +
        `--environment-id ${this.owner.environmentId} --resource-id ${this.owner.id}\`, then rotates again`,
    );
  }

  /**
   * Records the intent to regenerate, claiming the owner for this secret if it is unbound (AWSCURRENT is
   * PingOne's current secret: proof of possession). Refused while a regenerate of this owner may still be in
   * flight, and when the record changed since this invocation read it. Returns the time by which every POST
   * of this intent must be done.
   *
   * `readAt` is when the PingOne read this decision rests on began. An earlier intent must have settled by
   * then, not merely by now: a POST landing between that read and now (a proxy that answered 503 and
   * committed a second later) would otherwise be regenerated over.
   */
  async recordIntent(readAt: number): Promise<number> {
    const { deps } = this;
    const now = deps.now();
    const intent = this.#record?.intent;
    if (intentIsLive(intent, Math.min(readAt, now))) {
      const settles = intentSettlesAt(intent).toISOString();
      throw new RegenerateInFlightError(
        intent.token === this.token
          ? `${describeOwner(this.owner)}: this rotation (version ${this.token}) began a regenerate at ` +
              `${intent.startedAt} that may still be in flight at PingOne until ${settles}, and PingOne shows no ` +
              'change yet; nothing was sent again. A retry after that time re-reads PingOne: it adopts the new ' +
              'secret if the request landed, or regenerates once if it did not'
          : `${describeOwner(this.owner)}: rotation version ${intent.token} of secret ${intent.secretArn} began a ` +
              `regenerate at ${intent.startedAt} that may still be in flight until ${settles}; this rotation ` +
              `(version ${this.token}) sent nothing to PingOne. A retry after that time re-reads PingOne`,
      );
    }
    this.#assertNoRetirement(now);
    const postUntil = Math.min(deps.deadline, now + MAX_POST_WINDOW_MS);
    const next = withRegenerateIntent(this.#record ?? EMPTY_RECORD, {
      secretArn: this.secretArn,
      token: this.token,
      now,
      postUntil,
      region: this.owner.region,
    });
    // Conditional on no live early retirement too: the auditor takes its intent without the revision.
    const written = await deps.ledger.write(this.owner, next, {
      ...ledgerOptions(deps),
      unlessRetiring: true,
    });
    if (written === 'conflict') {
      this.#record = await readOwnLedgerRecord(deps, this.owner, this.secretArn);
      this.#assertNoRetirement(deps.now());
      throw new RegenerateInFlightError(
        `${describeOwner(this.owner)}: its rotation ledger record changed while this rotation (version ` +
          `${this.token}) was deciding (another invocation is rotating it, or an operator moved the binding); ` +
          'nothing was sent to PingOne. The retry reads the ledger and PingOne again',
      );
    }
    const claimed = this.#record?.binding === undefined;
    this.#record = { ...next, rev: next.rev + 1 };
    deps.logger.info(
      claimed ? 'owner bound to this secret; regenerate intent recorded' : 'regenerate intent recorded',
    );
    return postUntil;
  }

  /** Refuses while the fleet auditor may be deleting PingOne's previous secret (lib/audit/retire.ts). */
  #assertNoRetirement(now: number): void {
    const retirement = this.#record?.retirement;
    if (!retirementIsLive(retirement, now)) return;
    throw new RetirementInProgressError(
      `${describeOwner(this.owner)}: the fleet auditor began retiring PingOne's previous secret early at ` +
        `${retirement.startedAt} (its DELETE may be in flight until ${retirementSettlesAt(retirement).toISOString()}); ` +
        `a regenerate now could make that DELETE remove the secret AWSCURRENT holds, so this rotation (version ` +
        `${this.token}) sent nothing to PingOne. Secrets Manager's retry after that time goes on`,
    );
  }

  /**
   * Closes this rotation's run as failed and clears its intent: PingOne itself refused the regenerate (its own
   * 4xx document), so nothing of this run can land. Without it, a later regenerate by someone else (the
   * console) would be adopted as this function's own. A ledger failure here is logged; the run then stays
   * unfinished, as before.
   */
  async recordFailed(): Promise<void> {
    const { deps } = this;
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const record = this.#record ?? EMPTY_RECORD;
        const next = withFailed(record, { secretArn: this.secretArn, token: this.token, now: deps.now() });
        if (next === record) return;
        if ((await deps.ledger.write(this.owner, next, ledgerOptions(deps))) === 'written') {
          this.#record = { ...next, rev: next.rev + 1 };
          deps.logger.info('rotation run closed as failed in the ledger: PingOne refused the regenerate');
          return;
        }
        this.#record = await readOwnLedgerRecord(deps, this.owner, this.secretArn);
      }
      deps.logger.warn('failed run not recorded in the ledger: the record kept changing');
    } catch (error) {
      deps.logger.warn('failed run not recorded in the ledger', {
        errorCode: error instanceof RotationError ? error.code : (error as Error)?.name,
      });
    }
  }

  /**
   * Notes that PingOne holds this rotation's new secret, once AWSPENDING holds it. Informational (adopting
   * relies on the intent written before the POST; finishSecret closes the run either way), so a failure here
   * is logged and the step still succeeds.
   */
  async recordRegenerated(): Promise<void> {
    const { deps } = this;
    try {
      for (let attempt = 1; attempt <= 3; attempt++) {
        const record = this.#record ?? EMPTY_RECORD;
        const next = withRegenerated(record, {
          secretArn: this.secretArn,
          token: this.token,
          now: deps.now(),
        });
        if (next === record) return;
        if ((await deps.ledger.write(this.owner, next, ledgerOptions(deps))) === 'written') {
          this.#record = { ...next, rev: next.rev + 1 };
          return;
        }
        this.#record = await readOwnLedgerRecord(deps, this.owner, this.secretArn);
      }
      deps.logger.warn('regenerate not recorded in the ledger: the record kept changing');
    } catch (error) {
      deps.logger.warn('regenerate not recorded in the ledger', {
        errorCode: error instanceof RotationError ? error.code : (error as Error)?.name,
      });
    }
  }
}
