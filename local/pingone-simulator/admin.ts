import type { PingOneRegion } from '../../lib/pingone/regions.js';
import type { SimulatorControl } from './control.js';
import type { EchoEncoding, RouteName } from './faults.js';
import { isJsonObject, isLoopback, type Reply } from './http.js';
import type {
  ApplicationAuthMethod,
  ApplicationGrantType,
  ApplicationProtocol,
  ApplicationType,
  IntrospectEndpointAuthMethod,
  OwnerKind,
  ResourceType,
  SecretAction,
  TokenEndpointAuthMethod,
} from './store/model.js';
import { SimulatorUsageError } from './usage.js';

export interface AdminRequest {
  readonly method: string;
  readonly pathname: string;
  readonly body: string;
  readonly remoteAddress: string | undefined;
}

type Body = Record<string, unknown>;

interface AdminRoute {
  readonly method: string;
  readonly path: RegExp;
  readonly handle: (sim: SimulatorControl, body: Body, params: readonly string[]) => Reply;
}

const ENV = '([^/]+)';
const OWNER_SECRET = new RegExp(`^/environments/${ENV}/(resources|applications)/${ENV}/secret$`);

function kindOf(collection: string): OwnerKind {
  return collection === 'applications' ? 'application' : 'resource';
}

/**
 * The admin API: a thin JSON layer over the in-process control methods, for a simulator running in
 * another process (`local/pingone-simulator/main.ts`). Paths are relative to `/__admin`; README.md lists them.
 */
