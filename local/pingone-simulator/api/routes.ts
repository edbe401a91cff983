/** The PingOne paths the simulator serves, and what each names (region, environment, owner). */
import { isRegion, type PingOneRegion } from '../../../lib/pingone/regions.js';
import type { RouteName } from '../faults.js';

export interface RouteMatch {
  readonly route: RouteName;
  readonly region: PingOneRegion;
  readonly environmentId: string;
  readonly resourceId?: string;
  readonly applicationId?: string;
  readonly allowedMethods: readonly string[];
}

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

function decodeSegment(segment: string): string | undefined {
  try {
    const value = decodeURIComponent(segment);
    return value === '' ? undefined : value;
  } catch {
    return undefined;
  }
}
