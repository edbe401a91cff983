import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SweepPlan } from '../../lib/audit/distributed.js';
import { createAuditListHandler, createAuditWorkerHandler } from '../../lib/audit/distributed-handler.js';
import { createAuditHandler } from '../../lib/audit/handler.js';
import { createRotationHandler } from '../../lib/handler.js';
import { type InvokeFn, LocalRotationDriver, lambdaContext } from '../../local/driver.js';
import { LOCAL_AWS, type LocalWorld } from '../../local/world.js';
import { OutputCapture } from '../support/capture-output.js';
import {
  type AwsRequest,
  applicableContext,
  defaultKeyPolicy,
  describe as describeRequest,
  evaluate,
  type IamWorld,
} from '../support/iam.js';
import { packageService } from '../support/osls-package.js';
import { startWorld } from '../support/world.js';
import {
  asObject,
  asString,
  type Deployment,
  type Json,
  type Template,
  TemplateEvaluator,
  toList,
} from './cloudformation.js';

/**
 * The execution role proven minimal by an IAM policy evaluator, not by reading YAML: a full local rotation
 * (moto + the PingOne simulator, the real handler) records every AWS call the function makes; each becomes
 * the request AWS would authorize — action, resource ARN, and the condition keys AWS evaluates (resource
 * tags, secretsmanager:resource/AllowRotationLambdaArn, kms:ViaService, the encryption context) — plus the
 * calls made on the function's behalf (KMS by Secrets Manager and SSM, CloudWatch Logs by the Lambda
 * service). Every one must be allowed by the packaged template's role policies, and a list of calls the
 * function must never be able to make must be denied.
 */
const ACCOUNT = '123456789012'; // moto's account
const REGION = LOCAL_AWS.region;
const KEY = `arn:aws:kms:${REGION}:${ACCOUNT}:key/0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9`;
const TAG_KEY = 'pingone:rotation';
const TAG_VALUE = 'rotator';
const deployment: Deployment = {
  region: REGION,
  accountId: ACCOUNT,
  stackName: 'pingone-secret-rotation-ci',
  parameters: {
    WorkerParameterName: '/pingone/rotation-worker',
    SecretNamePrefix: 'pingone/',
    SecretTagValue: TAG_VALUE,
    KmsKeyArn: KEY,
  },
};

