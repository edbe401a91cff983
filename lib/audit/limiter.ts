/**
 * A PingOne rate budget shared by every worker of the distributed audit (lib/audit/distributed.ts): a token
 * bucket per PingOne licence (organization), kept in one DynamoDB item each (`audit#limiter#<licence>`) and
 * changed only with conditional writes, so parallel workers in separate Lambda containers draw on one budget:
 * - a request reserves the licence's next slot (`requestsPerSecond` apart, up to `burst` at once) and waits
 *   for it: first come, first served;
 * - a 429 pauses the whole licence (`pausedUntil`) for its Retry-After, with jitter, so every worker of that
 *   licence waits, not only the one that was refused;
 * - a lost race (the condition failed) re-reads and tries again: no token is ever spent twice.
 *
 * PingOne's limits are per licence and per source IP (docs: rate limits); the single-Lambda auditor paces itself
 * in memory (lib/audit/paced-transport.ts); this is the same contract across containers.
 */
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { LedgerUnavailableError } from '../errors.js';
import { parseRetryAfter } from '../pingone/responses.js';
import { NotSentError, type Transport, type TransportResponse } from '../pingone/transport.js';
import { keepsDeadline, MIN_SEND_MS, notSentInTime } from './paced-transport.js';
import { revisionCondition } from './revision.js';

export interface BucketState {
  /**
   * The licence's theoretical arrival time (epoch ms): each request moves it on by 1/rate. A request may start
   * once it is no more than `burst` intervals ahead of the clock (GCRA: a token bucket as reservations).
   */
  readonly nextAt: number;
  /** No request of the licence before this (epoch ms; 0: none). */
  readonly pausedUntil: number;
  readonly rev: number;
}

/** Where the buckets live: DynamoDB in the stack, memory in the bench and the unit tests. */
export interface BucketStore {
  read(licence: string): Promise<BucketState | undefined>;
  /** Writes `next` as revision `expectedRev + 1` if the stored one is still `expectedRev` (0: absent). */
  write(
    licence: string,
    next: Omit<BucketState, 'rev'>,
    expectedRev: number,
  ): Promise<'written' | 'conflict'>;
}

export interface LimiterOptions {
  readonly store: BucketStore;
  /** PingOne requests per second per licence, shared by every worker. */
  readonly requestsPerSecond: number;
  /** Requests a quiet licence may start at once (default: one second's worth, at least 1). */
  readonly burst?: number;
  readonly now: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  /** [0, 1): spreads retries after a lost race (default Math.random). */
  readonly random?: () => number;
}

export interface LimiterStats {
  acquired: number;
  /** Conditional writes that lost a race (re-read and retried). */
  conflicts: number;
  /** 429s that paused a licence. */
  paused: number;
  /** Requests not sent: the licence's next slot came after their own deadline (`notAfter`). */
  late: number;
  waitedMs: number;
}

export interface SharedLimiter {
  /**
   * Reserves the licence's next slot and waits for it (and for any pause set meanwhile). With `notAfter`
   * (epoch ms), a slot later than that is not taken and nothing is waited for: 'late'.
   */
  acquire(licence: string, options?: { readonly notAfter?: number }): Promise<'acquired' | 'late'>;
  /** Pauses every worker of the licence until `until` (epoch ms) at least. */
  pause(licence: string, until: number): Promise<void>;
  readonly stats: LimiterStats;
}

/**
 * Reservations, not a lottery: each request takes the licence's next slot with one conditional write and
 * sleeps until it, so waits are first come first served and bounded by (requests waiting) / rate — a worker
 * is never starved by others that happen to poll at the right moment.
 */
