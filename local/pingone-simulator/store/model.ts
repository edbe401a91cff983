/**
 * The simulated PingOne's entities (environments, resources, applications, workers) as the store hands them
 * out, their vocabularies, and what the control surface's create calls accept.
 */
import type { PingOneRegion } from '../../../lib/pingone/regions.js';

export type ResourceType = 'CUSTOM' | 'OPENID_CONNECT' | 'PINGONE_API';
export type IntrospectEndpointAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'NONE';
export type TokenEndpointAuthMethod = 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST';

export const RESOURCE_TYPES: readonly ResourceType[] = ['CUSTOM', 'OPENID_CONNECT', 'PINGONE_API'];
export const INTROSPECT_METHODS: readonly IntrospectEndpointAuthMethod[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
  'NONE',
];
export const TOKEN_METHODS: readonly TokenEndpointAuthMethod[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
];

/** What owns a secret in the simulator: a custom resource or an application. */
export type OwnerKind = 'resource' | 'application';

export type ApplicationProtocol = 'OPENID_CONNECT' | 'SAML' | 'WS_FED';
export type ApplicationType =
  | 'WEB_APP'
  | 'NATIVE_APP'
  | 'SINGLE_PAGE_APP'
  | 'WORKER'
  | 'SERVICE'
  | 'CUSTOM_APP';
/** An OIDC application's `tokenEndpointAuthMethod`: also how it authenticates at introspection. */
export type ApplicationAuthMethod =
  | 'CLIENT_SECRET_BASIC'
  | 'CLIENT_SECRET_POST'
  | 'CLIENT_SECRET_JWT'
  | 'PRIVATE_KEY_JWT'
  | 'NONE';
export type ApplicationGrantType =
  | 'AUTHORIZATION_CODE'
  | 'IMPLICIT'
  | 'REFRESH_TOKEN'
  | 'CLIENT_CREDENTIALS'
  | 'DEVICE_CODE';

export const APPLICATION_PROTOCOLS: readonly ApplicationProtocol[] = ['OPENID_CONNECT', 'SAML', 'WS_FED'];
export const APPLICATION_TYPES: readonly ApplicationType[] = [
  'WEB_APP',
  'NATIVE_APP',
  'SINGLE_PAGE_APP',
  'WORKER',
  'SERVICE',
  'CUSTOM_APP',
];
export const APPLICATION_AUTH_METHODS: readonly ApplicationAuthMethod[] = [
  'CLIENT_SECRET_BASIC',
  'CLIENT_SECRET_POST',
  'CLIENT_SECRET_JWT',
  'PRIVATE_KEY_JWT',
  'NONE',
];
export const GRANT_TYPES: readonly ApplicationGrantType[] = [
  'AUTHORIZATION_CODE',
  'IMPLICIT',
  'REFRESH_TOKEN',
  'CLIENT_CREDENTIALS',
  'DEVICE_CODE',
];

export interface Environment {
  readonly id: string;
  readonly name: string;
  readonly region: PingOneRegion;
  /** The PingOne organization it belongs to; an organization lives in one region. */
  readonly organizationId: string;
}

/** The organization an environment joins when none is named: one per region. */
export function defaultOrganization(region: PingOneRegion): string {
  return `organization-${region.toLowerCase()}`;
}

export interface Resource {
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly type: ResourceType;
  readonly introspectEndpointAuthMethod: IntrospectEndpointAuthMethod;
  readonly audience: string;
  readonly accessTokenValiditySeconds: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export interface Application {
  readonly id: string;
  readonly environmentId: string;
  readonly name: string;
  readonly protocol: ApplicationProtocol;
  readonly type: ApplicationType;
  /** OIDC applications only. */
  readonly tokenEndpointAuthMethod?: ApplicationAuthMethod;
  /** OIDC applications only. */
  readonly grantTypes?: readonly ApplicationGrantType[];
  readonly enabled: boolean;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** A resource secret as PingOne would return it right now: expired previous secrets are not shown. */
export interface SecretState {
  readonly secret: string;
  readonly previous?: {
    readonly secret: string;
    readonly expiresAt: Date;
    readonly lastUsed?: Date;
  };
}

/** read: GET a secret; update: regenerate it (POST); delete: remove the previous secret (DELETE). */
export type SecretAction = 'read' | 'update' | 'delete';
export const SECRET_ACTIONS: readonly SecretAction[] = ['read', 'update', 'delete'];

export interface Worker {
  readonly environmentId: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly tokenEndpointAuthMethod: TokenEndpointAuthMethod;
  /** Environments the worker's role assignments cover. */
  readonly environments: readonly string[] | 'all';
  /** What its roles allow on client secrets (PingOne's `…:read:secret`, `…:update:secret`, `…:delete:secret`). */
  readonly secretActions: readonly SecretAction[];
  /** Whether its roles let it read applications (`applications:read:application`). */
  readonly readApplications: boolean;
}

export interface CreateEnvironmentInput {
  readonly id?: string;
  readonly name?: string;
  readonly region: PingOneRegion;
  /** Default: the region's default organization. An organization lives in one region only. */
  readonly organizationId?: string;
}

export interface CreateResourceInput {
  readonly id?: string;
  readonly name?: string;
  /** Default `CUSTOM`, the only type with a secret. */
  readonly type?: ResourceType;
  /** Default `CLIENT_SECRET_BASIC` (PingOne's default). Ignored for non-CUSTOM resources. */
  readonly introspectEndpointAuthMethod?: IntrospectEndpointAuthMethod;
  readonly audience?: string;
  readonly accessTokenValiditySeconds?: number;
}

export interface CreateApplicationInput {
  readonly id?: string;
  readonly name?: string;
  /** Default `OPENID_CONNECT`. Only OIDC applications have a secret. */
  readonly protocol?: ApplicationProtocol;
  /** Default `WEB_APP`. `WORKER` applications come from createWorker. */
  readonly type?: ApplicationType;
  /** Default `CLIENT_SECRET_BASIC`. Ignored for SAML / WS-Fed. */
  readonly tokenEndpointAuthMethod?: ApplicationAuthMethod;
  /** Default by type: CLIENT_CREDENTIALS for SERVICE, else AUTHORIZATION_CODE + REFRESH_TOKEN. */
  readonly grantTypes?: readonly ApplicationGrantType[];
  readonly enabled?: boolean;
  /** An OIDC application PingOne has no secret for (its secret endpoints answer 404). */
  readonly withoutSecret?: boolean;
}

export interface CreateWorkerInput {
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** Default `CLIENT_SECRET_BASIC`. The token endpoint accepts only this method for the worker. */
  readonly tokenEndpointAuthMethod?: TokenEndpointAuthMethod;
  /**
   * Environments the worker may manage. Default `'all'`: every environment of its organization (including
   * environments created later), never another organization's.
   */
  readonly environments?: readonly string[] | 'all';
  /** What it may do with client secrets. Default all of read, update and delete; `['read']`: read-only. */
  readonly secretActions?: readonly SecretAction[];
  /** Whether it may read applications (default true); false → 403 on `GET …/applications/{id}`. */
  readonly readApplications?: boolean;
}
