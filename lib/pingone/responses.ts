/** PingOne's answers read: a response body as JSON, a secret's state, and an error response as PingOneApiError. */

import { PingOneApiError, type PingOneErrorDetail } from '../errors.js';
import { parseJsonObject } from '../json-object.js';
import type { Redactor } from '../redact.js';
import type { TransportResponse } from './transport.js';
import type { PingOneSecretState } from './types.js';

/** What an error response is read against: the request's operation, its API and its redactor. */
export interface ErrorContext {
  readonly operation: string;
  /** Which error document PingOne answers with here: the Management API's, or OAuth's (token, introspect). */
  readonly api: 'management' | 'oauth';
  readonly redactor: Redactor;
}

/** A PingOne response body as a JSON object; the body may hold secret material, so it is never quoted. */
export function parseResponse(body: string, operation: string): Record<string, unknown> {
  return parseJsonObject(
    body,
    `PingOne ${operation} response`,
    'the documented fields',
    (message) => new PingOneApiError(message, { status: 200 }),
  );
}

export function parseSecretState(body: string, operation: string): PingOneSecretState {
  const doc = parseJsonObject(
    body,
    `PingOne ${operation} response`,
    'the documented fields',
    (message) => new PingOneApiError(message, { status: 200, operation }),
  );
  if (typeof doc.secret !== 'string' || doc.secret === '') {
    throw new PingOneApiError(`PingOne ${operation} response has no secret field`, {
      status: 200,
      operation,
    });
  }
  const previous = doc.previous as Record<string, unknown> | undefined;
  if (previous && typeof previous.secret === 'string' && previous.secret !== '') {
    return {
      secret: doc.secret,
      previous: {
        secret: previous.secret,
        expiresAt: typeof previous.expiresAt === 'string' ? previous.expiresAt : '',
        ...(typeof previous.lastUsed === 'string' ? { lastUsed: previous.lastUsed } : {}),
      },
    };
  }
  return { secret: doc.secret };
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Turns a PingOne error response (`{id, code, message, details}` or OAuth `{error, error_description}`).
 * Every field taken from the body passes through the request's redactor: an upstream that quotes the
 * request back (a proxy, a WAF, PingOne's own validation messages) cannot put a credential into the error.
 */
export function toApiError(
  request: ErrorContext,
  response: TransportResponse,
  body: string,
  now: number,
): PingOneApiError {
  const { operation, redactor } = request;
  let doc: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) {
      doc = parsed as Record<string, unknown>;
    }
  } catch {
    // not JSON: a proxy's HTML page, say; the status alone is no proof of what PingOne did
  }
  const fromPingOne =
    /\bjson\b/i.test(response.headers.get('content-type') ?? '') && isPingOneErrorDocument(doc, request.api);
  const clean = (value: unknown) => redactor.optional(str(value));
  const code = clean(doc.code) ?? clean(doc.error);
  const message = clean(doc.message) ?? clean(doc.error_description);
  const requestId = redactor.optional(
    str(doc.id) ??
      response.headers.get('correlation-id') ??
      response.headers.get('x-request-id') ??
      undefined,
  );
  const details: PingOneErrorDetail[] = Array.isArray(doc.details)
    ? doc.details.map((d: Record<string, unknown>) => ({
        ...(str(d?.code) ? { code: clean(d.code) } : {}),
        ...(str(d?.target) ? { target: clean(d.target) } : {}),
        ...(str(d?.message) ? { message: clean(d.message) } : {}),
      }))
    : [];
  const detailText = details
    .map((d) => [d.code, d.target, d.message].filter(Boolean).join(' '))
    .filter(Boolean)
    .join('; ');
  const text =
    `PingOne ${operation} failed: HTTP ${response.status}${code ? ` ${code}` : ''}` +
    `${message ? `: ${message}` : ''}${detailText ? ` (${detailText})` : ''}` +
    `${requestId ? ` [PingOne request id ${requestId}]` : ''}`;
  // Said in the message too: an operator reading "HTTP 503" must know whether PingOne said it.
  return new PingOneApiError(fromPingOne ? text : `${text} (not PingOne's error document)`, {
    status: response.status,
    pingOneCode: code,
    requestId,
    details,
    retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), now),
    fromPingOne,
    operation,
  });
}

/**
 * PingOne's own error document (reference: PingOne API notes, "PingOne error JSON"): the Management API
 * always sends `id` (a request id), `code` and `message`; the OAuth endpoints send `error`. A gateway's page,
 * an empty body or a proxy's own JSON (`{"message":"Service Unavailable"}`) is not.
 */
function isPingOneErrorDocument(doc: Record<string, unknown>, api: ErrorContext['api']): boolean {
  if (api === 'oauth') return str(doc.error) !== undefined;
  return str(doc.id) !== undefined && str(doc.code) !== undefined && typeof doc.message === 'string';
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