interface RecordedCall {
  readonly service: 'secretsmanager' | 'ssm' | 'dynamodb';
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

let workDir: string;
let template: Template;
let world: LocalWorld;
let functionArn: string;
let logGroupName: string;
let secretArn: string;
let ledgerTable: string;
const recorded: RecordedCall[] = [];
/** The AWS calls of one fleet audit run (the auditor's own role, infra/audit.yml). */
const auditRecorded: RecordedCall[] = [];
/** The AWS calls of a later audit run with early retirement on, which retires the previous secret. */
const retireRecorded: RecordedCall[] = [];
let auditLogGroupName: string;
let invocations = 0;
/** The AWS calls of a distributed sweep (AuditEngine=distributed): the lister's, then the worker's. */
const listRecorded: RecordedCall[] = [];
const workerRecorded: RecordedCall[] = [];
const distributed: Deployment = {
  ...deployment,
  parameters: { ...deployment.parameters, AuditEngine: 'distributed' },
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pingone-iam-'));
  const packageDir = join(workDir, 'package');
  await packageService(packageDir);
  template = JSON.parse(
    await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  );
  const resources = new TemplateEvaluator(template, deployment).resources();
  functionArn = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:${asString(resources.RotateLambdaFunction?.Properties.FunctionName, 'FunctionName')}`;
  logGroupName = asString(resources.RotateLogGroup?.Properties.LogGroupName, 'LogGroupName');
  auditLogGroupName = asString(resources.AuditLogGroup?.Properties.LogGroupName, 'LogGroupName');

  // The ledger table by the name the stack gives it, so the recorded calls name the deployed table's ARN.
  ledgerTable = asString(resources.RotationLedgerTable?.Properties.TableName, 'TableName');
  world = await startWorld({ workerParameter: '/pingone/rotation-worker', ledgerTable });
  const secret = await world.createRotatableSecret({
    name: 'pingone/iam/orders-api',
    tags: { [TAG_KEY]: TAG_VALUE },
  });
  secretArn = secret.arn;
  const record = <C extends SecretsManagerClient | SSMClient | DynamoDBClient>(
    client: C,
    service: RecordedCall['service'],
    into: RecordedCall[] = recorded,
  ): C => {
    (client.middlewareStack as SecretsManagerClient['middlewareStack']).add(
      (next, context) => async (args) => {
        into.push({
          service,
          operation: String(context.commandName).replace(/Command$/, ''),
          input: { ...(args.input as Record<string, unknown>) },
        });
        return next(args);
      },
      { step: 'initialize', name: 'recordAwsCalls' },
    );
    return client;
  };
  const handler = createRotationHandler({
    // With the rotations' shared rate limit on, so its bucket's reads and writes are recorded too.
    env: { ...world.functionEnv, ROTATION_PINGONE_REQUESTS_PER_SECOND: '50' },
    secretsManager: record(
      new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'secretsmanager',
    ),
    ssm: record(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm'),
    dynamodb: record(new DynamoDBClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'dynamodb'),
    now: () => world.sim.clock.now().getTime(),
  });
  const invoke: InvokeFn = (event, context) => {
    invocations++;
    return handler(event as never, context);
  };
  const driver = new LocalRotationDriver({
    secretsManager: world.secretsManager,
    invoke,
    rotationLambdaArn: functionArn,
  });
  const report = await driver.rotate(secret.arn);
  expect(report.ok, report.error).toBe(true);

  // One run of the fleet auditor over the rotated secret, as deployed (early retirement off).
  const audit = createAuditHandler({
    env: {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: 'pingone/',
      AUDIT_ROTATION_FUNCTION_ARN: functionArn,
    },
    secretsManager: record(
      new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'secretsmanager',
      auditRecorded,
    ),
    ssm: record(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm', auditRecorded),
    dynamodb: record(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'dynamodb',
      auditRecorded,
    ),
  });
  // Its log lines and metrics go to stdout: kept out of the test output.
  const quiet = new OutputCapture().start();
  const summary = await audit({}, lambdaContext(Date.now(), 120_000)).finally(() => quiet.stop());
  expect(summary).toMatchObject({ audited: 1, errors: 0, verdicts: { healthy: 1 } });

  // Two hours later, with early retirement on: the unused previous secret is retired.
  const retiring = createAuditHandler({
    env: {
      ...world.functionEnv,
      AUDIT_SECRET_NAME_PREFIX: 'pingone/',
      AUDIT_ROTATION_FUNCTION_ARN: functionArn,
      RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
    },
    now: () => world.sim.clock.now().getTime() + 2 * 3_600_000,
    secretsManager: record(
      new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'secretsmanager',
      retireRecorded,
    ),
    ssm: record(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm', retireRecorded),
    dynamodb: record(
      new DynamoDBClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'dynamodb',
      retireRecorded,
    ),
  });
  const quietToo = new OutputCapture().start();
  const retired = await retiring({}, lambdaContext(Date.now(), 120_000)).finally(() => quietToo.stop());
  expect(retired).toMatchObject({ audited: 1, errors: 0, retired: 1 });

  // One distributed sweep, the lister's and the worker's calls recorded apart (each has its own role).
  const clients = (into: RecordedCall[]) => ({
    secretsManager: record(
      new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
      'secretsmanager',
      into,
    ),
    ssm: record(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm', into),
    dynamodb: record(new DynamoDBClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'dynamodb', into),
  });
  const env = {
    ...world.functionEnv,
    AUDIT_SECRET_NAME_PREFIX: 'pingone/',
    AUDIT_ROTATION_FUNCTION_ARN: functionArn,
  };
  const list = createAuditListHandler({ env, ...clients(listRecorded) });
  const worker = createAuditWorkerHandler({ env, ...clients(workerRecorded) });
  const quietSweep = new OutputCapture().start();
  try {
    const plan = (await list(
      {
        action: 'list',
        execution: `arn:aws:states:${REGION}:${ACCOUNT}:execution:pingone-secret-rotation-ci-audit:sweep-1`,
        startedAt: new Date().toISOString(),
        timeoutSeconds: 86_400,
      },
      lambdaContext(Date.now(), 120_000),
    )) as SweepPlan;
    const results = [];
    for (const batch of plan.batches) {
      results.push(await worker({ batch, sweepId: plan.sweepId }, lambdaContext(Date.now(), 120_000)));
    }
    const outcome = await list({ action: 'finish', plan, results }, lambdaContext(Date.now(), 120_000));
    expect(outcome).toMatchObject({ complete: true, judged: 1 });
  } finally {
    quietSweep.stop();
  }
}, 120_000);

afterAll(async () => {
  await world?.stop();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** The identity policies of the function's role (or `roleId`) in the packaged template, resolved for `deployment`. */
function rolePolicies(
  tpl: Template,
  dep: Deployment = deployment,
  roleId = 'IamRoleLambdaExecution',
): { name: string; policy: Json }[] {
  const resources = new TemplateEvaluator(tpl, dep).resources();
  const role = resources[roleId];
  if (!role) throw new Error(`no ${roleId} in the template`);
  // A managed policy would grant what this test cannot see: there must be none.
  if (role.Properties.ManagedPolicyArns !== undefined) {
    throw new Error(`the role has managed policies: ${JSON.stringify(role.Properties.ManagedPolicyArns)}`);
  }
  const inline = toList(role.Properties.Policies).map((p) => {
    const policy = asObject(p, 'Policy');
    return { name: asString(policy.PolicyName, 'PolicyName'), policy: policy.PolicyDocument as Json };
  });
  const attached = Object.entries(resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .filter(([, r]) => toList(r.Properties.Roles).includes(`<ref:${roleId}>`))
    .map(([id, r]) => ({ name: id, policy: r.Properties.PolicyDocument as Json }));
  return [...inline, ...attached];
}

function iamWorld(tpl: Template, dep: Deployment = deployment, roleId = 'IamRoleLambdaExecution'): IamWorld {
  return {
    accountId: ACCOUNT,
    principal: `arn:aws:iam::${ACCOUNT}:role/pingone-secret-rotation-ci-${roleId}-1A2B3C4D5E6F`,
    identityPolicies: rolePolicies(tpl, dep, roleId),
    keyPolicies: { [KEY]: defaultKeyPolicy(ACCOUNT) },
  };
}

const GLOBAL = { 'aws:SecureTransport': 'true', 'aws:RequestedRegion': REGION };

function parameterArn(name: string): string {
  return `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name.startsWith('/') ? name : `/${name}`}`;
}

function tableArn(name: string): string {
  return `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}`;
}

/** What AWS authorizes for one recorded call, and what the service then does on the function's behalf. */
async function requestsFor(call: RecordedCall): Promise<AwsRequest[]> {
  const origin = `${call.service}:${call.operation}`;
  // ListSecrets has no resource-level permissions: AWS authorizes it on "*".
  if (call.service === 'secretsmanager' && call.operation === 'ListSecrets') {
    return [{ action: 'secretsmanager:ListSecrets', resource: '*', context: GLOBAL, origin }];
  }
  if (call.service === 'secretsmanager') {
    const secretId = String(call.input.SecretId);
    const secret = await world.secretsManager.send(new DescribeSecretCommand({ SecretId: secretId }));
    const arn = secret.ARN ?? secretId;
    const context: Record<string, string> = {
      ...GLOBAL,
      'secretsmanager:SecretId': arn,
      ...Object.fromEntries((secret.Tags ?? []).map((t) => [`aws:ResourceTag/${t.Key}`, t.Value ?? ''])),
      ...(secret.RotationLambdaARN
        ? { 'secretsmanager:resource/AllowRotationLambdaArn': secret.RotationLambdaARN }
        : {}),
      ...(typeof call.input.VersionId === 'string'
        ? { 'secretsmanager:VersionId': call.input.VersionId }
        : {}),
      ...(typeof call.input.VersionStage === 'string'
        ? { 'secretsmanager:VersionStage': call.input.VersionStage }
        : {}),
    };
    const action = `secretsmanager:${call.operation}`;
    const requests: AwsRequest[] = [
      { action, resource: arn, context: await applicableContext(action, arn, context), origin },
    ];
    // With a customer-managed key, Secrets Manager decrypts (reads) and makes a data key (writes) as the caller.
    const kmsAction =
      call.operation === 'GetSecretValue'
        ? 'kms:Decrypt'
        : call.operation === 'PutSecretValue'
          ? 'kms:GenerateDataKey'
          : undefined;
    if (kmsAction) {
      requests.push({
        action: kmsAction,
        resource: KEY,
        context: {
          ...GLOBAL,
          'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
          'kms:CallerAccount': ACCOUNT,
          'kms:EncryptionContext:SecretARN': arn,
        },
        origin: `implied by ${origin}`,
      });
    }
    return requests;
  }
  if (call.service === 'dynamodb') {
    // DynamoDB authorizes item calls on the table ARN (the table's default encryption needs no KMS grant),
    // with the partition key and every top-level attribute the request names as condition keys.
    const action = `dynamodb:${call.operation}`;
    if (call.operation === 'BatchGetItem') {
      // One request per table, authorized on the table with every partition key it asks for.
      const tables = call.input.RequestItems as Record<string, { Keys: { pk?: { S?: string } }[] }>;
      return Promise.all(
        Object.entries(tables).map(async ([table, { Keys }]) => {
          const arn = tableArn(table);
          const context = {
            ...GLOBAL,
            'dynamodb:LeadingKeys': Keys.map((k) => String(k.pk?.S)),
            'dynamodb:ReturnValues': 'NONE',
          };
          return { action, resource: arn, context: await applicableContext(action, arn, context), origin };
        }),
      );
    }
    const arn = tableArn(String(call.input.TableName));
    const context = { ...GLOBAL, ...dynamoDbContext(call.input) };
    return [{ action, resource: arn, context: await applicableContext(action, arn, context), origin }];
  }
  const arn = parameterArn(String(call.input.Name));
  const action = `ssm:${call.operation}`;
  return [
    { action, resource: arn, context: await applicableContext(action, arn, GLOBAL), origin },
    ...(call.input.WithDecryption === true
      ? [
          {
            action: 'kms:Decrypt',
            resource: KEY,
            context: {
              ...GLOBAL,
              'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
              'kms:CallerAccount': ACCOUNT,
              'kms:EncryptionContext:PARAMETER_ARN': arn,
            },
            origin: `implied by ${origin}`,
          },
        ]
      : []),
  ];
}

/**
 * The DynamoDB condition keys of an item request: `dynamodb:LeadingKeys` (the partition key's value),
 * `dynamodb:Attributes` (every top-level attribute the request names: the key, and each path in its update,
 * condition and projection expressions, whether it is written or only read) and `dynamodb:ReturnValues`.
 */
function dynamoDbContext(input: Record<string, unknown>): Record<string, string | string[]> {
  // PutItem names its key in the item, and every attribute of the item is one it writes.
  const item = input.Item as Record<string, { S?: string }> | undefined;
  const key = (input.Key ?? (item ? { pk: item.pk } : {})) as Record<string, { S?: string }>;
  const names = (input.ExpressionAttributeNames ?? {}) as Record<string, string>;
  const attributes = new Set([...Object.keys(key), ...Object.keys(item ?? {})]);
  for (const field of ['UpdateExpression', 'ConditionExpression', 'ProjectionExpression']) {
    const text = input[field];
    if (typeof text === 'string') for (const name of topLevelAttributes(text, names)) attributes.add(name);
  }
  const context: Record<string, string | string[]> = {
    'dynamodb:LeadingKeys': [String(key.pk?.S)],
  };
  // GetItem without a projection reads the whole item: AWS sets no attribute list for it.
  if (input.UpdateExpression !== undefined || input.ProjectionExpression !== undefined || item) {
    context['dynamodb:Attributes'] = [...attributes].sort();
  }
  context['dynamodb:ReturnValues'] = typeof input.ReturnValues === 'string' ? input.ReturnValues : 'NONE';
  return context;
}

const EXPRESSION_WORDS = new Set(['set', 'remove', 'add', 'delete', 'and', 'or', 'not', 'between', 'in']);

/** The first element of every attribute path in a DynamoDB expression (`#a.#b[0]` is `a`). */
function topLevelAttributes(expression: string, names: Readonly<Record<string, string>>): string[] {
  const found: string[] = [];
  // A path starts at a name or a placeholder not preceded by `.`, `:` or part of a word; functions are skipped.
  for (const match of expression.matchAll(/(?<![\w#:.])(#?[A-Za-z_]\w*)(?!\w)(?!\s*\()/g)) {
    const token = match[1] as string;
    if (!token.startsWith('#') && EXPRESSION_WORDS.has(token.toLowerCase())) continue;
    const name = token.startsWith('#') ? names[token] : token;
    if (name === undefined) throw new Error(`expression names ${token} without a value: ${expression}`);
    found.push(name);
  }
  return found;
}

/** The Lambda service writes the function's logs as its role: a stream per container, events into it. */
function logRequests(group = logGroupName): AwsRequest[] {
  const stream = `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${group}:log-stream:2026/12/01/[$LATEST]0123456789abcdef`;
  return [
    { action: 'logs:CreateLogStream', resource: stream, context: GLOBAL, origin: 'Lambda service' },
    { action: 'logs:PutLogEvents', resource: stream, context: GLOBAL, origin: 'Lambda service' },
  ];
}

async function allRecordedRequests(): Promise<AwsRequest[]> {
  const requests: AwsRequest[] = [...logRequests()];
  for (const call of recorded) requests.push(...(await requestsFor(call)));
  return requests;
}

/** The audit run's calls as AWS authorizes them, with those made on its behalf. */
async function auditRequests(calls: readonly RecordedCall[] = auditRecorded): Promise<AwsRequest[]> {
  const requests: AwsRequest[] = [...logRequests(auditLogGroupName)];
  for (const call of calls) requests.push(...(await requestsFor(call)));
  return requests;
}

async function denied(iam: IamWorld, requests: AwsRequest[]): Promise<string[]> {
  const out: string[] = [];
  for (const request of requests) {
    if ((await evaluate(iam, request)) !== 'Allowed') out.push(`${request.action} (${request.origin})`);
  }
  return [...new Set(out)];
}

/** The calls the function must never be able to make, each expected to be denied. */
function neverAllowed(): { why: string; request: AwsRequest }[] {
  const prefixed = secretArn;
  const secretContext = (arn: string, lambda = functionArn) => ({
    ...GLOBAL,
    'secretsmanager:SecretId': arn,
    [`aws:ResourceTag/${TAG_KEY}`]: TAG_VALUE,
    'secretsmanager:resource/AllowRotationLambdaArn': lambda,
  });
  const outside = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:payroll/database-AbCdEf`;
  const lookalike = `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:pingone-payroll/db-AbCdEf`;
  const otherFunction = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:someone-elses-rotation`;
  const sm = (action: string, arn: string, lambda?: string) => ({
    action: `secretsmanager:${action}`,
    resource: arn,
    context: secretContext(arn, lambda),
  });
  const worker = parameterArn('/pingone/rotation-worker');
  const otherParameter = parameterArn('/prod/database/password');
  const kms = (action: string, context: Record<string, string>) => ({
    action,
    resource: KEY,
    context: { ...GLOBAL, ...context },
  });
  const cases: { why: string; request: AwsRequest }[] = [
    ...[
      'DeleteSecret',
      'CreateSecret',
      'UpdateSecret',
      'RotateSecret',
      'TagResource',
      'UntagResource',
      'PutResourcePolicy',
      'DeleteResourcePolicy',
      'RestoreSecret',
      'CancelRotateSecret',
    ].map((action) => ({ why: `${action} on a secret it rotates`, request: sm(action, prefixed) })),
    { why: 'read a secret outside the prefix', request: sm('GetSecretValue', outside) },
    { why: 'write a secret outside the prefix', request: sm('PutSecretValue', outside) },
    { why: 'read a secret whose name only starts like the prefix', request: sm('GetSecretValue', lookalike) },
    {
      why: 'read a secret under the prefix rotated by another function',
      request: sm('GetSecretValue', prefixed, otherFunction),
    },
    {
      why: 'write a secret under the prefix rotated by another function',
      request: sm('PutSecretValue', prefixed, otherFunction),
    },
    {
      why: 'move labels of a secret under the prefix rotated by another function',
      request: sm('UpdateSecretVersionStage', prefixed, otherFunction),
    },
    {
      why: 'read a secret under the prefix without the rotation tag',
      request: {
        action: 'secretsmanager:GetSecretValue',
        resource: prefixed,
        context: {
          ...GLOBAL,
          'secretsmanager:SecretId': prefixed,
          'secretsmanager:resource/AllowRotationLambdaArn': functionArn,
        },
      },
    },
    ...['Scan', 'Query', 'DeleteItem', 'BatchWriteItem', 'DeleteTable', 'UpdateTable', 'CreateBackup'].map(
      (action) => ({
        why: `${action} on the rotation ledger`,
        request: { action: `dynamodb:${action}`, resource: tableArn(ledgerTable), context: GLOBAL },
      }),
    ),
    {
      why: 'write an item of another table',
      request: { action: 'dynamodb:PutItem', resource: tableArn('payroll'), context: GLOBAL },
    },
    // No code calls PutItem: it replaces an item whole, binding and history included, unconditionally.
    {
      why: 'PutItem an owner item of the rotation ledger',
      request: {
        action: 'dynamodb:PutItem',
        resource: tableArn(ledgerTable),
        context: { ...GLOBAL, ...ledgerItem(OWNER_KEY, ['pk', 'binding', 'rev']) },
      },
    },
    {
      why: "replace the auditor's rate-limiter bucket",
      request: {
        action: 'dynamodb:PutItem',
        resource: tableArn(ledgerTable),
        context: { ...GLOBAL, ...ledgerItem('audit#limiter#worker:x', ['pk', 'nextAt', 'rev']) },
      },
    },
    {
      why: 'write a ledger item that is not an owner item',
      request: {
        action: 'dynamodb:UpdateItem',
        resource: tableArn(ledgerTable),
        context: { ...GLOBAL, ...ledgerItem('config#rotation', ['pk', 'binding', 'rev']) },
      },
    },
    {
      why: 'read a ledger item that is not an owner item',
      request: {
        action: 'dynamodb:GetItem',
        resource: tableArn(ledgerTable),
        context: { ...GLOBAL, 'dynamodb:LeadingKeys': ['config#rotation'] },
      },
    },
    {
      why: 'read an item of another table',
      request: { action: 'dynamodb:GetItem', resource: tableArn(`${ledgerTable}-other`), context: GLOBAL },
    },
    {
      why: 'read another SSM parameter',
      request: { action: 'ssm:GetParameter', resource: otherParameter, context: GLOBAL },
    },
    {
      why: 'overwrite the worker parameter',
      request: { action: 'ssm:PutParameter', resource: worker, context: GLOBAL },
    },
    {
      why: 'read parameters by path',
      request: { action: 'ssm:GetParametersByPath', resource: parameterArn('/pingone'), context: GLOBAL },
    },
    {
      why: 'decrypt with the key directly (not through Secrets Manager or SSM)',
      request: kms('kms:Decrypt', {
        'kms:EncryptionContext:SecretARN': prefixed,
        'kms:CallerAccount': ACCOUNT,
      }),
    },
    {
      why: 'decrypt a secret outside the prefix through Secrets Manager',
      request: kms('kms:Decrypt', {
        'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': outside,
      }),
    },
    {
      why: 'decrypt another parameter through SSM',
      request: kms('kms:Decrypt', {
        'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': otherParameter,
      }),
    },
    {
      why: 'encrypt for a secret outside the prefix through Secrets Manager',
      request: kms('kms:GenerateDataKey', {
        'kms:ViaService': `secretsmanager.${REGION}.amazonaws.com`,
        'kms:EncryptionContext:SecretARN': outside,
      }),
    },
    {
      why: 'encrypt (GenerateDataKey) through SSM (the function never writes parameters)',
      request: kms('kms:GenerateDataKey', {
        'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': worker,
      }),
    },
    {
      why: 'create its log group (the stack does)',
      request: {
        action: 'logs:CreateLogGroup',
        resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${logGroupName}`,
        context: GLOBAL,
      },
    },
    {
      why: 'write into another log group',
      request: {
        action: 'logs:PutLogEvents',
        resource: `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:/aws/lambda/pingone-secret-rotation-ci-rotate-other:log-stream:x`,
        context: GLOBAL,
      },
    },
  ];
  return cases;
}

/** An owner item's key as lib/ledger/record.ts spells it (kind first; what follows may change). */
const OWNER_KEY = 'resource#6e1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d#0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** The condition keys of an UpdateItem/PutItem on `key` naming `attributes`. */
function ledgerItem(key: string, attributes: string[]): Record<string, string | string[]> {
  return {
    'dynamodb:LeadingKeys': [key],
    'dynamodb:Attributes': attributes,
    'dynamodb:ReturnValues': 'NONE',
  };
}

/** The must-never cases the role allows (an empty list when it is minimal). */
async function violations(world: IamWorld): Promise<string[]> {
  const out: string[] = [];
  for (const { why, request } of neverAllowed()) {
    const context = await applicableContext(request.action, request.resource, request.context);
    const decision = await evaluate(world, { ...request, context });
    if (decision === 'Allowed') out.push(`${why}: ${describeRequest(request)}`);
  }
  return out;
}

/** A copy of the template with its role's secrets statement changed. */
function withSecretsStatement(change: (statement: Record<string, unknown>) => void): Template {
  const copy = JSON.parse(JSON.stringify(template)) as Template;
  const role = copy.Resources.IamRoleLambdaExecution as unknown as {
    Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
  };
  const statement = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement).find(
    (s) => s.Sid === 'RotateSecretsUnderPrefix',
  );
  if (!statement) throw new Error('no RotateSecretsUnderPrefix statement');
  change(statement);
  return copy;
}

describe('the execution role, by an IAM policy evaluator', () => {
  it('a full local rotation makes the expected AWS calls (the recording is real)', async () => {
    expect(invocations).toBe(4);
    const operations = new Set(recorded.map((c) => `${c.service}:${c.operation}`));
    expect([...operations].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
      'secretsmanager:UpdateSecretVersionStage',
      'ssm:GetParameter',
    ]);
    const requests = await allRecordedRequests();
    const put = requests.find((r) => r.action === 'secretsmanager:PutSecretValue');
    expect(put?.context).toMatchObject({
      'secretsmanager:resource/AllowRotationLambdaArn': functionArn,
      [`aws:ResourceTag/${TAG_KEY}`]: TAG_VALUE,
    });
    expect(requests.map((r) => r.action)).toEqual(
      expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey', 'logs:PutLogEvents']),
    );
  });

  it('allows every call of the rotation, and those made on its behalf', async () => {
    const iam = iamWorld(template);
    const denied: string[] = [];
    for (const request of await allRecordedRequests()) {
      if ((await evaluate(iam, request)) !== 'Allowed') denied.push(describeRequest(request));
    }
    expect(denied).toEqual([]);
  });

  it('denies every call on the must-never list', async () => {
    expect(await violations(iamWorld(template))).toEqual([]);
  });

  it('fails without the AllowRotationLambdaArn condition: secrets another function rotates become writable', async () => {
    const weakened = withSecretsStatement((statement) => {
      const condition = statement.Condition as { StringEquals: Record<string, unknown> };
      delete condition.StringEquals['secretsmanager:resource/AllowRotationLambdaArn'];
    });
    const found = await violations(iamWorld(weakened));
    expect(found.map((v) => v.split(':')[0])).toEqual([
      'read a secret under the prefix rotated by another function',
      'write a secret under the prefix rotated by another function',
      'move labels of a secret under the prefix rotated by another function',
    ]);
  });

  it('fails without the prefix scope: secrets outside the prefix become readable and writable', async () => {
    const weakened = withSecretsStatement((statement) => {
      statement.Resource = {
        'Fn::Sub': `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:*`,
      };
    });
    const found = await violations(iamWorld(weakened));
    expect(found.map((v) => v.split(':')[0])).toEqual([
      'read a secret outside the prefix',
      'write a secret outside the prefix',
      'read a secret whose name only starts like the prefix',
    ]);
  });

  it('fails with the ledger statement widened: other tables and the whole ledger become reachable', async () => {
    const copy = JSON.parse(JSON.stringify(template)) as Template;
    const role = copy.Resources.IamRoleLambdaExecution as unknown as {
      Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
    };
    const statement = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement).find(
      (st) => st.Sid === 'RotationLedgerItems',
    );
    if (!statement) throw new Error('no RotationLedgerItems statement');
    statement.Action = ['dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:Scan'];
    statement.Resource = {
      'Fn::Sub': 'arn:${AWS::Partition}:dynamodb:${AWS::Region}:${AWS::AccountId}:table/*',
    };
    delete statement.Condition;
    const found = await violations(iamWorld(copy));
    expect(found.map((v) => v.split(':')[0])).toEqual([
      'Scan on the rotation ledger',
      'write a ledger item that is not an owner item',
      'read a ledger item that is not an owner item',
      'read an item of another table',
    ]);
  });

  it('fails with PutItem granted again: an owner item could be replaced whole', async () => {
    const copy = JSON.parse(JSON.stringify(template)) as Template;
    const role = copy.Resources.IamRoleLambdaExecution as unknown as {
      Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
    };
    const statement = role.Properties.Policies.flatMap((p) => p.PolicyDocument.Statement).find(
      (st) => st.Sid === 'RotationLedgerItems',
    );
    if (!statement) throw new Error('no RotationLedgerItems statement');
    statement.Action = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];
    const found = await violations(iamWorld(copy));
    expect(found.map((v) => v.split(':')[0])).toEqual(['PutItem an owner item of the rotation ledger']);
  });

  it('fails when a needed grant is missing: without the SSM key statement the worker parameter cannot be decrypted', async () => {
    const copy = JSON.parse(JSON.stringify(template)) as Template;
    const kms = copy.Resources.RotateKmsPolicy as unknown as {
      Properties: { PolicyDocument: { Statement: { Sid?: string }[] } };
    };
    const document = kms.Properties.PolicyDocument;
    document.Statement = document.Statement.filter((s) => s.Sid !== 'WorkerParameterViaSsm');
    const iam = iamWorld(copy);
    const denied: string[] = [];
    for (const request of await allRecordedRequests()) {
      if ((await evaluate(iam, request)) !== 'Allowed') denied.push(`${request.action} (${request.origin})`);
    }
    expect([...new Set(denied)]).toEqual(['kms:Decrypt (implied by ssm:GetParameter)']);
  });

  it('in a VPC: Lambda may manage the function’s network interfaces, the function’s own code may not', async () => {
    const inVpc: Deployment = {
      ...deployment,
      parameters: {
        ...deployment.parameters,
        VpcSubnetIds: 'subnet-0123456789abcdef0,subnet-0fedcba9876543210',
        VpcSecurityGroupIds: 'sg-0123456789abcdef0',
      },
    };
    const iam = iamWorld(template, inVpc);
    const eni = `arn:aws:ec2:${REGION}:${ACCOUNT}:network-interface/eni-0123456789abcdef0`;
    const decisions: Record<string, string> = {};
    for (const action of ['ec2:CreateNetworkInterface', 'ec2:DeleteNetworkInterface']) {
      // Lambda's own call (no lambda:SourceFunctionArn), then the same call made by the function's code.
      decisions[`${action} by Lambda`] = await evaluate(iam, { action, resource: eni, context: GLOBAL });
      decisions[`${action} by the code`] = await evaluate(iam, {
        action,
        resource: eni,
        context: { ...GLOBAL, 'lambda:SourceFunctionArn': functionArn },
      });
    }
    expect(decisions).toEqual({
      'ec2:CreateNetworkInterface by Lambda': 'Allowed',
      'ec2:CreateNetworkInterface by the code': 'ExplicitlyDenied',
      'ec2:DeleteNetworkInterface by Lambda': 'Allowed',
      'ec2:DeleteNetworkInterface by the code': 'ExplicitlyDenied',
    });
    // Still no log actions beyond its own group: the VPC grant is not AWSLambdaVPCAccessExecutionRole's logs:*.
    expect(await violations(iam)).toEqual([]);
    // Without a VPC, no ENI action at all.
    expect(
      await evaluate(iamWorld(template), {
        action: 'ec2:CreateNetworkInterface',
        resource: eni,
        context: GLOBAL,
      }),
    ).toBe('ImplicitlyDenied');
  });
});

describe("the auditor's role, by the same evaluator", () => {
  const auditWorld = (tpl: Template = template) => iamWorld(tpl, deployment, 'AuditRole');

  it('an audit run reads the rotation ledger for each secret (the verdict needs it), and writes only its cursor', () => {
    const operations = new Set(auditRecorded.map((c) => `${c.service}:${c.operation}`));
    expect([...operations].sort()).toEqual([
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'secretsmanager:DescribeSecret',
      'secretsmanager:GetSecretValue',
      'secretsmanager:ListSecretVersionIds',
      'secretsmanager:ListSecrets',
      'ssm:GetParameter',
    ]);
    // The cursor's item, then the secret's owner item.
    const reads = auditRecorded.filter((c) => c.operation === 'GetItem');
    expect(reads.map((c) => [c.input.TableName, (c.input.Key as { pk: { S: string } }).pk.S])).toEqual([
      [ledgerTable, 'audit#cursor#pingone/'],
      [ledgerTable, expect.stringMatching(/^resource#/)],
    ]);
    const writes = auditRecorded.filter((c) => c.operation === 'PutItem');
    expect(writes.map((c) => dynamoDbContext(c.input)['dynamodb:LeadingKeys'])).toEqual([
      ['audit#cursor#pingone/'],
    ]);
  });

  it('allows every call of the audit run, and those made on its behalf', async () => {
    expect(await denied(auditWorld(), await auditRequests())).toEqual([]);
  });

  it('denies the writes and other tables: secrets, the ledger (retirement off), another table', async () => {
    const table = tableArn(ledgerTable);
    const secretContext = {
      ...GLOBAL,
      'secretsmanager:SecretId': secretArn,
      [`aws:ResourceTag/${TAG_KEY}`]: TAG_VALUE,
    };
    const requests: AwsRequest[] = [
      ...['PutSecretValue', 'UpdateSecretVersionStage', 'RotateSecret', 'DeleteSecret', 'TagResource'].map(
        (action) => ({
          action: `secretsmanager:${action}`,
          resource: secretArn,
          context: secretContext,
          origin: 'must never',
        }),
      ),
      ...['PutItem', 'UpdateItem', 'DeleteItem', 'Scan', 'Query'].map((action) => ({
        action: `dynamodb:${action}`,
        resource: table,
        context: GLOBAL,
        origin: 'must never',
      })),
      // Its cursor write, aimed at an owner's item or naming an owner item's attribute, or reading back.
      ...[
        ledgerItem(OWNER_KEY, ['pk', 'rev', 'position']),
        ledgerItem('audit#cursor#pingone/', ['pk', 'rev', 'binding']),
        { ...ledgerItem('audit#cursor#pingone/', ['pk', 'rev']), 'dynamodb:ReturnValues': 'ALL_OLD' },
      ].map((context) => ({
        action: 'dynamodb:PutItem',
        resource: table,
        context: { ...GLOBAL, ...context },
        origin: 'must never',
      })),
      {
        action: 'dynamodb:GetItem',
        resource: tableArn(`${ledgerTable}-other`),
        context: GLOBAL,
        origin: 'must never',
      },
    ];
    const allowed: string[] = [];
    for (const request of requests) {
      const context = await applicableContext(request.action, request.resource, request.context);
      if ((await evaluate(auditWorld(), { ...request, context })) === 'Allowed') {
        allowed.push(describeRequest(request));
      }
    }
    expect(allowed).toEqual([]);
  });

  it("with its own worker (AuditWorkerParameterName) it may read and decrypt that one, never the rotation function's", async () => {
    const own: Deployment = {
      ...deployment,
      parameters: { ...deployment.parameters, AuditWorkerParameterName: '/pingone/audit-worker' },
    };
    const iam = iamWorld(template, own, 'AuditRole');
    const read = (name: string): AwsRequest[] => [
      { action: 'ssm:GetParameter', resource: parameterArn(name), context: GLOBAL, origin: name },
      {
        action: 'kms:Decrypt',
        resource: KEY,
        context: {
          ...GLOBAL,
          'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
          'kms:CallerAccount': ACCOUNT,
          'kms:EncryptionContext:PARAMETER_ARN': parameterArn(name),
        },
        origin: `decrypt ${name}`,
      },
    ];
    const decisions: Record<string, string> = {};
    for (const request of [...read('/pingone/audit-worker'), ...read('/pingone/rotation-worker')]) {
      const context = await applicableContext(request.action, request.resource, request.context);
      decisions[`${request.action} ${request.origin}`] = await evaluate(iam, { ...request, context });
    }
    expect(decisions).toEqual({
      'ssm:GetParameter /pingone/audit-worker': 'Allowed',
      'kms:Decrypt decrypt /pingone/audit-worker': 'Allowed',
      'ssm:GetParameter /pingone/rotation-worker': 'ImplicitlyDenied',
      'kms:Decrypt decrypt /pingone/rotation-worker': 'ImplicitlyDenied',
    });
  });

  describe('with early retirement on', () => {
    const retiring: Deployment = {
      ...deployment,
      parameters: { ...deployment.parameters, RetireUnusedPreviousAfter: '36h' },
    };
    const table = () => tableArn(ledgerTable);
    /** Requests the auditor must not be able to make even with early retirement on. */
    const forbidden = (): AwsRequest[] => [
      // IAM sees the attribute names a request uses, not whether it sets or removes them: one probe covers
      // `SET binding = ...` and `REMOVE binding` (and a condition naming binding).
      ...['binding', 'intent', 'history', 'rev', 'ownerId'].map((attribute) => ({
        action: 'dynamodb:UpdateItem',
        resource: table(),
        context: { ...GLOBAL, ...ledgerItem(OWNER_KEY, ['pk', attribute, 'previousRetired']) },
        origin: `write ${attribute}`,
      })),
      {
        action: 'dynamodb:UpdateItem',
        resource: table(),
        context: { ...GLOBAL, ...ledgerItem('config#rotation', ['pk', 'previousRetired']) },
        origin: 'write an item that is not an owner item',
      },
      {
        action: 'dynamodb:UpdateItem',
        resource: table(),
        context: {
          ...GLOBAL,
          ...ledgerItem(OWNER_KEY, ['pk', 'previousRetired']),
          'dynamodb:ReturnValues': 'ALL_OLD',
        },
        origin: 'read the item back through ReturnValues',
      },
      ...['PutItem', 'DeleteItem'].map((action) => ({
        action: `dynamodb:${action}`,
        resource: table(),
        context: { ...GLOBAL, ...ledgerItem(OWNER_KEY, ['pk', 'previousRetired']) },
        origin: action,
      })),
    ];

    it('a retiring run retires the previous secret through the ledger, and every call of it is allowed', async () => {
      const writes = retireRecorded.filter((c) => c.service === 'dynamodb' && c.operation === 'UpdateItem');
      expect(writes.length).toBeGreaterThan(0);
      expect(
        await denied(iamWorld(template, retiring, 'AuditRole'), await auditRequests(retireRecorded)),
      ).toEqual([]);
    });

    it("denies every write of the rotation function's attributes (binding included), other keys and item replacement", async () => {
      const iam = iamWorld(template, retiring, 'AuditRole');
      const allowed: string[] = [];
      for (const request of forbidden()) {
        const context = await applicableContext(request.action, request.resource, request.context);
        if ((await evaluate(iam, { ...request, context })) === 'Allowed')
          allowed.push(describeRequest(request));
      }
      expect(allowed).toEqual([]);
    });

    it('no auditor write names the binding, the intent, the history or the revision', () => {
      for (const call of retireRecorded.filter((c) => c.operation === 'UpdateItem')) {
        const attributes = dynamoDbContext(call.input)['dynamodb:Attributes'] as string[];
        expect(attributes.filter((a) => ['binding', 'intent', 'history', 'rev'].includes(a))).toEqual([]);
      }
    });
  });

  it.each([
    ['ReadLedger', 'the ledger read every verdict needs', 'dynamodb:GetItem (dynamodb:GetItem)'],
    ['KeepAuditCursor', 'the cursor write', 'dynamodb:PutItem (dynamodb:PutItem)'],
  ])('fails without its %s grant: %s is denied', async (sid, _what, expected) => {
    const copy = JSON.parse(JSON.stringify(template)) as Template;
    const role = copy.Resources.AuditRole as unknown as {
      Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
    };
    for (const policy of role.Properties.Policies) {
      policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter((st) => st.Sid !== sid);
    }
    expect(await denied(auditWorld(copy), await auditRequests())).toEqual([expected]);
  });
});

describe("the distributed audit engine's roles (AuditEngine=distributed), by the same evaluator", () => {
  const table = () => tableArn(ledgerTable);
  const logsOf = (fn: string) => logRequests(`/aws/lambda/pingone-secret-rotation-ci-${fn}`);
  const requestsOf = async (calls: RecordedCall[], fn: string) => {
    const requests: AwsRequest[] = [...logsOf(fn)];
    for (const call of calls) requests.push(...(await requestsFor(call)));
    return requests;
  };
  const decisions = async (iam: IamWorld, requests: AwsRequest[]) => {
    const allowed: string[] = [];
    for (const request of requests) {
      const context = await applicableContext(request.action, request.resource, request.context);
      if ((await evaluate(iam, { ...request, context })) === 'Allowed')
        allowed.push(describeRequest(request));
    }
    return allowed;
  };
  const put = (key: string, attributes: string[]): AwsRequest => ({
    action: 'dynamodb:PutItem',
    resource: table(),
    context: { ...GLOBAL, ...ledgerItem(key, attributes) },
    origin: `PutItem ${key}`,
  });

  it('the sweep made the calls expected of each: the lister lists and writes batches and the cursor, the worker reads and draws tokens', () => {
    const keys = (calls: RecordedCall[], operation: string) =>
      calls
        .filter((c) => c.operation === operation)
        .map((c) => String(dynamoDbContext(c.input)['dynamodb:LeadingKeys']).replace(/#[^#]*$/, '#…'));
    expect(new Set(keys(listRecorded, 'PutItem'))).toEqual(
      new Set(['audit#batch#pingone/#…', 'audit#cursor#…', 'audit#sweep#…']),
    );
    expect(new Set(keys(workerRecorded, 'PutItem'))).toEqual(new Set(['audit#limiter#…']));
    expect(listRecorded.some((c) => c.operation === 'GetSecretValue')).toBe(false);
    expect(workerRecorded.some((c) => c.operation === 'ListSecrets')).toBe(false);
  });

  it('allows every call of the lister and of the worker under their own roles', async () => {
    expect(
      await denied(
        iamWorld(template, distributed, 'AuditListRole'),
        await requestsOf(listRecorded, 'auditList'),
      ),
    ).toEqual([]);
    expect(
      await denied(
        iamWorld(template, distributed, 'AuditWorkerRole'),
        await requestsOf(workerRecorded, 'auditWorker'),
      ),
    ).toEqual([]);
  });

  it("denies each role the other's work and every owner item", async () => {
    const secretContext = {
      ...GLOBAL,
      'secretsmanager:SecretId': secretArn,
      [`aws:ResourceTag/${TAG_KEY}`]: TAG_VALUE,
    };
    const lister: AwsRequest[] = [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: secretArn,
        context: secretContext,
        origin: 'read a value',
      },
      put(OWNER_KEY, ['pk', 'binding']),
      put('audit#limiter#worker:x', ['pk', 'nextAt', 'rev']),
      put('audit#sweep#pingone/', ['pk', 'sweepId', 'binding']),
      {
        action: 'dynamodb:GetItem',
        resource: table(),
        context: { ...GLOBAL, 'dynamodb:LeadingKeys': [OWNER_KEY] },
        origin: 'read an owner',
      },
    ];
    const worker: AwsRequest[] = [
      { action: 'secretsmanager:ListSecrets', resource: '*', context: GLOBAL, origin: 'list' },
      {
        action: 'secretsmanager:PutSecretValue',
        resource: secretArn,
        context: secretContext,
        origin: 'write a value',
      },
      put(OWNER_KEY, ['pk', 'nextAt', 'rev']),
      put('audit#cursor#pingone/', ['pk', 'rev', 'position']),
      put('audit#batch#pingone/#0', ['pk', 'sweepId', 'entries']),
      put('audit#sweep#pingone/', ['pk', 'sweepId', 'execution', 'expiresAt']),
      put('audit#limiter#worker:x', ['pk', 'nextAt', 'binding']),
      {
        action: 'dynamodb:UpdateItem',
        resource: table(),
        context: { ...GLOBAL, ...ledgerItem(OWNER_KEY, ['pk', 'retirement']) },
        origin: 'retire',
      },
    ];
    expect(await decisions(iamWorld(template, distributed, 'AuditListRole'), lister)).toEqual([]);
    expect(await decisions(iamWorld(template, distributed, 'AuditWorkerRole'), worker)).toEqual([]);
  });

  it('the state machine invokes only its two functions and runs only its own child executions; the schedule only starts it', async () => {
    const fn = (name: string) =>
      `arn:aws:lambda:${REGION}:${ACCOUNT}:function:pingone-secret-rotation-ci-${name}`;
    const resources = new TemplateEvaluator(template, distributed).resources();
    const own = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:pingone-secret-rotation-ci-audit`;
    const other = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:someone-else`;
    const execution = `arn:aws:states:${REGION}:${ACCOUNT}:execution:pingone-secret-rotation-ci-audit/JudgeBatches:0a1b2c3d-e5f6`;
    // A map child execution: <state machine>/<map label>:<id>. GetAtt stays a placeholder in the evaluated
    // template: replaced by the functions' ARNs here.
    const roles = rolePolicies(template, distributed, 'AuditStateMachineRole').map((p) =>
      JSON.stringify(p.policy)
        .replaceAll('<AuditListLambdaFunction.Arn>', fn('auditList'))
        .replaceAll('<AuditWorkerLambdaFunction.Arn>', fn('auditWorker')),
    );
    const iam: IamWorld = {
      accountId: ACCOUNT,
      principal: `arn:aws:iam::${ACCOUNT}:role/pingone-secret-rotation-ci-AuditStateMachineRole-1A2B`,
      identityPolicies: roles.map((policy, i) => ({ name: `p${i}`, policy: JSON.parse(policy) })),
    };
    const ask = (action: string, resource: string) => evaluate(iam, { action, resource, context: GLOBAL });
    expect({
      list: await ask('lambda:InvokeFunction', fn('auditList')),
      worker: await ask('lambda:InvokeFunction', fn('auditWorker')),
      rotate: await ask('lambda:InvokeFunction', fn('rotate')),
      audit: await ask('lambda:InvokeFunction', fn('audit')),
      start: await ask('states:StartExecution', own),
      startOther: await ask('states:StartExecution', other),
      describe: await ask('states:DescribeExecution', execution),
      stopOther: await ask(
        'states:StopExecution',
        `arn:aws:states:${REGION}:${ACCOUNT}:execution:someone-else:x`,
      ),
    }).toEqual({
      list: 'Allowed',
      worker: 'Allowed',
      rotate: 'ImplicitlyDenied',
      audit: 'ImplicitlyDenied',
      start: 'Allowed',
      startOther: 'ImplicitlyDenied',
      describe: 'Allowed',
      stopOther: 'ImplicitlyDenied',
    });
    expect(resources.AuditStateMachine?.Properties.StateMachineName).toBe('pingone-secret-rotation-ci-audit');
  });

  it('with early retirement on, the worker may make the retirement writes (the same calls as the single auditor), nothing more of an owner item', async () => {
    const retiring: Deployment = {
      ...distributed,
      parameters: { ...distributed.parameters, RetireUnusedPreviousAfter: '36h' },
    };
    // The worker retires with the single auditor's code (lib/audit/retire.ts, ledger-retirement.ts): the calls
    // that run recorded are the worker's calls.
    const writes = retireRecorded.filter((c) => c.service === 'dynamodb' && c.operation === 'UpdateItem');
    expect(writes.length).toBeGreaterThan(0);
    const requests: AwsRequest[] = [];
    for (const call of writes) requests.push(...(await requestsFor(call)));
    const iam = iamWorld(template, retiring, 'AuditWorkerRole');
    expect(await denied(iam, requests)).toEqual([]);
    const update = (attributes: string[], origin: string, key = OWNER_KEY): AwsRequest => ({
      action: 'dynamodb:UpdateItem',
      resource: table(),
      context: { ...GLOBAL, ...ledgerItem(key, attributes) },
      origin,
    });
    expect(
      await decisions(iam, [
        ...['binding', 'intent', 'history', 'rev'].map((a) => update(['pk', a, 'retirement'], `write ${a}`)),
        update(['pk', 'retirement'], 'a key that is not an owner', 'audit#cursor#pingone/'),
        put(OWNER_KEY, ['pk', 'retirement']),
      ]),
    ).toEqual([]);
  });

  it("fails without the worker's limiter grant: its token draws are denied", async () => {
    const copy = JSON.parse(JSON.stringify(template)) as Template;
    const role = copy.Resources.AuditWorkerRole as unknown as {
      Properties: { Policies: { PolicyDocument: { Statement: Record<string, unknown>[] } }[] };
    };
    for (const policy of role.Properties.Policies) {
      policy.PolicyDocument.Statement = policy.PolicyDocument.Statement.filter(
        (st) => st.Sid !== 'DrawOnPingOneLimiter',
      );
    }
    expect(
      await denied(
        iamWorld(copy, distributed, 'AuditWorkerRole'),
        await requestsOf(workerRecorded, 'auditWorker'),
      ),
    ).toEqual(['dynamodb:PutItem (dynamodb:PutItem)']);
  });
});

/**
 * Issue 19: the stack names several workers (PingOneWorkers, the PINGONE_WORKERS JSON). CloudFormation cannot
 * read the JSON, so the roles read worker parameters under WorkerParameterPath and worker secrets under the
 * prefix (rotated secrets). A rotation in each of two regions, one worker's credential in SSM and the other's in
 * Secrets Manager, and an audit run, recorded and replayed against the roles of that deployment.
 */
describe('with PingOneWorkers (a worker per PingOne organization), by the same evaluator', () => {
  const rotationCalls: RecordedCall[] = [];
  const auditCalls: RecordedCall[] = [];
  const WORKER_PARAMETER = '/pingone/workers/na';
  const WORKER_SECRET = 'pingone/workers/eu';
  let workers: Deployment;

  beforeAll(async () => {
    const recordInto = <C extends SecretsManagerClient | SSMClient | DynamoDBClient>(
      client: C,
      service: RecordedCall['service'],
      into: RecordedCall[],
    ): C => {
      (client.middlewareStack as SecretsManagerClient['middlewareStack']).add(
        (next, context) => async (args) => {
          into.push({
            service,
            operation: String(context.commandName).replace(/Command$/, ''),
            input: { ...(args.input as Record<string, unknown>) },
          });
          return next(args);
        },
        { step: 'initialize', name: 'recordAwsCalls' },
      );
      return client;
    };
    const clients = (into: RecordedCall[]) => ({
      secretsManager: recordInto(
        new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
        'secretsmanager',
        into,
      ),
      ssm: recordInto(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm', into),
      dynamodb: recordInto(new DynamoDBClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'dynamodb', into),
    });
    const na = world.regionWorkers.find((w) => w.region === 'NA')?.credentials;
    const eu = world.regionWorkers.find((w) => w.region === 'EU')?.credentials;
    if (!na || !eu) throw new Error('the world has no NA and EU workers');
    // NA's worker in SSM under the path; EU's in Secrets Manager under the prefix, rotated by this function.
    await world.ssm.send(
      new PutParameterCommand({
        Name: WORKER_PARAMETER,
        Type: 'SecureString',
        Value: JSON.stringify({ ...na }),
      }),
    );
    const { arn: workerSecretArn } = await world.secrets.create({
      name: WORKER_SECRET,
      secretString: JSON.stringify({
        environmentId: eu.environmentId,
        applicationId: eu.clientId,
        clientSecret: eu.clientSecret,
        region: 'EU',
      }),
      tags: { [TAG_KEY]: TAG_VALUE },
    });
    // moto records the rotation settings, then fails to find the Lambda function: the state wanted here.
    await world.secrets
      .rotate(workerSecretArn, {
        lambdaArn: functionArn,
        automaticallyAfterDays: 30,
        rotateImmediately: false,
      })
      .catch((error: Error) => {
        if (error.name !== 'ResourceNotFoundException') throw error;
      });
    const described = await world.secretsManager.send(
      new DescribeSecretCommand({ SecretId: workerSecretArn }),
    );
    expect(described.RotationLambdaARN).toBe(functionArn);
    const list = JSON.stringify([
      { name: 'na', region: 'NA', parameter: WORKER_PARAMETER, environments: '*' },
      { name: 'eu', region: 'EU', secret: WORKER_SECRET, environments: '*' },
    ]);
    workers = {
      ...deployment,
      parameters: { ...deployment.parameters, WorkerParameterName: '', PingOneWorkers: list },
    };
    const env = { ...world.functionEnv, PINGONE_WORKERS: list };
    const handler = createRotationHandler({
      env,
      ...clients(rotationCalls),
      now: () => world.sim.clock.now().getTime(),
    });
    const driver = new LocalRotationDriver({
      secretsManager: world.secretsManager,
      invoke: (event, context) => handler(event as never, context),
      rotationLambdaArn: functionArn,
    });
    const quietRotations = new OutputCapture().start();
    try {
      for (const region of ['NA', 'EU'] as const) {
        const secret = await world.createRotatableSecret({
          name: `pingone/iam/workers-${region.toLowerCase()}`,
          region,
          tags: { [TAG_KEY]: TAG_VALUE },
        });
        const report = await driver.rotate(secret.arn);
        expect(report.ok, report.error).toBe(true);
      }
    } finally {
      quietRotations.stop();
    }
    const audit = createAuditHandler({
      env: { ...env, AUDIT_SECRET_NAME_PREFIX: 'pingone/', AUDIT_ROTATION_FUNCTION_ARN: functionArn },
      ...clients(auditCalls),
    });
    const quiet = new OutputCapture().start();
    await audit({}, lambdaContext(Date.now(), 120_000)).finally(() => quiet.stop());
  }, 120_000);

  const requestsOf = async (calls: readonly RecordedCall[], group: string) => {
    const requests: AwsRequest[] = [...logRequests(group)];
    for (const call of calls) requests.push(...(await requestsFor(call)));
    return requests;
  };
  const read = (name: string): AwsRequest[] => [
    { action: 'ssm:GetParameter', resource: parameterArn(name), context: GLOBAL, origin: name },
    {
      action: 'kms:Decrypt',
      resource: KEY,
      context: {
        ...GLOBAL,
        'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
        'kms:CallerAccount': ACCOUNT,
        'kms:EncryptionContext:PARAMETER_ARN': parameterArn(name),
      },
      origin: name,
    },
  ];
  const decisions = async (iam: IamWorld, requests: AwsRequest[]) => {
    const out: Record<string, string> = {};
    for (const request of requests) {
      const context = await applicableContext(request.action, request.resource, request.context);
      out[`${request.action} ${request.origin}`] = await evaluate(iam, { ...request, context });
    }
    return out;
  };

  it('the recorded runs read each worker where the deployment names it (SSM under the path, the secret under the prefix)', () => {
    for (const calls of [rotationCalls, auditCalls]) {
      const reads = calls.map((c) => `${c.operation} ${String(c.input.Name ?? c.input.SecretId)}`);
      expect(reads).toContain(`GetParameter ${WORKER_PARAMETER}`);
      expect(reads.some((r) => r.startsWith('GetSecretValue') && r.includes(WORKER_SECRET))).toBe(true);
    }
  });

  it("allows every call of the rotation and of the audit run under that deployment's roles", async () => {
    expect(await denied(iamWorld(template, workers), await requestsOf(rotationCalls, logGroupName))).toEqual(
      [],
    );
    expect(
      await denied(iamWorld(template, workers, 'AuditRole'), await requestsOf(auditCalls, auditLogGroupName)),
    ).toEqual([]);
  });

  it("the single-worker stack's roles may not read the workers' parameters (the path grant is what allows it)", async () => {
    const refused = await denied(iamWorld(template), await requestsOf(rotationCalls, logGroupName));
    expect(refused).toEqual([
      'ssm:GetParameter (ssm:GetParameter)',
      'kms:Decrypt (implied by ssm:GetParameter)',
    ]);
  });

  it('each role may read and decrypt parameters under WorkerParameterPath only: not the single worker, a lookalike path or another parameter', async () => {
    const distributedWorkers: Deployment = {
      ...workers,
      parameters: { ...workers.parameters, AuditEngine: 'distributed' },
    };
    const requests = [
      ...read('/pingone/workers/eu-2'),
      ...read('/pingone/rotation-worker'),
      ...read('/pingone/workers-payroll/eu'),
      ...read('/prod/database/password'),
    ];
    const expected = {
      'ssm:GetParameter /pingone/workers/eu-2': 'Allowed',
      'kms:Decrypt /pingone/workers/eu-2': 'Allowed',
      'ssm:GetParameter /pingone/rotation-worker': 'ImplicitlyDenied',
      'kms:Decrypt /pingone/rotation-worker': 'ImplicitlyDenied',
      'ssm:GetParameter /pingone/workers-payroll/eu': 'ImplicitlyDenied',
      'kms:Decrypt /pingone/workers-payroll/eu': 'ImplicitlyDenied',
      'ssm:GetParameter /prod/database/password': 'ImplicitlyDenied',
      'kms:Decrypt /prod/database/password': 'ImplicitlyDenied',
    };
    for (const [dep, role] of [
      [workers, 'IamRoleLambdaExecution'],
      [workers, 'AuditRole'],
      [distributedWorkers, 'AuditWorkerRole'],
    ] as const) {
      expect({ role, ...(await decisions(iamWorld(template, dep, role), requests)) }).toEqual({
        role,
        ...expected,
      });
    }
  });
});
