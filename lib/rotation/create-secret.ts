import { resolveInUseWindow, resolveTtl, type Ttl } from '../config.js';
import {
  DeadlineExceededError,
  DriftError,
  PingOneApiError,
  RegenerateOutcomeUnknownError,
} from '../errors.js';
import { SETTLE_MARGIN_MS, unfinishedRuns } from '../ledger/record.js';
import { describeOwner, ownerOf, readOwnerSecret, readRotatableApplication } from '../owner.js';
import { fitDelay, retryDelayMs } from '../pingone/backoff.js';
import { changeOutcome, REGENERATE_OPERATION } from '../pingone/change-outcome.js';
import type { PingOneSecretState, SecretOwner } from '../pingone/types.js';
import { sameSecret, withClientSecret } from '../secret-value.js';
import { AWSPENDING, type SecretDescription } from '../secrets/secrets-store.js';
import type { RotationDeps } from './deps.js';
import type { RotationEvent } from './event.js';
import { assertPreviousSecretNotInUse } from './in-use-guard.js';
import { LedgerProgress } from './ledger-progress.js';
import { readCurrent, readOwnLedgerRecord } from './reads.js';

/**
 * Time kept back from the regenerate POST so that a failed POST can still be reconciled with a re-read:
 * up to 3 s, and never more than a third of what is left (short Lambda timeouts still get to regenerate).
 */
const MAX_RECONCILE_RESERVE_MS = 3_000;
/**
 * Regenerates sent in one invocation, at most; only after PingOne's own answer and a re-read proved the
 * earlier one did nothing. PingOne's 429s (rate limited: it said when to come back) spend a larger budget,
 * still bounded by the intent's window and the deadline: under a burst, giving up leaves the intent live and
 * every retry of the rotation refused until it settles.
 */
const MAX_REGENERATE_ATTEMPTS = 3;
const MAX_RATE_LIMITED_REGENERATES = 12;
/** The pause before asking again after PingOne's own 408/429/500/503 to a regenerate (jittered). */
const REGENERATE_BACKOFF = { baseDelayMs: 500, maxDelayMs: 4_000 } as const;

export type CreateOutcome = 'already-stored' | 'regenerated' | 'adopted';

/**
 * createSecret: obtains the new secret from PingOne and stores it as the token's AWSPENDING version.
 *
 * PingOne generates the secret and keeps exactly one previous secret, so a second regenerate would evict
 * the secret that is still AWSCURRENT. This step therefore never regenerates blindly:
 * - the token's AWSPENDING version already holds a value → done;
 * - the rotation ledger binds the PingOne owner to another secret → refuse, before any PingOne call;
 * - PingOne's current secret is AWSCURRENT's → claim the owner if unbound (proof of possession), record the
 *   intent (refused while another regenerate may be in flight), then regenerate once (the replaced secret
 *   stays valid for the TTL), unless PingOne's previous secret is still in use (lib/rotation/in-use-guard.ts):
 *   then fail, change nothing;
 * - PingOne's previous secret is AWSCURRENT's → adopt PingOne's current secret only if the ledger records an
 *   unfinished regenerate by this function for this secret; otherwise someone else regenerated: refuse;
 * - neither → drift: fail, change nothing.
 *
 * Called again (a Secrets Manager retry, a crash at any point, a second container at the same time) it
 * converges on the same pending value and PingOne regenerates once.
 */
