/** Management API reads: an environment, a resource, an application. */
import { insufficientPermissions, notFound } from '../errors.js';
import { authorize, type Handler, workerOf } from './request.js';

export const getEnvironment: Handler = (world, request, facts) => {
  const { environment } = authorize(world, request, facts);
  return {
    status: 200,
    body: {
      _links: { self: { href: `${request.apiBase}/environments/${environment.id}` } },
      id: environment.id,
      name: environment.name,
      region: environment.region,
    },
  };
};

export const getResource: Handler = (world, request, facts) => {
  const { environment } = authorize(world, request, facts);
  const resource = world.store.resource(environment.id, request.match.resourceId ?? '');
  if (!resource) throw notFound();
  return {
    status: 200,
    body: {
      _links: {
        self: { href: `${request.apiBase}/environments/${environment.id}/resources/${resource.id}` },
      },
      id: resource.id,
      name: resource.name,
      type: resource.type,
      // Built-in resources have no introspection client of their own.
      ...(resource.type === 'CUSTOM'
        ? { introspectEndpointAuthMethod: resource.introspectEndpointAuthMethod }
        : {}),
      audience: resource.audience,
      accessTokenValiditySeconds: resource.accessTokenValiditySeconds,
      createdAt: resource.createdAt.toISOString(),
      updatedAt: resource.updatedAt.toISOString(),
      environment: { id: environment.id },
    },
  };
};

/** A worker whose roles do not let it read applications gets 403 before anything else is checked. */
export const getApplication: Handler = (world, request, facts) => {
  if (!workerOf(world, request, facts).readApplications) throw insufficientPermissions();
  const { environment } = authorize(world, request, facts);
  const application = world.store.application(environment.id, request.match.applicationId ?? '');
  if (!application) throw notFound();
  facts.applicationId = application.id;
  return {
    status: 200,
    body: {
      _links: {
        self: { href: `${request.apiBase}/environments/${environment.id}/applications/${application.id}` },
      },
      environment: { id: environment.id },
      id: application.id,
      name: application.name,
      enabled: application.enabled,
      protocol: application.protocol,
      type: application.type,
      ...(application.tokenEndpointAuthMethod
        ? { tokenEndpointAuthMethod: application.tokenEndpointAuthMethod }
        : {}),
      ...(application.grantTypes ? { grantTypes: application.grantTypes } : {}),
      createdAt: application.createdAt.toISOString(),
      updatedAt: application.updatedAt.toISOString(),
    },
  };
};
