/**
 * Which worker app serves which PingOne environment: the one mapping the rotation function, the auditor and
 * the CLI share (issue 19). A PingOne organization lives in one region and a worker's token is issued by that
 * region's auth service, so a worker is used only for environments it covers, in its own region: its token is
 * never sent to another region's API.
 *
 * The deployment names its workers in PINGONE_WORKERS (JSON), each with its region, where its credential
 * lives (an SSM SecureString parameter, or a Secrets Manager secret that this function can itself rotate
 * through another worker) and the environments it covers (a list, or `"*"`: every environment of its
 * organization). The single-worker setting (PINGONE_WORKER_PARAMETER) is the simple case: one worker covering
 * every environment in the region its parameter names.
 */
import { ConfigurationError, EnvironmentNotCoveredError, OwnerNotRotatableError } from '../errors.js';
import { AWSCURRENT, type SecretsStore } from '../secrets/secrets-store.js';
import { isRegion, type PingOneRegion, REGIONS } from './regions.js';
import { isUuid, type SecretOwner } from './types.js';
import {
  type ParameterReader,
  type SecretStringReader,
  secretsManagerWorkerCredentials,
  ssmWorkerCredentials,
  type WorkerCredentials,
  type WorkerCredentialsSource,
} from './worker-credentials.js';

/** Where a worker's credential JSON lives. */
export type WorkerCredentialLocation =
  | { readonly store: 'ssm'; readonly parameter: string }
  | { readonly store: 'secretsmanager'; readonly secretId: string };

export interface WorkerSpec {
  /** A short name for messages and `doctor` (the parameter's name for the single-worker setting). */
  readonly name: string;
  /**
   * The PingOne region of the worker's organization. Undefined only for the single-worker setting, whose
   * region is the one its parameter names (default PINGONE_REGION).
   */
  readonly region: PingOneRegion | undefined;
  readonly credential: WorkerCredentialLocation;
  /** Lower-case environment ids it covers, or `'*'`: every environment of its organization (in its region). */
  readonly environments: '*' | readonly string[];
  /**
   * Its PingOne organization (licence), lower-cased, when PINGONE_WORKERS names it: PingOne's rate limits are
   * per licence, so the distributed auditor's workers of one organization share one rate budget
   * (lib/audit/licence.ts). Undefined: the worker counts as a licence of its own.
   */
  readonly organization?: string;
}

const NAME = /^[A-Za-z0-9_.:/-]{1,128}$/;

/** A worker's `organization` as PINGONE_WORKERS takes it: the PingOne organization's id, 1-128 of [A-Za-z0-9_.:/-]. */
export const isOrganizationId = (value: unknown): value is string =>
  typeof value === 'string' && NAME.test(value);
const MAX_WORKERS = 50;

/** The single-worker setting as a worker list: one worker, every environment, its parameter's region. */
export function singleWorker(parameter: string): WorkerSpec {
  return Object.freeze({
    name: parameter,
    region: undefined,
    credential: Object.freeze({ store: 'ssm', parameter }),
    environments: '*',
  });
}

/**
 * Parses PINGONE_WORKERS: a JSON array of `{ "name", "region", "parameter" | "secret", "environments" }`.
 * `source` names the variable or flag for the errors, which never quote a credential (there is none here).
 */
export function parseWorkers(text: string, source: string, setting = 'workers'): readonly WorkerSpec[] {
  const fail = (why: string) =>
    new ConfigurationError(
      `${source} ${why}. It must be a JSON array such as [{"name":"eu","region":"EU","parameter":"/pingone/worker-eu",` +
        `"environments":"*"}, {"name":"na","region":"NA","secret":"pingone/worker-na","environments":["<environment uuid>"]}]`,
      { setting },
    );
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw fail('is not valid JSON');
  }
  if (!Array.isArray(doc) || doc.length === 0) throw fail('is not a non-empty JSON array');
  if (doc.length > MAX_WORKERS) throw fail(`names ${doc.length} workers, more than ${MAX_WORKERS}`);
  const names = new Set<string>();
  const specs = doc.map((entry: unknown, index): WorkerSpec => {
    const at = `worker ${index + 1}`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw fail(`: ${at} is not an object`);
    const f = entry as Record<string, unknown>;
    const unknown = Object.keys(f).filter(
      (k) => !['name', 'region', 'parameter', 'secret', 'environments', 'organization'].includes(k),
    );
    if (unknown.length > 0) throw fail(`: ${at} has unknown field(s) ${unknown.join(', ')}`);
    if (typeof f.name !== 'string' || !NAME.test(f.name)) {
      throw fail(`: ${at}'s name must be 1-128 letters, digits or _.:/-`);
    }
    if (names.has(f.name)) throw fail(`: the name '${f.name}' is used twice`);
    names.add(f.name);
    const where = `: worker '${f.name}'`;
    if (!isRegion(f.region))
      throw fail(`${where} has region ${JSON.stringify(f.region)}; it must be one of ${REGIONS.join(', ')}`);
    const hasParameter = typeof f.parameter === 'string' && f.parameter.trim() !== '';
    const hasSecret = typeof f.secret === 'string' && f.secret.trim() !== '';
    if (hasParameter === hasSecret) {
      throw fail(
        `${where} must name exactly one of "parameter" (SSM SecureString) and "secret" (Secrets Manager)`,
      );
    }
    const credential: WorkerCredentialLocation = hasParameter
      ? { store: 'ssm', parameter: (f.parameter as string).trim() }
      : { store: 'secretsmanager', secretId: (f.secret as string).trim() };
    let environments: WorkerSpec['environments'];
    if (f.environments === '*') {
      environments = '*';
    } else if (Array.isArray(f.environments) && f.environments.length > 0 && f.environments.every(isUuid)) {
      environments = Object.freeze([...new Set(f.environments.map((id: string) => id.toLowerCase()))]);
    } else {
      throw fail(
        `${where} must cover "environments": "*" (its whole organization) or a non-empty list of environment UUIDs`,
      );
    }
    if (f.organization !== undefined && !isOrganizationId(f.organization)) {
      throw fail(
        `${where} has organization ${JSON.stringify(f.organization)}; it must be the PingOne organization's id ` +
          '(1-128 letters, digits or _.:/-), or left out',
      );
    }
    return Object.freeze({
      name: f.name,
      region: f.region,
      credential: Object.freeze(credential),
      environments,
      ...(f.organization === undefined ? {} : { organization: (f.organization as string).toLowerCase() }),
    });
  });
  return Object.freeze(specs);
}

