/**
 * `pingone-rotation doctor` (issue 19): for each configured worker, obtain a token, list the environments it
 * can see and check, on each environment it must serve, the roles it needs — read and regenerate client
 * secrets, read applications — saying exactly what is missing and where to grant it. Read-only: only GETs
 * and the worker's token request reach PingOne.
 *
 * PingOne's answers it reads (UNCONFIRMED in shape, read defensively): `GET /environments`
 * (`_embedded.environments[].id/name`), `GET /environments/{env}/applications/{worker}/roleAssignments`
 * (`_embedded.roleAssignments[].role.id`, `.scope.id/type`) and `GET /roles` (`_embedded.roles[].id/name`,
 * `.permissions[].id`). The permission ids follow pingone-api.md §4 and §10; the read-secret ids for resources
 * are named by analogy (UNCONFIRMED).
 */
import type { PingOneHttpClient } from './pingone/http-client.js';
import type { PingOneRegion } from './pingone/regions.js';
import type { WorkerCredentials } from './pingone/worker-credentials.js';
import type { WorkerRouter, WorkerSpec } from './pingone/workers.js';
import { Redactor } from './redact.js';

/** What a worker must be able to do on each environment it serves, and the permissions that prove it. */
export const NEEDED_CAPABILITIES = [
  {
    capability: 'read client secrets',
    permissions: ['resources:read:secret', 'applications:read:secret'],
  },
  {
    capability: 'regenerate client secrets',
    permissions: ['resources:update:secret', 'applications:update:secret'],
  },
  { capability: 'read applications', permissions: ['applications:read:application'] },
] as const;

export type Capability = (typeof NEEDED_CAPABILITIES)[number]['capability'];

/** The built-in role that grants all of them (PingOne docs: resources need Environment Admin or this). */
export const GRANTING_ROLE = 'Client Application Developer';

export interface MissingCapability {
  readonly capability: Capability;
  readonly permissions: readonly string[];
}

export interface EnvironmentCheck {
  readonly environmentId: string;
  readonly name?: string;
  /** False: the worker's role assignments do not reach it (it is not among the environments it can see). */
  readonly visible: boolean;
  readonly missing: readonly MissingCapability[];
  /** Where to grant what is missing; absent when nothing is. */
  readonly grant?: string;
}

export interface WorkerCheck {
  readonly name: string;
  readonly region: PingOneRegion | undefined;
  /** The worker app's client id and environment, once its credential was read. */
  readonly clientId?: string;
  readonly workerEnvironmentId?: string;
  /** Could not be checked: its credential or token was refused, or PingOne could not be read. */
  readonly error?: string;
  readonly environments: readonly EnvironmentCheck[];
  /** The role names it holds, for the report. */
  readonly roles: readonly string[];
}

export interface DoctorReport {
  readonly workers: readonly WorkerCheck[];
  /** 'ok': every worker can do what it must everywhere; 'missing': a role or environment is missing; 'error'. */
  readonly verdict: 'ok' | 'missing' | 'error';
}

interface Doc {
  readonly [key: string]: unknown;
}

