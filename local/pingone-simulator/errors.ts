/**
 * Error bodies as PingOne sends them (pingone-api.md §3). Handlers throw these; the server serialises them
 * with the request's correlation id as the body `id`, so a client that logs `id` can find the request.
 */

const MESSAGES = {
  notFound: 'The request could not be completed. The requested resource was not found.',
  noAccess: 'The request could not be completed. You do not have access to this resource.',
  invalidToken: 'The request could not be completed. The access token is missing, invalid or expired.',
  invalidData: 'The request could not be completed. One or more validation errors were in the request.',
  invalidRequest: 'The request could not be completed. The request was malformed or invalid.',
  requestFailed: 'The request could not be completed.',
  methodNotAllowed: 'The request could not be completed. The HTTP method is not supported for this resource.',
  rateLimited: 'The request could not be completed. You have exceeded your rate limit.',
  unexpected: 'The request could not be completed. An unexpected error occurred.',
} as const;

export interface PingOneErrorDetail {
  readonly code: string;
  readonly target?: string;
  readonly message: string;
  readonly innerError?: Record<string, unknown>;
}

export interface PingOneErrorBody {
  readonly id: string;
  readonly code: string;
  readonly message: string;
  readonly details?: readonly PingOneErrorDetail[];
}

/** A Management API error: `{ id, code, message, details? }`. */
export class PingOneError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: readonly PingOneErrorDetail[],
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'PingOneError';
  }

  toBody(id: string): PingOneErrorBody {
    return { id, code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** An OAuth 2.0 error from the auth endpoints (RFC 6749 §5.2): `{ error, error_description }`. */
export class OAuthError extends Error {
  constructor(
    readonly status: number,
    readonly error: string,
    description: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(description);
    this.name = 'OAuthError';
  }

  toBody(): { error: string; error_description: string } {
    return { error: this.error, error_description: this.message };
  }
}

export function notFound(): PingOneError {
  return new PingOneError(404, 'NOT_FOUND', MESSAGES.notFound);
}

export function invalidToken(): PingOneError {
  return new PingOneError(401, 'ACCESS_FAILED', MESSAGES.invalidToken, [
    { code: 'INVALID_TOKEN', message: 'The access token is missing, invalid or expired.' },
  ]);
}

export function insufficientPermissions(): PingOneError {
  return new PingOneError(403, 'ACCESS_FAILED', MESSAGES.noAccess, [
    {
      code: 'INSUFFICIENT_PERMISSIONS',
      message: 'The actor attempting to perform the request is not authorized.',
    },
  ]);
}

/**
 * "Due to potential security issues, a worker app cannot read its own application secret" (pingone-api.md
 * §10). UNCONFIRMED: the status and body PingOne answers with; the simulator says 403 ACCESS_FAILED.
 */
export function ownSecretForbidden(): PingOneError {
  return new PingOneError(403, 'ACCESS_FAILED', MESSAGES.noAccess, [
    {
      code: 'INSUFFICIENT_PERMISSIONS',
      message: 'A worker application cannot read or change its own application secret.',
    },
  ]);
}

/** UNCONFIRMED: PingOne's body for 405 is not documented; the status is (the spec lists 405 for POST /secret). */
export function methodNotAllowed(allowed: readonly string[]): PingOneError {
  return new PingOneError(405, 'METHOD_NOT_ALLOWED', MESSAGES.methodNotAllowed, undefined, {
    allow: allowed.join(', '),
  });
}

export function invalidRequest(detail: string): PingOneError {
  return new PingOneError(400, 'INVALID_REQUEST', MESSAGES.invalidRequest, [
    { code: 'INVALID_VALUE', message: detail },
  ]);
}

export function invalidData(details: readonly PingOneErrorDetail[]): PingOneError {
  return new PingOneError(400, 'INVALID_DATA', MESSAGES.invalidData, details);
}

function rateLimited(retryAfterSeconds: number): PingOneError {
  return new PingOneError(
    429,
    'REQUEST_LIMITED',
    MESSAGES.rateLimited,
    [
      {
        code: 'LIMIT_EXCEEDED',
        message: `Rate limit exceeded. Retry after ${retryAfterSeconds} seconds.`,
        innerError: { retryAfter: retryAfterSeconds },
      },
    ],
    { 'retry-after': String(retryAfterSeconds) },
  );
}

export function unexpectedError(status = 500): PingOneError {
  return new PingOneError(status, 'UNEXPECTED_ERROR', MESSAGES.unexpected);
}

export function invalidClient(description: string): OAuthError {
  // RFC 6749 §5.2: a 401 for client authentication names the scheme the client may use.
  return new OAuthError(401, 'invalid_client', description, { 'www-authenticate': 'Basic realm="PingOne"' });
}

/**
 * The error a fault answers with when the test gave no body: OAuth-shaped for 400/401 on the auth
 * endpoints, PingOne-shaped otherwise (429 → REQUEST_LIMITED with Retry-After, 5xx → UNEXPECTED_ERROR).
 */
export function errorForStatus(
  status: number,
  onAuthEndpoint: boolean,
  retryAfterSeconds?: number,
): PingOneError | OAuthError {
  if (onAuthEndpoint && status === 400) return new OAuthError(400, 'invalid_request', 'Injected fault');
  if (onAuthEndpoint && status === 401) return invalidClient('Injected fault');
  const retryHeader: Record<string, string> =
    retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) };
  switch (status) {
    case 400:
      return new PingOneError(400, 'INVALID_REQUEST', MESSAGES.invalidRequest);
    case 401:
      return invalidToken();
    case 403:
      return insufficientPermissions();
    case 404:
      return notFound();
    case 429:
      return rateLimited(retryAfterSeconds ?? 1);
    default:
      return status >= 500
        ? new PingOneError(status, 'UNEXPECTED_ERROR', MESSAGES.unexpected, undefined, retryHeader)
        : new PingOneError(status, 'REQUEST_FAILED', MESSAGES.requestFailed, undefined, retryHeader);
  }
}
