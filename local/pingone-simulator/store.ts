import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { isRegion, type PingOneRegion, REGIONS } from '../../lib/pingone/regions.js';
import type { Clock } from './clock.js';

export type ResourceType = 'CUSTOM' | 'OPENID_CONNECT' | 'PINGONE_API';
export type IntrospectEndpointAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'NONE';
export type TokenEndpointAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST';

const RESOURCE_TYPES: readonly ResourceType[] = ['CUSTOM', 'OPENID_CONNECT', 'PINGONE_API'];
const INTROSPECT_METHODS: readonly IntrospectEndpointAuthMethod[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
  'NONE',
];
const TOKEN_METHODS: readonly TokenEndpointAuthMethod[] = ['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'];

/** What owns a secret in the simulator: a custom resource or an application. */
export type OwnerKind = 'resource' | 'application';

export type ApplicationProtocol = 'OPENID_CONNECT' | 'SAML' | 'WS_FED';
export type ApplicationType =
  | 'WEB_APP'
  | 'NATIVE_APP'
  | 'SINGLE_PAGE_APP'
  | 'WORKER'
  | 'SERVICE'
  | 'CUSTOM_APP';
/** An OIDC application's `tokenEndpointAuthMethod`: also how it authenticates at introspection. */
export type ApplicationAuthMethod =
  | 'CLIENT_SECRET_BASIC'
  | 'CLIENT_SECRET_POST'
  | 'CLIENT_SECRET_JWT'
  | 'PRIVATE_KEY_JWT'
  | 'NONE';
export type ApplicationGrantType =
  | 'AUTHORIZATION_CODE'
  | 'IMPLICIT'
  | 'REFRESH_TOKEN'
  | 'CLIENT_CREDENTIALS'
  | 'DEVICE_CODE';

const APPLICATION_PROTOCOLS: readonly ApplicationProtocol[] = ['OPENID_CONNECT', 'SAML', 'WS_FED'];
const APPLICATION_TYPES: readonly ApplicationType[] = [
  'WEB_APP',
  'NATIVE_APP',
  'SINGLE_PAGE_APP',
  'WORKER',
  'SERVICE',
  'CUSTOM_APP',
];
const APPLICATION_AUTH_METHODS: readonly ApplicationAuthMethod[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
  'CLIENT_SECRET_JWT',
  'PRIVATE_KEY_JWT',
  'NONE',
];
const GRANT_TYPES: readonly ApplicationGrantType[] = [
  'AUTHORIZATION_CODE',
  'IMPLICIT',
  'REFRESH_TOKEN',
  'CLIENT_CREDENTIALS',
  'DEVICE_CODE',
];

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

const CRYPTO_RANDOM: SimulatorRandom = {
  int: (min, max) => randomInt(min, max),
  token: () => randomBytes(32).toString('base64url'),
};

/** A control-API call the simulator cannot honour: unknown environment, duplicate id, bad option. */
export class SimulatorUsageError extends Error {
  constructor(
    message: string,
    readonly reason: 'invalid' | 'not-found' = 'invalid',
  ) {
    super(message);
    this.name = 'SimulatorUsageError';
  }
}

export interface Environment {
  readonly id: string;
  readonly name: string;
  readonly region: PingOneRegion;
  /** The PingOne organization it belongs to; an organization lives in one region. */
  readonly organizationId: string;
}

/** The organization an environment joins when none is named: one per region. */
export function defaultOrganization(region: PingOneRegion): string {
  return `organization-${region.toLowerCase()}`;
}

