import { type PingOneRegion, REGIONS } from '../pingone/regions.js';
import { PINGONE_REQUEST_TIMEOUT_MS, type SecretOwner } from '../pingone/types.js';

/**
 * The rotation ledger's record of one PingOne secret owner: state only the rotation function (and the
 * operator CLI, with proof of possession) writes. A secret's own JSON can be forged by whoever may write the
 * secret; this record cannot, so it decides which Secrets Manager secret owns a PingOne client and whether a
 * regenerate PingOne shows was this function's own.
 *
 * It never holds a secret, a hash of one, or a RotationToken: only ARNs, version ids (ClientRequestTokens)
 * and times.
 */
export interface LedgerRecord {
  /** Optimistic-concurrency counter: every write is conditional on the revision it was computed from. */
  readonly rev: number;
  readonly binding: LedgerBinding | undefined;
  readonly intent: LedgerIntent | undefined;
  /** The last HISTORY_LIMIT rotations, newest first. */
  readonly history: readonly LedgerRun[];
  /**
   * The fleet auditor's early retirement in progress (lib/audit/ledger-retirement.ts), in an attribute of its
   * own: the auditor's role may write it and never the binding, intent, history or revision. While it is
   * live no regenerate intent is written (the write is conditional on it), so no regenerate is sent.
   */
  readonly retirement?: RetirementIntent | undefined;
}

/**
 * An early retirement of PingOne's previous secret about to be (or being) sent: written by the auditor
 * before it re-reads PingOne and sends the DELETE, cleared when it is done.
 */
export interface RetirementIntent {
  /** A random id of this retirement. */
  readonly token: string;
  /** The secret the auditor judged (the one the ledger bound to the owner when it took the intent). */
  readonly secretArn: string;
  readonly startedAt: string;
  /** The DELETE is sent and given up on by this time (ISO-8601); it may settle for SETTLE_MARGIN_MS more. */
  readonly deleteUntil: string;
}

export type BindingHow = 'rotation' | 'onboard' | 'rebind';

/** The one Secrets Manager secret that owns the PingOne secret. */
export interface LedgerBinding {
  readonly secretArn: string;
  /** ISO-8601. */
  readonly boundAt: string;
  /** What proved possession: the first rotation, `pingone-rotation onboard`, or `pingone-rotation rebind`. */
  readonly how: BindingHow;
  /**
   * The PingOne region the owner was bound in (the region of the proof). A secret naming the owner under
   * another region is refused (lib/rotation/reads.ts readOwnLedgerRecord): the region is a field the
   * secret's writer chooses, so it must agree with the binding, not decide it. Absent only on records
   * built in memory without one; items read from DynamoDB always carry it.
   */
  readonly region?: PingOneRegion | undefined;
}

/** A regenerate about to be (or being) sent: written before the POST, cleared when the rotation finishes. */
export interface LedgerIntent {
  /** The rotation's ClientRequestToken (the version id), never the RotationToken. */
  readonly token: string;
  readonly secretArn: string;
  readonly startedAt: string;
  /** Every regenerate POST of this intent is sent and given up on by this time (ISO-8601). */
  readonly postUntil: string;
}

/**
 * How a run ended: `rotated` (finishSecret), `superseded` (a later rotation or an operator's proof replaced
 * it), `failed` (PingOne itself refused its regenerate: nothing of it can land, nothing is adopted for it).
 */
export type RunOutcome = 'rotated' | 'superseded' | 'failed';

/** One rotation of the owner, as far as it got. */
export interface LedgerRun {
  readonly token: string;
  readonly secretArn: string;
  readonly startedAt: string;
  /** When PingOne was seen to hold this rotation's new secret (regenerate answered, or adopted). */
  readonly regeneratedAt?: string | undefined;
  readonly finishedAt?: string | undefined;
  /** Absent while the rotation is unfinished. */
  readonly outcome?: RunOutcome | undefined;
}

/**
 * How many rotations the item keeps (newest first): the compliance report's history. 100 runs are 8 years at
 * rate(30 days), 100 days at rate(1 day); with 512-character secret names a full item is under 84 KB (as JSON, an over-count) of
 * the item's 400 KB (test/unit/ledger-history.test.ts).
 */
export const HISTORY_LIMIT = 100;

/**
 * Container clocks differ a little (Lambda hosts keep NTP time; 5 s is a generous bound).
 */
export const CLOCK_SKEW_MS = 5_000;

/**
 * How long an intermediary between the function and PingOne (an egress proxy, a gateway, a load balancer)
 * may still hand a request on after it accepted it, whatever it answered us meanwhile (a plain-text 503 at
 * once, or nothing until our own timeout). 60 s is the common upstream default (nginx `proxy_read_timeout`,
 * an AWS ALB's idle timeout; API Gateway's integration limit is 29 s). An assumption, stated here and in the
 * docs: a hop that holds requests longer needs this raised.
 */
const UPSTREAM_HOLD_MS = 60_000;

