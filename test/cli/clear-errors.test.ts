/**
 * Errors a person understands (issue 20): an endpoint that answers, but not like AWS (a proxy's HTML page,
 * a region that does not exist behind a proxy) gave `SyntaxError: Unexpected token '<'` or
 * `UnknownError: fix the cause above` with no cause above; `--profile nosuch` said "pass --profile"; `--debug`
 * stacks pointed into the minified bundle though its source map ships; `audit` that found no secret at all
 * (the wrong region, profile or prefix) exited 0, green. The real binary, as an operator runs it.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { watch } from '../support/child.js';
import { useWorld } from '../support/world.js';
import { binary, CLI_BINARY } from './support.js';

// A readable name: the CLI's redactor hides random-looking strings, as mkdtemp's suffix is.
const home = join(tmpdir(), `clear-errors-home-${process.pid}`);
mkdirSync(home, { recursive: true });

function run(args: string[], env: Record<string, string | undefined> = {}) {
  if (!existsSync(CLI_BINARY)) throw new Error(`${CLI_BINARY} is missing: run npm run build first`);
  const child = spawn(process.execPath, [CLI_BINARY, ...args], {
    env: Object.fromEntries(
      Object.entries({
        PATH: process.env.PATH ?? '',
        HOME: home,
        AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'example',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...env,
      }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    ),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return watch(child).done;
}

/** An HTTP server that answers every request with an HTML page and `status`. */
async function htmlServer(status: number): Promise<{ url: string; server: Server }> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<html><body>Access denied by the proxy</body></html>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

const servers: Server[] = [];
afterAll(() => {
  for (const server of servers) server.close();
  rmSync(home, { recursive: true, force: true });
});

describe('an endpoint that does not answer like AWS', () => {
  it.each([200, 403])(
    'HTTP %i with an HTML page: names the endpoint, the answer and the region to check',
    async (status) => {
      const { url, server } = await htmlServer(status);
      servers.push(server);
      const result = await run([
        'status',
        '--secret-id',
        'pingone/orders-api',
        '--endpoint-url',
        url,
        '--region',
        'eu-west-9',
      ]);
      expect(result.code).toBe(1);
      expect(result.stderr).toBe(
        `pingone-rotation: ${url} did not answer like AWS Secrets Manager (DescribeSecret: HTTP ${status}, text/html): ` +
          "check that --region 'eu-west-9' is an AWS region where you use Secrets Manager, --endpoint-url / " +
          'AWS_ENDPOINT_URL, and any proxy (HTTPS_PROXY)\n',
      );
      expect(result.stderr).not.toMatch(/SyntaxError|UnknownError|fix the cause above/);
    },
  );

  it('--debug: the stack is source-mapped (original files and lines, not the minified bundle)', async () => {
    const { url, server } = await htmlServer(200);
    servers.push(server);
    const result = await run([
      'status',
      '--secret-id',
      'pingone/orders-api',
      '--endpoint-url',
      url,
      '--region',
      'eu-west-1',
      '--debug',
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/node_modules\/@smithy\/[^\s)]+\.js:\d+:\d+\)/);
    expect(result.stderr).not.toMatch(/pingone-rotation\.mjs:\d+:\d+/);
  });

  it('--debug on an error of the CLI itself names its TypeScript source', async () => {
    const result = await run([
      'audit',
      '--endpoint-url',
      'http://127.0.0.1:9',
      '--region',
      'us-east-1',
      '--debug',
    ]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/\(\S*cli\/pingone-access\.ts:\d+:\d+\)/);
  });
});

describe('--profile that does not exist', () => {
  it('says the profile does not exist, where it looked, and exits 2 (a usage error)', async () => {
    const result = await run(
      ['status', '--secret-id', 'pingone/orders-api', '--profile', 'nosuch', '--region', 'eu-west-1'],
      { AWS_ACCESS_KEY_ID: undefined, AWS_SECRET_ACCESS_KEY: undefined },
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `pingone-rotation: the AWS profile 'nosuch' does not exist in ${join(home, '.aws/config')} or ` +
        `${join(home, '.aws/credentials')}: check --profile / AWS_PROFILE (\`aws configure list-profiles\` lists them)\n`,
    );
  });
});

describe('audit that finds no secret at all', () => {
  const { world } = useWorld();

  it('is not green: exit 1, and it says to check the region, profile and prefix', async () => {
    const result = await binary(world, ['audit', '--prefix', 'nothing-here/']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/^Audited 0 secrets under nothing-here\//m);
    expect(result.stderr).toBe(
      'pingone-rotation: no secret to audit under nothing-here/ in us-east-1 (0 listed): nothing was judged; ' +
        "check --region, --profile and --prefix (the stack's SecretNamePrefix output)\n",
    );
    const json = await binary(world, ['audit', '--prefix', 'nothing-here/', '--json']);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout).exitCode).toBe(1);
  });
});
