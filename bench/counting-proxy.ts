import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback HTTP proxy in front of moto that counts the AWS operations it forwards, by `x-amz-target`
 * (`secretsmanager.GetSecretValue` → `SecretsManager GetSecretValue`, `AmazonSSM.GetParameter` →
 * `SSM GetParameter`). moto keeps no request log, so this is where calls are counted "at the local server".
 */
export interface CountingProxy {
  readonly url: string;
  /** Operation → number of requests forwarded so far. */
  counts(): Record<string, number>;
  /** Milliseconds spent answering so far (request received → response sent), summed over requests. */
  busyMs(): number;
  stop(): Promise<void>;
}

/**
 * Hop-by-hop headers describe one connection, not the message, so a proxy does not forward them (RFC 9110
 * §7.6.1). It matters here: moto answers every request with `Connection: close`, which, passed on, would
 * make the function open a new connection per AWS call where AWS keeps them alive.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

function endToEnd(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !HOP_BY_HOP.has(name)));
}

const SERVICES: Readonly<Record<string, string>> = {
  secretsmanager: 'SecretsManager',
  AmazonSSM: 'SSM',
};

export function operationOf(target: string | undefined, method: string, path: string): string {
  if (!target) return `other ${method} ${path.split('?')[0]}`;
  const dot = target.indexOf('.');
  const prefix = dot < 0 ? target : target.slice(0, dot);
  const operation = dot < 0 ? '' : target.slice(dot + 1);
  return `${SERVICES[prefix] ?? prefix} ${operation}`.trim();
}

export async function startCountingProxy(upstreamUrl: string): Promise<CountingProxy> {
  const upstream = new URL(upstreamUrl);
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  const counts = new Map<string, number>();
  let busyNs = 0n;

  const server: Server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const target = req.headers['x-amz-target'];
    const operation = operationOf(Array.isArray(target) ? target[0] : target, method, req.url ?? '/');
    counts.set(operation, (counts.get(operation) ?? 0) + 1);
    const started = process.hrtime.bigint();
    res.once('close', () => {
      busyNs += process.hrtime.bigint() - started;
    });
    const forward = httpRequest(
      {
        agent,
        host: upstream.hostname,
        port: upstream.port,
        method,
        path: req.url,
        headers: endToEnd(req.headers),
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, endToEnd(answer.headers));
        answer.pipe(res);
      },
    );
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`counting proxy: ${error.message}`);
    });
    req.pipe(forward);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    counts: () => Object.fromEntries([...counts].sort(([a], [b]) => a.localeCompare(b))),
    busyMs: () => Number(busyNs) / 1e6,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
        agent.destroy();
      }),
  };
}