/**
 * After `postUntil`, how long a regenerate POST of the intent may still land at PingOne. Every POST is sent
 * before `postUntil` and the client gives up on it by then, but what it sent may still be on its way: the
 * client's own request timeout (a POST sent just before `postUntil` may have been accepted by a hop as late
 * as its timeout allowed) + what an intermediary may hold it for + clock skew = 10 + 60 + 5 = 75 s.
 * Until then the intent is live: no other regenerate is sent, and a decision to regenerate counts only if
 * the PingOne read it rests on began after the intent settled.
 */
export const SETTLE_MARGIN_MS = PINGONE_REQUEST_TIMEOUT_MS + UPSTREAM_HOLD_MS + CLOCK_SKEW_MS;

/**
 * The longest an intent's POSTs may be sent for (a first POST, and more only after PingOne's own answer
 * proved the earlier one did nothing); a retry of the same rotation waits at most this plus the margin.
 */
export const MAX_POST_WINDOW_MS = 60_000;

/**
 * The longest an early retirement's re-read and DELETE may run under its intent: a rotation of the owner
 * waits at most this (plus SETTLE_MARGIN_MS) for an auditor that died holding it.
 */
export const MAX_RETIRE_WINDOW_MS = 20_000;

/**
 * The item's partition key: `<kind>#<environmentId>#<ownerId>`, ids lower-cased so that one owner has
 * exactly one key however a secret spells its UUIDs. Only the owner's ids, which PingOne assigns (UUIDs):
 * nothing a secret's writer may choose freely. (Until issue 17 the key also held the region from the
 * secret's JSON, so a copy naming the same owner under another region alias had a record, and a binding,
 * of its own: see legacyLedgerKeys.) The key starts with the kind: the rotation role's
 * dynamodb:LeadingKeys condition allows `resource#*` and `application#*` only.
 */
export function ledgerKey(owner: Pick<SecretOwner, 'kind' | 'environmentId' | 'id'>): string {
  return [owner.kind, owner.environmentId.toLowerCase(), owner.id.toLowerCase()].join('#');
}

/**
 * The keys the ledger used before issue 17 for the same owner, one per PingOne region
 * (`<kind>#<region>#<environmentId>#<ownerId>`). Deployed tables may still hold items under them; the
 * ledger reads them when the owner has no item under ledgerKey (lib/ledger/ledger.ts).
 */
export function legacyLedgerKeys(
  owner: Pick<SecretOwner, 'kind' | 'environmentId' | 'id'>,
): { readonly key: string; readonly region: PingOneRegion }[] {
  return REGIONS.map((region) => ({
    key: [owner.kind, region, owner.environmentId.toLowerCase(), owner.id.toLowerCase()].join('#'),
    region,
  }));
}

export const EMPTY_RECORD: LedgerRecord = Object.freeze({
  rev: 0,
  binding: undefined,
  intent: undefined,
  history: Object.freeze([]) as readonly LedgerRun[],
});

/** Whether the intent's POSTs may still be in flight (or settling) at `now`. */
export function intentIsLive(intent: LedgerIntent | undefined, now: number): intent is LedgerIntent {
  return intent !== undefined && now < Date.parse(intent.postUntil) + SETTLE_MARGIN_MS;
}

/** Whether an early retirement's DELETE may still be in flight (or settling) at `now`: no regenerate then. */
export function retirementIsLive(
  retirement: RetirementIntent | undefined,
  now: number,
): retirement is RetirementIntent {
  return retirement !== undefined && !(now >= retirementSettlesAt(retirement).getTime());
}

/** The time after which the retirement no longer holds back a regenerate. */
export function retirementSettlesAt(retirement: RetirementIntent): Date {
  return new Date(Date.parse(retirement.deleteUntil) + SETTLE_MARGIN_MS);
}

/** The time after which the intent no longer holds back another regenerate. */
export function intentSettlesAt(intent: LedgerIntent): Date {
  return new Date(Date.parse(intent.postUntil) + SETTLE_MARGIN_MS);
}

