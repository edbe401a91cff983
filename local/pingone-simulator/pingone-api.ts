import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isRegion, type PingOneRegion } from '../../lib/pingone/regions.js';
import type { Clock } from './clock.js';
import {
  insufficientPermissions,
  invalidClient,
  invalidData,
  invalidRequest,
  invalidToken,
  notFound,
  OAuthError,
  ownSecretForbidden,
} from './errors.js';
import type { RouteName } from './faults.js';
import { isJsonObject, type Reply } from './http.js';
import type { Environment, OwnerKind, SecretState, Worker } from './store/model.js';
import type { SimulatorStore } from './store/store.js';

/**
 * How a request authenticated, as the request record shows it: `jwt` is an RFC 7523 client assertion
 * (`client_assertion_type=…jwt-bearer`).
 */
export type ClientAuth = 'basic' | 'post' | 'jwt' | 'none' | 'bearer';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A client assertion valid for longer than this is refused: it should live for one request. */
const MAX_ASSERTION_LIFETIME_S = 300;

export interface RouteMatch {
  readonly route: RouteName;
  readonly region: PingOneRegion;
  readonly environmentId: string;
  readonly resourceId?: string;
  readonly applicationId?: string;
  readonly allowedMethods: readonly string[];
}

export interface ApiRequest {
  readonly method: string;
  readonly match: RouteMatch;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `http://127.0.0.1:PORT/{region}/api/v1` with the region filled in, for `_links`. */
  readonly apiBase: string;
  /** `http://127.0.0.1:PORT/{region}/auth` with the region filled in: client assertions' audience. */
  readonly authBase: string;
}

/** What a handler learnt about the request, for the request record. Never a secret. */
export interface RequestFacts {
  clientAuth?: ClientAuth;
  /** A token issued in one region, presented at another region's API (refused). */
  crossRegionToken?: { readonly issuedIn: PingOneRegion; readonly usedIn: PingOneRegion };
  resourceId?: string;
  applicationId?: string;
}

const MINUTE_MS = 60_000;
const THIRTY_DAYS_MS = 30 * 24 * 60 * MINUTE_MS;

// Path shapes: /{region}/api/v1/environments/{env}[/(resources|applications)/{id}[/secret]] and
// /{region}/auth/{env}/as/{op}
const API_PATH =
  /^\/([a-z]+)\/api\/v1\/environments\/([^/]+)(?:\/(resources|applications)\/([^/]+)(\/secret)?)?\/?$/;
const AUTH_PATH = /^\/([a-z]+)\/auth\/([^/]+)\/as\/(token|introspect)\/?$/;
// What `doctor` reads: the environments a worker sees, its role assignments, the roles' permissions.
const LIST_PATH = /^\/([a-z]+)\/api\/v1\/(environments|roles)\/?$/;
const ROLE_ASSIGNMENTS_PATH =
  /^\/([a-z]+)\/api\/v1\/environments\/([^/]+)\/applications\/([^/]+)\/roleAssignments\/?$/;

