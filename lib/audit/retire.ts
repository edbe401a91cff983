/**
 * Opt-in early retirement (RETIRE_UNUSED_PREVIOUS_AFTER): once a rotation is complete and nobody has used
 * PingOne's previous secret for that long, delete it (PingOne's DELETE removes only the previous secret).
 * The old credential then lives as long as consumers actually need it, not the whole grace period.
 *
 * It deletes only when every condition holds; otherwise it leaves the secret alone and says why.
 */
import { PingOneApiError } from '../errors.js';
import { MAX_RETIRE_WINDOW_MS, SETTLE_MARGIN_MS } from '../ledger/record.js';
import { changeOutcome, DELETE_PREVIOUS_OPERATION } from '../pingone/change-outcome.js';
import type { PingOneRegion } from '../pingone/regions.js';
import type { PingOneSecretState, SecretOwner } from '../pingone/types.js';
import { redactText } from '../redact.js';
import type { StatusPingOne, StatusReport } from '../status/model.js';
import { oneLine } from '../status/text.js';

/**
 * The rotation ledger, as retirement needs it (lib/audit/ledger-retirement.ts). The ledger is written only by
 * the rotation function, the CLI and, in attributes of its own, the auditor; unlike a secret's contents
 * (which anyone with write access to the secret controls) it proves which secret owns which PingOne owner.
 */
export interface RetirementLedger {
  /**
   * Takes the owner's retirement intent for `secretArn`, the secret the ledger must bind to the owner: from
   * then until `deleteUntil` plus the settle margin (or `end`) no rotation sends a regenerate for the owner.
   * Refused (with why) when the ledger binds the owner to no or another secret, or a regenerate or another
   * retirement may be in flight.
   */
  begin(
    owner: SecretOwner,
    args: { readonly secretArn: string; readonly deleteUntil: number },
  ): Promise<RetirementHold | { readonly refused: string }>;
  /** Clears the intent (if still this one) and, with `entry`, records that the previous secret was retired. */
  end(owner: SecretOwner, hold: RetirementHold, entry?: RetirementEntry): Promise<void>;
}

export interface RetirementHold {
  readonly token: string;
  /** Epoch ms: every PingOne call of the retirement is sent and given up on by then. */
  readonly deleteUntil: number;
}

export interface RetirementEntry {
  readonly secretArn: string;
  readonly at: string;
  readonly previousExpiresAt: string;
  readonly previousLastUsed?: string | undefined;
  /** Set when the DELETE's own answer was lost and a re-read showed the previous secret gone. */
  readonly confirmedBy?: 'read' | undefined;
}

export type RetirementOutcome =
  | {
      readonly secret: string;
      readonly outcome: 'retired';
      readonly previousExpiresAt: string;
      /** The DELETE's answer was lost; PingOne, read again, holds no previous secret. */
      readonly confirmedBy?: 'read';
    }
  | {
      readonly secret: string;
      readonly outcome: 'kept';
      readonly why: string;
      /** The DELETE was sent and PingOne itself answered that it did nothing (408/429/500/503). */
      readonly deleteNotApplied?: true;
    }
  | { readonly secret: string; readonly outcome: 'failed'; readonly error: string };

export interface RetireDeps {
  readonly pingone: StatusPingOne;
  readonly ledger: RetirementLedger | undefined;
  readonly now: () => number;
  readonly deadline: number;
}

/**
 * Why the previous secret of this report's secret must be kept, or undefined when it may be retired:
 * - the verdict is healthy: the rotation is complete (no AWSPENDING), AWSCURRENT is PingOne's current
 *   secret, rotation is enabled, no other secret names the owner;
 * - PingOne holds an unexpired previous secret, and AWSPREVIOUS holds it (it is the one the rotation replaced);
 * - it has not been used for `afterMs`: since its last use or, never used, since AWSCURRENT was created.
 */