/** This secret's rotations that began a regenerate and never finished (newest first). */
export function unfinishedRuns(record: LedgerRecord | undefined, secretArn: string): LedgerRun[] {
  return (record?.history ?? []).filter((run) => run.secretArn === secretArn && run.outcome === undefined);
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function trimmed(history: readonly LedgerRun[]): LedgerRun[] {
  return history.slice(0, HISTORY_LIMIT);
}

/**
 * The record with `secretArn` bound (if the owner is unbound), every other unfinished run superseded, and an
 * intent for `token` whose POSTs end by `postUntil`. The caller has checked that no live intent is in the way.
 */
export function withRegenerateIntent(
  record: LedgerRecord,
  args: { secretArn: string; token: string; now: number; postUntil: number; region?: PingOneRegion },
): LedgerRecord {
  const { secretArn, token, now, postUntil, region } = args;
  // A run of this token that ended failed (PingOne refused its regenerate) stays in the history as it was;
  // a new attempt of the same rotation opens a new run.
  const existing = record.history.find(
    (run) => run.token === token && run.secretArn === secretArn && run.outcome !== 'failed',
  );
  const others = record.history
    .filter((run) => run !== existing)
    .map((run) =>
      run.outcome === undefined ? { ...run, outcome: 'superseded' as const, finishedAt: iso(now) } : run,
    );
  const run: LedgerRun = existing ?? { token, secretArn, startedAt: iso(now) };
  return {
    rev: record.rev,
    binding: record.binding ?? {
      secretArn,
      boundAt: iso(now),
      how: 'rotation',
      ...(region ? { region } : {}),
    },
    intent: { token, secretArn, startedAt: iso(now), postUntil: iso(postUntil) },
    history: trimmed([run, ...others]),
  };
}

/** The record noting that PingOne holds `token`'s new secret (regenerated, or adopted on a retry). */
export function withRegenerated(
  record: LedgerRecord,
  args: { secretArn: string; token: string; now: number },
): LedgerRecord {
  const { secretArn, token, now } = args;
  const index = record.history.findIndex((run) => run.token === token && run.secretArn === secretArn);
  const history = [...record.history];
  if (index >= 0) {
    const run = history[index] as LedgerRun;
    if (run.regeneratedAt !== undefined) return record;
    history[index] = { ...run, regeneratedAt: iso(now) };
  } else {
    // Adopted for a token the ledger has not seen (an abandoned rotation's regenerate, adopted by a new one):
    // the abandoned run is superseded by this one.
    for (const [i, other] of history.entries()) {
      if (other.secretArn === secretArn && other.outcome === undefined) {
        history[i] = { ...other, outcome: 'superseded', finishedAt: iso(now) };
      }
    }
    history.unshift({ token, secretArn, startedAt: iso(now), regeneratedAt: iso(now) });
  }
  return { ...record, history: trimmed(history) };
}

/** The record after `token`'s rotation finished: its run closed, its intent cleared. */
export function withFinished(
  record: LedgerRecord,
  args: { secretArn: string; token: string; now: number },
): LedgerRecord | undefined {
  const { secretArn, token, now } = args;
  const index = record.history.findIndex((run) => run.token === token && run.secretArn === secretArn);
  const run = index >= 0 ? record.history[index] : undefined;
  // This rotation's intent, or an intent of this secret whose rotation is over (one it adopted from).
  const intent = record.intent;
  const clearIntent =
    intent !== undefined &&
    intent.secretArn === secretArn &&
    (intent.token === token ||
      record.history.find((r) => r.token === intent.token)?.outcome !== undefined ||
      !record.history.some((r) => r.token === intent.token));
  if ((run === undefined || run.outcome !== undefined) && !clearIntent) return undefined; // nothing to record
  const history = [...record.history];
  if (run && run.outcome === undefined) {
    history[index] = { ...run, finishedAt: iso(now), outcome: 'rotated' };
  }
  return { ...record, intent: clearIntent ? undefined : record.intent, history };
}

/**
 * The record after PingOne provably refused `token`'s regenerate (its own 4xx error document): the run is
 * closed as failed and its intent cleared, so no later regenerate is taken for this run's. Unchanged (the
 * same object) when there is nothing to close.
 */
export function withFailed(
  record: LedgerRecord,
  args: { secretArn: string; token: string; now: number },
): LedgerRecord {
  const { secretArn, token, now } = args;
  const index = record.history.findIndex((run) => run.token === token && run.secretArn === secretArn);
  const run = index >= 0 ? record.history[index] : undefined;
  const clearIntent = record.intent?.token === token && record.intent.secretArn === secretArn;
  if ((run === undefined || run.outcome !== undefined) && !clearIntent) return record;
  const history = [...record.history];
  if (run && run.outcome === undefined) history[index] = { ...run, finishedAt: iso(now), outcome: 'failed' };
  return { ...record, intent: clearIntent ? undefined : record.intent, history };
}

/**
 * The record bound to `secretArn` by an operator action that proved possession of PingOne's current secret
 * (`onboard`, `rebind`). Every unfinished run is superseded and the intent cleared: after a fresh proof no
 * earlier record may justify adopting a regenerate. The caller has checked that no intent is live.
 */
export function withBinding(
  record: LedgerRecord,
  args: { secretArn: string; now: number; how: BindingHow; region?: PingOneRegion },
): LedgerRecord {
  const { secretArn, now, how, region } = args;
  return {
    rev: record.rev,
    binding: { secretArn, boundAt: iso(now), how, ...(region ? { region } : {}) },
    intent: undefined,
    history: record.history.map((run) =>
      run.outcome === undefined ? { ...run, outcome: 'superseded' as const, finishedAt: iso(now) } : run,
    ),
  };
}

/** The record without its intent (`unstick`): unfinished runs stay, so a new rotation can still adopt. */
export function withoutIntent(record: LedgerRecord): LedgerRecord {
  return { ...record, intent: undefined };
}