export function sharedLimiter(options: LimiterOptions): SharedLimiter {
  const rate = options.requestsPerSecond;
  if (!(Number.isFinite(rate) && rate > 0))
    throw new RangeError('requestsPerSecond must be a positive number');
  const interval = 1000 / rate;
  const burst = Math.max(1, options.burst ?? rate);
  const random = options.random ?? Math.random;
  const { store, now, sleep } = options;
  const stats: LimiterStats = { acquired: 0, conflicts: 0, paused: 0, late: 0, waitedMs: 0 };

  /** The licence's next slot, reserved; undefined (nothing reserved) when it would come after `notAfter`. */
  const reserve = async (licence: string, notAfter: number): Promise<number | undefined> => {
    for (;;) {
      const state = await store.read(licence);
      const at = now();
      const pausedUntil = state?.pausedUntil ?? 0;
      const nextAt = Math.max(state?.nextAt ?? 0, at, pausedUntil) + interval;
      const slot = Math.max(at, pausedUntil, nextAt - burst * interval);
      if (slot > notAfter) return undefined;
      const written = await store.write(licence, { nextAt, pausedUntil }, state?.rev ?? 0);
      if (written === 'written') return slot;
      stats.conflicts += 1;
      // Lost the race to another worker: try again at once, a few ms apart from the others.
      await sleep(random() * 5);
    }
  };

  return {
    stats,
    async acquire(licence, options = {}) {
      const started = now();
      const notAfter = options.notAfter ?? Number.POSITIVE_INFINITY;
      let slot = await reserve(licence, notAfter);
      while (slot !== undefined && slot > now()) {
        await sleep(slot - now());
        // A 429 seen by any worker while this one waited pauses it too.
        const state = await store.read(licence);
        if (state && state.pausedUntil > now()) slot = await reserve(licence, notAfter);
      }
      stats.waitedMs += now() - started;
      if (slot === undefined) {
        stats.late += 1;
        return 'late';
      }
      stats.acquired += 1;
      return 'acquired';
    },
    async pause(licence, until) {
      stats.paused += 1;
      for (;;) {
        const state = await store.read(licence);
        if (state && state.pausedUntil >= until) return;
        const written = await store.write(
          licence,
          { nextAt: Math.max(state?.nextAt ?? 0, until), pausedUntil: until },
          state?.rev ?? 0,
        );
        if (written === 'written') return;
        stats.conflicts += 1;
      }
    },
  };
}

/**
 * A PingOne transport that takes a token of the request's licence before each request, and pauses the licence
 * on a 429 for its Retry-After (the client retries the one request as before).
 *
 * A request that changes PingOne (early retirement's DELETE) keeps its caller's deadline through the wait: it
 * is sent only if its slot comes within its own timeout, and with the time waited taken off that timeout
 * (lib/audit/paced-transport.ts `keepsDeadline`). Otherwise a DELETE queued behind other workers or a pause
 * could reach PingOne after its retirement intent lapsed, and after a rotation's regenerate.
 */
export function limitedTransport(
  inner: Transport,
  options: {
    readonly limiter: SharedLimiter;
    /** The licence a request draws on (the worker's organization). */
    readonly licenceOf: (url: string) => string;
    readonly now: () => number;
    readonly random?: () => number;
    readonly maxPauseMs?: number;
    /**
     * Every request (reads and token requests too) waits for its turn until its caller's deadline
     * (`TransportRequest.deadline`: a regenerate's intent window, a read's invocation deadline) instead of
     * its own timeout, and is then sent with what is left, so it still ends by that deadline; a turn after
     * it is not taken and the request is not sent. The rotation function: in a burst the queue for a turn
     * is longer than one request's timeout. Default: reads wait unbounded, changes within their timeout.
     */
    readonly waitUntilDeadline?: boolean;
    /**
     * With `waitUntilDeadline`: the limiter's own calls (its bucket's reads and writes, which may be slow)
     * count against the deadline too; a turn not had by then is given up (not sent), and a 429's pause not
     * recorded by then is skipped (it is advice to the other containers; the answer still goes back).
     */
    readonly sleep?: (ms: number) => Promise<void>;
  },
): Transport {
  const random = options.random ?? Math.random;
  /** A turn; the limiter failing (its bucket unreadable) is reported as "not sent": nothing went out. */
  const turn = async (licence: string, notAfter?: number): Promise<'acquired' | 'late'> => {
    try {
      return await options.limiter.acquire(licence, notAfter === undefined ? {} : { notAfter });
    } catch (error) {
      throw new NotSentError(`not sent: ${(error as Error)?.message ?? error}`, { cause: error });
    }
  };
  /** `work`, or `undefined` once `until` (epoch ms) has come first (`work` goes on, its result unused). */
  const by = async <T>(until: number, work: Promise<T>): Promise<T | undefined> => {
    const { sleep } = options;
    if (!sleep) return work;
    let timer: Promise<undefined> | undefined;
    const ms = until - options.now();
    if (ms <= 0) timer = Promise.resolve(undefined);
    else timer = sleep(ms).then(() => undefined);
    // A failure of `work` after the deadline won is nobody's: it must not surface as unhandled.
    work.catch(() => {});
    return Promise.race([work, timer]);
  };
  return async (request) => {
    const licence = options.licenceOf(request.url);
    const deadline = options.waitUntilDeadline ? request.deadline : undefined;
    if (deadline !== undefined) {
      const taken = await by(deadline - MIN_SEND_MS, turn(licence, deadline - MIN_SEND_MS));
      const left = deadline - options.now();
      if (taken !== 'acquired' || left < MIN_SEND_MS) {
        throw notSentInTime(request, `licence ${licence}'s`, "before its caller's deadline");
      }
      const response = await inner({ ...request, timeoutMs: Math.min(request.timeoutMs, left) });
      try {
        await by(deadline, settle(licence, response));
      } catch {
        // The pause is advice to the licence's other containers; PingOne's answer still goes back.
      }
      return response;
    }
    if (!keepsDeadline(request)) {
      await turn(licence);
      return settle(licence, await inner(request));
    }
    const sendBy = options.now() + request.timeoutMs;
    const taken = await turn(licence, sendBy - MIN_SEND_MS);
    const left = sendBy - options.now();
    if (taken === 'late' || left < MIN_SEND_MS) throw notSentInTime(request, `licence ${licence}'s`);
    return settle(licence, await inner({ ...request, timeoutMs: left }));
  };

  async function settle(licence: string, response: TransportResponse): Promise<TransportResponse> {
    if (response.status === 429) {
      const after = parseRetryAfter(response.headers.get('retry-after'), options.now()) ?? 1_000;
      const pause = Math.min(after, options.maxPauseMs ?? 30_000);
      // Jitter on the pause itself: the licence's workers resume spread over a tenth of it.
      await options.limiter.pause(licence, options.now() + pause + random() * Math.max(50, pause / 10));
    }
    return response;
  }
}