function embedded(doc: Doc, key: string): Doc[] {
  const list = (doc._embedded as Doc | undefined)?.[key];
  return Array.isArray(list) ? list.filter((x): x is Doc => typeof x === 'object' && x !== null) : [];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** Checks every configured worker; never throws for one worker's failure (it is reported). */
export async function runDoctor(
  deps: { readonly client: PingOneHttpClient; readonly workers: WorkerRouter; readonly now: () => number },
  options: { readonly timeoutMs?: number } = {},
): Promise<DoctorReport> {
  const checks: WorkerCheck[] = [];
  for (const spec of deps.workers.workers) {
    checks.push(await checkWorker(deps, spec, options.timeoutMs ?? 30_000));
  }
  const verdict = checks.some((c) => c.error)
    ? 'error'
    : checks.some((c) => c.environments.some((e) => !e.visible || e.missing.length > 0))
      ? 'missing'
      : 'ok';
  return { workers: checks, verdict };
}

async function checkWorker(
  deps: { readonly client: PingOneHttpClient; readonly workers: WorkerRouter; readonly now: () => number },
  spec: WorkerSpec,
  timeoutMs: number,
): Promise<WorkerCheck> {
  const base = { name: spec.name, region: spec.region };
  let credentials: WorkerCredentials;
  try {
    credentials = await deps.workers.credentialsOf(spec.name);
  } catch (error) {
    return { ...base, error: Redactor.none.text((error as Error).message), environments: [], roles: [] };
  }
  const selected = {
    name: spec.name,
    credentials,
    refetch: () => deps.workers.credentialsOf(spec.name, { forceFetch: true }),
  };
  const who = { clientId: credentials.clientId, workerEnvironmentId: credentials.environmentId };
  const read = (path: string) =>
    deps.client.readAsWorker(selected, path, { deadline: deps.now() + timeoutMs });
  try {
    const visible = embedded(await read('/environments'), 'environments');
    const assignments = embedded(
      await read(
        `/environments/${encodeURIComponent(credentials.environmentId)}/applications/${encodeURIComponent(
          credentials.clientId,
        )}/roleAssignments`,
      ),
      'roleAssignments',
    );
    const roles = new Map(
      embedded(await read('/roles'), 'roles').map((role) => [
        str(role.id) ?? '',
        {
          name: str(role.name) ?? str(role.id) ?? '(unnamed role)',
          permissions: new Set(
            (Array.isArray(role.permissions) ? role.permissions : [])
              .map((p: unknown) => (typeof p === 'string' ? p : str((p as Doc | null)?.id)))
              .filter((p): p is string => p !== undefined),
          ),
        },
      ]),
    );
    const visibleIds = new Map(visible.map((e) => [str(e.id)?.toLowerCase() ?? '', str(e.name)]));
    const targets = spec.environments === '*' ? [...visibleIds.keys()].filter(Boolean) : spec.environments;
    const environments = targets.map((environmentId): EnvironmentCheck => {
      const name = visibleIds.get(environmentId);
      const granted = new Set<string>();
      for (const assignment of assignments) {
        const scope = assignment.scope as Doc | undefined;
        const scopeType = str(scope?.type);
        const reaches =
          scopeType === 'ORGANIZATION' ||
          (scopeType === 'ENVIRONMENT' && str(scope?.id)?.toLowerCase() === environmentId);
        const role = roles.get(str((assignment.role as Doc | undefined)?.id) ?? '');
        if (reaches && role) for (const p of role.permissions) granted.add(p);
      }
      const missing = NEEDED_CAPABILITIES.filter((need) => need.permissions.some((p) => !granted.has(p))).map(
        (need) => ({
          capability: need.capability,
          permissions: need.permissions.filter((p) => !granted.has(p)),
        }),
      );
      const isVisible = visibleIds.has(environmentId);
      const env = { environmentId, ...(name ? { name } : {}), visible: isVisible, missing };
      if (missing.length === 0 && isVisible) return env;
      return {
        ...env,
        grant:
          `assign the ${GRANTING_ROLE} role (or a custom role with ${missing.flatMap((m) => m.permissions).join(', ')}) ` +
          `to worker application ${credentials.clientId} (environment ${credentials.environmentId}) with scope ` +
          `environment ${environmentId}: PingOne admin console, Applications → the worker → Roles, or ` +
          `POST /environments/${credentials.environmentId}/applications/${credentials.clientId}/roleAssignments`,
      };
    });
    const held = [
      ...new Set(
        assignments.map((a) => {
          const id = str((a.role as Doc | undefined)?.id) ?? '';
          return roles.get(id)?.name ?? id;
        }),
      ),
    ];
    return { ...base, ...who, environments, roles: held };
  } catch (error) {
    return {
      ...base,
      ...who,
      error: Redactor.none.text((error as Error).message),
      environments: [],
      roles: [],
    };
  }
}

/** The report as text: one block per worker, each missing capability on its own line with where to grant it. */
export function doctorText(report: DoctorReport): string {
  const lines: string[] = [];
  for (const worker of report.workers) {
    const where = worker.clientId
      ? `app ${worker.clientId} in environment ${worker.workerEnvironmentId}`
      : '';
    lines.push(
      `worker ${worker.name} (${worker.region ?? 'region from its parameter'})${where ? `: ${where}` : ''}`,
    );
    if (worker.error) {
      lines.push(`  could not be checked: ${worker.error}`);
      continue;
    }
    lines.push(`  roles: ${worker.roles.join(', ') || 'none'}`);
    if (worker.environments.length === 0) lines.push('  sees no environment: it has no role assignment');
    for (const env of worker.environments) {
      const label = `environment ${env.environmentId}${env.name ? ` (${env.name})` : ''}`;
      if (!env.visible) {
        lines.push(`  ${label}: NOT VISIBLE to this worker (no role assignment reaches it)`);
      }
      if (env.missing.length === 0 && env.visible) {
        lines.push(`  ${label}: ok`);
        continue;
      }
      for (const m of env.missing) {
        lines.push(`  ${label}: missing ${m.capability} (${m.permissions.join(', ')})`);
      }
      if (env.grant) lines.push(`    to fix: ${env.grant}`);
    }
  }
  lines.push(
    report.verdict === 'ok'
      ? 'every worker has what it needs'
      : report.verdict === 'missing'
        ? 'some worker lacks a role: see "to fix" above'
        : 'some worker could not be checked',
  );
  return `${lines.join('\n')}\n`;
}