/** A worker as messages describe it: `eu (EU, every environment)` / `na (NA, 2 environments)`. */
export function describeWorker(spec: WorkerSpec): string {
  const region = spec.region ?? "its parameter's region";
  const covers =
    spec.environments === '*'
      ? 'every environment of its organization'
      : spec.environments.length <= 3
        ? `environments ${spec.environments.join(', ')}`
        : `${spec.environments.length} environments`;
  return `${spec.name} (${region}, ${covers})`;
}

/** What the configuration needs from the mapping. */
export interface WorkerMapping {
  readonly workers: readonly WorkerSpec[];
  readonly defaultRegion: PingOneRegion;
}

/**
 * The workers that may serve an environment, and the region the owner is called in. Workers listing the
 * environment win over `"*"` workers; the secret's region (when it names one) must be a covering worker's;
 * without one, the region is the covering workers' (PINGONE_REGION when they span several). Refuses, before
 * anything reaches PingOne, an environment no worker covers.
 */
export function workersForEnvironment(
  mapping: WorkerMapping,
  environmentId: string,
  secretRegion: PingOneRegion | undefined,
): { readonly region: PingOneRegion; readonly candidates: readonly WorkerSpec[] } {
  const env = environmentId.toLowerCase();
  const listing = mapping.workers.filter((w) => w.environments !== '*' && w.environments.includes(env));
  const pool = listing.length > 0 ? listing : mapping.workers.filter((w) => w.environments === '*');
  const regions = [...new Set(pool.map((w) => w.region).filter((r): r is PingOneRegion => r !== undefined))];
  let region: PingOneRegion | undefined = secretRegion;
  if (region === undefined) {
    region =
      regions.length === 1
        ? regions[0]
        : regions.length === 0 || regions.includes(mapping.defaultRegion)
          ? mapping.defaultRegion
          : undefined;
  }
  const candidates =
    region === undefined ? [] : pool.filter((w) => w.region === undefined || w.region === region);
  if (candidates.length === 0 || region === undefined) {
    throw new EnvironmentNotCoveredError(
      `No worker covers PingOne environment ${env}${secretRegion ? ` in region ${secretRegion} (the secret's region)` : ''}` +
        `${pool.length > 0 && regions.length > 1 && secretRegion === undefined ? `: it is covered in regions ${regions.join(', ')}, so the secret must name its region` : ''}. ` +
        `The workers this function knows: ${mapping.workers.map(describeWorker).join('; ')}. Nothing was sent to PingOne; ` +
        "add the environment to its organization's worker in PINGONE_WORKERS, or fix the " +
        "secret's environmentId and region",
    );
  }
  return { region, candidates };
}

/** The worker credentials one call uses, and how to read them again when PingOne refuses them. */
export interface SelectedWorker {
  readonly name: string;
  readonly credentials: WorkerCredentials;
  /** Reads this worker's credential again, bypassing any cache (PingOne refused the cached one). */
  readonly refetch: () => Promise<WorkerCredentials>;
}

/** Picks the worker for an owner (PingOneHttpClient asks before every Management API call). */
export interface WorkerRouter {
  workerFor(owner: SecretOwner): Promise<SelectedWorker>;
  /** Every configured worker (doctor). */
  readonly workers: readonly WorkerSpec[];
  /** A worker's credentials by name (doctor). */
  credentialsOf(name: string, options?: { forceFetch?: boolean }): Promise<WorkerCredentials>;
}

/**
 * The runtime mapping: each worker's credential source (cached by the source), and the choice per owner.
 * A worker never serves its own application: rotating a worker's secret goes through another worker that
 * covers its environment (a worker pair), and with none, OwnerNotRotatable.
 */
export class WorkerDirectory implements WorkerRouter {
  readonly workers: readonly WorkerSpec[];
  readonly #mapping: WorkerMapping;
  readonly #sources: ReadonlyMap<string, WorkerCredentialsSource>;

  constructor(mapping: WorkerMapping, sourceOf: (spec: WorkerSpec) => WorkerCredentialsSource) {
    this.#mapping = mapping;
    this.workers = mapping.workers;
    this.#sources = new Map(mapping.workers.map((spec) => [spec.name, sourceOf(spec)]));
  }

  /** One worker's credential source, checked against its configured region. */
  async credentialsOf(name: string, options: { forceFetch?: boolean } = {}): Promise<WorkerCredentials> {
    const spec = this.workers.find((w) => w.name === name);
    const source = this.#sources.get(name);
    if (!spec || !source)
      throw new ConfigurationError(`No worker named '${name}' is configured`, { setting: 'workers' });
    const credentials = await source(options);
    if (spec.region !== undefined && credentials.region !== spec.region) {
      throw new ConfigurationError(
        `Worker '${spec.name}' is configured in region ${spec.region} (PINGONE_WORKERS) but its credential names region ` +
          `${credentials.region}: fix one of them; nothing was sent to PingOne`,
        { setting: 'workers' },
      );
    }
    return credentials;
  }

  async workerFor(owner: SecretOwner): Promise<SelectedWorker> {
    const { candidates } = workersForEnvironment(this.#mapping, owner.environmentId, owner.region);
    for (const spec of candidates) {
      const credentials = await this.credentialsOf(spec.name);
      if (credentials.region !== owner.region) {
        // The single-worker setting: its region is known only from its parameter.
        throw new EnvironmentNotCoveredError(
          `${describeOwnerBrief(owner)} is in region ${owner.region}, but the worker (${spec.name}) is in region ` +
            `${credentials.region}: its token is valid only at ${credentials.region}'s API, so nothing was sent to ` +
            `PingOne. Configure a worker of ${owner.region}'s organization in PINGONE_WORKERS, or fix the secret's region`,
        );
      }
      if (isOwnWorker(owner, credentials)) continue;
      return {
        name: spec.name,
        credentials,
        refetch: () => this.credentialsOf(spec.name, { forceFetch: true }),
      };
    }
    throw new OwnerNotRotatableError(
      `PingOne application ${owner.id} in environment ${owner.environmentId} is this function's own worker ` +
        'application and no other worker covers its environment: rotating it with its own token would cut the ' +
        'function off mid-rotation, and PingOne does not let a worker read its own application secret. Rotate it ' +
        'through a second worker app or by hand: with two workers of one organization in PINGONE_WORKERS each ' +
        "rotates the other's secret (docs: rotating the worker's own secret)",
    );
  }
}

function describeOwnerBrief(owner: SecretOwner): string {
  return `PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId}`;
}

/** The owner is this worker's own application. */
export function isOwnWorker(owner: SecretOwner, worker: WorkerCredentials): boolean {
  return owner.kind === 'application' && owner.id.toLowerCase() === worker.clientId.toLowerCase();
}

/** How the directory reads credentials: SSM (Powertools' provider or the CLI's reader) and Secrets Manager. */
export interface WorkerCredentialReaders {
  readonly ssm: ParameterReader;
  readonly secrets: SecretStringReader;
  /** Seconds a credential is cached in the container (PINGONE_WORKER_CACHE_SECONDS). */
  readonly maxAgeSeconds: number;
  readonly now?: () => number;
}

/** The configured workers with their credential sources: what the function, the auditor and the CLI use. */
export function workerDirectory(
  config: WorkerMapping & { readonly workers: readonly WorkerSpec[] },
  readers: WorkerCredentialReaders,
): WorkerDirectory {
  return new WorkerDirectory(config, (spec) =>
    spec.credential.store === 'ssm'
      ? ssmWorkerCredentials(
          readers.ssm,
          spec.credential.parameter,
          readers.maxAgeSeconds,
          spec.region ?? config.defaultRegion,
        )
      : secretsManagerWorkerCredentials(
          readers.secrets,
          spec.credential.secretId,
          readers.maxAgeSeconds,
          spec.region ?? config.defaultRegion,
          readers.now,
        ),
  );
}

/** Reads a worker secret's AWSCURRENT through the Secrets Manager adapter. */
export function workerSecretReader(store: Pick<SecretsStore, 'getVersion'>): SecretStringReader {
  return async (secretId) => (await store.getVersion(secretId, { stage: AWSCURRENT })).secretString;
}