/** The auditor's buckets: `audit#limiter#<licence>`. */
export const AUDIT_LIMITER_PREFIX = 'audit#limiter#';

/** The rotation function's buckets (its own budget per licence): `rotation#limiter#<licence>`. */
export const ROTATION_LIMITER_PREFIX = 'rotation#limiter#';

/** The limiter's key in the ledger table for a licence. */
export function limiterKey(licence: string, prefix = AUDIT_LIMITER_PREFIX): string {
  return `${prefix}${licence}`;
}

/** The buckets in the rotation ledger's DynamoDB table (the workers' role may write only `audit#limiter#*`). */
export function dynamoDbBucketStore(options: {
  readonly client: DynamoDBClient;
  readonly table: string;
  readonly timeoutMs?: number;
  /** Whose buckets: the auditor's (default) or the rotation function's. */
  readonly prefix?: string;
  /** The role the error message tells the operator to check. */
  readonly role?: string;
}): BucketStore {
  const { client, table } = options;
  const prefix = options.prefix ?? AUDIT_LIMITER_PREFIX;
  const limiterKey = (licence: string) => `${prefix}${licence}`;
  const signal = () => AbortSignal.timeout(options.timeoutMs ?? 5_000);
  const unavailable = (licence: string, error: unknown) =>
    new LedgerUnavailableError(
      `The PingOne rate limiter (item ${limiterKey(licence)} of DynamoDB table ${table}) could not be used: ` +
        `${(error as Error)?.name ?? 'error'}. No PingOne request was sent; check the ${options.role ?? 'audit worker'}'s ` +
        `role (dynamodb:GetItem and PutItem on ${prefix} keys)`,
    );
  const number = (value: AttributeValue | undefined, fallback: number) =>
    value?.N === undefined ? fallback : Number(value.N);
  return {
    async read(licence) {
      try {
        const out = await client.send(
          new GetItemCommand({
            TableName: table,
            Key: { pk: { S: limiterKey(licence) } },
            ConsistentRead: true,
          }),
          { abortSignal: signal() },
        );
        if (!out.Item) return undefined;
        return {
          nextAt: number(out.Item.nextAt, 0),
          pausedUntil: number(out.Item.pausedUntil, 0),
          rev: number(out.Item.rev, 0),
        };
      } catch (error) {
        throw unavailable(licence, error);
      }
    },
    async write(licence, next, expectedRev) {
      try {
        await client.send(
          new PutItemCommand({
            TableName: table,
            Item: {
              pk: { S: limiterKey(licence) },
              nextAt: { N: String(next.nextAt) },
              pausedUntil: { N: String(next.pausedUntil) },
              rev: { N: String(expectedRev + 1) },
            },
            ...revisionCondition(expectedRev),
          }),
          { abortSignal: signal() },
        );
        return 'written';
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return 'conflict';
        throw unavailable(licence, error);
      }
    },
  };
}

/**
 * Buckets in memory, for the bench and tests: each call yields first (as a network call would), so concurrent
 * workers interleave between read and write and race on the condition. Microtasks only: a simulated clock's
 * scheduler (sim/kernel.ts) sees every worker settled before it moves time.
 */
export function memoryBucketStore(): BucketStore & { readonly items: Map<string, BucketState> } {
  const items = new Map<string, BucketState>();
  const tick = async () => {
    await Promise.resolve();
    await Promise.resolve();
  };
  return {
    items,
    async read(licence) {
      await tick();
      return items.get(licence);
    },
    async write(licence, next, expectedRev) {
      await tick();
      if ((items.get(licence)?.rev ?? 0) !== expectedRev) return 'conflict';
      items.set(licence, { ...next, rev: expectedRev + 1 });
      return 'written';
    },
  };
}
