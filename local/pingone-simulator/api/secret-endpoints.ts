/**
 * The secret endpoints of resources and applications: GET the secret, POST to regenerate it (the old one kept
 * as previous until `previous.expiresAt`), DELETE the previous one.
 */
import {
  insufficientPermissions,
  invalidData,
  invalidRequest,
  notFound,
  ownSecretForbidden,
} from '../errors.js';
import { isJsonObject, type Reply } from '../http.js';
import type { Environment, OwnerKind, SecretState, Worker } from '../store/model.js';
import { type ApiRequest, type ApiWorld, authorize, type Handler } from './request.js';

const MINUTE_MS = 60_000;
const THIRTY_DAYS_MS = 30 * 24 * 60 * MINUTE_MS;

/** GET / POST / DELETE `…/resources/{resId}/secret`; non-CUSTOM and unknown resources are 404. */
export const resourceSecret: Handler = (world, request, facts) => {
  const { environment, worker } = authorize(world, request, facts);
  const resourceId = request.match.resourceId ?? '';
  const current = world.store.secretState(environment.id, resourceId);
  if (!current) throw notFound();
  return secretOperation(world, request, worker, environment, { id: resourceId, kind: 'resource' }, current);
};

/**
 * GET / POST / DELETE `…/applications/{appId}/secret`: as for resources; SAML applications (and OIDC
 * ones without a secret) are 404, and a worker may not read or change its own secret (403).
 */
export const applicationSecret: Handler = (world, request, facts) => {
  const { environment, worker } = authorize(world, request, facts);
  const applicationId = request.match.applicationId ?? '';
  if (worker.environmentId === environment.id && worker.clientId === applicationId) {
    throw ownSecretForbidden();
  }
  const current = world.store.secretState(environment.id, applicationId, 'application');
  if (!current) throw notFound();
  return secretOperation(
    world,
    request,
    worker,
    environment,
    { id: applicationId, kind: 'application' },
    current,
  );
};

function secretOperation(
  { store, clock }: ApiWorld,
  request: ApiRequest,
  worker: Worker,
  environment: Environment,
  owner: { readonly id: string; readonly kind: OwnerKind },
  current: SecretState,
): Reply {
  // The worker's roles: a read-only one may GET, not regenerate (POST) or delete the previous secret.
  const action = request.method === 'POST' ? 'update' : request.method === 'DELETE' ? 'delete' : 'read';
  if (!worker.secretActions.includes(action)) throw insufficientPermissions();
  switch (request.method) {
    case 'GET':
      return secretReply(request, environment, owner.id, owner.kind, current);
    case 'POST': {
      // Validate completely before changing anything: a 400 must leave both secrets as they were.
      const previousExpiresAt = parsePreviousExpiresAt(request.body, clock.now());
      const state = store.regenerate(environment.id, owner.id, previousExpiresAt, owner.kind);
      return secretReply(request, environment, owner.id, owner.kind, state);
    }
    default:
      store.deletePrevious(environment.id, owner.id, owner.kind);
      return { status: 204 };
  }
}

function secretReply(
  request: ApiRequest,
  environment: Environment,
  ownerId: string,
  kind: OwnerKind,
  state: SecretState,
): Reply {
  const collection = kind === 'application' ? 'applications' : 'resources';
  const ownerHref = `${request.apiBase}/environments/${environment.id}/${collection}/${ownerId}`;
  const { previous } = state;
  return {
    status: 200,
    body: {
      _links: {
        self: { href: `${ownerHref}/secret` },
        environment: { href: `${request.apiBase}/environments/${environment.id}` },
        [kind]: { href: ownerHref },
      },
      environment: { id: environment.id },
      secret: state.secret,
      ...(previous
        ? {
            previous: {
              secret: previous.secret,
              expiresAt: previous.expiresAt.toISOString(),
              ...(previous.lastUsed ? { lastUsed: previous.lastUsed.toISOString() } : {}),
            },
          }
        : {}),
    },
  };
}

// RFC 3339 date-time (the format of previous.expiresAt); Date.parse alone accepts far more.
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

/**
 * The `previous.expiresAt` of a regenerate request: `undefined` for an empty body, `{}` or no `previous`
 * (the old secret is then not retained). It must lie between 1 minute and 30 days from now
 * (pingone-api.md §2); PingOne's exact error for a bad value is UNCONFIRMED, the simulator answers
 * 400 INVALID_DATA with an OUT_OF_RANGE or INVALID_VALUE detail.
 */
function parsePreviousExpiresAt(body: string, now: Date): Date | undefined {
  if (body.trim() === '') return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw invalidRequest('The request body is not valid JSON.');
  }
  if (!isJsonObject(doc)) throw invalidRequest('The request body must be a JSON object.');
  const previous = doc.previous;
  if (previous === undefined || previous === null) return undefined;
  const target = 'previous.expiresAt';
  if (!isJsonObject(previous) || previous.expiresAt === undefined || previous.expiresAt === null) {
    throw invalidData([
      {
        code: 'REQUIRED_VALUE',
        target,
        message: 'previous must be an object with an expiresAt date-time.',
        innerError: {},
      },
    ]);
  }
  const expiresAt = typeof previous.expiresAt === 'string' ? parseRfc3339(previous.expiresAt) : undefined;
  if (!expiresAt) {
    throw invalidData([
      {
        code: 'INVALID_VALUE',
        target,
        message: 'previous.expiresAt must be an RFC 3339 date-time, e.g. 2024-01-02T13:54:34.487Z.',
        innerError: { allowedPattern: 'yyyy-MM-ddTHH:mm:ss[.SSS](Z|+hh:mm|-hh:mm)' },
      },
    ]);
  }
  const earliest = now.getTime() + MINUTE_MS;
  const latest = now.getTime() + THIRTY_DAYS_MS;
  if (expiresAt.getTime() < earliest || expiresAt.getTime() > latest) {
    throw invalidData([
      {
        code: 'OUT_OF_RANGE',
        target,
        message: 'previous.expiresAt must be between 1 minute and 30 days from now.',
        // PingOne types these as numbers; for a time window the simulator gives its ends as RFC 3339.
        innerError: {
          rangeMinimumValue: new Date(earliest).toISOString(),
          rangeMaximumValue: new Date(latest).toISOString(),
        },
      },
    ]);
  }
  return expiresAt;
}

function parseRfc3339(value: string): Date | undefined {
  const parts = RFC3339.exec(value);
  if (!parts) return undefined;
  const ms = Date.parse(value.toUpperCase());
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2024-02-30 over to March; reject days the month does not have.
  const [, year, month, day] = parts.map(Number);
  const lastDay = new Date(Date.UTC(year ?? 0, month ?? 0, 0)).getUTCDate();
  return (day ?? 0) >= 1 && (day ?? 0) <= lastDay ? new Date(ms) : undefined;
}