/** Matches a PingOne path; `undefined` for anything the simulator does not serve (→ 404). */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const list = LIST_PATH.exec(pathname);
  if (list) {
    const region = (list[1] ?? '').toUpperCase();
    if (!isRegion(region)) return undefined;
    const route = list[2] === 'roles' ? 'roles' : 'environments';
    return { route, region, environmentId: '', allowedMethods: ['GET'] };
  }
  const assignments = ROLE_ASSIGNMENTS_PATH.exec(pathname);
  if (assignments) {
    const region = (assignments[1] ?? '').toUpperCase();
    const environmentId = decodeSegment(assignments[2] ?? '');
    const applicationId = decodeSegment(assignments[3] ?? '');
    if (!isRegion(region) || environmentId === undefined || applicationId === undefined) return undefined;
    return { route: 'role-assignments', region, environmentId, applicationId, allowedMethods: ['GET'] };
  }
  const api = API_PATH.exec(pathname);
  if (api) {
    const [, regionCode = '', envSegment = '', collection, idSegment, secretSuffix] = api;
    const region = regionCode.toUpperCase();
    const environmentId = decodeSegment(envSegment);
    const ownerId = idSegment === undefined ? undefined : decodeSegment(idSegment);
    if (!isRegion(region) || environmentId === undefined) return undefined;
    if (idSegment !== undefined && ownerId === undefined) return undefined;
    if (ownerId === undefined) {
      return { route: 'environment', region, environmentId, allowedMethods: ['GET'] };
    }
    if (collection === 'applications') {
      const applicationId = ownerId;
      return secretSuffix
        ? {
            route: 'application-secret',
            region,
            environmentId,
            applicationId,
            allowedMethods: ['GET', 'POST', 'DELETE'],
          }
        : { route: 'application', region, environmentId, applicationId, allowedMethods: ['GET'] };
    }
    const resourceId = ownerId;
    return secretSuffix
      ? { route: 'secret', region, environmentId, resourceId, allowedMethods: ['GET', 'POST', 'DELETE'] }
      : { route: 'resource', region, environmentId, resourceId, allowedMethods: ['GET'] };
  }
  const auth = AUTH_PATH.exec(pathname);
  if (auth) {
    const [, regionCode = '', envSegment = '', operation] = auth;
    const region = regionCode.toUpperCase();
    const environmentId = decodeSegment(envSegment);
    if (!isRegion(region) || environmentId === undefined) return undefined;
    return {
      route: operation === 'token' ? 'token' : 'introspect',
      region,
      environmentId,
      allowedMethods: ['POST'],
    };
  }
  return undefined;
}

/** The region named by a path's first segment, if any (for the record of unknown routes). */
export function regionOfPath(pathname: string): PingOneRegion | undefined {
  const code = pathname.split('/')[1]?.toUpperCase();
  return isRegion(code) ? code : undefined;
}

/**
 * The client_id an auth-endpoint request names (Basic user name or form `client_id`), so fault rules can
 * match introspection by resource before anything runs.
 */
export function clientIdOf(headers: IncomingHttpHeaders, body: string): string | undefined {
  try {
    return readClientCredentials(headers, new URLSearchParams(body))?.id;
  } catch {
    return undefined;
  }
}

/**
 * PingOne's token, introspection and Management API endpoints over a {@link SimulatorStore}.
 *
 * Access tokens are tied to the region that issued them: a token from one region's token endpoint is refused
 * (401 INVALID_TOKEN) at every other region's API, and the use is recorded (`crossRegionToken`), so tests can
 * assert that nothing ever sends a token to another region. A worker manages only its own organization's
 * environments (403 elsewhere).
 */
export class PingOneApi {
  readonly #store: SimulatorStore;
  readonly #clock: Clock;
  readonly #tokenTtlSeconds: number;

  constructor(store: SimulatorStore, clock: Clock, tokenTtlSeconds: number) {
    this.#store = store;
    this.#clock = clock;
    this.#tokenTtlSeconds = tokenTtlSeconds;
  }

  /** Performs the request; throws `PingOneError`/`OAuthError` for error answers. */
  handle(request: ApiRequest, facts: RequestFacts): Reply {
    const { route } = request.match;
    switch (route) {
      case 'token':
        return this.#token(request, facts);
      case 'introspect':
        return this.#introspect(request, facts);
      case 'environment':
        return this.#getEnvironment(request, facts);
      case 'resource':
        return this.#getResource(request, facts);
      case 'secret':
        return this.#secret(request, facts);
      case 'application':
        return this.#getApplication(request, facts);
      case 'application-secret':
        return this.#applicationSecret(request, facts);
      case 'environments':
        return this.#listEnvironments(request, facts);
      case 'role-assignments':
        return this.#roleAssignments(request, facts);
      case 'roles':
        return this.#roles(request, facts);
      default: {
        const unreachable: never = route;
        throw new Error(`unhandled route ${String(unreachable)}`);
      }
    }
  }