export async function createSecret(
  deps: RotationDeps,
  event: RotationEvent,
  description: SecretDescription,
): Promise<CreateOutcome> {
  const { secrets, logger } = deps;
  // Two Secrets Manager reads at once (reads change nothing): the token's AWSPENDING value and AWSCURRENT's.
  // AWSPENDING decides first, as before: when it holds a value the step is done and AWSCURRENT's read (or its
  // failure) is dropped.
  const pendingRead = secrets.getValue(event.secretId, { versionId: event.token, stage: AWSPENDING });
  const currentRead = readCurrent(deps, event);
  currentRead.catch(() => {}); // awaited below unless AWSPENDING already holds a value
  const existing = await pendingRead;
  if (existing !== undefined) {
    logger.info('pending version already holds a value');
    return 'already-stored';
  }

  const current = await currentRead;
  const owner = ownerOf(current, deps.config);
  // The tags (TTL, in-use window) decide only a regenerate. A bad one, or one outside the deployer's bounds,
  // is refused before any PingOne call...
  const tagged = tagSettings(deps, description.tags);
  // The ledger first: a secret naming an owner bound to another secret never reaches PingOne.
  const record = await readOwnLedgerRecord(deps, owner, description.arn);
  // ...unless the ledger records an unfinished regenerate of this secret: then PingOne may already hold the
  // new secret, AWSCURRENT's in its previous slot running out its TTL, and this attempt must be free to adopt
  // it (a tag written since must not hold the rotation until AWSCURRENT expires). A regenerate still refuses.
  if ('error' in tagged && unfinishedRuns(record, description.arn).length === 0) throw tagged.error;
  const ledger = new LedgerProgress(deps, owner, description, event.token, record);

  const { secret, outcome } = await obtainNewSecret(
    deps,
    owner,
    current.clientSecret,
    tagged,
    description.tags,
    ledger,
  );

  // The new secret goes into Secrets Manager first, then the ledger's informational note: PingOne holds a
  // secret no AWS version has for as short a time as possible. The intent written before the regenerate is
  // what makes the regenerate crash-safe (a retry adopts by it); the note only marks the run regenerated.
  const stored = await secrets.putPending(
    event.secretId,
    event.token,
    withClientSecret(current, secret),
    event.rotationToken,
  );
  await ledger.recordRegenerated();
  if (stored === 'already-exists') {
    // Another invocation stored this token's version first. Read it back; never regenerate again.
    const readBack = await secrets.getValue(event.secretId, { versionId: event.token, stage: AWSPENDING });
    if (readBack === undefined) {
      throw new RegenerateOutcomeUnknownError(
        `Secrets Manager reports version ${event.token} exists but it cannot be read as AWSPENDING; ` +
          'the next attempt will re-read it',
      );
    }
    logger.info('pending version was stored by an earlier attempt');
    return 'already-stored';
  }
  logger.info('pending version stored', { outcome, ...('ttl' in tagged ? { ttl: tagged.ttl.text } : {}) });
  return outcome;
}

/** The secret's TTL for a regenerate, or why its tags forbid one. */
type TagSettings = { readonly ttl: Ttl } | { readonly error: unknown };

function tagSettings(deps: RotationDeps, tags: Readonly<Record<string, string>>): TagSettings {
  try {
    const ttl = resolveTtl(deps.config, tags);
    resolveInUseWindow(deps.config, tags);
    return { ttl };
  } catch (error) {
    return { error };
  }
}

type Decision = 'regenerate' | 'adopt' | 'drift';

/** Compares PingOne's state with AWSCURRENT's secret. */
function decide(state: PingOneSecretState, currentSecret: string): Decision {
  if (sameSecret(state.secret, currentSecret)) return 'regenerate';
  if (sameSecret(state.previous?.secret, currentSecret)) return 'adopt';
  return 'drift';
}

async function obtainNewSecret(
  deps: RotationDeps,
  owner: SecretOwner,
  currentSecret: string,
  tagged: TagSettings,
  tags: Readonly<Record<string, string>>,
  ledger: LedgerProgress,
): Promise<{ secret: string; outcome: 'regenerated' | 'adopted' }> {
  const posts: PostTally = { intent: false, sent: 0, notApplied: 0 };
  try {
    return await regenerateOrAdopt(deps, owner, currentSecret, tagged, tags, ledger, posts);
  } catch (error) {
    if (posts.intent && posts.notApplied === posts.sent) {
      // Every regenerate this invocation sent was answered by PingOne's own error document saying it did
      // nothing (429 rate limited, or 408/500/503: lib/pingone/change-outcome.ts), or none was sent at all
      // (its turn in a shared rate budget or the deadline came first), so none of them can land:
      // the intent protects nothing and is released (the run closed as failed), so Secrets Manager's retry
      // re-reads PingOne and may regenerate at once instead of being refused until the window settles. The
      // same answers already let this invocation ask again after a pause and a fresh read; the retry does
      // no more than that. One POST whose outcome is unknown (a gateway's answer, a reset) keeps the intent.
      await ledger.recordFailed();
    }
    throw error;
  }
}

