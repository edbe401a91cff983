/**
 * Which PingOne licence (organization) a request of the distributed auditor draws on, for the shared limiter
 * (lib/audit/limiter.ts): PingOne's rate limits are per licence, so every worker of one organization must
 * draw on one bucket, and one 429 must pause them all.
 *
 * The organization is known from the worker mapping (PINGONE_WORKERS, lib/pingone/workers.ts): the worker
 * that serves the request's environment, and that worker's `organization` when set. A worker without one
 * counts as a licence of its own (`worker:<name>`): two workers of one organization share a bucket only when
 * both name it. The single-worker setting is one worker, so one bucket.
 */
import { expandRegionTemplate, type PingOneRegion, REGIONS } from '../pingone/regions.js';
import { type WorkerMapping, type WorkerSpec, workersForEnvironment } from '../pingone/workers.js';

/** The bucket of a worker: its organization's when it names one, else its own. */
export function licenceOfWorker(spec: WorkerSpec): string {
  return spec.organization ? `org:${spec.organization}` : `worker:${spec.name}`;
}

/** The environment a PingOne URL is about: API calls name it in the path; token requests are <auth>/<env>/as/token. */
function environmentOfUrl(url: string): string | undefined {
  return (/\/environments\/([^/?#]+)/.exec(url) ?? /\/([^/?#]+)\/as\/token/.exec(url))?.[1]?.toLowerCase();
}

/**
 * The licence of each request, from the worker mapping. `organizations` (environment id → licence) overrides
 * it where it names the environment (the bench's simulated licences).
 */
export function licenceOfRequest(
  mapping: WorkerMapping & {
    readonly apiUrlTemplate: string;
    readonly authUrlTemplate: string;
  },
  organizations: ReadonlyMap<string, string> = new Map(),
): (url: string) => string {
  // The region a URL is in: the region whose API or auth base URL it starts with (api.pingone.<tld>, or a
  // template's {region} path); undefined when no single region's does, and then the mapping decides.
  const bases = REGIONS.flatMap((region) =>
    [mapping.apiUrlTemplate, mapping.authUrlTemplate].map((template) => ({
      region,
      base: `${expandRegionTemplate(template, region).replace(/\/+$/, '')}/`,
    })),
  );
  const regionOf = (url: string): PingOneRegion | undefined => {
    const matching = new Set(bases.filter((b) => url.startsWith(b.base)).map((b) => b.region));
    return matching.size === 1 ? [...matching][0] : undefined;
  };
  const fallback = licenceOfWorker(mapping.workers[0] as WorkerSpec);
  const cache = new Map<string, string>();
  return (url) => {
    const environment = environmentOfUrl(url);
    if (environment === undefined) return fallback;
    const named = organizations.get(environment);
    if (named) return named;
    const region = regionOf(url);
    const key = `${environment}@${region ?? ''}`;
    let licence = cache.get(key);
    if (licence === undefined) {
      try {
        // The worker the client picks first for the environment: any worker covering it is of its organization.
        const spec = workersForEnvironment(mapping, environment, region).candidates[0];
        licence = spec ? licenceOfWorker(spec) : fallback;
      } catch {
        // No worker covers it: the client refuses the owner before any request, so this is not reached for
        // an owner's calls; counted against the first worker's licence rather than none.
        licence = fallback;
      }
      cache.set(key, licence);
    }
    return licence;
  };
}
