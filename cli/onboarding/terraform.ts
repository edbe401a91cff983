/**
 * Reading `terraform show -json` (of a state or of a plan): every `pingone_resource_secret` and
 * `pingone_application_secret` in the root module and its child modules (at any depth), the ids they name,
 * and the `time_rotating` that drives each one's `regenerate_trigger_values` (found through the plan's
 * configuration references, the state's `depends_on`, or the trigger's value), turned into a Secrets Manager
 * schedule. Nothing here ever keeps or prints the `secret` / `previous.secret` attributes the state holds.
 */
import type { SecretOwnerKind } from '../../lib/pingone/types.js';
import { UsageError } from '../errors.js';

const SECRET_TYPES: Readonly<Record<string, SecretOwnerKind>> = {
  pingone_resource_secret: 'resource',
  pingone_application_secret: 'application',
};

export interface TerraformSecret {
  /** The instance address, e.g. `module.apps["orders"].pingone_application_secret.web`. */
  readonly address: string;
  /** The configuration address (no instance keys): what a `removed` block names. */
  readonly configAddress: string;
  readonly type: string;
  readonly kind: SecretOwnerKind;
  readonly environmentId: string | undefined;
  readonly ownerId: string | undefined;
  /** A readable path for a secret name: module names and keys, then the resource name and key. */
  readonly path: readonly string[];
  /** The time_rotating that triggers it, if found. */
  readonly rotation?: TimeRotatingUse | undefined;
}

export interface TimeRotatingUse {
  readonly address: string;
  readonly configAddress: string;
  /** How it was found: configuration reference, depends_on, or the trigger's value. */
  readonly via: 'configuration' | 'depends_on' | 'value';
  /** Its period as Terraform says it, e.g. `rotation_days = 30`. */
  readonly period: string;
  /** The Secrets Manager schedule, or undefined when the period cannot be one (under 4 hours). */
  readonly schedule: string | undefined;
  readonly note?: string | undefined;
}

export interface TimeRotating {
  readonly address: string;
  readonly configAddress: string;
  readonly values: Readonly<Record<string, unknown>>;
  /** Other resources (not imported secrets) that reference it: it must stay. */
  readonly otherUsers: readonly string[];
}

export interface TerraformFindings {
  readonly kind: 'state' | 'plan';
  readonly terraformVersion: string | undefined;
  readonly secrets: readonly TerraformSecret[];
  readonly timeRotating: readonly TimeRotating[];
}

interface StateResource {
  readonly address: string;
  readonly mode?: string;
  readonly type: string;
  readonly name: string;
  readonly index?: string | number;
  readonly values?: Record<string, unknown>;
  readonly depends_on?: readonly string[];
}

interface StateModule {
  readonly address?: string;
  readonly resources?: readonly StateResource[];
  readonly child_modules?: readonly StateModule[];
}

interface ConfigModule {
  readonly resources?: readonly {
    readonly address: string;
    readonly expressions?: Record<string, { references?: readonly string[] } | unknown>;
  }[];
  readonly module_calls?: Record<string, { module?: ConfigModule }>;
}