export function keepReason(report: StatusReport, afterMs: number, now: number): string | undefined {
  if (report.verdict !== 'healthy') return `the verdict is ${report.verdict}, not healthy`;
  const previous = report.pingone?.previous;
  if (!previous) return 'PingOne holds no previous secret';
  const expiresAt = Date.parse(previous.expiresAt);
  if (!(expiresAt > now)) return 'the previous secret has expired';
  if (!previous.heldBy.includes('AWSPREVIOUS')) {
    return "AWSPREVIOUS does not hold PingOne's previous secret (it is not the one this rotation replaced)";
  }
  if (previous.inUse) return 'the previous secret is in use';
  const currentCreated = report.versions.find((v) => v.stages.includes('AWSCURRENT'))?.created;
  const since = Math.max(
    previous.lastUsed ? latestInSecond(previous.lastUsed) : Number.NEGATIVE_INFINITY,
    currentCreated ? latestInSecond(currentCreated) : Number.NEGATIVE_INFINITY,
  );
  if (!Number.isFinite(since)) return 'when the previous secret was last used or replaced is unknown';
  if (now - since < afterMs) {
    return previous.lastUsed
      ? `the previous secret was used less than RETIRE_UNUSED_PREVIOUS_AFTER ago (${previous.lastUsed})`
      : `the rotation is less than RETIRE_UNUSED_PREVIOUS_AFTER old (${currentCreated})`;
  }
  return undefined;
}

/**
 * The latest instant a report's time may stand for. A report gives whole seconds, rounded down (PingOne's
 * `lastUsed` of 12:00:00.900 reads 12:00:00), so a use is taken as late as its second allows: judged from the
 * rounded-down time, a secret last used 59 min 59.1 s ago would pass for unused for an hour.
 */
function latestInSecond(time: string): number {
  const ms = Date.parse(time);
  return Math.floor(ms / 1000) * 1000 + 999;
}

