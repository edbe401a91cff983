import { PingOneApiError, WorkerAuthError } from '../errors.js';
import { basicAuthorization, Redactor } from '../redact.js';
import type { PingOneRegion } from './regions.js';
import type { HttpResponse, RequestSender } from './request-sender.js';
import { parseResponse } from './responses.js';
import type { CallOptions } from './types.js';
import type { WorkerCredentials } from './worker-credentials.js';
import type { SelectedWorker } from './workers.js';

interface CachedToken {
  readonly accessToken: string;
  readonly refreshAt: number;
}

/**
 * Worker access tokens by client_credentials at the worker's own region's auth service, cached until shortly
 * before `expires_in`. Calls that need a token at the same time (the auditor's concurrent judges, a
 * container's parallel reads) share one token request instead of each fetching its own: a burst asks PingOne
 * for one token per container, not one per call. A failed request is not cached; the next call asks again.
 */
export class WorkerTokens {
  readonly #sender: RequestSender;
  readonly #authBase: (region: PingOneRegion) => string;
  readonly #now: () => number;
  readonly #tokens = new Map<string, CachedToken>();
  readonly #requests = new Map<string, Promise<string>>();

  constructor(sender: RequestSender, authBase: (region: PingOneRegion) => string, now: () => number) {
    this.#sender = sender;
    this.#authBase = authBase;
    this.#now = now;
  }

  /** The worker's access token: cached, shared with a request already in flight, or fetched. */
  async get(selected: SelectedWorker, options: CallOptions): Promise<string> {
    const key = this.#key(selected.credentials);
    const cached = this.#tokens.get(key);
    if (cached && cached.refreshAt > this.#now()) return cached.accessToken;
    const inFlight = this.#requests.get(key);
    if (inFlight) return inFlight;
    const request = this.#fetch(selected, options, key).finally(() => this.#requests.delete(key));
    this.#requests.set(key, request);
    return request;
  }

  /** Drops the cached token (PingOne answered 401 to it): the next `get` fetches a fresh one. */
  forget(worker: WorkerCredentials): void {
    this.#tokens.delete(this.#key(worker));
  }

  async #fetch(
    selected: SelectedWorker,
    options: CallOptions,
    key: string,
    isRetry = false,
  ): Promise<string> {
    const worker = selected.credentials;
    const authBase = this.#authBase(worker.region);
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (worker.tokenEndpointAuthMethod === 'CLIENT_SECRET_POST') {
      form.set('client_id', worker.clientId);
      form.set('client_secret', worker.clientSecret);
    } else {
      headers.authorization = basicAuthorization(worker.clientId, worker.clientSecret);
    }
    let response: HttpResponse;
    try {
      response = await this.#sender.sendWithRetries(
        {
          operation: 'worker token',
          method: 'POST',
          api: 'oauth',
          url: `${authBase}/${encodeURIComponent(worker.environmentId)}/as/token`,
          headers,
          body: form.toString(),
          // Basic or POST, the secret's plain, form-encoded and Base64 forms are all known.
          redactor: Redactor.none.basic(worker.clientId, worker.clientSecret),
        },
        options,
      );
    } catch (error) {
      if (error instanceof PingOneApiError && (error.status === 400 || error.status === 401)) {
        if (!isRetry && isInvalidClient(error)) {
          // The worker credential may have been rotated since we cached it: read the parameter again once.
          const credentials = await selected.refetch();
          return this.#fetch({ ...selected, credentials }, options, key, true);
        }
        throw new WorkerAuthError(
          `PingOne refused the worker token (${error.status} ${error.pingOneCode ?? 'error'}) for worker client ` +
            `in environment ${worker.environmentId} at ${new URL(authBase).host}: check the worker parameter's ` +
            `clientId, clientSecret, environmentId and region (worker ${selected.name}; its credential was read again once)`,
          { cause: error },
        );
      }
      throw error;
    }
    const doc = parseResponse(response.body, 'worker token');
    const accessToken = doc.access_token;
    const expiresIn = Number(doc.expires_in);
    if (
      typeof accessToken !== 'string' ||
      accessToken === '' ||
      !Number.isFinite(expiresIn) ||
      expiresIn <= 0
    ) {
      throw new WorkerAuthError('PingOne token response has no access_token or expires_in');
    }
    // Refresh a little early: a token must not expire between our check and PingOne's.
    const skewMs = Math.min(60_000, (expiresIn * 1000) / 10);
    this.#tokens.set(key, { accessToken, refreshAt: this.#now() + expiresIn * 1000 - skewMs });
    return accessToken;
  }

  #key(worker: WorkerCredentials): string {
    return `${this.#authBase(worker.region)}|${worker.environmentId}|${worker.clientId}`;
  }
}

export function isInvalidClient(error: PingOneApiError): boolean {
  return error.pingOneCode === 'invalid_client' || error.status === 401;
}
