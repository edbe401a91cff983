import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PingOneNetworkError } from '../../../lib/errors.js';
import { PingOneHttpClient } from '../../../lib/pingone/http-client.js';
import { nodeTransport, TransportError } from '../../../lib/pingone/transport.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const connections = new Set<Socket>();
let connectionCount = 0;
let requestCount = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    requestCount++;
    handler(req, res);
  });
  server.on('connection', (socket) => {
    connectionCount++;
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});
beforeEach(() => {
  server.closeAllConnections();
  connectionCount = 0;
  requestCount = 0;
  handler = (_req, res) => res.end('{}');
});

const get = (path = '/x', timeoutMs = 2_000) => ({
  method: 'GET' as const,
  url: `${baseUrl}${path}`,
  headers: {},
  timeoutMs,
});

async function rejection(promise: Promise<unknown>): Promise<TransportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TransportError);
  return error as TransportError;
}

describe('node transport', () => {
  it('sends method, headers and body, and returns status, headers and body', async () => {
    let seen: { method?: string; type?: string; length?: string; body: string } = { body: '' };
    handler = (req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        seen = {
          method: req.method,
          type: req.headers['content-type'],
          length: req.headers['content-length'],
          body,
        };
        res.setHeader('Correlation-Id', 'abc');
        res.setHeader('set-cookie', ['a=1', 'b=2']);
        res.writeHead(201).end('{"ok":"é"}');
      });
    };
    const response = await nodeTransport()({
      method: 'POST',
      url: `${baseUrl}/p`,
      headers: { 'content-type': 'application/json' },
      body: '{"x":"é"}',
      timeoutMs: 2_000,
    });
    expect(seen).toEqual({ method: 'POST', type: 'application/json', length: '10', body: '{"x":"é"}' });
    expect(response.status).toBe(201);
    expect(response.ok).toBe(true);
    expect(response.body).toBe('{"ok":"é"}');
    expect(response.headers.get('CORRELATION-ID')).toBe('abc');
    expect(response.headers.get('set-cookie')).toBe('a=1, b=2');
    expect(response.headers.get('retry-after')).toBeNull();
  });

  it('keeps the connection alive between exchanges', async () => {
    const transport = nodeTransport();
    for (let i = 0; i < 3; i++) expect((await transport(get())).status).toBe(200);
    expect(requestCount).toBe(3);
    expect(connectionCount).toBe(1);
  });

  it('closes idle sockets after idleSocketMs, but does not cut a slower response', async () => {
    const transport = nodeTransport({ idleSocketMs: 100 });
    handler = (_req, res) => setTimeout(() => res.end('{"slow":true}'), 300);
    expect((await transport(get())).body).toBe('{"slow":true}');
    await new Promise((resolve) => setTimeout(resolve, 250));
    expect(connections.size).toBe(0);
  });

  it('reports a non-2xx answer as a response, not an error', async () => {
    handler = (_req, res) => res.writeHead(503, { 'retry-after': '2' }).end('busy');
    const response = await nodeTransport()(get());
    expect([response.status, response.ok, response.body, response.headers.get('retry-after')]).toEqual([
      503,
      false,
      'busy',
      '2',
    ]);
  });

  it('times out the whole exchange, body included, with a TimeoutError', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '10' });
      res.write('{"a"');
      // never finishes
    };
    const started = Date.now();
    const error = await rejection(nodeTransport()(get('/x', 200)));
    expect(error.name).toBe('TimeoutError');
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('refuses to follow a redirect', async () => {
    handler = (req, res) => {
      if (req.url === '/elsewhere') res.end('{"followed":true}');
      else res.writeHead(302, { location: '/elsewhere' }).end();
    };
    const error = await rejection(nodeTransport()(get()));
    expect(error.message).toMatch(/redirect refused \(HTTP 302\)/);
    expect((error.cause as { code?: string }).code).toBe('REDIRECT');
    expect(requestCount).toBe(1);
  });

  it('stops reading a body larger than maxBodyBytes', async () => {
    handler = (_req, res) => res.end('x'.repeat(64 * 1024));
    const error = await rejection(nodeTransport({ maxBodyBytes: 1024 })(get()));
    expect((error.cause as { code?: string }).code).toBe('BODY_TOO_LARGE');
  });

  it('reports a response cut off mid-body', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"partial":');
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const error = await rejection(nodeTransport()(get()));
    expect(error.name).toBe('TransportError');
  });

  it('carries the socket error code in cause', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await rejection(nodeTransport()({ ...get(), url: `http://127.0.0.1:${port}/` }));
    expect((error.cause as { code?: string }).code).toBe('ECONNREFUSED');
  });

  it('sends nothing when a header value would split the request', async () => {
    const error = await rejection(
      nodeTransport()({ ...get(), headers: { authorization: 'Bearer a\r\nx-injected: 1' } }),
    );
    expect(error.name).toBe('TransportError');
    expect(requestCount).toBe(0);
  });

  it('refuses other URL schemes', async () => {
    const error = await rejection(nodeTransport()({ ...get(), url: 'file:///etc/passwd' }));
    expect(error.message).toMatch(/unsupported URL scheme file:/);
  });
});

describe('PingOne client on the node transport', () => {
  const owner = {
    kind: 'resource' as const,
    environmentId: 'bbbbbbbb-0000-4000-8000-000000000002',
    id: 'cccccccc-0000-4000-8000-000000000003',
    region: 'NA' as const,
  };
  const worker = {
    environmentId: 'aaaaaaaa-0000-4000-8000-000000000001',
    clientId: 'w',
    clientSecret: 'worker-secret-value',
    region: 'NA' as const,
    tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' as const,
  };
  const client = () =>
    new PingOneHttpClient({
      apiUrlTemplate: `${baseUrl}/{region}/v1`,
      authUrlTemplate: `${baseUrl}/{region}/auth`,
      workerCredentials: async () => worker,
      retry: { maxAttempts: 1 },
    });

  it('maps a refused redirect to a network error naming the host, and sends the POST once', async () => {
    handler = (req, res) => {
      if (req.url?.endsWith('/as/token')) res.end('{"access_token":"t","expires_in":3600}');
      else res.writeHead(307, { location: 'http://attacker.invalid/steal' }).end();
    };
    const error = await client()
      .regenerateSecret(owner, new Date(), { deadline: Date.now() + 10_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PingOneNetworkError);
    expect((error as Error).message).toBe(
      `PingOne regenerate secret: request to ${new URL(baseUrl).host} failed (REDIRECT)`,
    );
    expect(requestCount).toBe(2);
  });

  it('names the socket error of a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const error = await new PingOneHttpClient({
      apiUrlTemplate: `http://127.0.0.1:${port}/{region}/v1`,
      authUrlTemplate: `http://127.0.0.1:${port}/{region}/auth`,
      workerCredentials: async () => worker,
      retry: { maxAttempts: 1 },
    })
      .readSecret(owner, { deadline: Date.now() + 10_000 })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PingOneNetworkError);
    expect((error as Error).message).toMatch(/failed \(ECONNREFUSED\)$/);
  });
});
