/**
 * What the simulated auth service remembers: the access tokens it issued (to whom, by which region, until
 * when) and the client-assertion ids it has seen.
 */
import type { PingOneRegion } from '../../../lib/pingone/regions.js';
import type { Clock } from '../clock.js';
import type { SimulatorRandom } from './secrets.js';

interface IssuedToken {
  /** The region whose token endpoint issued it: its API is the only one that accepts it. */
  readonly region: PingOneRegion;
  readonly workerEnvironmentId: string;
  readonly clientId: string;
  readonly expiresAtMs: number;
}

export class TokenRegistry {
  readonly #clock: Clock;
  readonly #random: SimulatorRandom;
  readonly #tokens = new Map<string, IssuedToken>();
  /** Client-assertion ids seen, with when they expire, so an assertion cannot be replayed. */
  readonly #assertionIds = new Map<string, number>();

  constructor(clock: Clock, random: SimulatorRandom) {
    this.#clock = clock;
    this.#random = random;
  }

  /** Issues an opaque access token for the worker; returns the token string. */
  issue(
    worker: { readonly environmentId: string; readonly clientId: string },
    ttlSeconds: number,
    region: PingOneRegion,
  ): string {
    const token = this.#random.token();
    this.#tokens.set(token, {
      region,
      workerEnvironmentId: worker.environmentId,
      clientId: worker.clientId,
      expiresAtMs: this.#clock.now().getTime() + ttlSeconds * 1000,
    });
    return token;
  }

  /** Whose a live token is; `undefined` for an unknown, expired (then forgotten) or revoked token. */
  holder(token: string): { readonly environmentId: string; readonly clientId: string } | undefined {
    const issued = this.#tokens.get(token);
    if (!issued) return undefined;
    if (this.#clock.now().getTime() >= issued.expiresAtMs) {
      this.#tokens.delete(token);
      return undefined;
    }
    return { environmentId: issued.workerEnvironmentId, clientId: issued.clientId };
  }

  /** The region whose token endpoint issued a token, while it is known. */
  region(token: string): PingOneRegion | undefined {
    return this.#tokens.get(token)?.region;
  }

  revokeAll(): void {
    this.#tokens.clear();
  }

  /** Every access token issued and not revoked (for the tests' leak scans). */
  issued(): string[] {
    return [...this.#tokens.keys()];
  }

  /**
   * Records a client assertion's `jti` until `expiresAtMs`; false when it was already used (a replay).
   * Expired ids are forgotten.
   */
  useAssertionId(clientKey: string, jti: string, expiresAtMs: number): boolean {
    const now = this.#clock.now().getTime();
    for (const [id, until] of this.#assertionIds) if (until <= now) this.#assertionIds.delete(id);
    const key = `${clientKey}|${jti}`;
    if (this.#assertionIds.has(key)) return false;
    this.#assertionIds.set(key, expiresAtMs);
    return true;
  }
}
