import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
/**
 * `rotate` against a real rotation service (not the local world): RotateSecret, then DescribeSecret polling.
 * Secrets Manager is scripted with aws-sdk-client-mock, the clock is fake, so each phase is exact. The
 * following tests pass --force (no status check first); the status check has its own tests at the end.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  InvalidRequestException,
  ListSecretVersionIdsCommand,
  ResourceNotFoundException,
  RotateSecretCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CliDeps } from '../../cli/deps.js';
import { UsageError } from '../../cli/errors.js';
import { runCli } from '../../cli/run.js';
import { loadConfig } from '../../lib/config.js';
import type { PingOneClient } from '../../lib/pingone/types.js';
import { MemoryOutput } from './support.js';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pingone/orders-api-AbCdEf';
const LAMBDA = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';
const OLD = 'aaaaaaaa-0000-4000-8000-000000000001';

const client = new SecretsManagerClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const sm = mockClient(client);
const dynamodb = new DynamoDBClient({
  region: 'us-east-1',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const ddb = mockClient(dynamodb);

let clock: number;
let token: string | undefined;

function deps(out: MemoryOutput, err: MemoryOutput): CliDeps {
  return {
    secretsManager: client,
    dynamodb,
    config: () => {
      throw new UsageError('The configuration is not needed here', 'n/a');
    },
    pingone: () => {
      throw new UsageError('PingOne is not needed here', 'n/a');
    },
    out,
    err,
    now: () => clock,
    sleep: async (ms) => {
      clock += ms;
    },
    prompt: undefined,
    local: undefined,
  };
}

async function run(argv: string[], tty = false) {
  const out = new MemoryOutput(tty);
  const err = new MemoryOutput();
  const code = await runCli(argv, { out, err }, () => deps(out, err));
  return { code, out: out.text, err: err.text };
}

/** DescribeSecret answers: the first (before RotateSecret) and then one per poll. */
function describeSequence(polls: ((token: string) => Record<string, string[]>)[]) {
  let poll = 0;
  sm.on(DescribeSecretCommand).callsFake(() => {
    const versions = !token
      ? { [OLD]: ['AWSCURRENT'] }
      : polls.length === 0
        ? { [OLD]: ['AWSCURRENT'], [token]: ['AWSPENDING'] }
        : polls[Math.min(poll++, polls.length - 1)]!(token);
    const done =
      versions[token ?? '']?.includes('AWSCURRENT') && !versions[token ?? '']?.includes('AWSPENDING');
    return {
      ARN,
      Name: 'pingone/orders-api',
      RotationEnabled: true,
      RotationLambdaARN: LAMBDA,
      RotationRules: { ScheduleExpression: 'rate(30 days)' },
      VersionIdsToStages: versions,
      ...(done ? { LastRotatedDate: new Date('2026-01-02T03:04:05Z') } : {}),
    };
  });
}

beforeEach(() => {
  sm.reset();
  clock = Date.parse('2026-01-02T03:00:00Z');
  token = undefined;
  sm.on(ListSecretVersionIdsCommand).resolves({ Versions: [] });
  sm.on(RotateSecretCommand).callsFake((input: { ClientRequestToken?: string }) => {
    token = input.ClientRequestToken;
    return { ARN, VersionId: token };
  });
});