  /** `POST {auth}/{envId}/as/token`: client_credentials for a worker app of that environment. */
  #token(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#environmentInRegion(request.match);
    const form = new URLSearchParams(request.body);
    const credentials = readClientCredentials(request.headers, form);
    if (!credentials) throw invalidClient('Client authentication is required.');
    facts.clientAuth = credentials.via;
    const worker = this.#store.worker(environment.id, credentials.id);
    // A worker's secret is its application's: the current one or an unexpired previous one.
    if (
      !worker ||
      credentials.secret === undefined ||
      !this.#store.matchSecret(environment.id, worker.clientId, credentials.secret, 'application')
    ) {
      throw invalidClient('Invalid client credentials.');
    }
    // Only the worker's configured tokenEndpointAuthMethod is accepted (pingone-api.md §4). The Go SDK's
    // auto-detect exists because of this; a client configured with the right method never needs it.
    if (credentials.via !== viaOf(worker.tokenEndpointAuthMethod)) {
      throw invalidClient(`The client must authenticate with ${worker.tokenEndpointAuthMethod}.`);
    }
    const grantType = form.get('grant_type');
    if (!grantType) throw new OAuthError(400, 'invalid_request', 'The grant_type parameter is required.');
    if (grantType !== 'client_credentials') {
      throw new OAuthError(400, 'unsupported_grant_type', `The grant type ${grantType} is not supported.`);
    }
    const accessToken = this.#store.tokens.issue(worker, this.#tokenTtlSeconds, environment.region);
    return {
      status: 200,
      body: { access_token: accessToken, token_type: 'Bearer', expires_in: this.#tokenTtlSeconds },
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
    };
  }

