import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions, lambdaBundleOptions } from '../../scripts/esbuild-options.mjs';
import { bundleProbe } from '../support/bundle-probe.js';

const run = promisify(execFile);

/**
 * The Lambda bundles keep only GetParameter's SSM errors registered (scripts/esbuild-options.mjs,
 * trimErrorRegistry('ssm')): a cold-start saving of ~50 kB. Proven here on a bundle built with the Lambda options,
 * against a scripted SSM endpoint: a kept error keeps its class, any other error keeps its name, code, message
 * and status, and the SDK's own retries still apply (a throttle is retried).
 */
const PROBE = `
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
const client = new SSMClient({ endpoint: process.env.SSM_URL, region: 'us-east-1', maxAttempts: 3,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const out = [];
for (const name of ['missing', 'denied', 'throttled']) {
  try {
    const r = await client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    out.push({ name, value: r.Parameter?.Value, attempts: r.$metadata.attempts });
  } catch (e) {
    out.push({ name, error: e.name, notFound: e instanceof ParameterNotFound, status: e.$metadata?.httpStatusCode,
      message: e.message, fault: e.$fault });
  }
}
console.log(JSON.stringify(out));
`;

const answers = new Map<string, Array<{ status: number; body: unknown }>>();
let server: Server;
let url: string;
let throttledRequests = 0;

beforeAll(async () => {
  answers.set('missing', [
    { status: 400, body: { __type: 'ParameterNotFound', message: 'no such parameter' } },
  ]);
  answers.set('denied', [
    {
      status: 400,
      body: { __type: 'AccessDeniedException', message: 'not authorized to perform ssm:GetParameter' },
    },
  ]);
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const name = (JSON.parse(body) as { Name: string }).Name;
      let answer = answers.get(name)?.[0];
      if (name === 'throttled') {
        throttledRequests++;
        answer =
          throttledRequests < 3
            ? { status: 400, body: { __type: 'ThrottlingException', message: 'Rate exceeded' } }
            : { status: 200, body: { Parameter: { Name: name, Value: 'v', Type: 'SecureString' } } };
      }
      res.writeHead(answer?.status ?? 500, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(answer?.body ?? {}));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe("the Lambda bundle's SSM client keeps only GetParameter's errors registered", () => {
  it('is smaller, and answers errors, retries and values as the full client does', async () => {
    const [lambda, full] = await Promise.all([
      bundleProbe(PROBE, lambdaBundleOptions),
      bundleProbe(PROBE, bundleOptions),
    ]);
    // The other ~140 error classes are gone from the Lambda build only.
    expect(full.includes('OpsItemAccessDeniedException')).toBe(true);
    expect(/OpsItemAccessDeniedException"?,\s*\d{3}/.test(lambda)).toBe(false);
    expect(lambda.includes('name:"OpsItemAccessDeniedException"')).toBe(false);
    expect(full.length - lambda.length).toBeGreaterThan(30_000);

    throttledRequests = 0;
    const dir = await mkdtemp(join(tmpdir(), 'ssm-trim-'));
    const file = join(dir, 'probe.mjs');
    await writeFile(file, lambda);
    const { stdout } = await run(process.execPath, [file], {
      env: { PATH: process.env.PATH, SSM_URL: url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(JSON.parse(stdout)).toEqual([
      {
        name: 'missing',
        error: 'ParameterNotFound',
        notFound: true,
        status: 400,
        message: 'no such parameter',
        fault: 'client',
      },
      // Not registered in the Lambda build: the SDK's base exception, with the service's name and message.
      {
        name: 'denied',
        error: 'AccessDeniedException',
        notFound: false,
        status: 400,
        message: 'not authorized to perform ssm:GetParameter',
        fault: 'client',
      },
      // The SDK's retry strategy knows a throttle by its name: retried, then the value.
      { name: 'throttled', value: 'v', attempts: 3 },
    ]);
    expect(throttledRequests).toBe(3);
    await rm(dir, { recursive: true, force: true });
  }, 60_000);
});
