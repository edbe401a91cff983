/** What `doctor` reads: the environments a worker sees, a worker's role assignments, the roles' permissions. */
import { insufficientPermissions } from '../errors.js';
import { environmentInRegion, type Handler, workerOf } from './request.js';

/** `GET /environments`: the environments of this region the worker's role assignments cover. */
export const listEnvironments: Handler = (world, request, facts) => {
  const worker = workerOf(world, request, facts);
  const environments = world.store
    .environments()
    .filter((e) => e.region === request.match.region && world.store.mayManage(worker, e.id, e.region));
  return {
    status: 200,
    body: {
      _links: { self: { href: `${request.apiBase}/environments` } },
      _embedded: { environments: environments.map((e) => ({ id: e.id, name: e.name, region: e.region })) },
      count: environments.length,
      size: environments.length,
    },
  };
};

/** `GET …/applications/{id}/roleAssignments`: a worker may read its own (the simulator's simplification). */
export const roleAssignments: Handler = (world, request, facts) => {
  const worker = workerOf(world, request, facts);
  const { environmentId, applicationId } = request.match;
  const own = worker.environmentId === environmentId && worker.clientId === applicationId;
  if (!own && !world.store.mayManage(worker, environmentId, request.match.region)) {
    throw insufficientPermissions();
  }
  environmentInRegion(world, request.match);
  const target = world.store.worker(environmentId, applicationId ?? '');
  const assignments = target ? world.store.roleAssignments(target) : [];
  return { status: 200, body: { _embedded: { roleAssignments: assignments }, count: assignments.length } };
};

/** `GET /roles`: the built-in roles and the custom ones in use, with their permission ids. */
export const roles: Handler = (world, request, facts) => {
  workerOf(world, request, facts);
  const all = world.store.roles().map((r) => ({
    id: r.id,
    name: r.name,
    permissions: r.permissions.map((id) => ({ id })),
  }));
  return { status: 200, body: { _embedded: { roles: all }, count: all.length } };
};
