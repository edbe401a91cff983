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
} from './errors.js';
import type { RouteName } from './faults.js';
import { isJsonObject, type Reply } from './http.js';
import type { Environment, SecretState, SimulatorStore, Worker } from './store.js';

/** How a request authenticated, as the request record shows it. */
export type ClientAuth = 'basic' | 'post' | 'none' | 'bearer';

export interface RouteMatch {
  readonly route: RouteName;
  readonly region: PingOneRegion;
  readonly environmentId: string;
  readonly resourceId?: string;
  readonly allowedMethods: readonly string[];
}

export interface ApiRequest {
  readonly method: string;
  readonly match: RouteMatch;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
  /** `http://127.0.0.1:PORT/{region}/api/v1` with the region filled in, for `_links`. */
  readonly apiBase: string;
}

/** What a handler learnt about the request, for the request record. Never a secret. */
export interface RequestFacts {
  clientAuth?: ClientAuth;
  resourceId?: string;
}

const MINUTE_MS = 60_000;
const THIRTY_DAYS_MS = 30 * 24 * 60 * MINUTE_MS;

// Path shapes: /{region}/api/v1/environments/{env}[/resources/{res}[/secret]] and /{region}/auth/{env}/as/{op}
const API_PATH = /^\/([a-z]+)\/api\/v1\/environments\/([^/]+)(?:\/resources\/([^/]+)(\/secret)?)?\/?$/;
const AUTH_PATH = /^\/([a-z]+)\/auth\/([^/]+)\/as\/(token|introspect)\/?$/;

/** Matches a PingOne path; `undefined` for anything the simulator does not serve (→ 404). */
export function matchRoute(pathname: string): RouteMatch | undefined {
  const api = API_PATH.exec(pathname);
  if (api) {
    const [, regionCode = '', envSegment = '', resSegment, secretSuffix] = api;
    const region = regionCode.toUpperCase();
    const environmentId = decodeSegment(envSegment);
    const resourceId = resSegment === undefined ? undefined : decodeSegment(resSegment);
    if (!isRegion(region) || environmentId === undefined) return undefined;
    if (resSegment !== undefined && resourceId === undefined) return undefined;
    if (resourceId === undefined) {
      return { route: 'environment', region, environmentId, allowedMethods: ['GET'] };
    }
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
 * Access tokens are not tied to a region: a token from any region's token endpoint is accepted on every
 * region's API. In PingOne a worker gets its token from its own region's auth host; accepting it everywhere
 * lets one worker serve multi-region tests, while the Lambda must still call each region's own API prefix.
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
    if (!worker || credentials.secret !== worker.clientSecret) {
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
    const accessToken = this.#store.issueToken(worker, this.#tokenTtlSeconds);
    return {
      status: 200,
      body: { access_token: accessToken, token_type: 'Bearer', expires_in: this.#tokenTtlSeconds },
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
    };
  }

  /**
   * `POST {auth}/{envId}/as/introspect`, the client being a CUSTOM resource authenticated per its
   * `introspectEndpointAuthMethod`. Every token is reported inactive: the only tokens the simulator issues
   * are worker tokens for the Management API, whose audience is never a custom resource.
   */
  #introspect(request: ApiRequest, facts: RequestFacts): Reply {
    const environment = this.#environmentInRegion(request.match);
    const form = new URLSearchParams(request.body);
    const credentials = readClientCredentials(request.headers, form);
    if (!credentials) throw invalidClient('Client authentication is required.');
    facts.clientAuth = credentials.via;
    const resource = this.#store.resource(environment.id, credentials.id);
    if (resource?.type !== 'CUSTOM') throw invalidClient('Invalid client credentials.');
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
    if (!form.get('token')) throw new OAuthError(400, 'invalid_request', 'The token parameter is required.');
    return { status: 200, body: { active: false }, headers: { 'cache-control': 'no-store' } };
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
    switch (request.method) {
      case 'GET':
        return this.#secretReply(request, environment, resourceId, current);
      case 'POST': {
        // Validate completely before changing anything: a 400 must leave both secrets as they were.
        const previousExpiresAt = parsePreviousExpiresAt(request.body, this.#clock.now());
        const state = this.#store.regenerate(environment.id, resourceId, previousExpiresAt);
        return this.#secretReply(request, environment, resourceId, state);
      }
      default:
        this.#store.deletePrevious(environment.id, resourceId);
        return { status: 204 };
    }
  }

  #secretReply(request: ApiRequest, environment: Environment, resourceId: string, state: SecretState): Reply {
    const resourceHref = `${request.apiBase}/environments/${environment.id}/resources/${resourceId}`;
    const { previous } = state;
    return {
      status: 200,
      body: {
        _links: {
          self: { href: `${resourceHref}/secret` },
          environment: { href: `${request.apiBase}/environments/${environment.id}` },
          resource: { href: resourceHref },
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

  /**
   * Bearer token → worker → may it manage the environment → does the environment exist in this region.
   * The permission check comes before the existence check, so a worker learns nothing about environments
   * outside its role assignments (it gets 403 for those, like PingOne's "You do not have access").
   */
  #authorize(request: ApiRequest, facts: RequestFacts): Environment {
    const header = request.headers.authorization ?? '';
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (/^Bearer\s/i.test(header)) facts.clientAuth = 'bearer';
    const worker = bearer?.[1] ? this.#store.tokenHolder(bearer[1]) : undefined;
    if (!worker) throw invalidToken();
    const { environmentId } = request.match;
    if (!mayManage(worker, environmentId)) throw insufficientPermissions();
    return this.#environmentInRegion(request.match);
  }

  /** An environment is served only under its own region's prefix; elsewhere it does not exist. */
  #environmentInRegion(match: RouteMatch): Environment {
    const environment = this.#store.environment(match.environmentId);
    if (!environment || environment.region !== match.region) throw notFound();
    return environment;
  }
}

interface ClientCredentials {
  readonly via: 'basic' | 'post' | 'none';
  readonly id: string;
  readonly secret?: string;
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

function viaOf(method: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST'): 'basic' | 'post' {
  return method === 'CLIENT_SECRET_BASIC' ? 'basic' : 'post';
}

function mayManage(worker: Worker, environmentId: string): boolean {
  return worker.environments === 'all' || worker.environments.includes(environmentId);
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
