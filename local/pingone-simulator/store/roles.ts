/**
 * Roles: the built-in ones the simulator knows, the one a worker's abilities amount to, and its role
 * assignments (what `doctor` reads).
 */
import type { PingOneRegion } from '../../../lib/pingone/regions.js';
import { type Environment, SECRET_ACTIONS, type SecretAction, type Worker } from './model.js';

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

/** The worker's role assignments: its one role (roleOf), scoped to its organization (`'all'`) or to each environment it lists. */
export function roleAssignmentsOf(worker: Worker, organizationId: string): SimulatedRoleAssignment[] {
  const role = roleOf(worker);
  const scopes =
    worker.environments === 'all'
      ? [{ id: organizationId, type: 'ORGANIZATION' as const }]
      : worker.environments.map((id) => ({ id, type: 'ENVIRONMENT' as const }));
  return scopes.map((scope) => ({ id: `${worker.clientId}-${scope.id}`, role: { id: role.id }, scope }));
}

/** The built-in roles and the custom roles the workers hold. */
export function rolesHeld(workers: Iterable<Worker>): SimulatedRole[] {
  const custom = new Map<string, SimulatedRole>();
  for (const worker of workers) {
    const role = roleOf(worker);
    if (!BUILT_IN_ROLES.some((r) => r.id === role.id)) custom.set(role.id, role);
  }
  return [...BUILT_IN_ROLES, ...custom.values()];
}

/**
 * Whether the worker's role assignments cover the environment: one it lists, or with `'all'` any of its own
 * organization's. Another organization's environment is never the worker's.
 */
export function coversEnvironment(
  worker: Worker,
  environmentId: string,
  region: PingOneRegion,
  environmentOf: (id: string) => Environment | undefined,
): boolean {
  const own = environmentOf(worker.environmentId);
  const target = environmentOf(environmentId);
  if (worker.environments !== 'all') return worker.environments.includes(environmentId);
  // An environment that does not exist (in this region) is left to the 404 that follows.
  if (own === undefined) return false;
  return target === undefined || target.region !== region || own.organizationId === target.organizationId;
}
