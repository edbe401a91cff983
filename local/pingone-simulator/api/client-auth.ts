/**
 * Client authentication at the auth endpoints: a Basic header, `client_id`/`client_secret` in the form, or an
 * RFC 7523 `client_secret_jwt` assertion.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Clock } from '../clock.js';
import { invalidClient, OAuthError } from '../errors.js';
import { isJsonObject } from '../http.js';
import type { TokenRegistry } from '../store/tokens.js';

/**
 * How a request authenticated, as the request record shows it: `jwt` is an RFC 7523 client assertion
 * (`client_assertion_type=…jwt-bearer`).
 */
export type ClientAuth = 'basic' | 'post' | 'jwt' | 'none' | 'bearer';

const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** A client assertion valid for longer than this is refused: it should live for one request. */
const MAX_ASSERTION_LIFETIME_S = 300;

/**
 * The client_id an auth-endpoint request names (Basic user name or form `client_id`), so fault rules can
 * match introspection by resource before anything runs.
 */
export function clientIdOf(headers: IncomingHttpHeaders, body: string): string | undefined {
  try {
    return readClientCredentials(headers, new URLSearchParams(body))?.id;
  } catch {
    return undefined;
  }
}

export interface ClientCredentials {
  readonly via: 'basic' | 'post' | 'jwt' | 'none';
  readonly id: string;
  readonly secret?: string;
  /** The client assertion, for `jwt`. */
  readonly assertion?: string;
}

/**
 * Client authentication at the auth endpoints (RFC 6749 §2.3.1): a Basic header with form-urlencoded id
 * and secret, or `client_id` (+ `client_secret`) in the form body; never both.
 */
export function readClientCredentials(
  headers: IncomingHttpHeaders,
  form: URLSearchParams,
): ClientCredentials | undefined {
  const authorization = headers.authorization ?? '';
  if (/^Basic\s/i.test(authorization)) {
    if (form.has('client_secret')) {
      throw new OAuthError(400, 'invalid_request', 'Only one client authentication method may be used.');
    }
    const decoded = decodeBasic(authorization.replace(/^Basic\s+/i, '').trim());
    if (!decoded) throw invalidClient('The Basic authorization header is malformed.');
    return { via: 'basic', ...decoded };
  }
  const assertion = form.get('client_assertion');
  if (assertion !== null || form.has('client_assertion_type')) {
    if (form.get('client_assertion_type') !== JWT_BEARER || !assertion) {
      throw new OAuthError(
        400,
        'invalid_request',
        `client_assertion_type must be ${JWT_BEARER}, with a client_assertion.`,
      );
    }
    if (form.has('client_secret')) {
      throw new OAuthError(400, 'invalid_request', 'Only one client authentication method may be used.');
    }
    // RFC 7523 §3: client_id is optional; the assertion's sub names the client. Checked on verification.
    const claims = decodeJwtPart(assertion.split('.')[1] ?? '');
    const id = form.get('client_id') ?? (typeof claims?.sub === 'string' ? claims.sub : undefined);
    return id ? { via: 'jwt', id, assertion } : undefined;
  }
  const id = form.get('client_id');
  if (!id) return undefined;
  const secret = form.get('client_secret');
  return secret === null ? { via: 'none', id } : { via: 'post', id, secret };
}

function decodeBasic(encoded: string): { id: string; secret: string } | undefined {
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon < 0) return undefined;
  try {
    const formDecode = (value: string) => decodeURIComponent(value.replace(/\+/g, ' '));
    const id = formDecode(text.slice(0, colon));
    return id === '' ? undefined : { id, secret: formDecode(text.slice(colon + 1)) };
  } catch {
    return undefined; // a bad %-escape
  }
}

export function viaOf(
  method: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST' | 'CLIENT_SECRET_JWT',
): 'basic' | 'post' | 'jwt' {
  return method === 'CLIENT_SECRET_BASIC' ? 'basic' : method === 'CLIENT_SECRET_POST' ? 'post' : 'jwt';
}

/** Which of an owner's accepted secrets `accepts` takes: the current one first, then the previous one. */
export function whichSecret(
  secrets: { current: string; previous?: string },
  accepts: (secret: string) => boolean,
): 'current' | 'previous' | undefined {
  if (accepts(secrets.current)) return 'current';
  return secrets.previous !== undefined && accepts(secrets.previous) ? 'previous' : undefined;
}

/** A JWT header or payload as a JSON object, or undefined. */
function decodeJwtPart(part: string): Record<string, unknown> | undefined {
  try {
    const doc: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return isJsonObject(doc) ? doc : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Verifies a `client_secret_jwt` assertion (RFC 7523 §3): HS256 over header.payload with the current or
 * previous secret; `iss` = `sub` = the client id; `aud` the endpoint; `exp` in the future and at most five
 * minutes away; a `jti` not seen before. Which secret signed it, or undefined.
 */
export function verifyAssertion(
  credentials: ClientCredentials,
  secrets: { current: string; previous?: string },
  audience: string,
  tokens: Pick<TokenRegistry, 'useAssertionId'>,
  clock: Clock,
): 'current' | 'previous' | undefined {
  const parts = (credentials.assertion ?? '').split('.');
  if (parts.length !== 3) return undefined;
  const [header, payload, signature = ''] = parts as [string, string, string];
  const head = decodeJwtPart(header);
  const claims = decodeJwtPart(payload);
  if (!head || !claims || head.alg !== 'HS256') return undefined;
  const signedWith = (secret: string) => {
    const expected = createHmac('sha256', secret).update(`${header}.${payload}`).digest();
    const given = Buffer.from(signature, 'base64url');
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
  const matched = whichSecret(secrets, signedWith);
  if (!matched) return undefined;
  const now = clock.now().getTime() / 1000;
  const audiences = Array.isArray(claims.aud) ? claims.aud : [claims.aud];
  if (
    claims.iss !== credentials.id ||
    claims.sub !== credentials.id ||
    !audiences.includes(audience) ||
    typeof claims.exp !== 'number' ||
    claims.exp <= now ||
    claims.exp > now + MAX_ASSERTION_LIFETIME_S ||
    typeof claims.jti !== 'string' ||
    claims.jti === ''
  ) {
    return undefined;
  }
  if (!tokens.useAssertionId(credentials.id, claims.jti, claims.exp * 1000)) return undefined;
  return matched;
}