/** Parses `terraform show -json` output; `file` names it in messages. */
export function parseTerraformJson(text: string, file: string): TerraformFindings {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(text) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `${file} is not JSON (${(error as Error).message})`,
      'pass the output of `terraform show -json` (of the state, or of a saved plan: `terraform show -json plan.out`)',
    );
  }
  const priorState = (doc.prior_state as { values?: { root_module?: StateModule } } | undefined)?.values
    ?.root_module;
  const planned = (doc.planned_values as { root_module?: StateModule } | undefined)?.root_module;
  const state = (doc.values as { root_module?: StateModule } | undefined)?.root_module;
  const root = state ?? priorState ?? planned;
  if (typeof doc !== 'object' || doc === null || !root) {
    throw new UsageError(
      `${file} is not \`terraform show -json\` output (no values.root_module, prior_state or planned_values)`,
      'run `terraform show -json > state.json` in the Terraform working directory and pass that file',
    );
  }
  const resources: StateResource[] = [];
  const walk = (module: StateModule, depth: number) => {
    if (depth > 100) return;
    for (const resource of module.resources ?? []) {
      if ((resource.mode ?? 'managed') === 'managed') resources.push(resource);
    }
    for (const child of module.child_modules ?? []) walk(child, depth + 1);
  };
  walk(root, 0);

  const references = configurationReferences(doc.configuration as { root_module?: ConfigModule } | undefined);
  const rotating = resources.filter((r) => r.type === 'time_rotating');
  const rotatingByConfig = new Map<string, StateResource[]>();
  for (const r of rotating) {
    const key = configAddressOf(r.address);
    rotatingByConfig.set(key, [...(rotatingByConfig.get(key) ?? []), r]);
  }

  const secrets: TerraformSecret[] = [];
  for (const resource of resources) {
    const kind = SECRET_TYPES[resource.type];
    if (!kind) continue;
    const values = resource.values ?? {};
    const idKey = kind === 'resource' ? 'resource_id' : 'application_id';
    const configAddress = configAddressOf(resource.address);
    secrets.push({
      address: resource.address,
      configAddress,
      type: resource.type,
      kind,
      environmentId: typeof values.environment_id === 'string' ? values.environment_id : undefined,
      ownerId: typeof values[idKey] === 'string' ? (values[idKey] as string) : undefined,
      path: pathOf(resource.address),
      rotation: findRotation(resource, configAddress, references, rotatingByConfig, rotating),
    });
  }
  const secretConfigs = new Set(secrets.map((s) => s.configAddress));
  const timeRotating = rotating.map((r) => {
    const configAddress = configAddressOf(r.address);
    const otherUsers = resources
      .filter((other) => !SECRET_TYPES[other.type] || !secretConfigs.has(configAddressOf(other.address)))
      .filter((other) => other.type !== 'time_rotating')
      .filter(
        (other) =>
          (other.depends_on ?? []).some((dep) =>
            sameConfig(dep, configAddress, modulePrefix(other.address)),
          ) || (references.get(configAddressOf(other.address)) ?? []).some((ref) => ref === configAddress),
      )
      .map((other) => other.address);
    return { address: r.address, configAddress, values: r.values ?? {}, otherUsers };
  });
  return {
    kind: state ? 'state' : 'plan',
    terraformVersion: typeof doc.terraform_version === 'string' ? doc.terraform_version : undefined,
    secrets,
    timeRotating,
  };
}

