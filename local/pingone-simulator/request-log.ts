/** The simulator's record of the PingOne requests it answered: what tests and the admin API read back. */
import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { ClientAuth } from './api/client-auth.js';
import type { RequestFacts } from './api/request.js';
import { type RouteMatch, regionOfPath } from './api/routes.js';
import type { RouteName } from './faults.js';

/**
 * One request as the simulator answered it. It holds no secret, token or Authorization header: only the
 * path (without query), ids and how the client authenticated.
 */
export interface RequestRecord {
  /** Arrival time by the simulator clock. */
  readonly at: Date;
  readonly method: string;
  readonly path: string;
  readonly route: RouteName | 'unknown';
  readonly region?: PingOneRegion;
  readonly environmentId?: string;
  /** The path's resource id, or the client_id of an introspection by a known resource. */
  readonly resourceId?: string;
  /** The path's application id, or the client_id of an introspection by a known application. */
  readonly applicationId?: string;
  /** The status the client was sent; 0 when the connection was dropped without a response. */
  readonly status: number;
  readonly clientAuth?: ClientAuth;
  /** A token issued by one region's auth service presented at another region's API (refused with 401). */
  readonly crossRegionToken?: { readonly issuedIn: PingOneRegion; readonly usedIn: PingOneRegion };
  /**
   * The fault rules applied, e.g. `failNext:429`, `commitThenFail:drop`, `delay:1500ms`, `rateLimit`
   * (comma-separated).
   */
  readonly fault?: string;
}

export interface RequestFilter {
  readonly method?: string;
  readonly route?: RouteName | 'unknown';
  readonly status?: number;
  readonly environmentId?: string;
  readonly resourceId?: string;
  readonly applicationId?: string;
}

/**
 * The record of one request: its route match (none for an unknown path), what its handler learnt, the status
 * sent and the fault rules applied. The ids are the handler's (an introspecting client), else the path's.
 */
export function requestRecord(request: {
  readonly at: Date;
  readonly method: string;
  readonly path: string;
  readonly match: RouteMatch | undefined;
  readonly facts: RequestFacts;
  readonly status: number;
  readonly fault?: string | undefined;
}): RequestRecord {
  const { match, facts, fault } = request;
  const region = match?.region ?? regionOfPath(request.path);
  const resourceId = facts.resourceId ?? match?.resourceId;
  const applicationId = facts.applicationId ?? match?.applicationId;
  return Object.freeze({
    at: request.at,
    method: request.method,
    path: request.path,
    route: match?.route ?? 'unknown',
    ...(region ? { region } : {}),
    ...(match ? { environmentId: match.environmentId } : {}),
    ...(resourceId ? { resourceId } : {}),
    ...(applicationId ? { applicationId } : {}),
    status: request.status,
    ...(facts.clientAuth ? { clientAuth: facts.clientAuth } : {}),
    ...(facts.crossRegionToken ? { crossRegionToken: facts.crossRegionToken } : {}),
    ...(fault ? { fault } : {}),
  });
}

export class RequestLog {
  readonly #records: RequestRecord[] = [];

  add(record: RequestRecord): void {
    this.#records.push(record);
  }

  /** Every record, oldest first (a copy). */
  all(): readonly RequestRecord[] {
    return [...this.#records];
  }

  count(filter: RequestFilter): number {
    return this.#records.filter((record) => matchesFilter(record, filter)).length;
  }

  crossRegionTokenUses(): readonly RequestRecord[] {
    return this.#records.filter((record) => record.crossRegionToken !== undefined);
  }

  clear(): void {
    this.#records.length = 0;
  }
}

function matchesFilter(record: RequestRecord, filter: RequestFilter): boolean {
  return (
    (filter.method === undefined || filter.method.toUpperCase() === record.method) &&
    (filter.route === undefined || filter.route === record.route) &&
    (filter.status === undefined || filter.status === record.status) &&
    (filter.environmentId === undefined || filter.environmentId === record.environmentId) &&
    (filter.resourceId === undefined || filter.resourceId === record.resourceId) &&
    (filter.applicationId === undefined || filter.applicationId === record.applicationId)
  );
}
