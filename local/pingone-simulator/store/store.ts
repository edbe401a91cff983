import { isRegion, type PingOneRegion, REGIONS } from '../../../lib/pingone/regions.js';
import type { Clock } from '../clock.js';
import { newId, oneOf, SimulatorUsageError } from '../usage.js';
import {
  APPLICATION_AUTH_METHODS,
  APPLICATION_PROTOCOLS,
  APPLICATION_TYPES,
  type Application,
  type ApplicationGrantType,
  type CreateApplicationInput,
  type CreateEnvironmentInput,
  type CreateResourceInput,
  type CreateWorkerInput,
  defaultOrganization,
  type Environment,
  GRANT_TYPES,
  INTROSPECT_METHODS,
  type OwnerKind,
  RESOURCE_TYPES,
  type Resource,
  type ResourceType,
  SECRET_ACTIONS,
  type SecretState,
  TOKEN_METHODS,
  type Worker,
} from './model.js';
import {
  coversEnvironment,
  roleAssignmentsOf,
  rolesHeld,
  type SimulatedRole,
  type SimulatedRoleAssignment,
} from './roles.js';
import { CRYPTO_RANDOM, generateSecret, SecretSlot, type SimulatorRandom } from './secrets.js';
import { TokenRegistry } from './tokens.js';

interface ResourceRecord {
  resource: Resource;
  /** Present for CUSTOM resources only. */
  secret?: SecretSlot;
}

interface ApplicationRecord {
  application: Application;
  /** OIDC applications (and workers) only. */
  secret?: SecretSlot;
}

/**
 * The simulator's in-memory PingOne: environments (in organizations and regions), resources and applications
 * with their secrets, worker apps, and the auth service's memory of issued tokens. No HTTP here; every time
 * decision reads the injected clock.
 */
export class SimulatorStore {
  /** Issued access tokens and seen client-assertion ids. */
  readonly tokens: TokenRegistry;
  readonly #clock: Clock;
  readonly #random: SimulatorRandom;
  readonly #environments = new Map<string, Environment>();
  /** Keyed by {@link ownerKey}, as are applications and workers (a worker is an application too). */
  readonly #resources = new Map<string, ResourceRecord>();
  readonly #applications = new Map<string, ApplicationRecord>();
  readonly #workers = new Map<string, Worker>();

  constructor(clock: Clock, random: SimulatorRandom = CRYPTO_RANDOM) {
    this.#clock = clock;
    this.#random = random;
    this.tokens = new TokenRegistry(clock, random);
  }