/** `module.a["x"].module.b[0].type.name["k"]` → `module.a.module.b.type.name` */
export function configAddressOf(address: string): string {
  return address.replace(/\[(?:"(?:[^"\\]|\\.)*"|\d+)\]/g, '');
}

/** The `module.…` prefix of an address (with a trailing dot), configuration form; '' at the root. */
function modulePrefix(address: string): string {
  const config = configAddressOf(address);
  const parts = config.split('.');
  let prefix = '';
  for (let i = 0; i + 1 < parts.length && parts[i] === 'module'; i += 2) prefix += `module.${parts[i + 1]}.`;
  return prefix;
}

function sameConfig(dependency: string, configAddress: string, prefix: string): boolean {
  const dep = configAddressOf(dependency);
  return dep === configAddress || `${prefix}${dep}` === configAddress;
}

/** Segments for a readable secret name: `module.apps["orders"].pingone_resource_secret.api` → apps, orders, api. */
function pathOf(address: string): string[] {
  const tokens = address.match(/[^.[\]]+|\[(?:"(?:[^"\\]|\\.)*"|\d+)\]/g) ?? [];
  const out: string[] = [];
  let i = 0;
  while (i < tokens.length) {
    const token = tokens[i] as string;
    if (token === 'module') {
      out.push(tokens[i + 1] as string);
      i += 2;
    } else if (token.startsWith('[')) {
      out.push(token.slice(1, -1).replace(/^"|"$/g, ''));
      i += 1;
    } else if (SECRET_TYPES[token]) {
      i += 1; // the type: left out of the name
    } else {
      out.push(token);
      i += 1;
    }
  }
  return out.map((segment) => segment.replace(/[^A-Za-z0-9_+=.@-]/g, '-')).filter(Boolean);
}

/** Every configuration resource address (module path included) → the addresses its expressions reference. */
function configurationReferences(
  configuration: { root_module?: ConfigModule } | undefined,
): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (module: ConfigModule | undefined, prefix: string, depth: number) => {
    if (!module || depth > 100) return;
    for (const resource of module.resources ?? []) {
      const refs: string[] = [];
      const collect = (value: unknown) => {
        if (Array.isArray(value)) value.forEach(collect);
        else if (value && typeof value === 'object') {
          const references = (value as { references?: unknown }).references;
          if (Array.isArray(references)) {
            for (const ref of references) if (typeof ref === 'string') refs.push(`${prefix}${ref}`);
          }
          for (const [key, inner] of Object.entries(value)) if (key !== 'references') collect(inner);
        }
      };
      collect(resource.expressions);
      out.set(`${prefix}${resource.address}`, refs);
    }
    for (const [name, call] of Object.entries(module.module_calls ?? {})) {
      walk(call.module, `${prefix}module.${name}.`, depth + 1);
    }
  };
  walk(configuration?.root_module, '', 0);
  return out;
}

function findRotation(
  secret: StateResource,
  configAddress: string,
  references: Map<string, string[]>,
  byConfig: Map<string, StateResource[]>,
  all: readonly StateResource[],
): TimeRotatingUse | undefined {
  const prefix = modulePrefix(secret.address);
  const pick = (config: string, via: TimeRotatingUse['via']) => {
    const candidates = byConfig.get(config) ?? [];
    // A time_rotating with count/for_each: the instance in the same module instance, else the first.
    const match =
      candidates.find((c) =>
        c.address.startsWith(secret.address.slice(0, secret.address.lastIndexOf(secret.type))),
      ) ?? candidates[0];
    return match ? use(match, via) : undefined;
  };
  for (const ref of references.get(configAddress) ?? []) {
    const m = /^((?:module\.[^.]+\.)*time_rotating\.[^.[]+)/.exec(configAddressOf(ref));
    if (m) {
      const found = pick(m[1] as string, 'configuration');
      if (found) return found;
    }
  }
  for (const dep of secret.depends_on ?? []) {
    const config = configAddressOf(dep);
    if (!/(^|\.)time_rotating\./.test(config)) continue;
    const found = pick(byConfig.has(config) ? config : `${prefix}${config}`, 'depends_on');
    if (found) return found;
  }
  const triggers = secret.values?.regenerate_trigger_values;
  if (triggers && typeof triggers === 'object') {
    const wanted = new Set(
      Object.values(triggers as Record<string, unknown>).filter((v) => typeof v === 'string'),
    );
    const match = all.find((r) =>
      ['rotation_rfc3339', 'rfc3339', 'id', 'unix'].some((key) => wanted.has(String(r.values?.[key]))),
    );
    if (match) return use(match, 'value');
  }
  return undefined;
}

const MINUTE = 1;
const UNITS: readonly [string, number][] = [
  ['rotation_years', 365 * 24 * 60],
  ['rotation_months', 30 * 24 * 60],
  ['rotation_days', 24 * 60],
  ['rotation_hours', 60],
  ['rotation_minutes', MINUTE],
];

function use(resource: StateResource, via: TimeRotatingUse['via']): TimeRotatingUse {
  const values = resource.values ?? {};
  let minutes = 0;
  const said: string[] = [];
  for (const [key, size] of UNITS) {
    const n = Number(values[key]);
    if (Number.isFinite(n) && n > 0) {
      minutes += n * size;
      said.push(`${key} = ${n}`);
    }
  }
  const base = { address: resource.address, configAddress: configAddressOf(resource.address), via };
  if (minutes === 0) {
    return { ...base, period: 'no rotation_* period', schedule: undefined, note: 'no period found' };
  }
  const { schedule, note } = scheduleFor(minutes, said);
  return { ...base, period: said.join(', '), schedule, note };
}

/** A period in minutes as a Secrets Manager schedule: whole days as rate(N days), else rate(N hours). */
export function scheduleFor(
  minutes: number,
  said: readonly string[] = [],
): { schedule: string | undefined; note?: string } {
  const approx = said.some((s) => /months|years/.test(s)) ? 'months counted as 30 days, years as 365; ' : '';
  if (minutes < 4 * 60) {
    return {
      schedule: undefined,
      note: 'Secrets Manager rotates at most every 4 hours: pass --schedule for these secrets',
    };
  }
  if (minutes % (24 * 60) === 0) {
    const days = minutes / (24 * 60);
    if (days > 999) {
      return {
        schedule: 'rate(999 days)',
        note: `${approx}${days} days is over Secrets Manager's 999: rate(999 days)`,
      };
    }
    return {
      schedule: `rate(${days} day${days === 1 ? '' : 's'})`,
      ...(approx ? { note: approx.replace(/; $/, '') } : {}),
    };
  }
  const hours = Math.ceil(minutes / 60);
  return {
    schedule: `rate(${hours} hours)`,
    ...(minutes % 60 !== 0 ? { note: `${minutes} minutes rounded up to ${hours} hours` } : {}),
  };
}
