/**
 * The simulator's in-process control surface: what tests, the local world and the admin API use to build a
 * PingOne world and act on it outside the API (out-of-band changes, faults, the clock, the request record).
 */
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { ControllableClock } from './clock.js';
import { FaultInjector } from './faults.js';
import { type RateLimit, RateLimiter } from './rate-limit.js';
import { type RequestFilter, RequestLog, type RequestRecord } from './request-log.js';
import type {
  CreateApplicationInput,
  CreateEnvironmentInput,
  CreateResourceInput,
  CreateWorkerInput,
  Environment,
  OwnerKind,
  SecretState,
  TokenEndpointAuthMethod,
} from './store/model.js';
import { SimulatorStore } from './store/store.js';
import { SimulatorUsageError } from './usage.js';

/** A worker app's credentials; JSON-serialised, this is the Lambda's worker parameter. */
export interface WorkerCredentials {
  readonly environmentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly region: PingOneRegion;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
}

export interface CreatedResource {
  readonly id: string;
  readonly environmentId: string;
  /** The generated secret; CUSTOM resources only. */
  readonly secret?: string;
}

export interface CreatedCustomResource extends CreatedResource {
  readonly secret: string;
}

export interface CreatedApplication {
  readonly id: string;
  readonly environmentId: string;
  /** The generated secret; OIDC applications only (unless created `withoutSecret`). */
  readonly secret?: string;
}

export interface CreatedOidcApplication extends CreatedApplication {
  readonly secret: string;
}

/** The control surface of a simulator; the server (PingOneSimulator, simulator.ts) adds HTTP around it. */
export class SimulatorControl {
  /** Shared by every expiry decision: tokens, previous secrets, `expiresAt` bounds. */
  readonly clock: ControllableClock;
  readonly faults = new FaultInjector();
  protected readonly store: SimulatorStore;
  protected readonly log = new RequestLog();
  protected readonly rateLimiter = new RateLimiter();

  protected constructor(clock: ControllableClock) {
    this.clock = clock;
    this.store = new SimulatorStore(clock);
  }

  /** Creates an environment in `region`; its API and auth paths exist under that region's prefix only. */
  createEnvironment(input: CreateEnvironmentInput): Environment {
    return this.store.createEnvironment(input);
  }

  /** Creates a resource; a CUSTOM one (the default) gets a generated secret, returned here. */
  createResource(
    environmentId: string,
    input?: CreateResourceInput & { readonly type?: 'CUSTOM' },
  ): CreatedCustomResource;
  createResource(environmentId: string, input: CreateResourceInput): CreatedResource;
  createResource(environmentId: string, input: CreateResourceInput = {}): CreatedResource {
    const { resource, secret } = this.store.createResource(environmentId, input);
    return secret === undefined
      ? { id: resource.id, environmentId }
      : { id: resource.id, environmentId, secret };
  }

  /**
   * Creates an application; an OIDC one (the default: WEB_APP, CLIENT_SECRET_BASIC) gets a generated
   * secret, returned here. SAML applications have none.
   */
  createApplication(
    environmentId: string,
    input?: CreateApplicationInput & { readonly protocol?: 'OPENID_CONNECT'; readonly withoutSecret?: false },
  ): CreatedOidcApplication;
  createApplication(environmentId: string, input: CreateApplicationInput): CreatedApplication;
  createApplication(environmentId: string, input: CreateApplicationInput = {}): CreatedApplication {
    const { application, secret } = this.store.createApplication(environmentId, input);
    return secret === undefined
      ? { id: application.id, environmentId }
      : { id: application.id, environmentId, secret };
  }

  /**
   * Creates a worker app in `environmentId` that may manage `environments` (default all of its organization's).
   * Its token comes from its environment's region and is valid only at that region's API.
   */
  createWorker(environmentId: string, input: CreateWorkerInput = {}): WorkerCredentials {
    const worker = this.store.createWorker(environmentId, input);
    const environment = this.store.environment(environmentId)!;
    return {
      environmentId,
      clientId: worker.clientId,
      clientSecret: worker.clientSecret,
      region: environment.region,
      tokenEndpointAuthMethod: worker.tokenEndpointAuthMethod,
    };
  }

  /**
   * The resource's (or, with `kind`, the application's) secret as GET would return it now (expired previous
   * removed). Touches no `lastUsed`.
   */
  readSecret(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): SecretState {
    const state = this.store.secretState(environmentId, ownerId, kind);
    if (!state) {
      throw new SimulatorUsageError(
        kind === 'application'
          ? `no OIDC application with a secret ${ownerId} in ${environmentId}`
          : `no CUSTOM resource ${ownerId} in ${environmentId}`,
        'not-found',
      );
    }
    return state;
  }

  /**
   * An administrator regenerates the secret outside the Lambda (console, another tool), to create drift.
   * `previousExpiresAt` is not range-checked, so tests can build any state.
   */
  regenerateOutOfBand(
    environmentId: string,
    ownerId: string,
    options: { previousExpiresAt?: Date | undefined; kind?: OwnerKind } = {},
  ): SecretState {
    return this.store.regenerate(environmentId, ownerId, options.previousExpiresAt, options.kind);
  }

  /**
   * A consumer authenticated with the previous secret at `at` (default: the clock's now): sets
   * `previous.lastUsed`, as an introspection with it does. For seeding states without the HTTP call.
   */
  markPreviousUsed(
    environmentId: string,
    ownerId: string,
    at: Date = this.clock.now(),
    kind: OwnerKind = 'resource',
  ): void {
    this.store.markPreviousUsed(environmentId, ownerId, at, kind);
  }

  /** Sets (or with `undefined` lifts) the rate limit; see {@link RateLimit}. */
  limitRate(limit: RateLimit | undefined): void {
    this.rateLimiter.set(limit);
  }

  /** An administrator revokes the previous secret outside the Lambda. */
  deletePreviousOutOfBand(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): void {
    this.store.deletePrevious(environmentId, ownerId, kind);
  }

  /** Invalidates every access token issued so far; the next API call with one gets 401. */
  revokeTokens(): void {
    this.store.tokens.revokeAll();
  }

  /**
   * Every access token issued and not revoked, so tests can scan logs and errors for them (the request
   * record never holds one).
   */
  issuedTokens(): readonly string[] {
    return this.store.tokens.issued();
  }

  /** Every PingOne request answered so far (admin API calls excluded), oldest first. */
  get requests(): readonly RequestRecord[] {
    return this.log.all();
  }

  count(filter: RequestFilter = {}): number {
    return this.log.count(filter);
  }

  /** Every request that presented one region's token at another region's API (each was refused). */
  crossRegionTokenUses(): readonly RequestRecord[] {
    return this.log.crossRegionTokenUses();
  }

  clearRequests(): void {
    this.log.clear();
  }

  /** Environments, resources (with secrets), workers and the clock, for debugging and the admin API. */
  snapshot(): ReturnType<SimulatorStore['snapshot']> & { now: Date } {
    return { now: this.clock.now(), ...this.store.snapshot() };
  }
}
