/**
 * Opt-in early retirement (RETIRE_UNUSED_PREVIOUS_AFTER): once a rotation is complete and nobody has used
 * PingOne's previous secret for that long, delete it (PingOne's DELETE removes only the previous secret).
 * The old credential then lives as long as consumers actually need it, not the whole grace period.
 *
 * It deletes only when every condition holds; otherwise it leaves the secret alone and says why.
 */
import type { PingOneRegion } from '../pingone/regions.js';
import type { SecretOwner } from '../pingone/types.js';
import { redactText } from '../redact.js';
import type { StatusPingOne, StatusReport } from '../status/model.js';
import { oneLine } from '../status/text.js';

/**
 * The rotation ledger, as retirement needs it. The ledger is written only by the rotation function, so
 * unlike a secret's contents (which anyone with write access to the secret controls) it proves which
 * secret owns which PingOne owner.
 */
export interface RetirementLedger {
  /** The ARN of the secret the ledger binds to `owner`, or undefined when none is bound. */
  boundSecret(owner: SecretOwner): Promise<string | undefined>;
  /** Records that the previous secret of `owner` was retired early. */
  recordRetirement(
    owner: SecretOwner,
    entry: { secretArn: string; at: string; previousExpiresAt: string; previousLastUsed?: string },
  ): Promise<void>;
}

export type RetirementOutcome =
  | { readonly secret: string; readonly outcome: 'retired'; readonly previousExpiresAt: string }
  | { readonly secret: string; readonly outcome: 'kept'; readonly why: string }
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
    previous.lastUsed ? Date.parse(previous.lastUsed) : Number.NEGATIVE_INFINITY,
    currentCreated ? Date.parse(currentCreated) : Number.NEGATIVE_INFINITY,
  );
  if (!Number.isFinite(since)) return 'when the previous secret was last used or replaced is unknown';
  if (now - since < afterMs) {
    return previous.lastUsed
      ? `the previous secret was used less than RETIRE_UNUSED_PREVIOUS_AFTER ago (${previous.lastUsed})`
      : `the rotation is less than RETIRE_UNUSED_PREVIOUS_AFTER old (${currentCreated})`;
  }
  return undefined;
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
  try {
    const bound = await deps.ledger.boundSecret(owner);
    if (bound !== report.secret.arn) {
      return {
        secret,
        outcome: 'kept',
        why: bound
          ? `the ledger binds this PingOne owner to another secret (${bound})`
          : 'the ledger binds no secret to this PingOne owner',
      };
    }
    const options = { deadline: Math.min(deps.deadline, deps.now() + 20_000) };
    // Read again just before deleting: the previous secret must be the same one (same expiry) and unused since.
    const state = await deps.pingone.client.readSecret(owner, options);
    if (!state.previous || !sameSecond(state.previous.expiresAt, p.previous.expiresAt)) {
      return { secret, outcome: 'kept', why: "PingOne's previous secret changed since it was inspected" };
    }
    if (state.previous.lastUsed !== undefined && !sameSecond(state.previous.lastUsed, p.previous.lastUsed)) {
      return { secret, outcome: 'kept', why: 'the previous secret was used since it was inspected' };
    }
    await deps.pingone.client.deletePreviousSecret(owner, options);
    await deps.ledger.recordRetirement(owner, {
      secretArn: report.secret.arn,
      at: new Date(deps.now()).toISOString(),
      previousExpiresAt: state.previous.expiresAt,
      ...(state.previous.lastUsed ? { previousLastUsed: state.previous.lastUsed } : {}),
    });
    return { secret, outcome: 'retired', previousExpiresAt: state.previous.expiresAt };
  } catch (error) {
    return {
      secret,
      outcome: 'failed',
      error: redactText(oneLine((error as Error).message ?? String(error))),
    };
  }
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
