/** PingOne's auth service: the token endpoint (workers' client_credentials) and introspection by clients. */
import { invalidClient, OAuthError } from '../errors.js';
import type { Reply } from '../http.js';
import { readClientCredentials, verifyAssertion, viaOf, whichSecret } from './client-auth.js';
import {
  type ApiRequest,
  type ApiWorld,
  environmentInRegion,
  type Handler,
  type RequestFacts,
} from './request.js';

/** `POST {auth}/{envId}/as/token`: client_credentials for a worker app of that environment. */
export const token: Handler = (world, request, facts): Reply => {
  const { store, tokenTtlSeconds } = world;
  const { environment, form, credentials } = presentedClient(world, request, facts);
  const worker = store.worker(environment.id, credentials.id);
  // A worker's secret is its application's: the current one or an unexpired previous one.
  if (
    !worker ||
    credentials.secret === undefined ||
    !store.matchSecret(environment.id, worker.clientId, credentials.secret, 'application')
  ) {
    throw invalidClient('Invalid client credentials.');
  }
  // Only the worker's configured tokenEndpointAuthMethod is accepted (pingone-api.md §4). The Go SDK's
  // auto-detect exists because of this; a client configured with the right method never needs it.
  if (credentials.via !== viaOf(worker.tokenEndpointAuthMethod)) {
    throw invalidClient(`The client must authenticate with ${worker.tokenEndpointAuthMethod}.`);
  }
  const grantType = form.get('grant_type');
  if (!grantType) throw new OAuthError(400, 'invalid_request', 'The grant_type parameter is required.');
  if (grantType !== 'client_credentials') {
    throw new OAuthError(400, 'unsupported_grant_type', `The grant type ${grantType} is not supported.`);
  }
  const accessToken = store.tokens.issue(worker, tokenTtlSeconds, environment.region);
  return {
    status: 200,
    body: { access_token: accessToken, token_type: 'Bearer', expires_in: tokenTtlSeconds },
    headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
  };
};

/**
 * `POST {auth}/{envId}/as/introspect`, the client being a CUSTOM resource authenticated per its
 * `introspectEndpointAuthMethod`, or an OIDC application per its `tokenEndpointAuthMethod` (Basic, POST,
 * or a `client_secret_jwt` assertion). Every token is reported inactive: the only tokens the simulator
 * issues are worker tokens for the Management API, whose audience is never the client.
 */
export const introspect: Handler = (world, request, facts): Reply => {
  const { store } = world;
  const { environment, form, credentials } = presentedClient(world, request, facts);
  const resource = store.resource(environment.id, credentials.id);
  if (resource?.type === 'CUSTOM') {
    facts.resourceId = resource.id;
    const method = resource.introspectEndpointAuthMethod;
    if (method !== 'NONE') {
      if (credentials.via !== viaOf(method)) {
        throw invalidClient(`The client must authenticate with ${method}.`);
      }
      if (!store.matchSecret(environment.id, resource.id, credentials.secret ?? '')) {
        throw invalidClient('Invalid client credentials.');
      }
    }
  } else {
    const application = store.application(environment.id, credentials.id);
    const secrets = application
      ? store.acceptedSecrets(environment.id, application.id, 'application')
      : undefined;
    if (application?.protocol !== 'OPENID_CONNECT' || !application.enabled) {
      throw invalidClient('Invalid client credentials.');
    }
    facts.applicationId = application.id;
    const method = application.tokenEndpointAuthMethod ?? 'NONE';
    if (method === 'NONE') {
      if (credentials.via !== 'none') throw invalidClient('The client must authenticate with NONE.');
    } else if (method === 'PRIVATE_KEY_JWT') {
      // Its assertions are signed with the client's private key; the secret authenticates nothing.
      throw invalidClient('The client must authenticate with PRIVATE_KEY_JWT.');
    } else {
      if (credentials.via !== viaOf(method)) {
        throw invalidClient(`The client must authenticate with ${method}.`);
      }
      if (!secrets) throw invalidClient('Invalid client credentials.');
      const matched =
        method === 'CLIENT_SECRET_JWT'
          ? verifyAssertion(
              credentials,
              secrets,
              `${request.authBase}/${environment.id}/as/introspect`,
              store.tokens,
              world.clock,
            )
          : whichSecret(secrets, (secret) => secret === (credentials.secret ?? ''));
      if (!matched) throw invalidClient('Invalid client credentials.');
      if (matched === 'previous') store.stampPreviousUsed(environment.id, application.id, 'application');
    }
  }
  if (!form.get('token')) throw new OAuthError(400, 'invalid_request', 'The token parameter is required.');
  return { status: 200, body: { active: false }, headers: { 'cache-control': 'no-store' } };
};

/** An auth endpoint's environment (in this region), its form, and the credentials the client presented (401 without). */
function presentedClient(world: ApiWorld, request: ApiRequest, facts: RequestFacts) {
  const environment = environmentInRegion(world, request.match);
  const form = new URLSearchParams(request.body);
  const credentials = readClientCredentials(request.headers, form);
  if (!credentials) throw invalidClient('Client authentication is required.');
  facts.clientAuth = credentials.via;
  return { environment, form, credentials };
}
