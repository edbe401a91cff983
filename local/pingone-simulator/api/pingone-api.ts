import type { Clock } from '../clock.js';
import type { RouteName } from '../faults.js';
import type { Reply } from '../http.js';
import type { SimulatorStore } from '../store/store.js';
import { introspect, token } from './auth-endpoints.js';
import { getApplication, getEnvironment, getResource } from './management-reads.js';
import type { ApiRequest, ApiWorld, Handler, RequestFacts } from './request.js';
import { listEnvironments, roleAssignments, roles } from './role-endpoints.js';
import { applicationSecret, resourceSecret } from './secret-endpoints.js';

/** Each route's handler. */
const HANDLERS: Readonly<Record<RouteName, Handler>> = {
  token,
  introspect,
  environment: getEnvironment,
  resource: getResource,
  secret: resourceSecret,
  application: getApplication,
  'application-secret': applicationSecret,
  environments: listEnvironments,
  'role-assignments': roleAssignments,
  roles,
};

/**
 * PingOne's token, introspection and Management API endpoints over a {@link SimulatorStore}.
 *
 * Access tokens are tied to the region that issued them: a token from one region's token endpoint is refused
 * (401 INVALID_TOKEN) at every other region's API, and the use is recorded (`crossRegionToken`), so tests can
 * assert that nothing ever sends a token to another region. A worker manages only its own organization's
 * environments (403 elsewhere).
 */
export class PingOneApi {
  readonly #world: ApiWorld;

  constructor(store: SimulatorStore, clock: Clock, tokenTtlSeconds: number) {
    this.#world = { store, clock, tokenTtlSeconds };
  }

  /** Performs the request; throws `PingOneError`/`OAuthError` for error answers. */
  handle(request: ApiRequest, facts: RequestFacts): Reply {
    return HANDLERS[request.match.route](this.#world, request, facts);
  }
}
