import { createHmac, randomUUID } from 'node:crypto';

/** RFC 7523 §2.2: the client_assertion_type of a JWT client assertion. */
export const JWT_BEARER_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** How long an assertion is valid: long enough for one request, short enough to be useless if it leaked. */
const ASSERTION_LIFETIME_SECONDS = 60;

/**
 * A `client_secret_jwt` client assertion (RFC 7523 §3, OpenID Connect Core §9): an HS256 JWT signed with the
 * client secret, `iss` = `sub` = the client id, `aud` = the endpoint it is sent to, a fresh `jti`, `iat` now
 * and `exp` a minute later. Built with node:crypto; the assertion is a credential for its short life and is
 * never logged.
 */
export function clientSecretJwt(options: {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly audience: string;
  /** Epoch milliseconds. */
  readonly now: number;
  readonly jti?: string;
}): string {
  const iat = Math.floor(options.now / 1000);
  const header = base64url({ alg: 'HS256', typ: 'JWT' });
  const payload = base64url({
    iss: options.clientId,
    sub: options.clientId,
    aud: options.audience,
    jti: options.jti ?? randomUUID(),
    iat,
    exp: iat + ASSERTION_LIFETIME_SECONDS,
  });
  const signature = createHmac('sha256', options.clientSecret)
    .update(`${header}.${payload}`)
    .digest('base64url');
  return `${header}.${payload}.${signature}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}
