/**
 * What a handler of the PingOne API is given (the request, the world it acts on) and what it reports, and the
 * checks every Management API request passes before its handler looks at anything: bearer token → worker →
 * may it manage the environment → does the environment exist in this region.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { PingOneRegion } from '../../../lib/pingone/regions.js';
import type { Clock } from '../clock.js';
import { insufficientPermissions, invalidToken, notFound } from '../errors.js';
import type { Reply } from '../http.js';
import type { Environment, Worker } from '../store/model.js';
import type { SimulatorStore } from '../store/store.js';
import type { ClientAuth } from './client-auth.js';
import type { RouteMatch } from './routes.js';

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

/** The simulated PingOne a handler acts on. */
export interface ApiWorld {
  readonly store: SimulatorStore;
  readonly clock: Clock;
  /** `expires_in` of issued access tokens. */
  readonly tokenTtlSeconds: number;
}

/** One route's handler: performs the request; throws `PingOneError`/`OAuthError` for error answers. */
export type Handler = (world: ApiWorld, request: ApiRequest, facts: RequestFacts) => Reply;

/**
 * Bearer token → worker → may it manage the environment → does the environment exist in this region.
 * The permission check comes before the existence check, so a worker learns nothing about environments
 * outside its role assignments (it gets 403 for those, like PingOne's "You do not have access").
 */
export function authorize(
  world: ApiWorld,
  request: ApiRequest,
  facts: RequestFacts,
): { environment: Environment; worker: Worker } {
  const worker = workerOf(world, request, facts);
  const { environmentId } = request.match;
  if (!world.store.mayManage(worker, environmentId, request.match.region)) throw insufficientPermissions();
  return { environment: environmentInRegion(world, request.match), worker };
}

/** The worker a request's bearer token belongs to; 401 without a live token. */
export function workerOf({ store }: ApiWorld, request: ApiRequest, facts: RequestFacts): Worker {
  const header = request.headers.authorization ?? '';
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (/^Bearer\s/i.test(header)) facts.clientAuth = 'bearer';
  const worker = bearer?.[1] ? store.tokenHolder(bearer[1]) : undefined;
  if (!worker) throw invalidToken();
  // A token is issued by one region's auth service and valid only at that region's API.
  const issuedIn = bearer?.[1] ? store.tokens.region(bearer[1]) : undefined;
  if (issuedIn !== request.match.region) {
    facts.crossRegionToken = { issuedIn: issuedIn ?? request.match.region, usedIn: request.match.region };
    throw invalidToken();
  }
  return worker;
}

/** An environment is served only under its own region's prefix; elsewhere it does not exist. */
export function environmentInRegion({ store }: ApiWorld, match: RouteMatch): Environment {
  const environment = store.environment(match.environmentId);
  if (!environment || environment.region !== match.region) throw notFound();
  return environment;
}
