/**
 * No silent hang (issue 20): an AWS endpoint that accepts the connection and never answers made the CLI wait
 * for minutes without a word. Every AWS client the CLI builds gives up on an attempt after --aws-timeout
 * (default 10 s), and the error names the endpoint, the call and the time waited. The real binary against a
 * TCP server that accepts and never answers.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watch } from '../support/child.js';
import { CLI_BINARY } from './support.js';

let server: Server;
let endpoint: string;
const sockets = new Set<Socket>();

beforeAll(async () => {
  server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => {}); // reads the request, never answers
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  endpoint = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

async function run(args: string[]): Promise<{ code: number | null; stderr: string; ms: number }> {
  if (!existsSync(CLI_BINARY)) throw new Error(`${CLI_BINARY} is missing: run npm run build first`);
  const started = Date.now();
  const child = spawn(process.execPath, [CLI_BINARY, ...args], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'example',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // A hang is the failure under test: end it after 60 s so the assertion says so.
  const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const { code, stderr } = await watch(child).done.finally(() => clearTimeout(kill));
  return { code, stderr, ms: Date.now() - started };
}

describe('an AWS endpoint that never answers', () => {
  it('by default: gives up after 3 attempts of 10 s, naming the endpoint, the call and the time waited', async () => {
    const result = await run(['status', '--secret-id', 'pingone/orders-api', '--endpoint-url', endpoint]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(50_000);
    expect(result.stderr).toMatch(
      new RegExp(
        `^pingone-rotation: no answer from ${endpoint.replace(/\./g, '\\.')} \\(Secrets Manager DescribeSecret\\) ` +
          'within 10 s per attempt; gave up after 3 attempts, 3\\d s in all: check --endpoint-url / ' +
          'AWS_ENDPOINT_URL, --region and your network or proxy; --aws-timeout allows longer\\n$',
      ),
    );
  }, 70_000);

  it('--aws-timeout sets the limit per attempt (audit lists through the same clients)', async () => {
    const result = await run([
      'audit',
      '--endpoint-url',
      endpoint,
      '--aws-timeout',
      '1s',
      '--worker-parameter',
      '/pingone/rotation-worker',
      '--ledger-table',
      'pingone-rotation-ledger',
    ]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.ms).toBeLessThan(15_000);
    expect(result.stderr).toMatch(
      /^pingone-rotation: no answer from http:\/\/127\.0\.0\.1:\d+ \(Secrets Manager ListSecrets\) within 1 s per attempt; gave up after 3 attempts, \d s in all: /,
    );
  }, 30_000);

  it('a bad --aws-timeout is a usage error', async () => {
    const result = await run(['status', '--secret-id', 'x', '--aws-timeout', 'soon']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "pingone-rotation: --aws-timeout 'soon' is not a duration of 1s or more: write it as <n>s or <n>m, e.g. 30s\n",
    );
  });
});
