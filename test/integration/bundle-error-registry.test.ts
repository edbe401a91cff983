import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions, ERRORS_KEPT, lambdaBundleOptions } from '../../scripts/esbuild-options.mjs';
import { bundleProbe } from '../support/bundle-probe.js';

const run = promisify(execFile);

/**
 * The Lambda bundles keep registered only the errors of the SSM and DynamoDB calls the functions make
 * (scripts/esbuild-options.mjs, trimErrorRegistry; the SSM side is also proven in bundle-ssm-errors.test.ts).
 * Here: the kept lists are exactly what the installed SDK models for those calls, and a DynamoDB client built
 * with the Lambda options answers as the full one does.
 */
const CALLS = {
  ssm: ['GetParameter'],
  dynamodb: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem'],
} as const;

/** The errors the SDK documents a command to throw (its `@throws`), without the client's base exception. */
function modelledErrors(client: 'ssm' | 'dynamodb', command: string): string[] {
  const types = readFileSync(
    `node_modules/@aws-sdk/client-${client}/dist-types/commands/${command}Command.d.ts`,
    'utf8',
  );
  return [...types.matchAll(/@throws \{@link (\w+)\}/g)]
    .map((m) => m[1] as string)
    .filter((name) => !name.endsWith('ServiceException'));
}

describe('the kept errors are the modelled errors of the calls the functions make', () => {
  it.each(Object.keys(CALLS) as Array<keyof typeof CALLS>)('%s', (client) => {
    const modelled = new Set(CALLS[client].flatMap((command) => modelledErrors(client, command)));
    expect([...ERRORS_KEPT[client]].sort()).toEqual([...modelled].sort());
  });

  it("the deployed bundles hold no other DynamoDB call (but the SDK's own endpoint discovery)", () => {
    for (const name of ['rotate', 'audit']) {
      const meta = JSON.parse(readFileSync(`dist/${name}/meta.json`, 'utf8')) as {
        outputs: Record<string, { inputs: Record<string, { bytesInOutput: number }> }>;
      };
      // What esbuild kept in the output (it also lists the files it read and tree-shook away).
      const output = Object.entries(meta.outputs).find(([file]) => file.endsWith('.mjs'))?.[1];
      const commands = Object.entries(output?.inputs ?? {})
        .filter(([, input]) => input.bytesInOutput > 0)
        .map(([input]) => input)
        .map((input) => input.match(/client-dynamodb\/dist-es\/commands\/(\w+)Command\.js$/)?.[1])
        .filter((command): command is string => command !== undefined && command !== 'DescribeEndpoints');
      expect(commands.every((command) => (CALLS.dynamodb as readonly string[]).includes(command))).toBe(true);
      expect(commands.length).toBeGreaterThan(0);
    }
  });
});

const PROBE = `
import { ConditionalCheckFailedException, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
const client = new DynamoDBClient({ endpoint: process.env.DDB_URL, region: 'us-east-1', maxAttempts: 3,
  credentials: { accessKeyId: 'x', secretAccessKey: 'y' } });
const out = [];
const key = (id) => ({ pk: { S: id } });
for (const [id, command] of [
  ['conflict', new PutItemCommand({ TableName: 't', Item: key('conflict'), ConditionExpression: 'attribute_not_exists(pk)' })],
  ['in-use', new GetItemCommand({ TableName: 't', Key: key('in-use') })],
  ['throttled', new GetItemCommand({ TableName: 't', Key: key('throttled') })],
]) {
  try {
    const r = await client.send(command);
    out.push({ id, item: r.Item, attempts: r.$metadata.attempts });
  } catch (e) {
    out.push({ id, error: e.name, conditional: e instanceof ConditionalCheckFailedException,
      status: e.$metadata?.httpStatusCode, message: e.message, fault: e.$fault });
  }
}
console.log(JSON.stringify(out));
`;

let server: Server;
let url: string;
let throttled = 0;

beforeAll(async () => {
  const error = (type: string, message: string) => ({
    status: 400,
    body: { __type: `com.amazonaws.dynamodb.v20120810#${type}`, message },
  });
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      const request = JSON.parse(body) as { Key?: { pk: { S: string } }; Item?: { pk: { S: string } } };
      const id = (request.Key ?? request.Item)?.pk.S;
      let answer: { status: number; body: unknown } = { status: 500, body: {} };
      if (id === 'conflict')
        answer = error('ConditionalCheckFailedException', 'The conditional request failed');
      if (id === 'in-use') answer = error('ResourceInUseException', 'table t is being updated');
      if (id === 'throttled') {
        throttled++;
        answer =
          throttled < 3
            ? error('ProvisionedThroughputExceededException', 'throughput exceeded')
            : { status: 200, body: { Item: { pk: { S: 'throttled' } } } };
      }
      res.writeHead(answer.status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function runProbe(text: string): Promise<unknown> {
  throttled = 0;
  const dir = await mkdtemp(join(tmpdir(), 'ddb-trim-'));
  try {
    const file = join(dir, 'probe.mjs');
    await writeFile(file, text);
    const { stdout } = await run(process.execPath, [file], {
      env: { PATH: process.env.PATH, DDB_URL: url, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    return JSON.parse(stdout);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("the Lambda bundle's DynamoDB client keeps only its calls' errors registered", () => {
  it('is smaller, and answers errors, retries and items as the full client does', async () => {
    const [lambda, full] = await Promise.all([
      bundleProbe(PROBE, lambdaBundleOptions),
      bundleProbe(PROBE, bundleOptions),
    ]);
    expect(full.includes('GlobalTableAlreadyExistsException')).toBe(true);
    expect(lambda.includes('GlobalTableAlreadyExistsException')).toBe(false);
    expect(full.length - lambda.length).toBeGreaterThan(5_000);

    const expected = [
      {
        id: 'conflict',
        error: 'ConditionalCheckFailedException',
        conditional: true,
        status: 400,
        message: 'The conditional request failed',
        fault: 'client',
      },
      // Not registered in the Lambda build: the SDK's base exception, with the service's name and message.
      {
        id: 'in-use',
        error: 'ResourceInUseException',
        conditional: false,
        status: 400,
        message: 'table t is being updated',
        fault: 'client',
      },
      { id: 'throttled', item: { pk: { S: 'throttled' } }, attempts: 3 },
    ];
    expect(await runProbe(lambda)).toEqual(expected);
    expect(throttled).toBe(3);
    expect(await runProbe(full)).toEqual(expected);
  }, 60_000);
});
