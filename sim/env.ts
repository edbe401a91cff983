/**
 * What every fake and actor shares in one run: the scheduler, the seeded PRNG, the fault plan, the trace,
 * and the processes (a Lambda container's invocation, a CLI run, an audit) whose calls go out.
 */
import { never, type Prng, type Scheduler } from './kernel.js';

/** Fault classes; each can be switched off (`--without`), so a class whose fix is not on main yet stays out. */
export const FAULT_CLASSES = [
  /** A process dies just before or just after an external call (the call then has or has not happened). */
  'crash',
  /** PingOne answers 429 REQUEST_LIMITED with Retry-After (its JSON error document); nothing happens. */
  'pingone-429',
  /** PingOne answers 500/503 with its JSON error document; nothing happens. */
  'pingone-5xx',
  /** PingOne performs the call, then the answer is a 502 or a reset connection. */
  'commit-then-fail',
  /** A gateway in front of PingOne answers a plain-text 502/503/504; the request may still land later. */
  'proxy-5xx',
  /** A request takes longer than the client waits: it lands at PingOne after the client gave up. */
  'late-commit',
  /** The connection fails before the request is sent (ECONNRESET / ECONNREFUSED). */
  'reset',
  /** An upstream answers an error that quotes the request back (headers and body). */
  'echo',
  /** DynamoDB throttles (the SDK retries, then gives up) or does not answer in time. */
  'dynamodb',
  /** Secrets Manager throttles (the SDK retries, then gives up). */
  'secrets-manager',
  /** Someone who may create secrets plants one naming an owner (a made-up secret, no proof). */
  'planted',
  /** With one URL for every region, someone copies a secret's value under another region alias. */
  'region-alias',
  /**
   * A person who may tag secrets sets the TTL and in-use window tags to any value (finding 6), under stack
   * bounds that let a tag shorten the TTL to no less than a day (or not at all).
   */
  'tags',
  /**
   * The same under bounds that let a tag shorten the TTL to 1h or 10m. A rotation stalled between createSecret
   * and finishSecret for longer than that leaves AWSCURRENT as PingOne's previous secret past its expiry.
   */
  'short-ttl',
] as const;
export type FaultClass = (typeof FAULT_CLASSES)[number];

export class FaultPlan {
  readonly enabled: ReadonlySet<FaultClass>;
  /** Probability that a given external call draws a fault at all. */
  readonly rate: number;

  constructor(enabled: Iterable<FaultClass>, rate: number) {
    this.enabled = new Set(enabled);
    this.rate = rate;
  }

  has(fault: FaultClass): boolean {
    return this.enabled.has(fault);
  }
}

/** A process whose calls go out: it can crash, and then none of its calls ever returns. */
export class Proc {
  dead = false;
  /** Set-up work: no faults. */
  reliable = false;
  /** Called once when the process crashes. */
  onCrash: (() => void) | undefined;

  constructor(readonly name: string) {}

  crash(): void {
    if (this.dead) return;
    this.dead = true;
    this.onCrash?.();
  }
}

/**
 * Deliberate defects, to prove the invariants can fail (the CI test runs each and expects a violation):
 * `double-post` sends every regenerate POST twice (a client that retries it); `leak` writes each token request's
 * headers and body, hex-encoded, to stdout (a debug log line); `no-hex-redaction` takes hex out of the encodings the real
 * redactor (lib/redact.ts TRANSPORT_ENCODINGS) masks, so an upstream's hex echo reaches the logs;
 * `tag-bounds-ignored` deploys the function with tags unbounded (TAG_MIN_PREVIOUS_SECRET_TTL=1m,
 * TAG_IN_USE_WINDOW_MAY=switch-off) while the stack's bounds say otherwise; `auditor-worker-swapped` gives the
 * rotation function the auditor's worker parameter (and the auditor the function's).
 */
export const SABOTAGES = [
  'double-post',
  'leak',
  'no-hex-redaction',
  'tag-bounds-ignored',
  'auditor-worker-swapped',
] as const;
export type Sabotage = (typeof SABOTAGES)[number];

export interface SimEnv {
  readonly sabotage?: Sabotage | undefined;
  readonly scheduler: Scheduler;
  readonly prng: Prng;
  readonly faults: FaultPlan;
  trace(actor: string, text: string): void;
  /** A value that must never appear in a log line, an error or CLI output, in any encoding. */
  sensitive(value: string | { id: string; secret: string }): void;
}

/**
 * The common shape of a call to AWS from `proc`: the request travels, the service acts, the answer travels
 * back. A crash fault stops the process before the service acts or after it (the answer is lost).
 */
export async function awsCall<T>(
  env: SimEnv,
  proc: Proc,
  label: string,
  act: () => T,
  options: { abortSignal?: AbortSignal | undefined } = {},
): Promise<T> {
  if (proc.dead) return never();
  const { prng, scheduler, faults } = env;
  const crash =
    !proc.reliable && faults.has('crash') && prng.chance(faults.rate / 4)
      ? prng.chance(0.5)
        ? 'before'
        : 'after'
      : undefined;
  await scheduler.sleep(prng.int(2, 25));
  if (proc.dead) return never();
  if (crash === 'before') {
    env.trace(proc.name, `crash before ${label}`);
    proc.crash();
    return never();
  }
  if (options.abortSignal?.aborted) throw abortError(options.abortSignal);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: act() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const back = await raceAbort(scheduler.sleep(prng.int(2, 25)), options.abortSignal);
  if (back === 'aborted') throw abortError(options.abortSignal as AbortSignal);
  if (proc.dead) return never();
  if (crash === 'after') {
    env.trace(proc.name, `crash after ${label}`);
    proc.crash();
    return never();
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

export async function raceAbort(
  wait: Promise<void>,
  signal: AbortSignal | undefined,
): Promise<'ok' | 'aborted'> {
  if (!signal) {
    await wait;
    return 'ok';
  }
  if (signal.aborted) return 'aborted';
  return new Promise((resolve) => {
    const onAbort = () => resolve('aborted');
    signal.addEventListener('abort', onAbort, { once: true });
    void wait.then(() => {
      signal.removeEventListener('abort', onAbort);
      resolve('ok');
    });
  });
}

function abortError(signal: AbortSignal): Error {
  const reason = signal.reason as { name?: string } | undefined;
  const error = new Error('Request aborted');
  error.name = reason?.name === 'TimeoutError' ? 'TimeoutError' : 'AbortError';
  return error;
}

/** A client that is `base` in every respect but `send`, which is the fake's (bound to one process). */
export function withSend<T extends object>(base: T, send: (...args: never[]) => unknown): T {
  const client = Object.create(base) as T & { send: unknown };
  client.send = send;
  return client;
}