  /**
   * `POST {auth}/{envId}/as/introspect`, the client being a CUSTOM resource authenticated per its
   * `introspectEndpointAuthMethod`, or an OIDC application per its `tokenEndpointAuthMethod` (Basic, POST,
   * or a `client_secret_jwt` assertion). Every token is reported inactive: the only tokens the simulator
   * issues are worker tokens for the Management API, whose audience is never the client.
   */
  #introspect(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#environmentInRegion(request.match);
    const form = new URLSearchParams(request.body);
    const credentials = readClientCredentials(request.headers, form);
    if (!credentials) throw invalidClient('Client authentication is required.');
    facts.clientAuth = credentials.via;
    const resource = this.#store.resource(environment.id, credentials.id);
    if (resource?.type === 'CUSTOM') {
      facts.resourceId = resource.id;
      const method = resource.introspectEndpointAuthMethod;
      if (method !== 'NONE') {
        if (credentials.via !== viaOf(method)) {
          throw invalidClient(`The client must authenticate with ${method}.`);
        }
        if (!this.#store.matchSecret(environment.id, resource.id, credentials.secret ?? '')) {
          throw invalidClient('Invalid client credentials.');
        }
      }
    } else {
      const application = this.#store.application(environment.id, credentials.id);
      const secrets = application
        ? this.#store.acceptedSecrets(environment.id, application.id, 'application')
        : undefined;
      if (application?.protocol !== 'OPENID_CONNECT' || !application.enabled) {
        throw invalidClient('Invalid client credentials.');
      }
      facts.applicationId = application.id;
      const method = application.tokenEndpointAuthMethod ?? 'NONE';
      if (method === 'NONE') {
        if (credentials.via !== 'none') throw invalidClient('The client must authenticate with NONE.');
      } else if (method === 'PRIVATE_KEY_JWT') {
        // Its assertions are signed with the client's private key; the secret authenticates nothing.
        throw invalidClient('The client must authenticate with PRIVATE_KEY_JWT.');
      } else {
        if (credentials.via !== viaOf(method)) {
          throw invalidClient(`The client must authenticate with ${method}.`);
        }
        if (!secrets) throw invalidClient('Invalid client credentials.');
        const matched =
          method === 'CLIENT_SECRET_JWT'
            ? this.#verifyAssertion(
                credentials,
                secrets,
                `${request.authBase}/${environment.id}/as/introspect`,
              )
            : matchOne(secrets, credentials.secret ?? '');
        if (!matched) throw invalidClient('Invalid client credentials.');
        if (matched === 'previous')
          this.#store.stampPreviousUsed(environment.id, application.id, 'application');
      }
    }
    if (!form.get('token')) throw new OAuthError(400, 'invalid_request', 'The token parameter is required.');
    return { status: 200, body: { active: false }, headers: { 'cache-control': 'no-store' } };
  }

  /**
   * Verifies a `client_secret_jwt` assertion (RFC 7523 §3): HS256 over header.payload with the current or
   * previous secret; `iss` = `sub` = the client id; `aud` the endpoint; `exp` in the future and at most five
   * minutes away; a `jti` not seen before. Which secret signed it, or undefined.
   */
  #verifyAssertion(
    credentials: ClientCredentials,
    secrets: { current: string; previous?: string },
    audience: string,
  ): 'current' | 'previous' | undefined {
    const parts = (credentials.assertion ?? '').split('.');
    if (parts.length !== 3) return undefined;
    const [header, payload, signature = ''] = parts as [string, string, string];
    const head = decodeJwtPart(header);
    const claims = decodeJwtPart(payload);
    if (!head || !claims || head.alg !== 'HS256') return undefined;
    const signedWith = (secret: string) => {
      const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
      const given = Buffer.from(signature, 'base64url');
      return given.length === expected.length && timingSafeEqual(given, expected);
    };
    const matched = signedWith(secrets.current)
      ? 'current'
      : secrets.previous !== undefined && signedWith(secrets.previous)
        ? 'previous'
        : undefined;
    if (!matched) return undefined;
    const now = this.#clock.now().getTime() / 1000;
    const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
    if (
      claims.iss !== credentials.id ||
      claims.sub !== credentials.id ||
      !audiences.includes(audience) ||
      typeof claims.exp !== 'number' ||
      claims.exp <= now ||
      claims.exp > now + MAX_ASSERTION_LIFETIME_S ||
      typeof claims.jti !== 'string' ||
      claims.jti === ''
    ) {
      return undefined;
    }
    if (!this.#store.tokens.useAssertionId(credentials.id, claims.jti, claims.exp * 1000)) return undefined;
    return matched;
  }

  #getEnvironment(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#authorize(request, facts);
    return {
      status: 200,
      body: {
        _links: { self: { href: `${request.apiBase}/environments/${environment.id}` } },
        id: environment.id,
        name: environment.name,
        region: environment.region,
      },
    };
  }

  #getResource(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#authorize(request, facts);
    const resource = this.#store.resource(environment.id, request.match.resourceId ?? '');
    if (!resource) throw notFound();
    return {
      status: 200,
      body: {
        _links: {
          self: { href: `${request.apiBase}/environments/${environment.id}/resources/${resource.id}` },
        },
        id: resource.id,
        name: resource.name,
        type: resource.type,
        // Built-in resources have no introspection client of their own.
        ...(resource.type === 'CUSTOM'
          ? { introspectEndpointAuthMethod: resource.introspectEndpointAuthMethod }
          : {}),
        audience: resource.audience,
        accessTokenValiditySeconds: resource.accessTokenValiditySeconds,
        createdAt: resource.createdAt.toISOString(),
        updatedAt: resource.updatedAt.toISOString(),
        environment: { id: environment.id },
      },
    };
  }

  /** GET / POST / DELETE `…/resources/{resId}/secret`; non-CUSTOM and unknown resources are 404. */
  #secret(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#authorize(request, facts);
    const resourceId = request.match.resourceId ?? '';
    const current = this.#store.secretState(environment.id, resourceId);
    if (!current) throw notFound();
    return this.#secretOperation(request, environment, resourceId, 'resource', current);
  }

  #secretOperation(
    request: ApiRequest,
    environment: Environment,
    ownerId: string,
    kind: OwnerKind,
    current: SecretState,
  ): Reply {
    // The worker's roles: a read-only one may GET, not regenerate (POST) or delete the previous secret.
    const action = request.method === 'POST' ? 'update' : request.method === 'DELETE' ? 'delete' : 'read';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '')?.[1];
    if (!(bearer && this.#store.tokenHolder(bearer)?.secretActions.includes(action))) {
      throw insufficientPermissions();
    }
    switch (request.method) {
      case 'GET':
        return this.#secretReply(request, environment, ownerId, kind, current);
      case 'POST': {
        // Validate completely before changing anything: a 400 must leave both secrets as they were.
        const previousExpiresAt = parsePreviousExpiresAt(request.body, this.#clock.now());
        const state = this.#store.regenerate(environment.id, ownerId, previousExpiresAt, kind);
        return this.#secretReply(request, environment, ownerId, kind, state);
      }
      default:
        this.#store.deletePrevious(environment.id, ownerId, kind);
        return { status: 204 };
    }
  }

  #secretReply(
    request: ApiRequest,
    environment: Environment,
    ownerId: string,
    kind: OwnerKind,
    state: SecretState,
  ): Reply {
    const collection = kind === 'application' ? 'applications' : 'resources';
    const ownerHref = `${request.apiBase}/environments/${environment.id}/${collection}/${ownerId}`;
    const { previous } = state;
    return {
      status: 200,
      body: {
        _links: {
          self: { href: `${ownerHref}/secret` },
          environment: { href: `${request.apiBase}/environments/${environment.id}` },
          [kind]: { href: ownerHref },
        },
        environment: { id: environment.id },
        secret: state.secret,
        ...(previous
          ? {
              previous: {
                secret: previous.secret,
                expiresAt: previous.expiresAt.toISOString(),
                ...(previous.lastUsed ? { lastUsed: previous.lastUsed.toISOString() } : {}),
              },
            }
          : {}),
      },
    };
  }

  /** `GET /environments`: the environments of this region the worker's role assignments cover. */
  #listEnvironments(request: ApiRequest, facts: RequestFacts): Reply {
    const worker = this.#workerOf(request, facts);
    const environments = this.#store
      .environments()
      .filter((e) => e.region === request.match.region && this.#store.mayManage(worker, e.id, e.region));
    return {
      status: 200,
      body: {
        _links: { self: { href: `${request.apiBase}/environments` } },
        _embedded: { environments: environments.map((e) => ({ id: e.id, name: e.name, region: e.region })) },
        count: environments.length,
        size: environments.length,
      },
    };
  }

  /** `GET …/applications/{id}/roleAssignments`: a worker may read its own (the simulator's simplification). */
  #roleAssignments(request: ApiRequest, facts: RequestFacts): Reply {
    const worker = this.#workerOf(request, facts);
    const { environmentId, applicationId } = request.match;
    const own = worker.environmentId === environmentId && worker.clientId === applicationId;
    if (!own && !this.#store.mayManage(worker, environmentId, request.match.region)) {
      throw insufficientPermissions();
    }
    this.#environmentInRegion(request.match);
    const target = this.#store.worker(environmentId, applicationId ?? '');
    const roleAssignments = target ? this.#store.roleAssignments(target) : [];
    return { status: 200, body: { _embedded: { roleAssignments }, count: roleAssignments.length } };
  }

  /** `GET /roles`: the built-in roles and the custom ones in use, with their permission ids. */
  #roles(request: ApiRequest, facts: RequestFacts): Reply {
    this.#workerOf(request, facts);
    const roles = this.#store.roles().map((r) => ({
      id: r.id,
      name: r.name,
      permissions: r.permissions.map((id) => ({ id })),
    }));
    return { status: 200, body: { _embedded: { roles }, count: roles.length } };
  }

  #getApplication(request: ApiRequest, facts: RequestFacts): Reply {
    if (!this.#workerOf(request, facts).readApplications) throw insufficientPermissions();
    const environment = this.#authorize(request, facts);
    const application = this.#store.application(environment.id, request.match.applicationId ?? '');
    if (!application) throw notFound();
    facts.applicationId = application.id;
    return {
      status: 200,
      body: {
        _links: {
          self: { href: `${request.apiBase}/environments/${environment.id}/applications/${application.id}` },
        },
        environment: { id: environment.id },
        id: application.id,
        name: application.name,
        enabled: application.enabled,
        protocol: application.protocol,
        type: application.type,
        ...(application.tokenEndpointAuthMethod
          ? { tokenEndpointAuthMethod: application.tokenEndpointAuthMethod }
          : {}),
        ...(application.grantTypes ? { grantTypes: application.grantTypes } : {}),
        createdAt: application.createdAt.toISOString(),
        updatedAt: application.updatedAt.toISOString(),
      },
    };
  }

  /**
   * GET / POST / DELETE `…/applications/{appId}/secret`: as for resources; SAML applications (and OIDC
   * ones without a secret) are 404, and a worker may not read or change its own secret (403).
   */
  #applicationSecret(request: ApiRequest, facts: RequestFacts): Reply {
    const worker = this.#workerOf(request, facts);
    const environment = this.#authorize(request, facts);
    const applicationId = request.match.applicationId ?? '';
    if (worker.environmentId === environment.id && worker.clientId === applicationId) {
      throw ownSecretForbidden();
    }
    const current = this.#store.secretState(environment.id, applicationId, 'application');
    if (!current) throw notFound();
    return this.#secretOperation(request, environment, applicationId, 'application', current);
  }

  /**
   * Bearer token → worker → may it manage the environment → does the environment exist in this region.
   * The permission check comes before the existence check, so a worker learns nothing about environments
   * outside its role assignments (it gets 403 for those, like PingOne's "You do not have access").
   */
  #authorize(request: ApiRequest, facts: RequestFacts): Environment {
    const worker = this.#workerOf(request, facts);
    const { environmentId } = request.match;
    if (!this.#store.mayManage(worker, environmentId, request.match.region)) throw insufficientPermissions();
    return this.#environmentInRegion(request.match);
  }

  /** The worker a request's bearer token belongs to; 401 without a live token. */
  #workerOf(request: ApiRequest, facts: RequestFacts): Worker {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (/^Bearer\s/i.test(header)) facts.clientAuth = 'bearer';
    const worker = bearer?.[1] ? this.#store.tokenHolder(bearer[1]) : undefined;
    if (!worker) throw invalidToken();
    // A token is issued by one region's auth service and valid only at that region's API.
    const issuedIn = bearer?.[1] ? this.#store.tokens.region(bearer[1]) : undefined;
    if (issuedIn !== request.match.region) {
      facts.crossRegionToken = { issuedIn: issuedIn ?? request.match.region, usedIn: request.match.region };
      throw invalidToken();
    }
    return worker;
  }

  /** An environment is served only under its own region's prefix; elsewhere it does not exist. */
  #environmentInRegion(match: RouteMatch): Environment {
    const environment = this.#store.environment(match.environmentId);
    if (!environment || environment.region !== match.region) throw notFound();
    return environment;
  }
}