export interface Resource {
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly type: ResourceType;
  readonly introspectEndpointAuthMethod: IntrospectEndpointAuthMethod;
  readonly audience: string;
  readonly accessTokenValiditySeconds: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Application {
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly protocol: ApplicationProtocol;
  readonly type: ApplicationType;
  /** OIDC applications only. */
  readonly tokenEndpointAuthMethod?: ApplicationAuthMethod;
  /** OIDC applications only. */
  readonly grantTypes?: readonly ApplicationGrantType[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A resource secret as PingOne would return it right now: expired previous secrets are not shown. */
export interface SecretState {
  readonly secret: string;
  readonly previous?: {
    readonly secret: string;
    readonly expiresAt: Date;
    readonly lastUsed?: Date;
  };
}

/** read: GET a secret; update: regenerate it (POST); delete: remove the previous secret (DELETE). */
export type SecretAction = 'read' | 'update' | 'delete';
const SECRET_ACTIONS: readonly SecretAction[] = ['read', 'update', 'delete'];

export interface Worker {
  readonly environmentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Environments the worker's role assignments cover. */
  readonly environments: readonly string[] | 'all';
  /** What its roles allow on client secrets (PingOne's `…:read:secret`, `…:update:secret`, `…:delete:secret`). */
  readonly secretActions: readonly SecretAction[];
  /** Whether its roles let it read applications (`applications:read:application`). */
  readonly readApplications: boolean;
}

/** A role as `GET /roles` returns it: its permission ids. */
export interface SimulatedRole {
  readonly id: string;
  readonly name: string;
  readonly permissions: readonly string[];
}

/** A worker's role assignment as `GET …/applications/{id}/roleAssignments` returns it. */
export interface SimulatedRoleAssignment {
  readonly id: string;
  readonly role: { readonly id: string };
  readonly scope: { readonly id: string; readonly type: 'ENVIRONMENT' | 'ORGANIZATION' };
}

const READS = ['applications:read:application', 'resources:read:resource'] as const;
const secretPermissions = (actions: readonly SecretAction[]) =>
  actions.flatMap((a) => [`resources:${a}:secret`, `applications:${a}:secret`]);

/**
 * The built-in roles the simulator knows (PingOne: "You need the Environment Admin or the Client Application
 * Developer roles to perform operations on resources"; the permission ids follow pingone-api.md §4/§10, the
 * read-secret names by analogy: UNCONFIRMED). Roles a worker was given otherwise are custom roles.
 */
export const BUILT_IN_ROLES: readonly SimulatedRole[] = Object.freeze([
  {
    id: 'role-environment-admin',
    name: 'Environment Admin',
    permissions: [...READS, ...secretPermissions(SECRET_ACTIONS)],
  },
  {
    id: 'role-client-application-developer',
    name: 'Client Application Developer',
    permissions: [...READS, ...secretPermissions(SECRET_ACTIONS)],
  },
  {
    id: 'role-configuration-read-only-admin',
    name: 'Configuration Read-Only Admin',
    permissions: [...READS],
  },
]);

/** The role a worker's abilities amount to: Client Application Developer, or a custom role with exactly them. */
export function roleOf(worker: Pick<Worker, 'secretActions' | 'readApplications'>): SimulatedRole {
  const permissions = [
    ...(worker.readApplications ? ['applications:read:application'] : []),
    'resources:read:resource',
    ...secretPermissions(SECRET_ACTIONS.filter((a) => worker.secretActions.includes(a))),
  ];
  const same = (role: SimulatedRole) =>
    role.permissions.length === permissions.length && role.permissions.every((p) => permissions.includes(p));
  const builtIn = BUILT_IN_ROLES.find((r) => r.id !== 'role-environment-admin' && same(r));
  if (builtIn) return builtIn;
  const key = `${worker.readApplications ? 'apps' : 'no-apps'}-${worker.secretActions.join('-') || 'no-secrets'}`;
  return { id: `role-custom-${key}`, name: `Custom role (${key})`, permissions };
}

export interface CreateEnvironmentInput {
  readonly id?: string;
  readonly name?: string;
  readonly region: PingOneRegion;
  /** Default: the region's default organization. An organization lives in one region only. */
  readonly organizationId?: string;
}

export interface CreateResourceInput {
  readonly id?: string;
  readonly name?: string;
  /** Default `CUSTOM`, the only type with a secret. */
  readonly type?: ResourceType;
  /** Default `CLIENT_SECRET_BASIC` (PingOne's default). Ignored for non-CUSTOM resources. */
  readonly introspectEndpointAuthMethod?: IntrospectEndpointAuthMethod;
  readonly audience?: string;
  readonly accessTokenValiditySeconds?: number;
}

export interface CreateApplicationInput {
  readonly id?: string;
  readonly name?: string;
  /** Default `OPENID_CONNECT`. Only OIDC applications have a secret. */
  readonly protocol?: ApplicationProtocol;
  /** Default `WEB_APP`. `WORKER` applications come from createWorker. */
  readonly type?: ApplicationType;
  /** Default `CLIENT_SECRET_BASIC`. Ignored for SAML / WS-Fed. */
  readonly tokenEndpointAuthMethod?: ApplicationAuthMethod;
  /** Default by type: CLIENT_CREDENTIALS for SERVICE, else AUTHORIZATION_CODE + REFRESH_TOKEN. */
  readonly grantTypes?: readonly ApplicationGrantType[];
  readonly enabled?: boolean;
  /** An OIDC application PingOne has no secret for (its secret endpoints answer 404). */
  readonly withoutSecret?: boolean;
}

export interface CreateWorkerInput {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Default `CLIENT_SECRET_BASIC`. The token endpoint accepts only this method for the worker. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /**
   * Environments the worker may manage. Default `'all'`: every environment of its organization (including
   * environments created later), never another organization's.
   */
  readonly environments?: readonly string[] | 'all';
  /** What it may do with client secrets. Default all of read, update and delete; `['read']`: read-only. */
  readonly secretActions?: readonly SecretAction[];
  /** Whether it may read applications (default true); false → 403 on `GET …/applications/{id}`. */
  readonly readApplications?: boolean;
}

interface MutableSecret {
  current: string;
  previous?: { secret: string; expiresAt: Date; lastUsed?: Date };
}

interface ResourceRecord {
  resource: Resource;
  /** Present for CUSTOM resources only. */
  secret?: MutableSecret;
}

interface ApplicationRecord {
  application: Application;
  /** OIDC applications (and workers) only. */
  secret?: MutableSecret;
}

interface IssuedToken {
  /** The region whose token endpoint issued it: its API is the only one that accepts it. */
  readonly region: PingOneRegion;
  readonly workerEnvironmentId: string;
  readonly clientId: string;
  readonly expiresAtMs: number;
}

/**
 * The simulator's in-memory PingOne: environments, resources with their secrets, worker apps and issued
 * access tokens. No HTTP here; every time decision reads the injected clock.
 */
export class SimulatorStore {
  readonly #clock: Clock;
  readonly #environments = new Map<string, Environment>();
  readonly #resources = new Map<string, ResourceRecord>();
  readonly #applications = new Map<string, ApplicationRecord>();
  readonly #workers = new Map<string, Worker>();
  /** Client-assertion ids seen, with when they expire, so an assertion cannot be replayed. */
  readonly #assertionIds = new Map<string, number>();
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #random: SimulatorRandom;

  constructor(clock: Clock, random: SimulatorRandom = CRYPTO_RANDOM) {
    this.#clock = clock;
    this.#random = random;
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

  /**
   * The worker's role assignments: its one role (roleOf), scoped to its organization (`'all'`) or to each
   * environment it lists.
   */
  roleAssignments(worker: Worker): SimulatedRoleAssignment[] {
    const role = roleOf(worker);
    const organizationId = this.#environments.get(worker.environmentId)?.organizationId ?? '';
    const scopes =
      worker.environments === 'all'
        ? [{ id: organizationId, type: 'ORGANIZATION' as const }]
        : worker.environments.map((id) => ({ id, type: 'ENVIRONMENT' as const }));
    return scopes.map((scope) => ({ id: `${worker.clientId}-${scope.id}`, role: { id: role.id }, scope }));
  }

  /** The built-in roles and the custom roles workers hold. */
  roles(): SimulatedRole[] {
    const custom = new Map<string, SimulatedRole>();
    for (const worker of this.#workers.values()) {
      const role = roleOf(worker);
      if (!BUILT_IN_ROLES.some((r) => r.id === role.id)) custom.set(role.id, role);
    }
    return [...BUILT_IN_ROLES, ...custom.values()];
  }

  /** Every environment, oldest first. */
  environments(): Environment[] {
    return [...this.#environments.values()];
  }

  /**
   * Whether the worker's role assignments cover the environment: one it lists, or with `'all'` any of its own
   * organization's. Another organization's environment is never the worker's.
   */
  mayManage(worker: Worker, environmentId: string, region: PingOneRegion): boolean {
    const own = this.#environments.get(worker.environmentId);
    const target = this.#environments.get(environmentId);
    if (worker.environments !== 'all') return worker.environments.includes(environmentId);
    // An environment that does not exist (in this region) is left to the 404 that follows.
    if (own === undefined) return false;
    return target === undefined || target.region !== region || own.organizationId === target.organizationId;
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
    const key = resourceKey(environmentId, id);
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
    const record: ResourceRecord =
      type === 'CUSTOM' ? { resource, secret: { current: generateSecret(this.#random) } } : { resource };
    this.#resources.set(key, record);
    return record.secret ? { resource, secret: record.secret.current } : { resource };
  }

  resource(environmentId: string, resourceId: string): Resource | undefined {
    return this.#resources.get(resourceKey(environmentId, resourceId))?.resource;
  }

  createWorker(environmentId: string, input: CreateWorkerInput = {}): Worker {
    this.#requireEnvironment(environmentId);
    const clientId = newId(input.clientId, 'clientId');
    const key = workerKey(environmentId, clientId);
    if (this.#workers.has(key)) {
      throw new SimulatorUsageError(`worker ${clientId} already exists in ${environmentId}`);
    }
    const environments = input.environments ?? 'all';
    if (environments !== 'all' && !Array.isArray(environments)) {
      throw new SimulatorUsageError("worker environments must be an array of environment ids or 'all'");
    }
    if (this.#applications.has(workerKey(environmentId, clientId))) {
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
      secret: { current: worker.clientSecret },
    });
    return worker;
  }

  /** The worker with its application's current secret (a second worker may have rotated it). */
  worker(environmentId: string, clientId: string): Worker | undefined {
    const worker = this.#workers.get(workerKey(environmentId, clientId));
    const secret = this.#applications.get(workerKey(environmentId, clientId))?.secret;
    if (!worker || !secret || secret.current === worker.clientSecret) return worker;
    return Object.freeze({ ...worker, clientSecret: secret.current });
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
    const key = resourceKey(environmentId, id);
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
      oidc && !input.withoutSecret
        ? { application, secret: { current: generateSecret(this.#random) } }
        : { application };
    this.#applications.set(key, record);
    return record.secret ? { application, secret: record.secret.current } : { application };
  }

  application(environmentId: string, applicationId: string): Application | undefined {
    return this.#applications.get(resourceKey(environmentId, applicationId))?.application;
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

  /**
   * The secrets an owner accepts now: current, then the unexpired previous (a match on which stamps its
   * `lastUsed` through {@link stampPreviousUsed}). Undefined when the owner has no secret.
   */
  acceptedSecrets(
    environmentId: string,
    ownerId: string,
    kind: OwnerKind,
  ): { current: string; previous?: string } | undefined {
    const secret = this.#secretRecord(environmentId, ownerId, kind);
    if (!secret) return undefined;
    const previous = this.#livePrevious(secret);
    return previous ? { current: secret.current, previous: previous.secret } : { current: secret.current };
  }

  /** A client authenticated with the previous secret just now: stamps its `lastUsed`. */
  stampPreviousUsed(environmentId: string, ownerId: string, kind: OwnerKind): void {
    const secret = this.#secretRecord(environmentId, ownerId, kind);
    const previous = secret ? this.#livePrevious(secret) : undefined;
    if (previous) previous.lastUsed = this.#clock.now();
  }

  /** Issues an opaque access token for the worker; returns the token string. */
  issueToken(worker: Worker, ttlSeconds: number, region: PingOneRegion): string {
    const token = this.#random.token();
    this.#tokens.set(token, {
      region,
      workerEnvironmentId: worker.environmentId,
      clientId: worker.clientId,
      expiresAtMs: this.#clock.now().getTime() + ttlSeconds * 1000,
    });
    return token;
  }

  /** The worker a live token was issued to, or `undefined` for an unknown, expired or revoked token. */
  tokenHolder(token: string): Worker | undefined {
    const issued = this.#tokens.get(token);
    if (!issued) return undefined;
    if (this.#clock.now().getTime() >= issued.expiresAtMs) {
      this.#tokens.delete(token);
      return undefined;
    }
    return this.worker(issued.workerEnvironmentId, issued.clientId);
  }

  /** The region whose token endpoint issued a token, while it is known. */
  tokenRegion(token: string): PingOneRegion | undefined {
    return this.#tokens.get(token)?.region;
  }

  revokeTokens(): void {
    this.#tokens.clear();
  }

  /** Every access token issued and not revoked (for the tests' leak scans). */
  issuedTokens(): string[] {
    return [...this.#tokens.keys()];
  }

  /**
   * The secret of a CUSTOM resource (or, with `kind`, an application) as of the clock's now, or `undefined`
   * if there is no such secret.
   */
  secretState(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): SecretState | undefined {
    const secret = this.#secretRecord(environmentId, ownerId, kind);
    if (!secret) return undefined;
    const previous = this.#livePrevious(secret);
    if (!previous) return { secret: secret.current };
    // Copies, so a caller holding the state cannot change the store's dates.
    return {
      secret: secret.current,
      previous: {
        secret: previous.secret,
        expiresAt: new Date(previous.expiresAt),
        ...(previous.lastUsed ? { lastUsed: new Date(previous.lastUsed) } : {}),
      },
    };
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
    secret.previous = previousExpiresAt
      ? { secret: secret.current, expiresAt: new Date(previousExpiresAt) }
      : undefined;
    secret.current = generateSecret(this.#random);
    return this.secretState(environmentId, ownerId, kind)!;
  }

  /**
   * Stamps the previous secret's `lastUsed` as a consumer's use at `at` would (seeding worlds without making
   * the introspection call). Throws when there is no unexpired previous secret.
   */
  markPreviousUsed(environmentId: string, ownerId: string, at: Date, kind: OwnerKind = 'resource'): void {
    const previous = this.#livePrevious(this.#requireSecret(environmentId, ownerId, kind));
    if (!previous) {
      throw new SimulatorUsageError(
        `${kind} ${ownerId} in ${environmentId} has no unexpired previous secret`,
      );
    }
    previous.lastUsed = new Date(at);
  }

  deletePrevious(environmentId: string, ownerId: string, kind: OwnerKind = 'resource'): void {
    this.#requireSecret(environmentId, ownerId, kind).previous = undefined;
  }

  /**
   * Which of the resource's secrets `candidate` is. A match on the (unexpired) previous secret stamps its
   * `lastUsed`, as PingOne reports in `previous.lastUsed`.
   */
  matchSecret(
    environmentId: string,
    ownerId: string,
    candidate: string,
    kind: OwnerKind = 'resource',
  ): 'current' | 'previous' | undefined {
    const secret = this.#secretRecord(environmentId, ownerId, kind);
    if (!secret) return undefined;
    if (candidate === secret.current) return 'current';
    const previous = this.#livePrevious(secret);
    if (previous && candidate === previous.secret) {
      previous.lastUsed = this.#clock.now();
      return 'previous';
    }
    return undefined;
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
      resources: [...this.#resources.values()].map(({ resource }) => {
        const secret = this.secretState(resource.environmentId, resource.id);
        return secret ? { ...resource, secret } : { ...resource };
      }),
      applications: [...this.#applications.values()].map(({ application }) => {
        const secret = this.secretState(application.environmentId, application.id, 'application');
        return secret ? { ...application, secret } : { ...application };
      }),
      workers: [...this.#workers.values()].map((w) => this.worker(w.environmentId, w.clientId) ?? w),
    };
  }

  // Expiry is evaluated on every read rather than by a timer, so moving the clock is enough.
  #livePrevious(secret: MutableSecret): MutableSecret['previous'] {
    const previous = secret.previous;
    return previous && previous.expiresAt.getTime() > this.#clock.now().getTime() ? previous : undefined;
  }

  #requireEnvironment(id: string): Environment {
    const environment = this.#environments.get(id);
    if (!environment) throw new SimulatorUsageError(`environment ${id} does not exist`, 'not-found');
    return environment;
  }

  #secretRecord(environmentId: string, ownerId: string, kind: OwnerKind): MutableSecret | undefined {
    const key = resourceKey(environmentId, ownerId);
    return (kind === 'application' ? this.#applications.get(key) : this.#resources.get(key))?.secret;
  }

  #requireSecret(environmentId: string, ownerId: string, kind: OwnerKind): MutableSecret {
    if (kind === 'application') {
      const record = this.#applications.get(resourceKey(environmentId, ownerId));
      if (!record) {
        throw new SimulatorUsageError(
          `application ${ownerId} does not exist in ${environmentId}`,
          'not-found',
        );
      }
      if (!record.secret) {
        throw new SimulatorUsageError(
          `application ${ownerId} is a ${record.application.protocol} application without a secret`,
        );
      }
      return record.secret;
    }
    const resourceId = ownerId;
    const record = this.#resources.get(resourceKey(environmentId, resourceId));
    if (!record) {
      throw new SimulatorUsageError(`resource ${resourceId} does not exist in ${environmentId}`, 'not-found');
    }
    if (!record.secret) {
      throw new SimulatorUsageError(`resource ${resourceId} is ${record.resource.type}, not CUSTOM`);
    }
    return record.secret;
  }
}

/** 64–72 characters from PingOne's alphabet; PingOne guarantees at least 64 (pingone-api.md §8). */
function generateSecret(random: SimulatorRandom = CRYPTO_RANDOM): string {
  const length = random.int(64, 73);
  let secret = '';
  for (let i = 0; i < length; i++) secret += SECRET_ALPHABET.charAt(random.int(0, SECRET_ALPHABET.length));
  return secret;
}

function newId(given: string | undefined, what: string): string {
  if (given === undefined) return randomUUID();
  if (typeof given !== 'string' || given === '' || given.includes('/')) {
    throw new SimulatorUsageError(`${what} must be a non-empty string without '/'`);
  }
  return given;
}

function oneOf<T extends string>(value: T, allowed: readonly T[], what: string): T {
  if (!allowed.includes(value)) throw new SimulatorUsageError(`${what} must be one of ${allowed.join(', ')}`);
  return value;
}

function defaultResourceName(type: ResourceType, id: string): string {
  if (type === 'OPENID_CONNECT') return 'openid';
  if (type === 'PINGONE_API') return 'PingOne API';
  return `resource-${id.slice(0, 8)}`;
}

function resourceKey(environmentId: string, resourceId: string): string {
  return `${environmentId}/${resourceId}`;
}

function workerKey(environmentId: string, clientId: string): string {
  return `${environmentId}/${clientId}`;
}
