import type { PingOneRegion } from './regions.js';

/**
 * What owns a PingOne client secret. Resources and applications share the same secret API
 * (`GET/POST/DELETE …/{collection}/{id}/secret`), so adding applications is one more `kind`.
 */
export type SecretOwnerKind = 'resource' | 'application';

export const OWNER_COLLECTIONS: Readonly<Record<SecretOwnerKind, string>> = {
  resource: 'resources',
  application: 'applications',
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** PingOne's ids (environments, resources, applications) are UUIDs. */
export function isUuid(value: unknown): value is string {
  return typeof value === 'string' && UUID.test(value);
}

export interface SecretOwner {
  readonly kind: SecretOwnerKind;
  readonly environmentId: string;
  readonly id: string;
  readonly region: PingOneRegion;
}

/** PingOne's view of a client secret: the current one and at most one unexpired previous one. */
export interface PingOneSecretState {
  readonly secret: string;
  readonly previous?: {
    readonly secret: string;
    readonly expiresAt: string;
    readonly lastUsed?: string;
  };
}

/**
 * How a client proves itself at introspection with its secret: Basic, form POST, or an RFC 7523 client
 * assertion signed (HS256) with the secret (`CLIENT_SECRET_JWT`, applications only).
 */
export type SecretAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'CLIENT_SECRET_JWT';

export interface PingOneResource {
  readonly id: string;
  readonly name?: string;
  readonly type: string;
  /** Absent on some resources; PingOne's default is CLIENT_SECRET_BASIC. */
  readonly introspectEndpointAuthMethod?: string;
}

/**
 * An application as `GET /environments/{env}/applications/{id}` returns it. Only `OPENID_CONNECT`
 * applications have a client secret; `tokenEndpointAuthMethod` is an OIDC property (absent for SAML).
 */
export interface PingOneApplication {
  readonly id: string;
  readonly name?: string;
  /** `OPENID_CONNECT`, `SAML`, `WS_FED`, `EXTERNAL_LINK`, … */
  readonly protocol: string;
  /** `WEB_APP`, `NATIVE_APP`, `SINGLE_PAGE_APP`, `WORKER`, `SERVICE`, `CUSTOM_APP`, … */
  readonly type: string;
  /** `CLIENT_SECRET_BASIC`, `CLIENT_SECRET_POST`, `CLIENT_SECRET_JWT`, `PRIVATE_KEY_JWT` or `NONE`. */
  readonly tokenEndpointAuthMethod?: string;
  readonly grantTypes?: readonly string[];
  readonly enabled?: boolean;
}

/**
 * The longest the client waits for one PingOne request (connect, headers and body); the caller's deadline may
 * cut it shorter. The rotation ledger's intent window is derived from it (lib/ledger/record.ts).
 */
export const PINGONE_REQUEST_TIMEOUT_MS = 10_000;

/** Per-call limits: the absolute time (epoch ms) by which the call must have finished. */
export interface CallOptions {
  readonly deadline: number;
}

/**
 * The port the rotation steps use. Reads, token fetches and introspection are retried; `regenerateSecret`
 * is sent exactly once per call and never retried, because a second regenerate evicts the secret that is
 * still AWSCURRENT.
 */
export interface PingOneClient {
  readSecret(owner: SecretOwner, options: CallOptions): Promise<PingOneSecretState>;
  regenerateSecret(
    owner: SecretOwner,
    previousExpiresAt: Date,
    options: CallOptions,
  ): Promise<PingOneSecretState>;
  /**
   * Removes PingOne's previous secret only (the current one is untouched); succeeds also when there is none.
   * Idempotent, so it is retried like a read.
   */
  deletePreviousSecret(owner: SecretOwner, options: CallOptions): Promise<void>;
  readResource(owner: SecretOwner, options: CallOptions): Promise<PingOneResource>;
  /** `GET …/applications/{id}`: protocol, type and token endpoint auth method. */
  readApplication(owner: SecretOwner, options: CallOptions): Promise<PingOneApplication>;
  /**
   * Authenticates at the environment's introspection endpoint as the resource or application, with a
   * dummy token. `true`: PingOne accepted the credentials (200); `false`: it rejected them (401 /
   * invalid_client).
   */
  introspectWithSecret(
    owner: SecretOwner,
    clientSecret: string,
    method: SecretAuthMethod,
    options: CallOptions,
  ): Promise<boolean>;
}
