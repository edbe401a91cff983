import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface ScriptedResponse {
  status: number;
  /** JSON-serialised (content-type application/json). */
  body?: unknown;
  /** Sent as it is (content-type text/plain unless `headers` say otherwise): a gateway's page. */
  text?: string;
  headers?: Record<string, string>;
  /** Destroy the connection instead of answering (the client sees a reset). */
  destroy?: boolean;
  /** Wait this long (real ms) before answering. */
  delayMs?: number;
}

type Route = (request: RecordedRequest) => ScriptedResponse | undefined;

/**
 * A loopback HTTP server answering from per-route scripts, for testing the PingOne HTTP client's
 * retries, token handling and error parsing. Not a PingOne model: local/pingone-simulator is that.
 */
export class ScriptedServer {
  readonly requests: RecordedRequest[] = [];
  #server: Server | undefined;
  #routes: { match: RegExp; method?: string; queue: ScriptedResponse[]; fallback?: Route }[] = [];

  async start(): Promise<string> {
    this.#server = createServer((req, res) => void this.#handle(req, res));
    await new Promise<void>((resolve) => this.#server?.listen(0, '127.0.0.1', resolve));
    const { port } = this.#server.address() as AddressInfo;
    return `http://127.0.0.1:${port}`;
  }

  async stop(): Promise<void> {
    this.#server?.closeAllConnections();
    await new Promise<void>((resolve) => this.#server?.close(() => resolve()));
  }

  /** Answers requests matching `match` with `responses` in order, then with `fallback`. */
  on(match: RegExp, responses: ScriptedResponse[], fallback?: Route, method?: string): this {
    this.#routes.push({
      match,
      queue: [...responses],
      ...(fallback ? { fallback } : {}),
      ...(method ? { method } : {}),
    });
    return this;
  }

  reset(): void {
    this.#routes = [];
    this.requests.length = 0;
  }

  count(match: RegExp, method?: string): number {
    return this.requests.filter((r) => match.test(r.path) && (!method || r.method === method)).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const request: RecordedRequest = {
      method: req.method ?? '',
      path: req.url ?? '',
      headers: req.headers,
      body,
    };
    this.requests.push(request);
    const route = this.#routes.find(
      (r) => r.match.test(request.path) && (!r.method || r.method === request.method),
    );
    const scripted = route?.queue.shift() ??
      route?.fallback?.(request) ?? { status: 404, body: { code: 'NOT_FOUND' } };
    if (scripted.delayMs) await new Promise((resolve) => setTimeout(resolve, scripted.delayMs));
    if (res.destroyed) return;
    if (scripted.destroy) {
      res.destroy();
      return;
    }
    if (scripted.text !== undefined) {
      res.writeHead(scripted.status, { 'content-type': 'text/plain', ...scripted.headers });
      res.end(scripted.text);
      return;
    }
    res.writeHead(scripted.status, { 'content-type': 'application/json', ...scripted.headers });
    res.end(scripted.body === undefined ? '' : JSON.stringify(scripted.body));
  }
}
