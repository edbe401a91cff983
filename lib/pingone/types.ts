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

export type IntrospectAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'NONE';

export interface PingOneResource {
  readonly id: string;
  readonly name?: string;
  readonly type: string;
  /** Absent on some resources; PingOne's default is CLIENT_SECRET_BASIC. */
  readonly introspectEndpointAuthMethod?: string;
}

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
  /**
   * Authenticates at the environment's introspection endpoint as the resource, with a dummy token.
   * `true`: PingOne accepted the credentials (200); `false`: it rejected them (401 / invalid_client).
   */
  introspectWithSecret(
    owner: SecretOwner,
    clientSecret: string,
    method: Exclude<IntrospectAuthMethod, 'NONE'>,
    options: CallOptions,
  ): Promise<boolean>;
}
