import { randomBytes } from 'node:crypto';
import { DeadlineExceededError, PingOneApiError, PingOneNetworkError } from '../../lib/errors.js';
import { REGENERATE_OPERATION } from '../../lib/pingone/change-outcome.js';
import type {
  CallOptions,
  PingOneApplication,
  PingOneClient,
  PingOneResource,
  PingOneSecretState,
  SecretAuthMethod,
  SecretOwner,
} from '../../lib/pingone/types.js';

/** What the next regenerate does instead of (or after) succeeding. */
export type RegenerateFault =
  | { kind: 'commit-then-network-error' }
  | { kind: 'network-error' }
  /** Not sent: a shared rate budget had no turn for it before its timeout (lib/pingone/request-sender.ts). */
  | { kind: 'not-sent' }
  /** An error answer; PingOne's own error document unless `fromPingOne: false` (a gateway's page). */
  | { kind: 'status'; status: number; commit?: boolean; retryAfterMs?: number; fromPingOne?: boolean };

/**
 * An in-memory PingOne behind the PingOneClient port, for step-level unit tests: one current secret and one
 * previous slot, scripted regenerate faults, and a count of regenerates.
 */
export class FakePingOne implements PingOneClient {
  state: { secret: string; previous?: { secret: string; expiresAt: string; lastUsed?: string } };
  resource: PingOneResource;
  application: PingOneApplication = {
    id: 'app',
    protocol: 'OPENID_CONNECT',
    type: 'WEB_APP',
    tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
  };
  applicationReads = 0;
  regenerateFaults: RegenerateFault[] = [];
  readFaults: Error[] = [];
  regenerates = 0;
  regenerateRequests = 0;
  reads = 0;
  deletes = 0;
  introspections: { secret: string; method: string }[] = [];
  lastExpiresAt: Date | undefined;

  constructor(initialSecret: string, resource: Partial<PingOneResource> = {}) {
    this.state = { secret: initialSecret };
    this.resource = {
      id: 'res',
      type: 'CUSTOM',
      introspectEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
      ...resource,
    };
  }

  static newSecret(): string {
    return randomBytes(48).toString('base64url').slice(0, 64);
  }

  async readSecret(_owner: SecretOwner, _options: CallOptions): Promise<PingOneSecretState> {
    this.reads++;
    const fault = this.readFaults.shift();
    if (fault) throw fault;
    return structuredClone(this.state);
  }

  async regenerateSecret(
    _owner: SecretOwner,
    expiresAt: Date,
    _options: CallOptions,
  ): Promise<PingOneSecretState> {
    this.regenerateRequests++;
    const fault = this.regenerateFaults.shift();
    const commit = () => {
      this.regenerates++;
      this.lastExpiresAt = expiresAt;
      this.state = {
        secret: FakePingOne.newSecret(),
        previous: { secret: this.state.secret, expiresAt: expiresAt.toISOString() },
      };
    };
    if (!fault) {
      commit();
      return structuredClone(this.state);
    }
    switch (fault.kind) {
      case 'commit-then-network-error':
        commit();
        throw new PingOneNetworkError('PingOne regenerate secret: request failed (ECONNRESET)', {
          operation: REGENERATE_OPERATION,
        });
      case 'not-sent':
        throw new DeadlineExceededError(
          "PingOne regenerate secret: not sent: licence x's PingOne rate budget had no turn for it within its 10000 ms timeout",
        );
      case 'network-error':
        throw new PingOneNetworkError('PingOne regenerate secret: request failed (ECONNRESET)', {
          operation: REGENERATE_OPERATION,
        });
      case 'status':
        if (fault.commit) commit();
        throw new PingOneApiError(`PingOne regenerate secret failed: HTTP ${fault.status}`, {
          status: fault.status,
          retryAfterMs: fault.retryAfterMs,
          fromPingOne: fault.fromPingOne ?? true,
          operation: REGENERATE_OPERATION,
        });
    }
  }

  async deletePreviousSecret(_owner: SecretOwner, _options: CallOptions): Promise<void> {
    this.deletes++;
    delete this.state.previous;
  }

  async readResource(_owner: SecretOwner, _options: CallOptions): Promise<PingOneResource> {
    return this.resource;
  }

  async readApplication(_owner: SecretOwner, _options: CallOptions): Promise<PingOneApplication> {
    this.applicationReads++;
    return this.application;
  }

  async introspectWithSecret(
    _owner: SecretOwner,
    clientSecret: string,
    method: SecretAuthMethod,
    _options: CallOptions,
  ): Promise<boolean> {
    this.introspections.push({ secret: clientSecret, method });
    return clientSecret === this.state.secret || clientSecret === this.state.previous?.secret;
  }
}