const ROUTES: readonly AdminRoute[] = [
  { method: 'GET', path: /^\/state$/, handle: (sim) => ok(sim.snapshot()) },
  { method: 'GET', path: /^\/clock$/, handle: (sim) => ok({ now: sim.clock.now() }) },
  {
    method: 'POST',
    path: /^\/clock\/advance$/,
    handle: (sim, body) => {
      sim.clock.advance(requiredNumber(body, 'ms'));
      return ok({ now: sim.clock.now() });
    },
  },
  {
    method: 'POST',
    path: /^\/clock\/set$/,
    handle: (sim, body) => {
      sim.clock.set(requiredDate(body, 'now'));
      return ok({ now: sim.clock.now() });
    },
  },
  {
    method: 'POST',
    path: /^\/environments$/,
    handle: (sim, body) =>
      created(
        sim.createEnvironment({
          id: optionalString(body, 'id'),
          name: optionalString(body, 'name'),
          region: requiredString(body, 'region').toUpperCase() as PingOneRegion,
        }),
      ),
  },
  {
    method: 'POST',
    path: new RegExp(`^/environments/${ENV}/resources$`),
    handle: (sim, body, [environmentId = '']) =>
      created(
        sim.createResource(environmentId, {
          id: optionalString(body, 'id'),
          name: optionalString(body, 'name'),
          type: optionalString(body, 'type') as ResourceType | undefined,
          introspectEndpointAuthMethod: optionalString(body, 'introspectEndpointAuthMethod') as
            | IntrospectEndpointAuthMethod
            | undefined,
        }),
      ),
  },
  {
    method: 'POST',
    path: new RegExp(`^/environments/${ENV}/workers$`),
    handle: (sim, body, [environmentId = '']) =>
      created(
        sim.createWorker(environmentId, {
          clientId: optionalString(body, 'clientId'),
          clientSecret: optionalString(body, 'clientSecret'),
          tokenEndpointAuthMethod: optionalString(body, 'tokenEndpointAuthMethod') as
            | TokenEndpointAuthMethod
            | undefined,
          environments: optionalEnvironments(body),
          ...(Array.isArray(body.secretActions)
            ? { secretActions: body.secretActions as SecretAction[] }
            : {}),
        }),
      ),
  },
  {
    method: 'POST',
    path: new RegExp(`^/environments/${ENV}/applications$`),
    handle: (sim, body, [environmentId = '']) =>
      created(
        sim.createApplication(environmentId, {
          id: optionalString(body, 'id'),
          name: optionalString(body, 'name'),
          protocol: optionalString(body, 'protocol') as ApplicationProtocol | undefined,
          type: optionalString(body, 'type') as ApplicationType | undefined,
          tokenEndpointAuthMethod: optionalString(body, 'tokenEndpointAuthMethod') as
            | ApplicationAuthMethod
            | undefined,
          grantTypes: optionalStrings(body, 'grantTypes') as ApplicationGrantType[] | undefined,
          withoutSecret: body.withoutSecret === true,
        }),
      ),
  },
  {
    method: 'GET',
    path: OWNER_SECRET,
    handle: (sim, _body, [environmentId = '', collection = '', ownerId = '']) =>
      ok(sim.readSecret(environmentId, ownerId, kindOf(collection))),
  },
  {
    method: 'POST',
    path: OWNER_SECRET,
    handle: (sim, body, [environmentId = '', collection = '', ownerId = '']) => {
      const previousExpiresAt =
        body.previousExpiresAt === undefined ? undefined : requiredDate(body, 'previousExpiresAt');
      return ok(
        sim.regenerateOutOfBand(environmentId, ownerId, { previousExpiresAt, kind: kindOf(collection) }),
      );
    },
  },
  {
    method: 'DELETE',
    path: new RegExp(`^/environments/${ENV}/(resources|applications)/${ENV}/secret/previous$`),
    handle: (sim, _body, [environmentId = '', collection = '', ownerId = '']) => {
      sim.deletePreviousOutOfBand(environmentId, ownerId, kindOf(collection));
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: new RegExp(`^/environments/${ENV}/(resources|applications)/${ENV}/secret/previous/used$`),
    handle: (sim, body, [environmentId = '', collection = '', ownerId = '']) => {
      const at = body.at === undefined ? undefined : requiredDate(body, 'at');
      sim.markPreviousUsed(environmentId, ownerId, at, kindOf(collection));
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/rate-limit$/,
    handle: (sim, body) => {
      const perSecond = optionalNumber(body, 'requestsPerSecond');
      sim.limitRate(perSecond === undefined ? undefined : { requestsPerSecond: perSecond });
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/tokens\/revoke$/,
    handle: (sim) => {
      sim.revokeTokens();
      return { status: 204 };
    },
  },
  { method: 'GET', path: /^\/faults$/, handle: (sim) => ok(sim.faults.pending()) },
  {
    method: 'POST',
    path: /^\/faults\/fail-next$/,
    handle: (sim, body) => {
      sim.faults.failNext({
        ...faultTarget(body),
        status: requiredNumber(body, 'status'),
        retryAfterSeconds: optionalNumber(body, 'retryAfterSeconds'),
        body: body.body,
      });
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/faults\/commit-then-fail$/,
    handle: (sim, body) => {
      sim.faults.commitThenFail({
        ...faultTarget(body),
        status: optionalNumber(body, 'status'),
        drop: body.drop === true,
      });
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/faults\/late-commit$/,
    handle: (sim, body) => {
      sim.faults.lateCommit({
        ...faultTarget(body),
        status: optionalNumber(body, 'status'),
        afterMs: optionalNumber(body, 'afterMs'),
        ...(typeof body.body === 'string' ? { body: body.body } : {}),
      });
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/faults\/echo$/,
    handle: (sim, body) => {
      sim.faults.echo({
        ...faultTarget(body),
        status: optionalNumber(body, 'status'),
        ...(typeof body.encoding === 'string' ? { encoding: body.encoding as EchoEncoding } : {}),
      });
      return { status: 204 };
    },
  },
  {
    method: 'POST',
    path: /^\/faults\/delay$/,
    handle: (sim, body) => {
      sim.faults.delay({ ...faultTarget(body), ms: requiredNumber(body, 'ms') });
      return { status: 204 };
    },
  },
  {
    method: 'DELETE',
    path: /^\/faults$/,
    handle: (sim) => {
      sim.faults.clear();
      return { status: 204 };
    },
  },
  { method: 'GET', path: /^\/requests$/, handle: (sim) => ok(sim.requests) },
  {
    method: 'DELETE',
    path: /^\/requests$/,
    handle: (sim) => {
      sim.clearRequests();
      return { status: 204 };
    },
  },
];

/** Answers a request under `/__admin`. Loopback clients only: the admin API hands out secrets. */
export function handleAdminRequest(sim: SimulatorControl, request: AdminRequest): Reply {
  if (!isLoopback(request.remoteAddress)) {
    return { status: 403, body: { error: 'the admin API answers loopback clients only' } };
  }
  const path = request.pathname.slice('/__admin'.length) || '/';
  const candidates = ROUTES.map((route) => ({ route, match: route.path.exec(path) })).filter((c) => c.match);
  const found = candidates.find((c) => c.route.method === request.method);
  if (!found?.match) {
    return candidates.length > 0
      ? { status: 405, body: { error: `${request.method} is not supported on /__admin${path}` } }
      : { status: 404, body: { error: `no admin route /__admin${path}` } };
  }
  try {
    const params = found.match.slice(1).map((segment) => decodeURIComponent(segment));
    return found.route.handle(sim, parseBody(request.body), params);
  } catch (error) {
    if (error instanceof SimulatorUsageError) {
      return { status: error.reason === 'not-found' ? 404 : 400, body: { error: error.message } };
    }
    if (error instanceof RangeError || error instanceof URIError) {
      return { status: 400, body: { error: error.message } };
    }
    throw error;
  }
}

function ok(body: unknown): Reply {
  return { status: 200, body };
}

function created(body: unknown): Reply {
  return { status: 201, body };
}

function parseBody(text: string): Body {
  if (text.trim() === '') return {};
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new SimulatorUsageError('the request body is not valid JSON');
  }
  if (!isJsonObject(doc)) throw new SimulatorUsageError('the request body must be a JSON object');
  return doc;
}

function faultTarget(body: Body): {
  route: RouteName;
  method?: string;
  environmentId?: string;
  resourceId?: string;
  applicationId?: string;
  count?: number;
} {
  return {
    // The fault injector checks the route against the known names.
    route: requiredString(body, 'route') as RouteName,
    method: optionalString(body, 'method'),
    environmentId: optionalString(body, 'environmentId'),
    resourceId: optionalString(body, 'resourceId'),
    applicationId: optionalString(body, 'applicationId'),
    count: optionalNumber(body, 'count'),
  };
}

function optionalString(body: Body, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new SimulatorUsageError(`${key} must be a string`);
  return value;
}

function optionalStrings(body: Body, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new SimulatorUsageError(`${key} must be an array of strings`);
  }
  return value;
}

function requiredString(body: Body, key: string): string {
  const value = optionalString(body, key);
  if (value === undefined) throw new SimulatorUsageError(`${key} is required`);
  return value;
}

function optionalNumber(body: Body, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new SimulatorUsageError(`${key} must be a number`);
  }
  return value;
}

function requiredNumber(body: Body, key: string): number {
  const value = optionalNumber(body, key);
  if (value === undefined) throw new SimulatorUsageError(`${key} is required`);
  return value;
}

function requiredDate(body: Body, key: string): Date {
  const date = new Date(requiredString(body, key));
  if (Number.isNaN(date.getTime())) throw new SimulatorUsageError(`${key} must be an ISO 8601 date-time`);
  return date;
}

function optionalEnvironments(body: Body): readonly string[] | 'all' | undefined {
  const value = body.environments;
  if (value === undefined || value === null) return undefined;
  if (value === 'all') return 'all';
  if (Array.isArray(value) && value.every((id) => typeof id === 'string')) return value;
  throw new SimulatorUsageError("environments must be an array of environment ids or 'all'");
}