/** Retires the previous secret of `report`'s owner when every condition holds; undefined when not eligible at all. */
export async function retireIfUnused(
  deps: RetireDeps,
  report: StatusReport,
  afterMs: number,
): Promise<RetirementOutcome | undefined> {
  const p = report.pingone;
  if (!p?.previous) return undefined;
  const secret = report.secret.name;
  const now = deps.now();
  const why = keepReason(report, afterMs, now);
  if (why) return { secret, outcome: 'kept', why };
  const ownerId = p.kind === 'application' ? p.applicationId : p.resourceId;
  if (ownerId === undefined) return undefined;
  const owner: SecretOwner = {
    kind: p.kind,
    environmentId: p.environmentId,
    id: ownerId,
    region: p.region as PingOneRegion,
  };
  if (!deps.ledger) {
    return {
      secret,
      outcome: 'kept',
      why: 'no rotation ledger is configured to prove the secret owns its PingOne owner',
    };
  }
  const failed = (error: unknown): RetirementOutcome => ({
    secret,
    outcome: 'failed',
    error: redactText(oneLine((error as Error)?.message ?? String(error))),
  });
  // Every PingOne call of the retirement is sent and given up on inside the intent's window.
  const deleteUntil = Math.min(deps.deadline, deps.now() + MAX_RETIRE_WINDOW_MS);
  let hold: RetirementHold;
  try {
    const taken = await deps.ledger.begin(owner, { secretArn: report.secret.arn, deleteUntil });
    if ('refused' in taken) return { secret, outcome: 'kept', why: taken.refused };
    hold = taken;
  } catch (error) {
    return failed(error);
  }
  // From here until the intent is cleared (or lapses) no rotation regenerates this owner.
  const ledger = deps.ledger;
  const release = async (outcome: RetirementOutcome, entry?: RetirementEntry) => {
    try {
      await ledger.end(owner, hold, entry);
      return outcome;
    } catch (error) {
      return outcome.outcome === 'retired' ? failed(error) : outcome;
    }
  };
  const options = { deadline: hold.deleteUntil };
  let judged: PingOneSecretState;
  try {
    // Read again under the intent: the previous secret must be the one judged (same expiry), unused since.
    judged = await deps.pingone.client.readSecret(owner, options);
  } catch (error) {
    return release(failed(error));
  }
  if (!judged.previous || !sameSecond(judged.previous.expiresAt, p.previous.expiresAt)) {
    return release({
      secret,
      outcome: 'kept',
      why: "PingOne's previous secret changed since it was inspected",
    });
  }
  if (judged.previous.lastUsed !== undefined && !sameSecond(judged.previous.lastUsed, p.previous.lastUsed)) {
    return release({ secret, outcome: 'kept', why: 'the previous secret was used since it was inspected' });
  }
  const entry = (confirmedBy?: 'read'): RetirementEntry => ({
    secretArn: report.secret.arn,
    at: new Date(deps.now()).toISOString(),
    previousExpiresAt: judged.previous?.expiresAt ?? '',
    ...(judged.previous?.lastUsed ? { previousLastUsed: judged.previous.lastUsed } : {}),
    ...(confirmedBy ? { confirmedBy } : {}),
  });
  try {
    // Sent once: the DELETE is never repeated in this run, whatever the answer.
    await deps.pingone.client.deletePreviousSecret(owner, options);
  } catch (error) {
    const outcome = changeOutcome(error, DELETE_PREVIOUS_OPERATION);
    const message = redactText(oneLine((error as Error)?.message ?? String(error)));
    if (outcome === 'not-applied') {
      // PingOne's own 408/429/500/503: it did nothing. Not sent again in this run; the next audit judges anew.
      return release({
        secret,
        outcome: 'kept',
        why: `PingOne did not delete the previous secret (${message}); the next audit tries again`,
        deleteNotApplied: true,
      });
    }
    if (outcome === 'not-sent' || outcome === 'refused') {
      return release(
        failed(
          new Error(
            `${outcome === 'refused' ? 'PingOne refused to delete' : 'The DELETE was not sent for'} the previous ` +
              `secret (nothing deleted): ${message}${refusalHint(error)}`,
          ),
        ),
      );
    }
    // Outcome unknown: the DELETE may have landed, or may still land. Read and decide; never send it again.
    let after: PingOneSecretState | undefined;
    try {
      after = await deps.pingone.client.readSecret(owner, {
        deadline: Math.min(deps.deadline, deps.now() + MAX_RETIRE_WINDOW_MS),
      });
    } catch {
      after = undefined;
    }
    if (after && after.previous === undefined && after.secret === judged.secret) {
      return release(
        { secret, outcome: 'retired', previousExpiresAt: judged.previous.expiresAt, confirmedBy: 'read' },
        entry('read'),
      );
    }
    // Still there (or unreadable): the intent is left to lapse, so no regenerate is sent while the DELETE
    // could still land and remove the secret a regenerate would have made previous.
    return failed(
      new Error(
        `the DELETE of the previous secret has an unknown outcome (${(error as Error)?.message ?? error}); ` +
          `${after ? 'PingOne still shows the previous secret' : 'PingOne could not be read again'}, so it is not ` +
          `claimed retired. Rotations of the owner wait until ${new Date(hold.deleteUntil + SETTLE_MARGIN_MS).toISOString()}; ` +
          'the next audit decides again',
      ),
    );
  }
  return release({ secret, outcome: 'retired', previousExpiresAt: judged.previous.expiresAt }, entry());
}

/** A 403 on the DELETE: the auditor's worker may read but not write (AUDIT_WORKER_PARAMETER). */
function refusalHint(error: unknown): string {
  return error instanceof PingOneApiError && error.status === 403
    ? '. Early retirement needs a worker whose roles allow deleting the previous secret (docs: AUDIT_WORKER_PARAMETER)'
    : '';
}

/** The report gives times to the second; PingOne to the millisecond. */
function sameSecond(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  const left = Date.parse(a);
  const right = Date.parse(b);
  return (
    Number.isFinite(left) && Number.isFinite(right) && Math.floor(left / 1000) === Math.floor(right / 1000)
  );
}
