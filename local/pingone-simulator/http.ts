import type { IncomingMessage, ServerResponse } from 'node:http';

/** What a handler answers; the server turns it into an HTTP response. */
export interface Reply {
  readonly status: number;
  /** JSON-serialised; no body when undefined (and no `text`). */
  readonly body?: unknown;
  /** Sent as it is, `text/plain`: what a gateway in front of PingOne answers, not PingOne's JSON. */
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Bodies here are tiny; anything larger is a misuse, not a PingOne request. */
const MAX_BODY_BYTES = 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new RangeError('request body too large');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function writeReply(res: ServerResponse, reply: Reply): void {
  if (res.destroyed || res.writableEnded) return; // the client went away (e.g. timed out during a delay)
  if (reply.text !== undefined) {
    res.writeHead(reply.status, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': String(Buffer.byteLength(reply.text)),
      ...reply.headers,
    });
    res.end(reply.text);
    return;
  }
  if (reply.body === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  const text = JSON.stringify(reply.body);
  res.writeHead(reply.status, {
    'content-type': 'application/json;charset=UTF-8',
    'content-length': String(Buffer.byteLength(text)),
    ...reply.headers,
  });
  res.end(text);
}

export function isLoopback(address: string | undefined): boolean {
  return (
    address !== undefined &&
    (address.startsWith('127.') || address === '::1' || address.startsWith('::ffff:127.'))
  );
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
