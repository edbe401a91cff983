/** The simulator's replies that do not come from its API: errors, injected faults (gateway pages, echoes). */

import type { IncomingMessage } from 'node:http';
import type { RouteMatch } from './api/routes.js';
import { errorForStatus, type OAuthError, PingOneError } from './errors.js';
import { type EchoFault, echoEncode, type FailNextFault, type RouteName } from './faults.js';
import type { Reply } from './http.js';

export function toReply(error: PingOneError | OAuthError, correlationId: string): Reply {
  return {
    status: error.status,
    body: error instanceof PingOneError ? error.toBody(correlationId) : error.toBody(),
    headers: error.headers,
  };
}

/** What a gateway in front of PingOne answers on its own: a short plain-text page. */
export function gatewayText(status: number): string {
  const reason: Record<number, string> = {
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
    504: 'Gateway Timeout',
  };
  return `${status} ${reason[status] ?? 'Error'}\n`;
}

export function failNextReply(fault: FailNextFault, match: RouteMatch, correlationId: string): Reply {
  if (fault.body === undefined) {
    return toReply(
      errorForStatus(fault.status, isAuthRoute(match.route), fault.retryAfterSeconds),
      correlationId,
    );
  }
  const retryAfter = fault.retryAfterSeconds ?? (fault.status === 429 ? 1 : undefined);
  return {
    status: fault.status,
    ...(typeof fault.body === 'string' ? { text: fault.body } : { body: fault.body }),
    headers: retryAfter === undefined ? {} : { 'retry-after': String(retryAfter) },
  };
}

/** An error that quotes the request back: see {@link EchoFault}. */
export function echoReply(
  fault: EchoFault,
  match: RouteMatch,
  request: { method: string; pathname: string; headers: IncomingMessage['headers']; body: string },
  correlationId: string,
): Reply {
  const status = fault.status ?? 400;
  const headerText = Object.entries(request.headers)
    .map(([name, value]) => `${name}: ${Array.isArray(value) ? value.join(', ') : value}`)
    .join('; ');
  const enc = (text: string) => echoEncode(text, fault.encoding ?? 'none');
  const quoted = enc(`${request.method} ${request.pathname} [${headerText}] body: ${request.body}`);
  const details: { code: string; target: string; message: string }[] = [];
  const authorization = request.headers.authorization;
  if (authorization) {
    details.push({
      code: 'INVALID_VALUE',
      target: 'Authorization',
      message: `'${enc(authorization)}' was rejected`,
    });
    const basic = /^Basic\s+(.+)$/i.exec(authorization);
    if (basic?.[1]) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      details.push({
        code: 'INVALID_VALUE',
        target: 'Authorization',
        message: `credentials '${enc(decoded)}'`,
      });
    }
  }
  for (const [name, value] of bodyFields(request.body, request.headers['content-type'])) {
    details.push({ code: 'INVALID_VALUE', target: name, message: `'${enc(value)}' is not a valid ${name}` });
  }
  const body = isAuthRoute(match.route)
    ? {
        error: status === 401 ? 'invalid_client' : 'invalid_request',
        error_description: `Upstream rejected the request: ${quoted}`,
        details,
      }
    : {
        id: correlationId,
        code: status >= 500 ? 'UNEXPECTED_ERROR' : 'INVALID_REQUEST',
        message: `Upstream rejected the request: ${quoted}`,
        details,
      };
  return { status, body };
}

/** A body's fields with their values: form fields, or a JSON object's leaves (`previous.expiresAt`). */
function bodyFields(body: string, contentType: string | undefined): [string, string][] {
  if (body === '') return [];
  if (contentType?.includes('application/x-www-form-urlencoded')) return [...new URLSearchParams(body)];
  try {
    const leaves: [string, string][] = [];
    const walk = (value: unknown, path: string) => {
      if (value !== null && typeof value === 'object') {
        for (const [key, child] of Object.entries(value)) walk(child, path ? `${path}.${key}` : key);
      } else {
        leaves.push([path, String(value)]);
      }
    };
    walk(JSON.parse(body), '');
    return leaves;
  } catch {
    return [];
  }
}

export function isAuthRoute(route: RouteName): boolean {
  return route === 'token' || route === 'introspect';
}