interface ClientCredentials {
  readonly via: 'basic' | 'post' | 'jwt' | 'none';
  readonly id: string;
  readonly secret?: string;
  /** The client assertion, for `jwt`. */
  readonly assertion?: string;
}

/**
 * Client authentication at the auth endpoints (RFC 6749 §2.3.1): a Basic header with form-urlencoded id
 * and secret, or `client_id` (+ `client_secret`) in the form body; never both.
 */
function readClientCredentials(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
): ClientCredentials | undefined {
  const authorization = headers.authorization ?? '';
  if (/^Basic\s/i.test(authorization)) {
    if (form.has('client_secret')) {
      throw new OAuthError(400, 'invalid_request', 'Only one client authentication method may be used.');
    }
    const decoded = decodeBasic(authorization.replace(/^Basic\s+/i, '').trim());
    if (!decoded) throw invalidClient('The Basic authorization header is malformed.');
    return { via: 'basic', ...decoded };
  }
  const assertion = form.get('client_assertion');
  if (assertion !== null || form.has('client_assertion_type')) {
    if (form.get('client_assertion_type') !== JWT_BEARER || !assertion) {
      throw new OAuthError(
        400,
        'invalid_request',
        `client_assertion_type must be ${JWT_BEARER}, with a client_assertion.`,
      );
    }
    if (form.has('client_secret')) {
      throw new OAuthError(400, 'invalid_request', 'Only one client authentication method may be used.');
    }
    // RFC 7523 §3: client_id is optional; the assertion's sub names the client. Checked on verification.
    const claims = decodeJwtPart(assertion.split('.')[1] ?? '');
    const id = form.get('client_id') ?? (typeof claims?.sub === 'string' ? claims.sub : undefined);
    return id ? { via: 'jwt', id, assertion } : undefined;
  }
  const id = form.get('client_id');
  if (!id) return undefined;
  const secret = form.get('client_secret');
  return secret === null ? { via: 'none', id } : { via: 'post', id, secret };
}