interface PostTally {
  /** This invocation recorded an intent (before its first POST). */
  intent: boolean;
  /** Regenerate POSTs that went out (an error raised before sending is not counted). */
  sent: number;
  /** Of those, answered with PingOne's own error document saying it did nothing (`not-applied`). */
  notApplied: number;
}

async function regenerateOrAdopt(
  deps: RotationDeps,
  owner: SecretOwner,
  currentSecret: string,
  tagged: TagSettings,
  tags: Readonly<Record<string, string>>,
  ledger: LedgerProgress,
  posts: PostTally,
): Promise<{ secret: string; outcome: 'regenerated' | 'adopted' }> {
  const { pingone, logger, metrics } = deps;
  const options = { deadline: deps.deadline };
  // When the read the first regenerate decision rests on began: an intent that may still land after it
  // makes the read stale (see LedgerProgress.recordIntent).
  const readAt = deps.now();
  // Applications: only OIDC ones have a secret; a SAML app is refused here, before anything changes. Not
  // read at the same time as the secret: a refused application's secret is never asked for.
  if (owner.kind === 'application') await readRotatableApplication(pingone, owner, options);
  let state = await readOwnerSecret(pingone, owner, options);
  let postUntil: number | undefined;
  /** POSTs PingOne refused other than with its own 429 (rate limited). */
  let refusals = 0;

  for (let attempt = 1; ; attempt++) {
    const decision = decide(state, currentSecret);
    if (decision === 'adopt') {
      await ledger.assertOwnRegenerate(state);
      metrics.count('SecretAdopted');
      logger.info('PingOne already regenerated; adopting its current secret', {
        previousExpiresAt: state.previous?.expiresAt,
      });
      return { secret: state.secret, outcome: 'adopted' };
    }
    if (decision === 'drift') {
      metrics.count('DriftDetected');
      throw driftError(owner, state);
    }
    // A tag that forbids a regenerate (only an adopt went ahead despite it): refuse, change nothing.
    if ('error' in tagged) throw tagged.error;
    const { ttl } = tagged;
    // Consumers still on PingOne's previous secret would be locked out by a regenerate: refuse, change nothing.
    assertPreviousSecretNotInUse(deps, owner, state, tags);
    if (refusals >= MAX_REGENERATE_ATTEMPTS || attempt > MAX_RATE_LIMITED_REGENERATES) {
      throw new RegenerateOutcomeUnknownError(
        `${describeOwner(owner)}: PingOne refused to regenerate ${attempt - 1} times; nothing changed, ` +
          'the next attempt will re-read PingOne before deciding',
      );
    }

    // Recorded before the first POST; every POST of this invocation is sent and given up on by postUntil.
    postUntil ??= await ledger.recordIntent(readAt);
    posts.intent = true;
    const previousExpiresAt = new Date(deps.now() + expiryOffsetMs(ttl));
    try {
      const reserve = Math.min(MAX_RECONCILE_RESERVE_MS, Math.max(0, (deps.deadline - deps.now()) / 3));
      const after = await pingone.regenerateSecret(owner, previousExpiresAt, {
        deadline: Math.min(deps.deadline - reserve, postUntil),
      });
      metrics.count('SecretRegenerated');
      if (!sameSecret(after.previous?.secret, currentSecret)) {
        logger.warn('PingOne did not report AWSCURRENT as its previous secret after regenerating', {
          previousPresent: after.previous !== undefined,
        });
      }
      logger.info('PingOne regenerated the secret', { previousExpiresAt: previousExpiresAt.toISOString() });
      return { secret: after.secret, outcome: 'regenerated' };
    } catch (error) {
      const outcome = changeOutcome(error, REGENERATE_OPERATION);
      if (outcome === 'not-sent') throw error;
      posts.sent++;
      if (outcome === 'not-applied') posts.notApplied++;
      if (outcome === 'refused') {
        // PingOne's own answer: it did nothing and will refuse a repeat. This run regenerated nothing, so it
        // is closed as failed: a later regenerate PingOne shows is not this function's to adopt.
        await ledger.recordFailed();
        throw error;
      }
      logger.warn('regenerate failed; re-reading PingOne before deciding again', {
        errorCode: (error as { code?: string }).code,
        status: error instanceof PingOneApiError ? error.status : undefined,
        fromPingOne: error instanceof PingOneApiError ? error.fromPingOne : undefined,
        outcome,
      });
      if (outcome === 'not-applied') {
        if ((error as PingOneApiError).status !== 429) refusals++;
        // PingOne's own answer said it did nothing: asking again is safe, after a pause and a fresh read. The
        // pause comes first (jittered, never shorter than Retry-After: containers refused together do not
        // return together), so the decision to send again rests on what PingOne shows after it.
        const retryAfter = (error as PingOneApiError).retryAfterMs;
        const wait = fitDelay(
          retryDelayMs(attempt, retryAfter, REGENERATE_BACKOFF, deps.random ?? Math.random),
          retryAfter ?? 0,
          deps.now(),
          Math.min(deps.deadline - MAX_RECONCILE_RESERVE_MS, postUntil) - 1_000,
        );
        if (wait === undefined) {
          throw new DeadlineExceededError(
            `${describeOwner(owner)}: PingOne did not regenerate (${(error as Error).message}) and there is no time ` +
              'left to ask again; nothing changed, the next attempt starts over',
            { cause: error },
          );
        }
        await deps.sleep(wait);
      }
      state = await pingone.readSecret(owner, { deadline: deps.deadline });
      if (decide(state, currentSecret) === 'regenerate' && outcome === 'unknown') {
        // Not PingOne's word (a reset, a timeout, a gateway's 503): the POST may still be on its way to
        // PingOne, so this invocation sends nothing more. A later attempt, once the intent has settled
        // (lib/ledger/record.ts), re-reads PingOne: it adopts the new secret if the request landed, or
        // regenerates once if it did not.
        metrics.count('RegenerateOutcomeUnknown');
        throw new RegenerateOutcomeUnknownError(
          `${describeOwner(owner)}: the regenerate request's outcome is unknown (${(error as Error).message}) and ` +
            'PingOne shows no change yet; nothing was stored and nothing will be sent again until the request ' +
            `can no longer land (${new Date(postUntil + SETTLE_MARGIN_MS).toISOString()}). The next attempt after ` +
            'that re-reads PingOne and adopts the new secret if the request landed, or regenerates once if not',
          { cause: error },
        );
      }
    }
  }
}