  createEnvironment(input: CreateEnvironmentInput): Environment {
    if (!isRegion(input.region)) {
      throw new SimulatorUsageError(
        `region must be one of ${REGIONS.join(', ')}, got ${String(input.region)}`,
      );
    }
    const id = newId(input.id, 'environment id');
    if (this.#environments.has(id)) throw new SimulatorUsageError(`environment ${id} already exists`);
    const organizationId = input.organizationId ?? defaultOrganization(input.region);
    for (const other of this.#environments.values()) {
      if (other.organizationId === organizationId && other.region !== input.region) {
        throw new SimulatorUsageError(
          `organization ${organizationId} lives in region ${other.region}; it cannot have an environment in ${input.region}`,
        );
      }
    }
    const environment: Environment = Object.freeze({
      id,
      name: input.name ?? `env-${id.slice(0, 8)}`,
      region: input.region,
      organizationId,
    });
    this.#environments.set(id, environment);
    return environment;
  }

  environment(id: string): Environment | undefined {
    return this.#environments.get(id);
  }

  /** Every environment, oldest first. */
  environments(): Environment[] {
    return [...this.#environments.values()];
  }

  /** The worker's role assignments (see roleAssignmentsOf). */
  roleAssignments(worker: Worker): SimulatedRoleAssignment[] {
    return roleAssignmentsOf(worker, this.#environments.get(worker.environmentId)?.organizationId ?? '');
  }

  /** The built-in roles and the custom roles workers hold. */
  roles(): SimulatedRole[] {
    return rolesHeld(this.#workers.values());
  }

  /** Whether the worker's role assignments cover the environment (see coversEnvironment). */
  mayManage(worker: Worker, environmentId: string, region: PingOneRegion): boolean {
    return coversEnvironment(worker, environmentId, region, (id) => this.#environments.get(id));
  }

  createResource(
    environmentId: string,
    input: CreateResourceInput = {},
  ): { resource: Resource; secret?: string } {
    this.#requireEnvironment(environmentId);
    const type = oneOf(input.type ?? 'CUSTOM', RESOURCE_TYPES, 'type');
    const method = oneOf(
      input.introspectEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC',
      INTROSPECT_METHODS,
      'introspectEndpointAuthMethod',
    );
    const id = newId(input.id, 'resource id');
    const key = ownerKey(environmentId, id);
    if (this.#resources.has(key)) {
      throw new SimulatorUsageError(`resource ${id} already exists in ${environmentId}`);
    }
    const name = input.name ?? defaultResourceName(type, id);
    const now = this.#clock.now();
    const resource: Resource = Object.freeze({
      id,
      environmentId,
      name,
      type,
      introspectEndpointAuthMethod: method,
      audience: input.audience ?? name,
      accessTokenValiditySeconds: input.accessTokenValiditySeconds ?? 3600,
      createdAt: now,
      updatedAt: now,
    });
    // Only custom resources have a secret (pingone-api.md §3).
    const record: ResourceRecord = type === 'CUSTOM' ? { resource, secret: this.#newSecret() } : { resource };
    this.#resources.set(key, record);
    return record.secret ? { resource, secret: record.secret.current } : { resource };
  }

  resource(environmentId: string, resourceId: string): Resource | undefined {
    return this.#resources.get(ownerKey(environmentId, resourceId))?.resource;
  }

  createWorker(environmentId: string, input: CreateWorkerInput = {}): Worker {
    this.#requireEnvironment(environmentId);
    const clientId = newId(input.clientId, 'clientId');
    const key = ownerKey(environmentId, clientId);
    if (this.#workers.has(key)) {
      throw new SimulatorUsageError(`worker ${clientId} already exists in ${environmentId}`);
    }
    const environments = input.environments ?? 'all';
    if (environments !== 'all' && !Array.isArray(environments)) {
      throw new SimulatorUsageError("worker environments must be an array of environment ids or 'all'");
    }
    if (this.#applications.has(key)) {
      throw new SimulatorUsageError(`application ${clientId} already exists in ${environmentId}`);
    }
    const worker: Worker = Object.freeze({
      environmentId,
      clientId,
      clientSecret: input.clientSecret ?? generateSecret(this.#random),
      tokenEndpointAuthMethod: oneOf(
        input.tokenEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC',
        TOKEN_METHODS,
        'tokenEndpointAuthMethod',
      ),
      environments: environments === 'all' ? 'all' : Object.freeze([...environments]),
      secretActions: Object.freeze(
        [...(input.secretActions ?? SECRET_ACTIONS)].map((a) => oneOf(a, SECRET_ACTIONS, 'secretActions')),
      ),
      readApplications: input.readApplications ?? true,
    });
    this.#workers.set(key, worker);
    // A worker is an OIDC application of type WORKER; its secret is an application secret like any other.
    const now = this.#clock.now();
    this.#applications.set(key, {
      application: Object.freeze({
        id: clientId,
        environmentId,
        name: `worker-${clientId.slice(0, 8)}`,
        protocol: 'OPENID_CONNECT',
        type: 'WORKER',
        tokenEndpointAuthMethod: worker.tokenEndpointAuthMethod,
        grantTypes: Object.freeze(['CLIENT_CREDENTIALS'] as ApplicationGrantType[]),
        enabled: true,
        createdAt: now,
        updatedAt: now,
      }),
      secret: new SecretSlot(worker.clientSecret, this.#clock),
    });
    return worker;
  }

  /** The worker with its application's current secret (a second worker may have rotated it). */
  worker(environmentId: string, clientId: string): Worker | undefined {
    const worker = this.#workers.get(ownerKey(environmentId, clientId));
    const secret = this.#applications.get(ownerKey(environmentId, clientId))?.secret;
    if (!worker || !secret || secret.current === worker.clientSecret) return worker;
    return Object.freeze({ ...worker, clientSecret: secret.current });
  }

  /** The worker a live token was issued to, or `undefined` for an unknown, expired or revoked token. */
  tokenHolder(token: string): Worker | undefined {
    const holder = this.tokens.holder(token);
    return holder && this.worker(holder.environmentId, holder.clientId);
  }

  createApplication(
    environmentId: string,
    input: CreateApplicationInput = {},
  ): { application: Application; secret?: string } {
    this.#requireEnvironment(environmentId);
    const protocol = oneOf(input.protocol ?? 'OPENID_CONNECT', APPLICATION_PROTOCOLS, 'protocol');
    const type = oneOf(input.type ?? 'WEB_APP', APPLICATION_TYPES, 'type');
    if (type === 'WORKER') throw new SimulatorUsageError('create WORKER applications with createWorker');
    const oidc = protocol === 'OPENID_CONNECT';
    const method = oneOf(
      input.tokenEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC',
      APPLICATION_AUTH_METHODS,
      'tokenEndpointAuthMethod',
    );
    const grantTypes = (
      input.grantTypes ??
      (type === 'SERVICE' ? ['CLIENT_CREDENTIALS'] : ['AUTHORIZATION_CODE', 'REFRESH_TOKEN'])
    ).map((grant) => oneOf(grant, GRANT_TYPES, 'grantTypes[]'));
    const id = newId(input.id, 'application id');
    const key = ownerKey(environmentId, id);
    if (this.#applications.has(key)) {
      throw new SimulatorUsageError(`application ${id} already exists in ${environmentId}`);
    }
    const now = this.#clock.now();
    const application: Application = Object.freeze({
      id,
      environmentId,
      name: input.name ?? `app-${id.slice(0, 8)}`,
      protocol,
      type,
      ...(oidc ? { tokenEndpointAuthMethod: method, grantTypes: Object.freeze(grantTypes) } : {}),
      enabled: input.enabled ?? true,
      createdAt: now,
      updatedAt: now,
    });
    // Only OIDC applications have a client secret (pingone-api.md §10).
    const record: ApplicationRecord =
      oidc && !input.withoutSecret ? { application, secret: this.#newSecret() } : { application };
    this.#applications.set(key, record);
    return record.secret ? { application, secret: record.secret.current } : { application };
  }

  application(environmentId: string, applicationId: string): Application | undefined {
    return this.#applications.get(ownerKey(environmentId, applicationId))?.application;
  }

  /**
   * The secrets an owner accepts now: current, then the unexpired previous (a match on which stamps its
   * `lastUsed` through {@link stampPreviousUsed}). Undefined when the owner has no secret.
   */
  acceptedSecrets(
    environmentId: string,
    ownerId: string,
    kind: OwnerKind,
  ): { current: string; previous?: string } | undefined {
    return this.#secret(environmentId, ownerId, kind)?.accepted();
  }

  /** A client authenticated with the previous secret just now: stamps its `lastUsed`. */
  stampPreviousUsed(environmentId: string, ownerId: string, kind: OwnerKind): void {
    this.#secret(environmentId, ownerId, kind)?.stampPreviousUsed();
  }

  /**
   * The secret of a CUSTOM resource (or, with `kind`, an application) as of the clock's now, or `undefined`
   * if there is no such secret.
   */
  secretState(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): SecretState | undefined {
    return this.#secret(environmentId, ownerId, kind)?.state();
  }

  /**
   * Generates a new secret. The old current secret moves into the single previous slot until
   * `previousExpiresAt`, overwriting any earlier previous; without it the old secret is gone at once.
   */
  regenerate(
    environmentId: string,
    ownerId: string,
    previousExpiresAt?: Date,
    kind: OwnerKind = 'resource',
  ): SecretState {
    const secret = this.#requireSecret(environmentId, ownerId, kind);
    secret.replace(generateSecret(this.#random), previousExpiresAt);
    return secret.state();
  }

  /**
   * Stamps the previous secret's `lastUsed` as a consumer's use at `at` would (seeding worlds without making
   * the introspection call). Throws when there is no unexpired previous secret.
   */
  markPreviousUsed(environmentId: string, ownerId: string, at: Date, kind: OwnerKind = 'resource'): void {
    if (!this.#requireSecret(environmentId, ownerId, kind).stampPreviousUsed(at)) {
      throw new SimulatorUsageError(
        `${kind} ${ownerId} in ${environmentId} has no unexpired previous secret`,
      );
    }
  }

  deletePrevious(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): void {
    this.#requireSecret(environmentId, ownerId, kind).deletePrevious();
  }

  /**
   * Which of the owner's secrets `candidate` is. A match on the (unexpired) previous secret stamps its
   * `lastUsed`, as PingOne reports in `previous.lastUsed`.
   */
  matchSecret(
    environmentId: string,
    ownerId: string,
    candidate: string,
    kind: OwnerKind = 'resource',
  ): 'current' | 'previous' | undefined {
    return this.#secret(environmentId, ownerId, kind)?.match(candidate);
  }

  /** Everything, for the admin API's state dump. Secrets included: this is a local test double. */
  snapshot(): {
    environments: Environment[];
    resources: (Resource & { secret?: SecretState })[];
    applications: (Application & { secret?: SecretState })[];
    workers: Worker[];
  } {
    return {
      environments: [...this.#environments.values()],
      resources: [...this.#resources.values()].map(({ resource, secret }) =>
        secret ? { ...resource, secret: secret.state() } : { ...resource },
      ),
      applications: [...this.#applications.values()].map(({ application, secret }) =>
        secret ? { ...application, secret: secret.state() } : { ...application },
      ),
      workers: [...this.#workers.values()].map((w) => this.worker(w.environmentId, w.clientId) ?? w),
    };
  }

  #newSecret(): SecretSlot {
    return new SecretSlot(generateSecret(this.#random), this.#clock);
  }

  #requireEnvironment(id: string): Environment {
    const environment = this.#environments.get(id);
    if (!environment) throw new SimulatorUsageError(`environment ${id} does not exist`, 'not-found');
    return environment;
  }

  #secret(environmentId: string, ownerId: string, kind: OwnerKind): SecretSlot | undefined {
    const key = ownerKey(environmentId, ownerId);
    return (kind === 'application' ? this.#applications.get(key) : this.#resources.get(key))?.secret;
  }

  #requireSecret(environmentId: string, ownerId: string, kind: OwnerKind): SecretSlot {
    const key = ownerKey(environmentId, ownerId);
    const record = kind === 'application' ? this.#applications.get(key) : this.#resources.get(key);
    if (!record) {
      throw new SimulatorUsageError(`${kind} ${ownerId} does not exist in ${environmentId}`, 'not-found');
    }
    if (!record.secret) {
      throw new SimulatorUsageError(
        'application' in record
          ? `application ${ownerId} is a ${record.application.protocol} application without a secret`
          : `resource ${ownerId} is ${record.resource.type}, not CUSTOM`,
      );
    }
    return record.secret;
  }
}

function defaultResourceName(type: ResourceType, id: string): string {
  if (type === 'OPENID_CONNECT') return 'openid';
  if (type === 'PINGONE_API') return 'PingOne API';
  return `resource-${id.slice(0, 8)}`;
}

/** Resources, applications and workers of an environment: `{environmentId}/{id}`. */
function ownerKey(environmentId: string, id: string): string {
  return `${environmentId}/${id}`;
}
