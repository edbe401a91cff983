/**
 * One owner's client secret as PingOne keeps it: the current secret and a single previous slot with its expiry
 * and last use; and how PingOne generates a secret.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { Clock } from '../clock.js';
import type { SecretState } from './model.js';

/** PingOne's generated-secret alphabet: the RFC 3986 unreserved characters (pingone-api.md §8). */
const SECRET_ALPHABET = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~';

/**
 * Where the store's random values come from: generated secrets and access tokens. Default: node:crypto.
 * The deterministic simulation (sim/) passes a seeded source so a run replays exactly.
 */
export interface SimulatorRandom {
  /** An integer in [min, max). */
  int(min: number, max: number): number;
  /** An opaque access token. */
  token(): string;
}

export const CRYPTO_RANDOM: SimulatorRandom = {
  int: (min, max) => randomInt(min, max),
  token: () => randomBytes(32).toString('base64url'),
};

/** 64–72 characters from PingOne's alphabet; PingOne guarantees at least 64 (pingone-api.md §8). */
export function generateSecret(random: SimulatorRandom): string {
  const length = random.int(64, 73);
  let secret = '';
  for (let i = 0; i < length; i++) secret += SECRET_ALPHABET.charAt(random.int(0, SECRET_ALPHABET.length));
  return secret;
}

interface Previous {
  readonly secret: string;
  readonly expiresAt: Date;
  lastUsed?: Date;
}

/**
 * A secret with PingOne's one previous slot. Expiry is evaluated on every read rather than by a timer, so
 * moving the clock is enough.
 */
export class SecretSlot {
  #current: string;
  #previous: Previous | undefined;
  readonly #clock: Clock;

  constructor(current: string, clock: Clock) {
    this.#current = current;
    this.#clock = clock;
  }

  get current(): string {
    return this.#current;
  }

  /** The secrets accepted now: current, then the unexpired previous. */
  accepted(): { current: string; previous?: string } {
    const previous = this.#livePrevious();
    return previous ? { current: this.#current, previous: previous.secret } : { current: this.#current };
  }

  /** As PingOne would return it now: an expired previous secret is not shown. Copies, never the slot's dates. */
  state(): SecretState {
    const previous = this.#livePrevious();
    if (!previous) return { secret: this.#current };
    return {
      secret: this.#current,
      previous: {
        secret: previous.secret,
        expiresAt: new Date(previous.expiresAt),
        ...(previous.lastUsed ? { lastUsed: new Date(previous.lastUsed) } : {}),
      },
    };
  }

  /**
   * `secret` becomes current. The old current secret moves into the previous slot until `previousExpiresAt`,
   * overwriting any earlier previous; without it the old secret is gone at once.
   */
  replace(secret: string, previousExpiresAt: Date | undefined): void {
    this.#previous = previousExpiresAt
      ? { secret: this.#current, expiresAt: new Date(previousExpiresAt) }
      : undefined;
    this.#current = secret;
  }

  /** Which secret `candidate` is; a match on the unexpired previous one stamps its `lastUsed` now. */
  match(candidate: string): 'current' | 'previous' | undefined {
    if (candidate === this.#current) return 'current';
    const previous = this.#livePrevious();
    if (previous && candidate === previous.secret) {
      previous.lastUsed = this.#clock.now();
      return 'previous';
    }
    return undefined;
  }

  /** Stamps the unexpired previous secret's `lastUsed` (at `at`, default now); false when there is none. */
  stampPreviousUsed(at?: Date): boolean {
    const previous = this.#livePrevious();
    if (previous) previous.lastUsed = at ? new Date(at) : this.#clock.now();
    return previous !== undefined;
  }

  deletePrevious(): void {
    this.#previous = undefined;
  }

  #livePrevious(): Previous | undefined {
    const previous = this.#previous;
    return previous && previous.expiresAt.getTime() > this.#clock.now().getTime() ? previous : undefined;
  }
}