function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    const id = formDecode(text.slice(0, colon));
    return id === '' ? undefined : { id, secret: formDecode(text.slice(colon + 1)) };
  } catch {
    return undefined; // a bad %-escape
  }
}

function viaOf(
  method: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'CLIENT_SECRET_JWT',
): 'basic' | 'post' | 'jwt' {
  return method === 'CLIENT_SECRET_BASIC' ? 'basic' : method === 'CLIENT_SECRET_POST' ? 'post' : 'jwt';
}

function matchOne(
  secrets: { current: string; previous?: string },
  candidate: string,
): 'current' | 'previous' | undefined {
  if (candidate === secrets.current) return 'current';
  return secrets.previous !== undefined && candidate === secrets.previous ? 'previous' : undefined;
}

/** A JWT header or payload as a JSON object, or undefined. */
function decodeJwtPart(part: string): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isJsonObject(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

// RFC 3339 date-time (the format of previous.expiresAt); Date.parse alone accepts far more.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * The `previous.expiresAt` of a regenerate request: `undefined` for an empty body, `{}` or no `previous`
 * (the old secret is then not retained). It must lie between 1 minute and 30 days from now
 * (pingone-api.md §2); PingOne's exact error for a bad value is UNCONFIRMED, the simulator answers
 * 400 INVALID_DATA with an OUT_OF_RANGE or INVALID_VALUE detail.
 */
function parsePreviousExpiresAt(body: string, now: Date): Date | undefined {
  if (body.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw invalidRequest('The request body is not valid JSON.');
  }
  if (!isJsonObject(doc)) throw invalidRequest('The request body must be a JSON object.');
  const previous = doc.previous;
  if (previous === undefined || previous === null) return undefined;
  const target = 'previous.expiresAt';
  if (!isJsonObject(previous) || previous.expiresAt === undefined || previous.expiresAt === null) {
    throw invalidData([
      {
        code: 'REQUIRED_VALUE',
        target,
        message: 'previous must be an object with an expiresAt date-time.',
        innerError: {},
      },
    ]);
  }
  const expiresAt = typeof previous.expiresAt === 'string' ? parseRfc3339(previous.expiresAt) : undefined;
  if (!expiresAt) {
    throw invalidData([
      {
        code: 'INVALID_VALUE',
        target,
        message: 'previous.expiresAt must be an RFC 3339 date-time, e.g. 2024-01-02T13:54:34.487Z.',
        innerError: { allowedPattern: 'yyyy-MM-ddTHH:mm:ss[.SSS](Z|+hh:mm|-hh:mm)' },
      },
    ]);
  }
  const earliest = now.getTime() + MINUTE_MS;
  const latest = now.getTime() + THIRTY_DAYS_MS;
  if (expiresAt.getTime() < earliest || expiresAt.getTime() > latest) {
    throw invalidData([
      {
        code: 'OUT_OF_RANGE',
        target,
        message: 'previous.expiresAt must be between 1 minute and 30 days from now.',
        // PingOne types these as numbers; for a time window the simulator gives its ends as RFC 3339.
        innerError: {
          rangeMinimumValue: new Date(earliest).toISOString(),
          rangeMaximumValue: new Date(latest).toISOString(),
        },
      },
    ]);
  }
  return expiresAt;
}

function parseRfc3339(value: string): Date | undefined {
  const parts = RFC3339.exec(value);
  if (!parts) return undefined;
  const ms = Date.parse(value.toUpperCase());
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2024-02-30 over to March; reject days the month does not have.
  const [, year, month, day] = parts.map(Number);
  const lastDay = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  return (day ?? 0) >= 1 && (day ?? 0) <= lastDay ? new Date(ms) : undefined;
}

function decodeSegment(segment: string): string | undefined {
  try {
    const value = decodeURIComponent(segment);
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}