describe('rotate with the rotation service', () => {
  it('--wait follows RotateSecret phase by phase until the new version is AWSCURRENT', async () => {
    describeSequence([
      (t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] }),
      (t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] }),
      (t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] }),
      (t) => ({ [OLD]: ['AWSPREVIOUS'], [t]: ['AWSCURRENT', 'AWSPENDING'] }),
      (t) => ({ [OLD]: ['AWSPREVIOUS'], [t]: ['AWSCURRENT'] }),
    ]);
    let gets = 0;
    // The first read of the new version finds no value yet; reads before RotateSecret (rotate --force still
    // reads the status report, to see whether an earlier regenerate is settling) are of AWSCURRENT.
    sm.on(GetSecretValueCommand).callsFake((input: { VersionId?: string }) => {
      if (token !== undefined && input.VersionId === token && ++gets === 1) {
        throw new ResourceNotFoundException({ message: 'no value', $metadata: {} });
      }
      return { SecretString: '{"clientSecret":"never printed"}' };
    });
    const result = await run(['rotate', '--force', '--secret-id', 'pingone/orders-api', '--wait']);
    expect(result.err).toBe('');
    expect(result.code).toBe(0);
    const t = `${token!.slice(0, 8)}…`;
    expect(result.out.trimEnd().split('\n')).toEqual([
      `    0s  createSecret: waiting for PingOne's new secret   aaaaaaaa… [AWSCURRENT]  ${t} [AWSPENDING]`,
      `    2s  setSecret/testSecret: the new secret is stored and being verified at PingOne   aaaaaaaa… [AWSCURRENT]  ${t} [AWSPENDING]`,
      `    6s  finishSecret: AWSCURRENT moved to the new version, AWSPENDING being removed   ${t} [AWSCURRENT, AWSPENDING]  aaaaaaaa… [AWSPREVIOUS]`,
      `Rotated pingone/orders-api in 8.0 s: AWSCURRENT is version ${token}   ${t} [AWSCURRENT]  aaaaaaaa… [AWSPREVIOUS]; last rotated 2026-01-02T03:04:05Z`,
    ]);
    expect(result.out).not.toContain('never printed');
    const rotateCall = sm.commandCalls(RotateSecretCommand)[0]!.args[0].input;
    expect(rotateCall).toEqual({ SecretId: ARN, ClientRequestToken: token });
  });

  it('on a terminal the line is rewritten in place', async () => {
    describeSequence([
      (t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] }),
      (t) => ({ [OLD]: ['AWSPREVIOUS'], [t]: ['AWSCURRENT'] }),
    ]);
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'no value', $metadata: {} }),
    );
    const result = await run(['rotate', '--force', '--secret-id', ARN, '--wait'], true);
    expect(result.code).toBe(0);
    const clear = '\r\u001b[2K';
    expect(result.out.startsWith(`${clear}    0s  createSecret: waiting`)).toBe(true);
    expect(result.out).toContain(`${clear}Rotated pingone/orders-api in 2.0 s`);
  });

  it('--timeout: stops following, names the phase and the function log to read; exit 1', async () => {
    describeSequence([(t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] })]);
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'no value', $metadata: {} }),
    );
    const result = await run(['rotate', '--force', '--secret-id', ARN, '--wait', '--timeout', '10s']);
    expect(result.code).toBe(1);
    expect(result.out.trimEnd().split('\n').at(-1)).toMatch(/^Timed out after 10s: createSecret: waiting/);
    expect(result.err).toBe(
      "pingone-rotation: rotation of pingone/orders-api did not finish within 10s (createSecret: waiting for PingOne's " +
        'new secret): the rotation function is probably failing: read its log (aws logs tail /aws/lambda/pingone-rotation ' +
        '--since 30m), then run `pingone-rotation status --secret-id pingone/orders-api`\n',
    );
  });

  it('AWSPENDING removed before the version became AWSCURRENT: abandoned, exit 1', async () => {
    describeSequence([
      (t) => ({ [OLD]: ['AWSCURRENT'], [t]: ['AWSPENDING'] }),
      () => ({ [OLD]: ['AWSCURRENT'] }),
    ]);
    sm.on(GetSecretValueCommand).rejects(
      new ResourceNotFoundException({ message: 'no value', $metadata: {} }),
    );
    const result = await run(['rotate', '--force', '--secret-id', ARN, '--wait']);
    expect(result.code).toBe(1);
    expect(result.err).toMatch(
      /^pingone-rotation: AWSPENDING left version \S+ of pingone\/orders-api before it became AWSCURRENT/,
    );
  });

  it('without --wait: starts the rotation and says how to follow it', async () => {
    describeSequence([]);
    const result = await run(['rotate', '--force', '--secret-id', ARN]);
    expect(result.code).toBe(0);
    expect(result.out).toBe(
      `Rotation of pingone/orders-api started: version ${token} is AWSPENDING and Secrets Manager runs the four steps now.\n` +
        'Follow it with `pingone-rotation status --secret-id pingone/orders-api` (or use --wait).\n',
    );
  });

  it('--json without --wait: the document says started, with the new AWSPENDING version; lines on stderr', async () => {
    describeSequence([]);
    const result = await run(['rotate', '--force', '--secret-id', ARN, '--json']);
    expect(result.code).toBe(0);
    expect(result.err).toContain(`Rotation of pingone/orders-api started: version ${token} is AWSPENDING`);
    const document = JSON.parse(result.out);
    expect(document).toMatchObject({
      command: 'rotate',
      ok: true,
      exitCode: 0,
      action: 'started',
      changed: true,
      versionId: token,
      secret: { arn: ARN, name: 'pingone/orders-api' },
      // PingOne is not configured here: Secrets Manager's side alone, not judged.
      before: { verdict: null, pending: null, versions: [{ versionId: OLD, stages: ['AWSCURRENT'] }] },
      after: { verdict: null, pending: { versionId: token, kind: 'unknown', unstickWould: null } },
    });
    expect(document.after.reason).toMatch(/^not judged: /);
  });

  it("Secrets Manager's 'previous rotation isn't complete' becomes the unstick advice", async () => {
    describeSequence([]);
    sm.on(RotateSecretCommand).rejects(
      new InvalidRequestException({
        message: "A previous rotation isn't complete. That rotation will be reattempted.",
        $metadata: {},
      }),
    );
    const result = await run(['rotate', '--force', '--secret-id', ARN, '--wait']);
    expect(result.code).toBe(1);
    expect(result.err).toBe(
      'pingone-rotation: a previous rotation of pingone/orders-api is not complete: see `pingone-rotation status ' +
        '--secret-id pingone/orders-api`; if it is stuck, recover with `pingone-rotation unstick --secret-id pingone/orders-api`\n',
    );
  });

  describe('the status check before RotateSecret', () => {
    const ENV = '11111111-2222-4333-8444-555555555555';
    const RES = '66666666-7777-4888-8999-000000000000';
    const pingoneWith = (current: string): CliDeps['pingone'] => {
      // Only what status reads; any other call fails the test.
      const client = {
        readResource: async () => ({ id: RES, type: 'CUSTOM', name: 'Orders API' }),
        readSecret: async () => ({ secret: current }),
        regenerateSecret: async () => {
          throw new Error('status never regenerates');
        },
        introspectWithSecret: async () => true,
        deletePreviousSecret: async () => {
          throw new Error('status never deletes');
        },
      } satisfies Partial<PingOneClient> as unknown as PingOneClient;
      const config = loadConfig({
        PINGONE_WORKER_PARAMETER: '/pingone/worker',
        ROTATION_LEDGER_TABLE: 'rotation-ledger',
      });
      return () => ({ config, client, functionEnv: {} });
    };
    async function runWith(argv: string[], pingoneCurrent: string) {
      const out = new MemoryOutput();
      const err = new MemoryOutput();
      const pingone = pingoneWith(pingoneCurrent);
      const code = await runCli(argv, { out, err }, () => ({
        ...deps(out, err),
        config: () => pingone().config,
        pingone,
      }));
      return { code, out: out.text, err: err.text };
    }
    beforeEach(() => {
      sm.on(GetSecretValueCommand).callsFake((input: { VersionId?: string }) => {
        if (input.VersionId) throw new ResourceNotFoundException({ message: 'no value', $metadata: {} });
        return {
          VersionId: OLD,
          SecretString: JSON.stringify({ environmentId: ENV, resourceId: RES, clientSecret: 'aws-current' }),
        };
      });
    });

    it('drift: refused with exit 3 and the verdict’s advice; RotateSecret is never called', async () => {
      describeSequence([]);
      const result = await runWith(['rotate', '--secret-id', ARN, '--wait'], 'regenerated-in-console');
      expect(result.code).toBe(3);
      expect(result.out).toBe('');
      expect(result.err).toMatch(
        /^pingone-rotation: not rotating pingone\/orders-api: status says drift, which a rotation cannot fix \(AWSCURRENT is neither .*`pingone-rotation onboard --secret-name pingone\/orders-api --environment-id 11111111-\S+ --resource-id 66666666-\S+ --force`\): nothing was changed; do what the status says, or pass --force to rotate anyway\n$/,
      );
      expect(result.err.split('\n')).toHaveLength(2);
      expect(sm.commandCalls(RotateSecretCommand)).toHaveLength(0);
    });

    it('healthy: the check passes and the rotation starts, recorded first as a manual request', async () => {
      describeSequence([]);
      ddb.reset();
      ddb.on(PutItemCommand).resolves({});
      const result = await runWith(['rotate', '--secret-id', ARN], 'aws-current');
      expect(result.err).toBe('');
      expect(result.code).toBe(0);
      expect(sm.commandCalls(RotateSecretCommand)).toHaveLength(1);
      // The compliance report's "manual": request#<the RotateSecret's ClientRequestToken>, written before it.
      const [put] = ddb.commandCalls(PutItemCommand);
      const token = sm.commandCalls(RotateSecretCommand)[0]?.args[0].input.ClientRequestToken;
      expect(put?.args[0].input.Item?.pk?.S).toBe(`request#${token}`);
      expect(put?.args[0].input.Item?.secretArn?.S).toBe(ARN);
      expect(put?.args[0].input.ConditionExpression).toBe('attribute_not_exists(pk)');
    });

    it('a ledger table that cannot be written costs only the manual label: a note, and the rotation starts', async () => {
      describeSequence([]);
      ddb.reset();
      ddb.on(PutItemCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
      const result = await runWith(['rotate', '--secret-id', ARN], 'aws-current');
      expect(result.err).toMatch(
        /^pingone-rotation: note: could not record this rotation as manual in the rotation ledger \(.*\); the compliance report will count it as scheduled\n$/,
      );
      expect(result.code).toBe(0);
      expect(sm.commandCalls(RotateSecretCommand)).toHaveLength(1);
    });
  });
});
