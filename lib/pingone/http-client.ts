import { randomUUID } from 'node:crypto';
import { EnvironmentNotCoveredError, OwnerNotRotatableError, PingOneApiError } from '../errors.js';
import { basicAuthorization, Redactor } from '../redact.js';
import { DELETE_PREVIOUS_OPERATION, REGENERATE_OPERATION } from './change-outcome.js';
import { clientSecretJwt, JWT_BEARER_ASSERTION_TYPE } from './client-assertion.js';
import { expandRegionTemplate, type PingOneRegion } from './regions.js';
import { DEFAULT_RETRY_POLICY, type HttpRequest, RequestSender, type RetryPolicy } from './request-sender.js';
import { parseResponse, parseSecretState } from './responses.js';
import { defaultTransport, type Transport } from './transport.js';
import {
  type CallOptions,
  OWNER_COLLECTIONS,
  PINGONE_REQUEST_TIMEOUT_MS,
  type PingOneApplication,
  type PingOneClient,
  type PingOneResource,
  type PingOneSecretState,
  type SecretAuthMethod,
  type SecretOwner,
} from './types.js';
import type { WorkerCredentials, WorkerCredentialsSource } from './worker-credentials.js';
import { isInvalidClient, WorkerTokens } from './worker-token.js';
import type { SelectedWorker, WorkerRouter } from './workers.js';

export interface PingOneHttpClientOptions {
  readonly apiUrlTemplate: string;
  readonly authUrlTemplate: string;
  /** The single worker's credentials (PINGONE_WORKER_PARAMETER); or `workers`. */
  readonly workerCredentials?: WorkerCredentialsSource;
  /** The workers per organization and region (lib/pingone/workers.ts); wins over `workerCredentials`. */
  readonly workers?: WorkerRouter;
  /** One HTTP exchange; defaults to the process-wide `node:https` keep-alive transport. */
  readonly transport?: Transport;
  /** Epoch milliseconds; injectable so tests can share a simulator's clock. */
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly retry?: Partial<RetryPolicy>;
  /** Upper bound for one HTTP attempt; the deadline may cut it shorter. */
  readonly attemptTimeoutMs?: number;
  readonly logger?: { warn(message: string, extra?: Record<string, unknown>): void };
}

/**
 * PingOne Management API client on `node:https` (lib/pingone/transport.ts).
 *
 * - Worker token by client_credentials, cached until shortly before `expires_in`, refreshed once on a 401.
 * - Calls that change nothing at PingOne (GET, token, introspection) retry 408/429/5xx and network errors
 *   with exponential backoff and full jitter, honour `Retry-After` (waiting at least that long, plus jitter, so
 *   containers refused together do not return together), and never run past the caller's deadline.
 * - Calls that change PingOne (the regenerate POST, the previous-secret DELETE) are sent once and never
 *   repeated on any answer but PingOne's own 401 (refused before processing; repeated once with a fresh
 *   token). A repeated DELETE removes whatever is previous *then*, a repeated POST evicts AWSCURRENT. The
 *   error says whether the answer was PingOne's own (`PingOneApiError.fromPingOne`); the caller re-reads
 *   PingOne and decides (lib/pingone/change-outcome.ts).
 */
export class PingOneHttpClient implements PingOneClient {
  readonly #options: PingOneHttpClientOptions;
  readonly #now: () => number;
  readonly #sender: RequestSender;
  readonly #tokens: WorkerTokens;