/**
 * PingOne accepts `previous.expiresAt` from 1 minute to 30 days after *its* now; whether it allows any clock
 * skew is unconfirmed. A TTL at either edge is pulled inside by a small margin so that request latency or a
 * clock a little ahead cannot turn a valid setting into a 400.
 */
const EDGE_MARGIN_MIN_MS = 30_000;
const EDGE_MARGIN_MAX_MS = 5 * 60_000;
const PINGONE_MIN_TTL_MS = 60_000;
const PINGONE_MAX_TTL_MS = 30 * 86_400_000;

function expiryOffsetMs(ttl: Ttl): number {
  return Math.min(
    Math.max(ttl.ms, PINGONE_MIN_TTL_MS + EDGE_MARGIN_MIN_MS),
    PINGONE_MAX_TTL_MS - EDGE_MARGIN_MAX_MS,
  );
}

function driftError(owner: SecretOwner, state: PingOneSecretState): DriftError {
  const previous = state.previous
    ? `PingOne's previous secret (valid until ${state.previous.expiresAt}) does not match it either`
    : 'PingOne holds no previous secret';
  return new DriftError(
    `Drift: AWSCURRENT's clientSecret is not the current secret of ${describeOwner(owner)}, and ${previous}. ` +
      'The secret was regenerated outside this function (or the Secrets Manager value was edited), so ' +
      "AWSCURRENT no longer proves possession and nothing was changed. To recover: store PingOne's current " +
      "secret as the secret's new AWSCURRENT value (pingone-rotation onboard --force, or put-secret-value), " +
      'then rotate again.',
  );
}