  constructor(options: PingOneHttpClientOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#sender = new RequestSender({
      transport: options.transport ?? defaultTransport(),
      now: this.#now,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      random: options.random ?? Math.random,
      retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
      attemptTimeoutMs: options.attemptTimeoutMs ?? PINGONE_REQUEST_TIMEOUT_MS,
      logger: options.logger,
    });
    this.#tokens = new WorkerTokens(this.#sender, (region) => this.#authBase(region), this.#now);
  }

  async readSecret(owner: SecretOwner, options: CallOptions): Promise<PingOneSecretState> {
    const body = await this.#management(owner, 'GET', '/secret', 'read secret', options);
    return parseSecretState(body, 'read secret');
  }

  async regenerateSecret(
    owner: SecretOwner,
    previousExpiresAt: Date,
    options: CallOptions,
  ): Promise<PingOneSecretState> {
    const body = await this.#management(owner, 'POST', '/secret', REGENERATE_OPERATION, options, {
      previous: { expiresAt: previousExpiresAt.toISOString() },
    });
    // A 2xx we cannot read: PingOne may well have regenerated (the error's fromPingOne is false).
    return parseSecretState(body, REGENERATE_OPERATION);
  }

  async deletePreviousSecret(owner: SecretOwner, options: CallOptions): Promise<void> {
    await this.#management(owner, 'DELETE', '/secret', DELETE_PREVIOUS_OPERATION, options);
  }

  async readResource(owner: SecretOwner, options: CallOptions): Promise<PingOneResource> {
    const body = await this.#management(owner, 'GET', '', `read ${owner.kind}`, options);
    const doc = parseResponse(body, `read ${owner.kind}`);
    if (typeof doc.id !== 'string' || typeof doc.type !== 'string') {
      throw new PingOneApiError(`PingOne read ${owner.kind} returned an unexpected body (no id or type)`, {
        status: 200,
      });
    }
    return {
      id: doc.id,
      type: doc.type,
      ...(typeof doc.name === 'string' ? { name: doc.name } : {}),
      ...(typeof doc.introspectEndpointAuthMethod === 'string'
        ? { introspectEndpointAuthMethod: doc.introspectEndpointAuthMethod }
        : {}),
    };
  }

  async readApplication(owner: SecretOwner, options: CallOptions): Promise<PingOneApplication> {
    const body = await this.#management(owner, 'GET', '', 'read application', options);
    const doc = parseResponse(body, 'read application');
    if (typeof doc.id !== 'string' || typeof doc.protocol !== 'string' || typeof doc.type !== 'string') {
      throw new PingOneApiError(
        'PingOne read application returned an unexpected body (no id, protocol or type)',
        { status: 200 },
      );
    }
    const grantTypes = Array.isArray(doc.grantTypes)
      ? doc.grantTypes.filter((g): g is string => typeof g === 'string')
      : undefined;
    return {
      id: doc.id,
      protocol: doc.protocol,
      type: doc.type,
      ...(typeof doc.name === 'string' ? { name: doc.name } : {}),
      ...(typeof doc.tokenEndpointAuthMethod === 'string'
        ? { tokenEndpointAuthMethod: doc.tokenEndpointAuthMethod }
        : {}),
      ...(grantTypes ? { grantTypes } : {}),
      ...(typeof doc.enabled === 'boolean' ? { enabled: doc.enabled } : {}),
    };
  }

  async introspectWithSecret(
    owner: SecretOwner,
    clientSecret: string,
    method: SecretAuthMethod,
    options: CallOptions,
  ): Promise<boolean> {
    const url = `${this.#authBase(owner.region)}/${owner.environmentId}/as/introspect`;
    const form = () =>
      new URLSearchParams({
        token: `pingone-rotation-probe-${randomUUID()}`,
        token_type_hint: 'access_token',
      });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    let body: Pick<HttpRequest, 'body' | 'makeBody'>;
    if (method === 'CLIENT_SECRET_BASIC') {
      headers.authorization = basicAuthorization(owner.id, clientSecret);
      body = { body: form().toString() };
    } else if (method === 'CLIENT_SECRET_POST') {
      const fields = form();
      fields.set('client_id', owner.id);
      fields.set('client_secret', clientSecret);
      body = { body: fields.toString() };
    } else {
      // RFC 7523 client authentication: a new assertion (jti, iat, exp) for every attempt.
      body = {
        makeBody: () => {
          const assertion = clientSecretJwt({
            clientId: owner.id,
            clientSecret,
            audience: url,
            now: this.#now(),
          });
          const fields = form();
          fields.set('client_id', owner.id);
          fields.set('client_assertion_type', JWT_BEARER_ASSERTION_TYPE);
          fields.set('client_assertion', assertion);
          // The assertion is a credential for its minute: registered like the secret, every encoding of it.
          return { body: fields.toString(), credentials: [assertion] };
        },
      };
    }
    try {
      await this.#sender.sendWithRetries(
        {
          operation: 'introspect',
          method: 'POST',
          api: 'oauth',
          url,
          headers,
          ...body,
          // The secret under test is usually the new, pending one: no form of it may reach an error. A
          // CLIENT_SECRET_JWT assertion is made per attempt and registered then (see makeBody).
          redactor: Redactor.none.basic(owner.id, clientSecret),
        },
        options,
      );
      return true;
    } catch (error) {
      if (error instanceof PingOneApiError && isInvalidClient(error)) return false;
      throw error;
    }
  }

  /**
   * A read-only Management API GET as one given worker, at its own region's API (`doctor`): `path` is under
   * the API base, e.g. `/environments`. Returns the JSON body.
   */
  async readAsWorker(
    worker: SelectedWorker,
    path: string,
    options: CallOptions,
  ): Promise<Record<string, unknown>> {
    const operation = `read ${path.split('?')[0]}`;
    const url = `${this.#apiBase(worker.credentials.region)}${path}`;
    const accessToken = await this.#tokens.get(worker, options);
    const response = await this.#sender.sendWithRetries(
      {
        operation,
        method: 'GET',
        api: 'management',
        url,
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        redactor: Redactor.none.bearer(accessToken),
      },
      options,
    );
    return parseResponse(response.body, operation);
  }

  /** A Management API call as the worker: bearer token, one refresh on 401. */
  async #management(
    owner: SecretOwner,
    method: 'GET' | 'POST' | 'DELETE',
    suffix: string,
    operation: string,
    options: CallOptions,
    json?: unknown,
  ): Promise<string> {
    const url = `${this.#apiBase(owner.region)}/environments/${encodeURIComponent(owner.environmentId)}/${
      OWNER_COLLECTIONS[owner.kind]
    }/${encodeURIComponent(owner.id)}${suffix}`;
    const send = async (accessToken: string) => {
      const request: HttpRequest = {
        operation,
        method,
        api: 'management',
        url,
        headers: {
          authorization: `Bearer ${accessToken}`,
          accept: 'application/json',
          ...(json === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(json === undefined ? {} : { body: JSON.stringify(json) }),
        redactor: Redactor.none.bearer(accessToken),
      };
      // Only a GET is repeated by the client. The regenerate POST and the previous-secret DELETE are sent once:
      // after a non-definitive answer the caller re-reads PingOne and decides.
      return method === 'GET'
        ? this.#sender.sendWithRetries(request, options)
        : this.#sender.sendOnce(request, options);
    };
    const selected = await this.#workerFor(owner);
    const worker = selected.credentials;
    refuseOwnWorker(owner, worker);
    if (worker.region !== owner.region) {
      // A token is valid only at the API of the region that issued it; never send it anywhere else.
      throw new EnvironmentNotCoveredError(
        `PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId} is in region ${owner.region}, but ` +
          `its worker (${selected.name}) is in region ${worker.region}; nothing was sent to PingOne`,
      );
    }
    try {
      return (await send(await this.#tokens.get(selected, options))).body;
    } catch (error) {
      // PingOne answers 401 before it processes anything, so one repeat with a fresh token is safe even for a
      // call that changes PingOne, but only when the 401 is provably PingOne's (a proxy's 401 proves nothing).
      if (!(error instanceof PingOneApiError) || error.status !== 401) throw error;
      if (method !== 'GET' && !error.fromPingOne) throw error;
      this.#tokens.forget(worker);
      return (await send(await this.#tokens.get(selected, options))).body;
    }
  }

  /**
   * The worker for an owner: the router's choice (workers per organization), or the single worker, which serves
   * only owners in its own region (its token would be refused, or worse, anywhere else).
   */
  async #workerFor(owner: SecretOwner): Promise<SelectedWorker> {
    if (this.#options.workers) return this.#options.workers.workerFor(owner);
    const source = this.#options.workerCredentials;
    if (!source) throw new Error('PingOneHttpClient needs workers or workerCredentials');
    const credentials = await source();
    if (credentials.region !== owner.region) {
      throw new EnvironmentNotCoveredError(
        `PingOne ${owner.kind} ${owner.id} in environment ${owner.environmentId} is in region ${owner.region}, but ` +
          `the worker is in region ${credentials.region}: its token is valid only at ${credentials.region}'s API, ` +
          `so nothing was sent to PingOne. Configure a worker of ${owner.region}'s organization in PINGONE_WORKERS, ` +
          "or fix the secret's region",
      );
    }
    return { name: 'worker', credentials, refetch: () => source({ forceFetch: true }) };
  }

  #apiBase(region: PingOneRegion): string {
    return expandRegionTemplate(this.#options.apiUrlTemplate, region);
  }

  #authBase(region: PingOneRegion): string {
    return expandRegionTemplate(this.#options.authUrlTemplate, region);
  }
}

/**
 * The function never touches its own worker application: regenerating that secret would cut the function
 * off from PingOne halfway through a rotation (the worker parameter still holds the old secret), and PingOne
 * does not let a worker read its own application secret anyway. Checked before every Management API call,
 * so no code path can reach PingOne about it.
 */
function refuseOwnWorker(owner: SecretOwner, worker: WorkerCredentials): void {
  if (owner.kind === 'application' && owner.id.toLowerCase() === worker.clientId.toLowerCase()) {
    throw new OwnerNotRotatableError(
      `PingOne application ${owner.id} in environment ${owner.environmentId} is this function's own worker ` +
        "application (the worker parameter's clientId): rotating it would cut the function off from PingOne " +
        'mid-rotation, and PingOne does not let a worker read its own application secret. Rotate the ' +
        "worker's secret with a second worker app or by hand (docs/runbook.md: rotating the worker's own secret)",
    );
  }
}
