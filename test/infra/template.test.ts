import { execFile, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { BuildOptions } from 'esbuild';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageService } from '../support/osls-package.js';
import {
  asObject,
  asString,
  type Deployment,
  type Json,
  type JsonObject,
  satisfiesConstraints,
  type Template,
  TemplateEvaluator,
  toList,
} from './cloudformation.js';
import { readZip } from './zip.js';

const run = promisify(execFile);
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ARTIFACT = 'pingone-secret-rotation.zip';

const account = '123456789012';
const region = 'eu-central-1';
const keyA = `arn:aws:kms:${region}:${account}:key/11111111-2222-3333-4444-555555555555`;
const environmentIds = '3f1c6f0e-8d4b-4d8e-9a51-0b6f3c2d1e7a,9b2e4c1a-7f3d-4a6b-8c5e-1d0f2a3b4c5d';
const keyB = `arn:aws:kms:${region}:${account}:key/66666666-7777-8888-9999-000000000000`;

/** Template defaults: no tag condition, no KMS key, no e-mail, no example secret. */
const defaults: Deployment = { region, accountId: account, stackName: 'pingone-secret-rotation-ci' };
/** Every optional feature switched on. */
const everything: Deployment = {
  ...defaults,
  parameters: {
    WorkerParameterName: 'pingone-worker',
    SecretTagValue: 'rotator',
    KmsKeyArn: `${keyA},${keyB}`,
    AlarmEmail: 'ops@example.com',
    CreateExampleSecret: 'true',
  },
};

let workDir: string;
let templatePath: string;
let template: Template;
let artifact: Map<string, Buffer>;

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pingone-infra-'));
  const packageDir = join(workDir, 'package');
  await packageService(packageDir);
  templatePath = join(packageDir, 'cloudformation-template-update-stack.json');
  template = JSON.parse(await readFile(templatePath, 'utf8')) as Template;
  artifact = readZip(await readFile(join(packageDir, ARTIFACT)));
}, 90_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

interface Statement {
  Effect: string;
  Action: string[];
  NotAction: string[];
  Resource: string[];
  Condition?: JsonObject;
  Principal?: Json;
}

function statementsOf(document: Json | undefined): Statement[] {
  return toList(asObject(document, 'PolicyDocument').Statement).map((raw) => {
    const s = asObject(raw, 'Statement');
    return {
      Effect: asString(s.Effect, 'Effect'),
      Action: toList(s.Action).map((a) => asString(a, 'Action')),
      NotAction: toList(s.NotAction).map((a) => asString(a, 'NotAction')),
      Resource: toList(s.Resource).map((r) => asString(r, 'Resource')),
      ...(s.Condition === undefined ? {} : { Condition: asObject(s.Condition, 'Condition') }),
      ...(s.Principal === undefined ? {} : { Principal: s.Principal }),
    };
  });
}

/** Statements of every identity policy on the function's execution role (inline and attached). */
function roleStatements(deployment: Deployment): Statement[] {
  const resources = new TemplateEvaluator(template, deployment).resources();
  const role = resources.IamRoleLambdaExecution;
  if (!role) throw new Error('no IamRoleLambdaExecution');
  const inline = toList(role.Properties.Policies).flatMap((p) =>
    statementsOf(asObject(p, 'Policy').PolicyDocument),
  );
  const attached = Object.values(resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy' || r.Type === 'AWS::IAM::ManagedPolicy')
    .flatMap((r) => {
      expect(r.Properties.Roles).toEqual(['<ref:IamRoleLambdaExecution>']);
      return statementsOf(r.Properties.PolicyDocument);
    });
  return [...inline, ...attached];
}

/** Every policy statement anywhere in the evaluated template (identity and resource policies). */
function allStatements(deployment: Deployment): Statement[] {
  const found: Statement[] = [];
  const walk = (node: Json): void => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node !== null && typeof node === 'object') {
      if ('Statement' in node && 'Version' in node) found.push(...statementsOf(node));
      else Object.values(node).forEach(walk);
    }
  };
  for (const resource of Object.values(new TemplateEvaluator(template, deployment).resources())) {
    walk(resource.Properties);
  }
  return found;
}

/** Whether the stack parameter `name` accepts `value` at deploy time. */
function accepts(name: string, value: string): boolean {
  const parameter = template.Parameters?.[name];
  if (!parameter) throw new Error(`no stack parameter ${name}`);
  return satisfiesConstraints(parameter, value);
}

function resourcesOf(deployment: Deployment) {
  return new TemplateEvaluator(template, deployment).resources();
}

function only<T>(items: T[], what: string): T {
  expect(items, what).toHaveLength(1);
  return items[0] as T;
}

const secretsPolicy = (statements: Statement[]) =>
  only(
    statements.filter((s) => s.Action.some((a) => a.startsWith('secretsmanager:'))),
    'statements granting secretsmanager actions',
  );

describe('execution role (least privilege)', () => {
  it.each([
    ['defaults', defaults],
    ['every option on', everything],
  ])('allows no wildcard or NotAction actions in any policy (%s)', (_, deployment) => {
    const statements = allStatements(deployment);
    expect(statements.length).toBeGreaterThan(4);
    for (const s of statements.filter((st) => st.Effect === 'Allow')) {
      expect(s.NotAction, JSON.stringify(s)).toEqual([]);
      for (const action of s.Action) expect(action, JSON.stringify(s)).not.toContain('*');
    }
  });

  it.each([
    ['defaults', defaults, 'pingone/'],
    ['every option on', everything, 'pingone/'],
    [
      'another prefix',
      { ...defaults, parameters: { SecretNamePrefix: 'team-a/pingone/' } },
      'team-a/pingone/',
    ],
  ])(
    'grants the four rotation actions only on secrets under the name prefix (%s)',
    (_, deployment, prefix) => {
      const statements = roleStatements(deployment);
      const secrets = secretsPolicy(statements);
      expect([...secrets.Action].sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ]);
      expect(secrets.Resource).toEqual([`arn:aws:secretsmanager:${region}:${account}:secret:${prefix}*`]);
      // No other statement may carry a write action (e.g. on '*').
      const writers = statements.filter((s) =>
        s.Action.some(
          (a) => a === 'secretsmanager:PutSecretValue' || a === 'secretsmanager:UpdateSecretVersionStage',
        ),
      );
      expect(writers).toEqual([secrets]);
      for (const s of statements) expect(s.Resource, JSON.stringify(s)).not.toContain('*');
    },
  );

  it('rejects an empty, wildcard or open-ended secret-name prefix at deploy time (it must end with "/")', () => {
    for (const ok of ['pingone/', 'team-a/pingone/', 'a/'])
      expect(accepts('SecretNamePrefix', ok), ok).toBe(true);
    // "pingone" or "team-a/pingone-" would also match "pingone-payroll/…": IAM compares ARNs as strings.
    for (const bad of ['', '/', '*', 'pingone', 'team-a/pingone-', 'pingone/*', 'ping?ne/', '/pingone/']) {
      expect(accepts('SecretNamePrefix', bad), bad).toBe(false);
    }
  });

  it('lets the role touch only secrets whose rotation runs this function (AllowRotationLambdaArn)', () => {
    for (const deployment of [defaults, everything]) {
      const condition = secretsPolicy(roleStatements(deployment)).Condition;
      expect(
        asObject(condition?.StringEquals, 'StringEquals')['secretsmanager:resource/AllowRotationLambdaArn'],
      ).toBe(
        `arn:aws:lambda:${region}:${account}:function:${String(resourcesOf(deployment).RotateLambdaFunction?.Properties.FunctionName)}`,
      );
    }
  });

  it('adds the resource-tag condition only when a tag value is configured', () => {
    const tagOnly = { ...defaults, parameters: { SecretTagValue: 'rotator' } };
    const everythingButTag = { ...everything, parameters: { ...everything.parameters, SecretTagValue: '' } };
    const lambda = `arn:aws:lambda:${region}:${account}:function:pingone-secret-rotation-ci-rotate`;
    for (const deployment of [defaults, everythingButTag]) {
      expect(secretsPolicy(roleStatements(deployment)).Condition).toEqual({
        StringEquals: { 'secretsmanager:resource/AllowRotationLambdaArn': lambda },
      });
    }
    for (const deployment of [tagOnly, everything]) {
      expect(secretsPolicy(roleStatements(deployment)).Condition).toEqual({
        StringEquals: {
          'secretsmanager:resource/AllowRotationLambdaArn': lambda,
          'aws:ResourceTag/pingone:rotation': 'rotator',
        },
      });
    }
  });

  it.each([
    ['/pingone/rotation-worker', 'parameter/pingone/rotation-worker'],
    ['pingone-worker', 'parameter/pingone-worker'],
    ['team/pingone-worker', 'parameter/team/pingone-worker'],
  ])('reads only the worker parameter %s, and passes the same name to the function', (name, arnSuffix) => {
    const deployment = { ...defaults, parameters: { WorkerParameterName: name } };
    const statements = roleStatements(deployment);
    const ssm = only(
      statements.filter((s) => s.Action.some((a) => a.startsWith('ssm:'))),
      'statements granting ssm actions',
    );
    expect(ssm.Action).toEqual(['ssm:GetParameter']);
    expect(ssm.Resource).toEqual([`arn:aws:ssm:${region}:${account}:${arnSuffix}`]);
    const fn = resourcesOf(deployment).RotateLambdaFunction;
    expect(
      asObject(asObject(fn?.Properties.Environment, 'Environment').Variables, 'Variables'),
    ).toMatchObject({
      PINGONE_WORKER_PARAMETER: name,
    });
  });

  it('rejects malformed worker parameter names at deploy time (empty: PingOneWorkers names the workers)', () => {
    for (const ok of ['/pingone/rotation-worker', 'pingone-worker', 'team/pingone.worker_1', '']) {
      expect(accepts('WorkerParameterName', ok), ok).toBe(true);
    }
    for (const bad of ['/', '//pingone', '/pingone/', '/pingone//worker', '/pingone/*']) {
      expect(accepts('WorkerParameterName', bad), bad).toBe(false);
    }
  });

  it('grants no KMS access without a customer-managed key', () => {
    const kms = roleStatements(defaults).filter((s) => s.Action.some((a) => a.startsWith('kms:')));
    expect(kms).toEqual([]);
    expect(resourcesOf(defaults).RotateKmsPolicy).toBeUndefined();
  });

  it('lets KMS keys be used only through Secrets Manager and SSM, for the owning secret or parameter', () => {
    const kms = roleStatements(everything).filter((s) => s.Action.some((a) => a.startsWith('kms:')));
    expect(kms.map((s) => [...s.Action].sort())).toEqual([
      ['kms:Decrypt', 'kms:GenerateDataKey'],
      ['kms:Decrypt'],
    ]);
    for (const s of kms) expect(s.Resource).toEqual([keyA, keyB]);
    const [secrets, parameter] = kms;
    expect(secrets?.Condition).toEqual({
      StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
      StringLike: {
        'kms:EncryptionContext:SecretARN': `arn:aws:secretsmanager:${region}:${account}:secret:pingone/*`,
      },
    });
    expect(parameter?.Condition).toEqual({
      StringEquals: {
        'kms:ViaService': `ssm.${region}.amazonaws.com`,
        'kms:EncryptionContext:PARAMETER_ARN': `arn:aws:ssm:${region}:${account}:parameter/pingone-worker`,
      },
    });
  });

  it('writes logs only into its own log group: no CreateLogGroup, no TagResource, no wildcard group', () => {
    const logs = roleStatements(defaults).filter((s) => s.Action.some((a) => a.startsWith('logs:')));
    const group = `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/pingone-secret-rotation-ci-rotate`;
    expect(logs.map((s) => [s.Action, s.Resource])).toEqual([
      [['logs:CreateLogStream'], [`${group}:*`]],
      [['logs:PutLogEvents'], [`${group}:log-stream:*`]],
    ]);
  });

  it('is the role written in infra/role.yml, not one generated by osls', () => {
    expect(template.Resources.RotateLambdaFunction?.Properties?.Role).toEqual({
      'Fn::GetAtt': ['IamRoleLambdaExecution', 'Arn'],
    });
    const role = resourcesOf(defaults).IamRoleLambdaExecution;
    expect(toList(role?.Properties.Policies)).toHaveLength(1);
  });
});

describe('invoke permission', () => {
  it('lets only Secrets Manager, acting for this account, invoke the rotation function', () => {
    const permissions = Object.values(template.Resources).filter(
      (r) =>
        r.Type === 'AWS::Lambda::Permission' &&
        JSON.stringify(r.Properties?.FunctionName).includes('RotateLambdaFunction'),
    );
    const permission = only(permissions, 'Lambda permissions on the rotation function');
    expect(permission.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'] },
      Principal: 'secretsmanager.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
  });
});

describe('function', () => {
  const fn = () => {
    const resource = resourcesOf(defaults).RotateLambdaFunction;
    if (!resource) throw new Error('no RotateLambdaFunction');
    return resource;
  };

  it('runs the bundled handler on nodejs24.x/arm64 with a timeout that leaves room for retries', () => {
    const p = fn().Properties;
    expect(p.Handler).toBe('functions/rotate.handler');
    expect(p.Runtime).toBe('nodejs24.x');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.Timeout).toBeGreaterThanOrEqual(60);
    expect(p.Timeout).toBeLessThanOrEqual(120);
    expect(p.MemorySize).toBeGreaterThanOrEqual(256);
    expect(p.Role).toBe('<IamRoleLambdaExecution.Arn>');
  });

  it('is not in a VPC (it needs internet egress to PingOne) and has no low concurrency limit', () => {
    const p = fn().Properties;
    expect(p.VpcConfig).toBeUndefined();
    if (p.ReservedConcurrentExecutions !== undefined)
      expect(p.ReservedConcurrentExecutions).toBeGreaterThanOrEqual(10);
  });

  it('bounds the rotations that run at once by RotationReservedConcurrency: unreserved by default, else >= 10', () => {
    expect(fn().Properties.ReservedConcurrentExecutions).toBeUndefined();
    const bounded = resourcesOf({ ...defaults, parameters: { RotationReservedConcurrency: '25' } });
    expect(Number(bounded.RotateLambdaFunction?.Properties.ReservedConcurrentExecutions)).toBe(25);
    for (const ok of ['0', '10', '25', '9999'])
      expect(accepts('RotationReservedConcurrency', ok), ok).toBe(true);
    // Below 10 a rotation's own steps throttle each other (AWS: rotation loops); no sign, no fraction.
    for (const bad of ['1', '9', '', '-10', '10.5', '010', '10000']) {
      expect(accepts('RotationReservedConcurrency', bad), bad).toBe(false);
    }
  });

  it('gets its configuration from the stack parameters', () => {
    const variables = asObject(asObject(fn().Properties.Environment, 'Environment').Variables, 'Variables');
    expect(variables).toEqual({
      PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
      PINGONE_WORKERS: '',
      PINGONE_REGION: 'NA',
      PINGONE_API_URL: '',
      PINGONE_AUTH_URL: '',
      PREVIOUS_SECRET_TTL: '7d',
      PREVIOUS_SECRET_IN_USE_WINDOW: '1h',
      TAG_MIN_PREVIOUS_SECRET_TTL: '',
      TAG_IN_USE_WINDOW_MAY: 'lengthen',
      PINGONE_ALLOWED_ENVIRONMENTS: '',
      ROTATION_PINGONE_REQUESTS_PER_SECOND: '0',
      ROTATION_LEDGER_TABLE: '<ref:RotationLedgerTable>',
      POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    });
    const overridden = resourcesOf({
      ...defaults,
      parameters: { PingOneRegion: 'EU', PreviousSecretTtl: '12h', AllowedEnvironments: environmentIds },
    }).RotateLambdaFunction;
    expect(
      asObject(asObject(overridden?.Properties.Environment, 'Environment').Variables, 'Variables'),
    ).toMatchObject({
      PINGONE_REGION: 'EU',
      PREVIOUS_SECRET_TTL: '12h',
      PINGONE_ALLOWED_ENVIRONMENTS: environmentIds,
    });
  });

  it('bounds what tags may do with stack parameters, safe by default (issue 17, finding 6)', () => {
    // Defaults: tags may only lengthen the TTL (empty minimum = PreviousSecretTtl) and the in-use window.
    const deployed = resourcesOf({
      ...defaults,
      parameters: { TagMinPreviousSecretTtl: '1h', TagInUseWindowMay: 'switch-off' },
    });
    for (const name of ['RotateLambdaFunction', 'AuditLambdaFunction']) {
      const variables = asObject(
        asObject(deployed[name]?.Properties.Environment, 'Environment').Variables,
        'Variables',
      );
      expect(variables, name).toMatchObject({
        TAG_MIN_PREVIOUS_SECRET_TTL: '1h',
        TAG_IN_USE_WINDOW_MAY: 'switch-off',
      });
    }
    for (const ok of ['', '1m', '12h', '30d']) expect(accepts('TagMinPreviousSecretTtl', ok), ok).toBe(true);
    for (const bad of ['0m', '31d', '7w', 'off'])
      expect(accepts('TagMinPreviousSecretTtl', bad), bad).toBe(false);
    for (const ok of ['lengthen', 'shorten', 'switch-off'])
      expect(accepts('TagInUseWindowMay', ok), ok).toBe(true);
    for (const bad of ['', 'any', 'off']) expect(accepts('TagInUseWindowMay', bad), bad).toBe(false);
  });

  it('validates the PingOne region, the previous-secret TTL and the environment list at deploy time', () => {
    for (const ok of ['NA', 'EU', 'CA', 'AU', 'SG', 'AP'])
      expect(accepts('PingOneRegion', ok), ok).toBe(true);
    for (const bad of ['', 'US', 'eu']) expect(accepts('PingOneRegion', bad), bad).toBe(false);
    for (const ok of ['1m', '59m', '43200m', '1h', '12h', '720h', '1d', '7d', '30d']) {
      expect(accepts('PreviousSecretTtl', ok), ok).toBe(true);
    }
    for (const bad of ['0m', '43201m', '721h', '0d', '31d', '100d', '7', '7w', '1.5h', '07d', '']) {
      expect(accepts('PreviousSecretTtl', bad), bad).toBe(false);
    }
    for (const ok of ['0', '30m', '1h', '720h', '30d']) {
      expect(accepts('PreviousSecretInUseWindow', ok), ok).toBe(true);
    }
    for (const bad of ['', 'off', '0h', '31d', '1w', '-1h']) {
      expect(accepts('PreviousSecretInUseWindow', bad), bad).toBe(false);
    }
    const [id = ''] = environmentIds.split(',');
    for (const ok of ['', id, environmentIds, `${id}, ${id.toUpperCase()}`]) {
      expect(accepts('AllowedEnvironments', ok), ok).toBe(true);
    }
    for (const bad of ['prod', `${id},`, `${id};${id}`])
      expect(accepts('AllowedEnvironments', bad), bad).toBe(false);
    for (const bad of ['http://pingone.example', 'auth.pingone.eu']) {
      expect(accepts('PingOneApiUrl', bad), bad).toBe(false);
    }
  });

  it('writes to a log group with bounded retention (and so does the auditor)', () => {
    const resources = resourcesOf(defaults);
    const groups = Object.entries(resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.map(([id]) => id).sort()).toEqual(['AuditLogGroup', 'RotateLogGroup']);
    for (const [id, functionId] of [
      ['RotateLogGroup', 'RotateLambdaFunction'],
      ['AuditLogGroup', 'AuditLambdaFunction'],
    ] as const) {
      const group = resources[id];
      const owner = resources[functionId];
      expect(group?.Properties.LogGroupName).toBe(`/aws/lambda/${String(owner?.Properties.FunctionName)}`);
      expect(group?.Properties.RetentionInDays).toBe(90);
      expect(toList(owner?.DependsOn)).toContain(id);
    }
  });

  it("keeps its (and the auditor's) log group when the stack goes, encrypted with a customer key only when one is given", () => {
    for (const id of ['RotateLogGroup', 'AuditLogGroup']) {
      const raw = template.Resources[id] as unknown as Record<string, unknown>;
      expect(raw.DeletionPolicy, id).toBe('Retain');
      expect(raw.UpdateReplacePolicy, id).toBe('Retain');
      expect(resourcesOf(defaults)[id]?.Properties.KmsKeyId, id).toBeUndefined();
      const withKey = { ...defaults, parameters: { LogKmsKeyArn: keyA } };
      expect(resourcesOf(withKey)[id]?.Properties.KmsKeyId, id).toBe(keyA);
    }
    expect(accepts('LogKmsKeyArn', 'alias/logs')).toBe(false);
  });
});

describe('alarms', () => {
  it('sends Secrets Manager rotation failures to the alarm topic', () => {
    const resources = resourcesOf(defaults);
    const rule = only(
      Object.values(resources).filter((r) => r.Type === 'AWS::Events::Rule' && r.Properties.EventPattern),
      'EventBridge rules matching events',
    );
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.secretsmanager'],
      'detail-type': ['AWS Service Event via CloudTrail'],
      detail: {
        eventSource: ['secretsmanager.amazonaws.com'],
        eventName: ['RotationFailed', 'RotationAbandoned', 'TestRotationFailed'],
      },
    });
    expect(rule.Properties.State).toBe('ENABLED');
    expect(toList(rule.Properties.Targets).map((t) => asObject(t, 'Target').Arn)).toEqual([
      '<ref:AlarmTopic>',
    ]);
  });

  it('retries a failed delivery and parks what still fails in a dead-letter queue that alarms', () => {
    const resources = resourcesOf(defaults);
    const [target] = toList(resources.RotationFailureRule?.Properties.Targets).map((t) =>
      asObject(t, 'Target'),
    );
    expect(target?.RetryPolicy).toEqual({ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 });
    expect(target?.DeadLetterConfig).toEqual({ Arn: '<AlarmDeadLetterQueue.Arn>' });
    expect(resources.AlarmDeadLetterQueue?.Properties).toMatchObject({ SqsManagedSseEnabled: true });
    const queuePolicy = statementsOf(resources.AlarmDeadLetterQueuePolicy?.Properties.PolicyDocument);
    expect(queuePolicy.map((s) => [s.Effect, s.Principal, s.Action, s.Condition])).toEqual([
      [
        'Allow',
        { Service: 'events.amazonaws.com' },
        ['sqs:SendMessage'],
        { ArnEquals: { 'aws:SourceArn': '<RotationFailureRule.Arn>' } },
      ],
      ['Deny', '*', ['sqs:*'], { Bool: { 'aws:SecureTransport': 'false' } }],
    ]);
    expect(resources.AlarmDeadLetterAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: '<AlarmDeadLetterQueue.QueueName>' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ['<ref:AlarmTopic>'],
    });
  });

  it('lets only that rule and the alarms publish to the topic, and nothing without TLS', () => {
    const policy = resourcesOf(defaults).AlarmTopicPolicy;
    expect(policy?.Properties.Topics).toEqual(['<ref:AlarmTopic>']);
    const statements = statementsOf(policy?.Properties.PolicyDocument);
    expect(statements.map((s) => [s.Effect, s.Principal, s.Action, s.Resource, s.Condition])).toEqual([
      [
        'Allow',
        { Service: 'events.amazonaws.com' },
        ['sns:Publish'],
        ['<ref:AlarmTopic>'],
        { ArnEquals: { 'aws:SourceArn': '<RotationFailureRule.Arn>' } },
      ],
      [
        'Allow',
        { Service: 'cloudwatch.amazonaws.com' },
        ['sns:Publish'],
        ['<ref:AlarmTopic>'],
        {
          ArnEquals: {
            'aws:SourceArn': [
              '<RotateErrorsAlarm.Arn>',
              '<AuditDriftAlarm.Arn>',
              '<AuditStuckPendingAlarm.Arn>',
              '<AuditPreviousInUseNearExpiryAlarm.Arn>',
              '<AuditRotationOverdueAlarm.Arn>',
              '<AuditCoverageAlarm.Arn>',
              '<AuditErrorsAlarm.Arn>',
              '<AuditNotRunningAlarm.Arn>',
              '<AlarmDeadLetterAlarm.Arn>',
            ],
          },
        },
      ],
      ['Deny', '*', ['sns:Publish'], ['<ref:AlarmTopic>'], { Bool: { 'aws:SecureTransport': 'false' } }],
    ]);
  });

  it('alarms on any error of the function', () => {
    const alarm = resourcesOf(defaults).RotateErrorsAlarm;
    expect(alarm?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: '<ref:RotateLambdaFunction>' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: ['<ref:AlarmTopic>'],
    });
  });

  it('subscribes an e-mail address only when one is given', () => {
    const emails = (deployment: Deployment) =>
      Object.values(resourcesOf(deployment))
        .filter((r) => r.Type === 'AWS::SNS::Subscription')
        .map((r) => r.Properties);
    expect(emails(defaults)).toEqual([]);
    expect(emails(everything)).toEqual([
      { TopicArn: '<ref:AlarmTopic>', Protocol: 'email', Endpoint: 'ops@example.com' },
    ]);
  });
});

describe('fleet auditor', () => {
  const auditFunction = (deployment: Deployment = defaults) => {
    const fn = resourcesOf(deployment).AuditLambdaFunction;
    if (!fn) throw new Error('no AuditLambdaFunction');
    return fn;
  };
  const auditStatements = (deployment: Deployment) => {
    const role = resourcesOf(deployment).AuditRole;
    if (!role) throw new Error('no AuditRole');
    return toList(role.Properties.Policies).flatMap((p) =>
      statementsOf(asObject(p, 'Policy').PolicyDocument),
    );
  };

  it('runs on its own role, not the rotation function’s, with the fleet settings', () => {
    const p = auditFunction().Properties;
    expect(p.Handler).toBe('functions/audit.handler');
    expect(p.Runtime).toBe('nodejs24.x');
    expect(p.Architectures).toEqual(['arm64']);
    expect(p.Timeout).toBe(900);
    expect(p.ReservedConcurrentExecutions).toBe(1);
    expect(p.Role).toBe(`arn:aws:iam::${account}:role/<ref:AuditRole>`);
    const role = resourcesOf(defaults).AuditRole;
    expect(role?.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    const variables = asObject(asObject(p.Environment, 'Environment').Variables, 'Variables');
    expect(variables).toMatchObject({
      PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
      PREVIOUS_SECRET_IN_USE_WINDOW: '1h',
      AUDIT_SECRET_NAME_PREFIX: 'pingone/',
      AUDIT_ROTATION_FUNCTION_ARN: '<RotateLambdaFunction.Arn>',
      AUDIT_NEAR_EXPIRY: '24h',
      AUDIT_CONCURRENCY: '8',
      AUDIT_PINGONE_REQUESTS_PER_SECOND: '10',
      RETIRE_UNUSED_PREVIOUS_AFTER: 'off',
      POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation-audit',
      POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
    });
  });

  it('decrypts with the customer key only through Secrets Manager or SSM, for a secret under the prefix or the worker parameter', () => {
    const kms = auditStatements(everything).filter((s) => s.Action.includes('kms:Decrypt'));
    expect(kms.map((s) => s.Condition)).toEqual([
      {
        StringEquals: { 'kms:ViaService': `secretsmanager.${region}.amazonaws.com` },
        StringLike: {
          'kms:EncryptionContext:SecretARN': `arn:aws:secretsmanager:${region}:${account}:secret:pingone/*`,
        },
      },
      {
        StringEquals: { 'kms:ViaService': `ssm.${region}.amazonaws.com` },
        StringLike: {
          'kms:EncryptionContext:PARAMETER_ARN': `arn:aws:ssm:${region}:${account}:parameter/pingone-worker`,
        },
      },
    ]);
    for (const s of kms) expect(s.Resource).toEqual([keyA, keyB]);
  });

  it.each([
    ['defaults', defaults],
    ['every option on', everything],
  ])(
    'may only read: ListSecrets on * (it has no resource scope), everything else scoped (%s)',
    (_, deployment) => {
      const statements = auditStatements(deployment);
      const actions = statements.flatMap((s) => s.Action).sort();
      const kms = deployment === everything ? ['kms:Decrypt', 'kms:Decrypt'] : [];
      expect(actions).toEqual(
        [
          ...kms,
          'dynamodb:BatchGetItem',
          'dynamodb:GetItem',
          'dynamodb:PutItem',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
          'secretsmanager:DescribeSecret',
          'secretsmanager:GetSecretValue',
          'secretsmanager:ListSecretVersionIds',
          'secretsmanager:ListSecrets',
          'ssm:GetParameter',
        ].sort(),
      );
      for (const s of statements) {
        expect(s.Effect).toBe('Allow');
        expect(s.NotAction).toEqual([]);
        if (s.Action.includes('secretsmanager:ListSecrets')) {
          expect(s.Action).toEqual(['secretsmanager:ListSecrets']);
          expect(s.Resource).toEqual(['*']);
        } else {
          for (const r of s.Resource) expect(r, JSON.stringify(s)).not.toBe('*');
        }
      }
      const read = only(
        statements.filter((s) => s.Action.includes('secretsmanager:GetSecretValue')),
        'secret reads',
      );
      expect(read.Resource).toEqual([`arn:aws:secretsmanager:${region}:${account}:secret:pingone/*`]);
      expect(read.Condition).toEqual(
        deployment === everything
          ? { StringEquals: { 'aws:ResourceTag/pingone:rotation': 'rotator' } }
          : undefined,
      );
      const logs = only(
        statements.filter((s) => s.Action.includes('logs:PutLogEvents')),
        'log statements',
      );
      expect(logs.Resource).toEqual([
        `arn:aws:logs:${region}:${account}:log-group:/aws/lambda/pingone-secret-rotation-ci-audit:*`,
      ]);
      const ssm = only(
        statements.filter((s) => s.Action.includes('ssm:GetParameter')),
        'ssm statements',
      );
      expect(ssm.Resource).toEqual([
        `arn:aws:ssm:${region}:${account}:parameter/${deployment === everything ? 'pingone-worker' : 'pingone/rotation-worker'}`,
      ]);
    },
  );

  it('reads the ledger; with early retirement on, may record a retirement in its own attributes only', () => {
    const table = `arn:aws:dynamodb:${region}:${account}:table/pingone-secret-rotation-ci-rotation-ledger`;
    const read = only(
      auditStatements(defaults).filter((s) => s.Action.includes('dynamodb:GetItem')),
      'ledger statements',
    );
    expect(read).toMatchObject({ Action: ['dynamodb:GetItem', 'dynamodb:BatchGetItem'], Resource: [table] });
    const retiring = { ...defaults, parameters: { RetireUnusedPreviousAfter: '36h' } };
    const writes = auditStatements(retiring).filter((s) => s.Action.includes('dynamodb:UpdateItem'));
    expect(writes).toEqual([
      {
        Effect: 'Allow',
        Action: ['dynamodb:UpdateItem'],
        NotAction: [],
        Resource: [table],
        Condition: {
          // Never the rotation function's binding, intent, history or revision (not even in a condition).
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': ['pk', 'retirement', 'previousRetired', 'previousRetiredCount'],
          },
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['resource#*', 'application#*'] },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      },
    ]);
    const variables = asObject(
      asObject(resourcesOf(retiring).AuditLambdaFunction?.Properties.Environment, 'Environment').Variables,
      'Variables',
    );
    expect(variables).toMatchObject({
      ROTATION_LEDGER_TABLE: '<ref:RotationLedgerTable>',
      RETIRE_UNUSED_PREVIOUS_AFTER: '36h',
    });
    // Retirement off, its only write is the cursor's item (the next test).
    for (const s of auditStatements(defaults)) {
      const writes = s.Action.filter((a) => !a.startsWith('logs:') && /Put|Update|Delete|Write/.test(a));
      if (writes.length === 0) continue;
      expect(writes).toEqual(['dynamodb:PutItem']);
      expect(s.Condition?.['ForAllValues:StringLike']).toEqual({
        'dynamodb:LeadingKeys': ['audit#cursor#*'],
      });
    }
  });

  it.each([
    ['/pingone/audit-worker', 'parameter/pingone/audit-worker'],
    ['audit-worker', 'parameter/audit-worker'],
  ])(
    "with AuditWorkerParameterName %s: reads and decrypts only its own worker, never the rotation function's",
    (name, suffix) => {
      const own = { ...everything, parameters: { ...everything.parameters, AuditWorkerParameterName: name } };
      const statements = auditStatements(own);
      const ssm = only(
        statements.filter((s) => s.Action.includes('ssm:GetParameter')),
        'ssm statements',
      );
      expect(ssm.Resource).toEqual([`arn:aws:ssm:${region}:${account}:${suffix}`]);
      const viaSsm = only(
        statements.filter((s) =>
          JSON.stringify(s.Condition ?? {}).includes('kms:EncryptionContext:PARAMETER_ARN'),
        ),
        'SSM decrypt statements',
      );
      expect(viaSsm.Condition).toMatchObject({
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': `arn:aws:ssm:${region}:${account}:${suffix}` },
      });
      expect(JSON.stringify(statements)).not.toContain('pingone-worker');
      const variables = (deployment: Deployment) =>
        asObject(
          asObject(resourcesOf(deployment).AuditLambdaFunction?.Properties.Environment, 'Environment')
            .Variables,
          'Variables',
        );
      expect(variables(own)).toMatchObject({
        AUDIT_WORKER_PARAMETER: name,
        PINGONE_WORKER_PARAMETER: 'pingone-worker',
      });
      // Unset (the default, as existing deployments have it): the auditor uses the rotation function's worker.
      expect(template.Parameters?.AuditWorkerParameterName?.Default).toBe('');
      expect(variables(defaults)).toMatchObject({ AUDIT_WORKER_PARAMETER: '' });
      expect(
        only(
          auditStatements(defaults).filter((s) => s.Action.includes('ssm:GetParameter')),
          'ssm statements',
        ).Resource,
      ).toEqual([`arn:aws:ssm:${region}:${account}:parameter/pingone/rotation-worker`]);
    },
  );

  it('runs on the schedule parameter (default hourly), invoked only by its rule', () => {
    const resources = resourcesOf(defaults);
    expect(template.Parameters?.AuditSchedule?.Default).toBe('rate(1 hour)');
    expect(resources.AuditScheduleRule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      State: 'ENABLED',
      Targets: [{ Id: 'Auditor', Arn: '<AuditLambdaFunction.Arn>' }],
    });
    expect(
      resourcesOf({ ...defaults, parameters: { AuditSchedule: 'rate(6 hours)' } }).AuditScheduleRule
        ?.Properties.ScheduleExpression,
    ).toBe('rate(6 hours)');
    expect(resources.AuditInvokePermission?.Properties).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: '<AuditLambdaFunction.Arn>',
      Principal: 'events.amazonaws.com',
      SourceArn: '<AuditScheduleRule.Arn>',
    });
    for (const ok of ['rate(1 hour)', 'cron(0 * * * ? *)'])
      expect(accepts('AuditSchedule', ok), ok).toBe(true);
    for (const bad of ['', 'hourly', '1h']) expect(accepts('AuditSchedule', bad), bad).toBe(false);
    for (const ok of ['off', '1h', '36h', '720h', '7d', '30d']) {
      expect(accepts('RetireUnusedPreviousAfter', ok), ok).toBe(true);
    }
    for (const bad of ['', '0', '0h', '30m', '31d', 'on']) {
      expect(accepts('RetireUnusedPreviousAfter', bad), bad).toBe(false);
    }
  });

  it.each([
    ['AuditDriftAlarm', 'drift'],
    ['AuditStuckPendingAlarm', 'stuck-pending'],
    ['AuditPreviousInUseNearExpiryAlarm', 'previous-in-use-near-expiry'],
    ['AuditRotationOverdueAlarm', 'rotation-overdue'],
  ])('%s alarms the topic when any secret is %s', (id, verdict) => {
    expect(resourcesOf(defaults)[id]?.Properties).toMatchObject({
      Namespace: 'PingOneSecretRotation',
      MetricName: 'Secrets',
      Dimensions: [
        { Name: 'service', Value: 'pingone-secret-rotation-audit' },
        { Name: 'verdict', Value: verdict },
      ],
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: ['<ref:AlarmTopic>'],
      OKActions: ['<ref:AlarmTopic>'],
    });
  });

  it('alarms when the auditor stops running: no invocation over the period (missing data breaching)', () => {
    const alarm = resourcesOf(defaults).AuditNotRunningAlarm;
    expect(alarm?.Type).toBe('AWS::CloudWatch::Alarm');
    expect(alarm?.Properties).toEqual({
      AlarmDescription: expect.stringContaining('The fleet auditor has not run'),
      Namespace: 'AWS/Lambda',
      MetricName: 'Invocations',
      Dimensions: [{ Name: 'FunctionName', Value: '<ref:AuditLambdaFunction>' }],
      Statistic: 'Sum',
      Period: '10800',
      EvaluationPeriods: 1,
      Threshold: 1,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: ['<ref:AlarmTopic>'],
      OKActions: ['<ref:AlarmTopic>'],
    });
    // The same topic as the other alarms, and the topic lets it publish (the topic-policy test lists it).
    expect(alarm?.Properties.AlarmActions).toEqual(
      resourcesOf(defaults).AuditErrorsAlarm?.Properties.AlarmActions,
    );
    // The default period covers the default hourly schedule three times over: one missed run does not alarm.
    expect(template.Parameters?.AuditNotRunningPeriod?.Default).toBe('10800');
    expect(
      resourcesOf({ ...defaults, parameters: { AuditNotRunningPeriod: '86400' } }).AuditNotRunningAlarm
        ?.Properties.Period,
    ).toBe('86400');
    for (const ok of ['3600', '10800', '604800']) expect(accepts('AuditNotRunningPeriod', ok), ok).toBe(true);
    for (const bad of ['', '0', '60', '3599', '604801', 'three hours']) {
      expect(accepts('AuditNotRunningPeriod', bad), bad).toBe(false);
    }
  });

  it('alarms when a secret has gone unjudged longer than AuditCoverageMaxAge (the OldestAuditAge metric)', () => {
    expect(resourcesOf(defaults).AuditCoverageAlarm?.Properties).toEqual({
      AlarmDescription: expect.stringContaining('has not been judged by the fleet auditor'),
      Namespace: 'PingOneSecretRotation',
      MetricName: 'OldestAuditAge',
      Dimensions: [{ Name: 'service', Value: 'pingone-secret-rotation-audit' }],
      Statistic: 'Maximum',
      Period: 3600,
      EvaluationPeriods: 1,
      Threshold: '86400',
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: ['<ref:AlarmTopic>'],
      OKActions: ['<ref:AlarmTopic>'],
    });
    expect(
      resourcesOf({ ...defaults, parameters: { AuditCoverageMaxAge: '604800' } }).AuditCoverageAlarm
        ?.Properties.Threshold,
    ).toBe('604800');
    for (const bad of ['', '0', '3599', 'a day'])
      expect(accepts('AuditCoverageMaxAge', bad), bad).toBe(false);
  });

  it('is not retried when invoked asynchronously (a retry repeats the whole run against PingOne)', () => {
    const resources = resourcesOf(defaults);
    const configs = Object.values(resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(configs.map((c) => c.Properties)).toContainEqual(
      expect.objectContaining({ FunctionName: '<ref:AuditLambdaFunction>', MaximumRetryAttempts: 0 }),
    );
    // The rotation function is invoked synchronously by Secrets Manager: an async retry setting would not
    // apply, and none is set.
    expect(configs.filter((c) => c.Properties.FunctionName === '<ref:RotateLambdaFunction>')).toEqual([]);
  });

  it('may keep its cursor: PutItem on audit#cursor# keys of the ledger, the cursor attributes only', () => {
    const role = resourcesOf(defaults).AuditRole;
    const statements = toList(role?.Properties.Policies).flatMap((p) =>
      statementsOf(asObject(p, 'Policy').PolicyDocument),
    );
    const writes = statements.filter((s) => s.Action.some((a) => /Put|Update|Delete|Write/.test(a)));
    expect(writes.map((s) => [s.Action, s.Condition])).toEqual([
      [
        ['dynamodb:PutItem'],
        {
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['audit#cursor#*'] },
          'ForAllValues:StringEquals': {
            'dynamodb:Attributes': [
              'pk',
              'rev',
              'position',
              'firstRunAt',
              'sweepRuns',
              'lastSweepRuns',
              'updatedAt',
            ],
          },
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      ],
      [['logs:CreateLogStream', 'logs:PutLogEvents'], undefined],
    ]);
  });

  it('alarms on any error of the auditor', () => {
    expect(resourcesOf(defaults).AuditErrorsAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Dimensions: [{ Name: 'FunctionName', Value: '<ref:AuditLambdaFunction>' }],
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: ['<ref:AlarmTopic>'],
    });
  });
});

describe('distributed audit engine (AuditEngine=distributed)', () => {
  const distributed: Deployment = { ...defaults, parameters: { AuditEngine: 'distributed' } };
  const NEW = [
    'AuditListRole',
    'AuditWorkerRole',
    'AuditStateMachineRole',
    'AuditStateMachine',
    'AuditStateMachineScheduleRole',
    'AuditStateMachineScheduleRule',
    'AuditListLambdaFunction',
    'AuditWorkerLambdaFunction',
    'AuditListLogGroup',
    'AuditWorkerLogGroup',
  ];
  const statements = (resources: ReturnType<typeof resourcesOf>, roleId: string) =>
    toList(resources[roleId]?.Properties.Policies).flatMap((p) =>
      statementsOf(asObject(p, 'Policy').PolicyDocument),
    );

  it('is off by default: the single auditor on its schedule, nothing of the distributed engine', () => {
    expect(template.Parameters?.AuditEngine?.Default).toBe('single');
    const resources = resourcesOf(defaults);
    for (const id of NEW) expect(resources[id], id).toBeUndefined();
    expect(resources.AuditScheduleRule).toBeDefined();
    expect(accepts('AuditEngine', 'parallel')).toBe(false);
  });

  it('on: the schedule starts the state machine (not the single auditor), whose definition is infra/audit-state-machine.json', async () => {
    const resources = resourcesOf(distributed);
    for (const id of NEW) expect(resources[id], id).toBeDefined();
    expect(resources.AuditScheduleRule).toBeUndefined();
    expect(resources.AuditInvokePermission).toBeUndefined();
    expect(resources.AuditStateMachineScheduleRule?.Properties).toMatchObject({
      ScheduleExpression: 'rate(1 hour)',
      Targets: [
        {
          Arn: '<ref:AuditStateMachine>',
          RoleArn: '<AuditStateMachineScheduleRole.Arn>',
          RetryPolicy: { MaximumRetryAttempts: 0 },
        },
      ],
    });
    const machine = resources.AuditStateMachine?.Properties;
    const file = JSON.parse(await readFile(join(root, 'infra/audit-state-machine.json'), 'utf8'));
    expect(machine?.Definition).toEqual(file);
    expect(machine?.DefinitionSubstitutions).toEqual({
      AuditListFunctionArn: '<AuditListLambdaFunction.Arn>',
      AuditWorkerFunctionArn: '<AuditWorkerLambdaFunction.Arn>',
    });
    expect(machine).toMatchObject({
      StateMachineName: 'pingone-secret-rotation-ci-audit',
      StateMachineType: 'STANDARD',
      RoleArn: '<AuditStateMachineRole.Arn>',
    });
    const variables = asObject(
      asObject(resources.AuditListLambdaFunction?.Properties.Environment, 'Environment').Variables,
      'Variables',
    );
    expect(variables).toMatchObject({
      AUDIT_MAX_CONCURRENCY: '10',
      AUDIT_SECRET_NAME_PREFIX: 'pingone/',
    });
    // The not-running and errors alarms watch the state machine's executions instead of the function.
    expect(resources.AuditNotRunningAlarm?.Properties).toMatchObject({
      Namespace: 'AWS/States',
      MetricName: 'ExecutionsStarted',
      Dimensions: [{ Name: 'StateMachineArn', Value: '<ref:AuditStateMachine>' }],
      TreatMissingData: 'breaching',
    });
    // Executions that failed, timed out (a sweep longer than the state machine's timeout) or were aborted.
    const errors = resources.AuditErrorsAlarm?.Properties as Record<string, unknown>;
    expect(errors.MetricName).toBeUndefined();
    const metrics = errors.Metrics as { Id: string; Expression?: string; MetricStat?: unknown }[];
    expect(metrics.find((m) => m.Expression)).toMatchObject({
      Expression: 'failed + timedout + aborted',
    });
    expect(metrics.filter((m) => m.MetricStat).map((m) => m.MetricStat)).toEqual(
      ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted'].map((MetricName) => ({
        Metric: {
          Namespace: 'AWS/States',
          MetricName,
          Dimensions: [{ Name: 'StateMachineArn', Value: '<ref:AuditStateMachine>' }],
        },
        Period: 3600,
        Stat: 'Sum',
      })),
    );
    for (const id of ['AuditListLogGroup', 'AuditWorkerLogGroup']) {
      const raw = template.Resources[id] as unknown as Record<string, unknown>;
      expect([
        raw.DeletionPolicy,
        raw.UpdateReplacePolicy,
        resources[id]?.Properties.RetentionInDays,
      ]).toEqual(['Retain', 'Retain', 90]);
    }
  });

  it('each role writes only its own audit# items, with only their attributes; the state machine invokes only its two functions', () => {
    const resources = resourcesOf(distributed);
    const writes = (roleId: string) =>
      statements(resources, roleId)
        .filter((s) =>
          s.Action.some(
            (a) => a.startsWith('dynamodb:') && a !== 'dynamodb:GetItem' && a !== 'dynamodb:BatchGetItem',
          ),
        )
        .map((s) => [
          s.Action,
          s.Condition?.['ForAllValues:StringLike'],
          s.Condition?.['ForAllValues:StringEquals'],
        ]);
    expect(writes('AuditListRole')).toEqual([
      [
        ['dynamodb:PutItem'],
        { 'dynamodb:LeadingKeys': ['audit#cursor#*'] },
        {
          'dynamodb:Attributes': [
            'pk',
            'rev',
            'position',
            'firstRunAt',
            'sweepRuns',
            'lastSweepRuns',
            'updatedAt',
          ],
        },
      ],
      [
        ['dynamodb:PutItem'],
        { 'dynamodb:LeadingKeys': ['audit#sweep#*'] },
        { 'dynamodb:Attributes': ['pk', 'sweepId', 'execution', 'expiresAt'] },
      ],
      [
        ['dynamodb:PutItem'],
        { 'dynamodb:LeadingKeys': ['audit#batch#*'] },
        { 'dynamodb:Attributes': ['pk', 'sweepId', 'entries'] },
      ],
    ]);
    expect(writes('AuditWorkerRole')).toEqual([
      [
        ['dynamodb:PutItem'],
        { 'dynamodb:LeadingKeys': ['audit#limiter#*'] },
        { 'dynamodb:Attributes': ['pk', 'nextAt', 'pausedUntil', 'rev'] },
      ],
    ]);
    // The lister never reads a secret's value; the worker never lists.
    expect(statements(resources, 'AuditListRole').flatMap((s) => s.Action)).not.toContain(
      'secretsmanager:GetSecretValue',
    );
    expect(statements(resources, 'AuditWorkerRole').flatMap((s) => s.Action)).not.toContain(
      'secretsmanager:ListSecrets',
    );
    expect(statements(resources, 'AuditStateMachineRole').map((s) => [s.Action, s.Resource])).toEqual([
      [['lambda:InvokeFunction'], ['<AuditListLambdaFunction.Arn>', '<AuditWorkerLambdaFunction.Arn>']],
      [
        ['states:StartExecution'],
        [`arn:aws:states:${region}:${account}:stateMachine:pingone-secret-rotation-ci-audit`],
      ],
      [
        ['states:DescribeExecution', 'states:StopExecution'],
        [`arn:aws:states:${region}:${account}:execution:pingone-secret-rotation-ci-audit/*`],
      ],
    ]);
    expect(statements(resources, 'AuditStateMachineScheduleRole').map((s) => [s.Action, s.Resource])).toEqual(
      [[['states:StartExecution'], ['<ref:AuditStateMachine>']]],
    );
  });

  it("with early retirement on, the worker retires as the single auditor does: the same grant as AuditRole's, only then", () => {
    const retiring: Deployment = {
      ...defaults,
      parameters: { AuditEngine: 'distributed', RetireUnusedPreviousAfter: '36h' },
    };
    const grant = (resources: ReturnType<typeof resourcesOf>, roleId: string) =>
      statements(resources, roleId).filter((s) => s.Action.includes('dynamodb:UpdateItem'));
    const single = grant(
      resourcesOf({ ...defaults, parameters: { RetireUnusedPreviousAfter: '36h' } }),
      'AuditRole',
    );
    expect(single).toHaveLength(1);
    expect(grant(resourcesOf(retiring), 'AuditWorkerRole')).toEqual(single);
    expect(grant(resourcesOf(distributed), 'AuditWorkerRole')).toEqual([]);
    // The worker gets the setting (the single auditor's environment) and runs the same code.
    const variables = asObject(
      asObject(resourcesOf(retiring).AuditWorkerLambdaFunction?.Properties.Environment, 'Environment')
        .Variables,
      'Variables',
    );
    expect(variables.RETIRE_UNUSED_PREVIOUS_AFTER).toBe('36h');
  });
});

describe('workers per PingOne organization (PingOneWorkers, issue 19)', () => {
  const list = JSON.stringify([
    { name: 'eu', region: 'EU', parameter: '/pingone/workers/eu', environments: '*' },
    { name: 'na', region: 'NA', secret: 'pingone/workers/na', environments: '*' },
  ]);
  const workers: Deployment = {
    ...defaults,
    parameters: { WorkerParameterName: '', PingOneWorkers: list, KmsKeyArn: keyA },
  };
  const distributedWorkers: Deployment = {
    ...workers,
    parameters: { ...workers.parameters, AuditEngine: 'distributed' },
  };
  type Rules = Record<
    string,
    { RuleCondition?: Json; Assertions: { Assert: Json; AssertDescription: string }[] }
  >;
  /** The AssertDescriptions of the template's Rules that refuse this deployment (CloudFormation's check). */
  const refusedBy = (deployment: Deployment): string[] => {
    const evaluator = new TemplateEvaluator(template, deployment);
    return Object.values((template as Template & { Rules?: Rules }).Rules ?? {}).flatMap((rule) =>
      rule.RuleCondition !== undefined && evaluator.evaluate(rule.RuleCondition) !== true
        ? []
        : rule.Assertions.filter((a) => evaluator.evaluate(a.Assert) !== true).map(
            (a) => a.AssertDescription,
          ),
    );
  };
  const variablesOf = (deployment: Deployment, id: string) =>
    asObject(
      asObject(resourcesOf(deployment)[id]?.Properties.Environment, 'Environment').Variables,
      'Variables',
    );
  const statementsOfRole = (deployment: Deployment, roleId: string) => {
    const resources = resourcesOf(deployment);
    return [
      ...toList(resources[roleId]?.Properties.Policies).flatMap((p) =>
        statementsOf(asObject(p, 'Policy').PolicyDocument),
      ),
      ...Object.values(resources)
        .filter(
          (r) => r.Type === 'AWS::IAM::Policy' && toList(r.Properties.Roles).includes(`<ref:${roleId}>`),
        )
        .flatMap((r) => statementsOf(r.Properties.PolicyDocument)),
    ];
  };
  const path = `arn:aws:ssm:${region}:${account}:parameter/pingone/workers/*`;

  it('is off by default: the single worker /pingone/rotation-worker, as existing stacks have it', () => {
    expect(template.Parameters?.WorkerParameterName?.Default).toBe('/pingone/rotation-worker');
    expect(template.Parameters?.PingOneWorkers?.Default).toBe('');
    expect(template.Parameters?.WorkerParameterPath?.Default).toBe('/pingone/workers/');
    expect(refusedBy(defaults)).toEqual([]);
  });

  it('gives the same mapping to the rotation function and every auditor function', () => {
    for (const [deployment, id] of [
      [workers, 'RotateLambdaFunction'],
      [workers, 'AuditLambdaFunction'],
      [distributedWorkers, 'AuditListLambdaFunction'],
      [distributedWorkers, 'AuditWorkerLambdaFunction'],
    ] as const) {
      expect(variablesOf(deployment, id), id).toMatchObject({
        PINGONE_WORKERS: list,
        PINGONE_WORKER_PARAMETER: '',
      });
    }
    expect(refusedBy(workers)).toEqual([]);
  });

  it('refuses both settings, or neither, at deploy time (Rules), naming what to do', () => {
    expect(refusedBy({ ...defaults, parameters: { PingOneWorkers: list } })).toEqual([
      'PingOneWorkers and WorkerParameterName are both set: name the workers in one place, PingOneWorkers (a worker per PingOne organization; leave WorkerParameterName empty) or WorkerParameterName (the single worker)',
    ]);
    expect(refusedBy({ ...defaults, parameters: { WorkerParameterName: '' } })).toEqual([
      'No worker is named: set WorkerParameterName (the single worker, e.g. /pingone/rotation-worker) or PingOneWorkers (a worker per PingOne organization)',
    ]);
  });

  it('lets every role that reads workers read (and decrypt) parameters under WorkerParameterPath only', () => {
    for (const [deployment, roleId] of [
      [workers, 'IamRoleLambdaExecution'],
      [workers, 'AuditRole'],
      [distributedWorkers, 'AuditWorkerRole'],
    ] as const) {
      const statements = statementsOfRole(deployment, roleId);
      const ssm = only(
        statements.filter((s) => s.Action.some((a) => a.startsWith('ssm:'))),
        `${roleId} ssm statements`,
      );
      expect(ssm.Action).toEqual(['ssm:GetParameter']);
      expect(ssm.Resource, roleId).toEqual([path]);
      const viaSsm = only(
        statements.filter((s) => JSON.stringify(s.Condition ?? {}).includes('PARAMETER_ARN')),
        `${roleId} SSM decrypt statements`,
      );
      expect(viaSsm.Condition, roleId).toEqual({
        StringEquals: { 'kms:ViaService': `ssm.${region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:PARAMETER_ARN': path },
      });
      expect(JSON.stringify(statements), roleId).not.toContain('rotation-worker');
    }
    // The lister reads no worker.
    expect(JSON.stringify(statementsOfRole(distributedWorkers, 'AuditListRole'))).not.toContain('ssm:');
    // Another path moves the grant with it.
    const team = {
      ...workers,
      parameters: { ...workers.parameters, WorkerParameterPath: '/team-a/pingone/' },
    };
    expect(
      only(
        statementsOfRole(team, 'IamRoleLambdaExecution').filter((s) => s.Action.includes('ssm:GetParameter')),
        'ssm statements',
      ).Resource,
    ).toEqual([`arn:aws:ssm:${region}:${account}:parameter/team-a/pingone/*`]);
  });

  it("with the auditor's own worker, the auditor reads only that one", () => {
    const own = {
      ...workers,
      parameters: { ...workers.parameters, AuditWorkerParameterName: '/pingone/audit-worker' },
    };
    const ssm = only(
      statementsOfRole(own, 'AuditRole').filter((s) => s.Action.includes('ssm:GetParameter')),
      'ssm statements',
    );
    expect(ssm.Resource).toEqual([`arn:aws:ssm:${region}:${account}:parameter/pingone/audit-worker`]);
  });

  it('validates the document and the path at deploy time', () => {
    expect(accepts('PingOneWorkers', list)).toBe(true);
    expect(accepts('PingOneWorkers', '')).toBe(true);
    expect(accepts('PingOneWorkers', '{"name":"eu"}')).toBe(false);
    // Lambda allows 4 KB of environment per function: the document may take at most 2048 characters.
    const long = JSON.stringify(
      Array.from({ length: 30 }, (_, i) => ({
        name: `w${i}`,
        region: 'EU',
        parameter: `/pingone/workers/w${i}`,
        environments: '*',
      })),
    );
    expect(long.length).toBeGreaterThan(2048);
    expect(accepts('PingOneWorkers', long)).toBe(false);
    for (const ok of ['/pingone/workers/', '/a/', '/team-a/pingone.workers_1/']) {
      expect(accepts('WorkerParameterPath', ok), ok).toBe(true);
    }
    for (const bad of ['', '/', 'pingone/workers/', '/pingone/workers', '/pingone/*/', '/pingone//']) {
      expect(accepts('WorkerParameterPath', bad), bad).toBe(false);
    }
  });
});

describe('example secret', () => {
  it('is not created unless asked for', () => {
    expect(template.Parameters?.CreateExampleSecret?.Default).toBe('false');
    const types = Object.values(resourcesOf(defaults)).map((r) => r.Type);
    expect(types).not.toContain('AWS::SecretsManager::Secret');
    expect(types).not.toContain('AWS::SecretsManager::RotationSchedule');
  });

  it('lives under the prefix the function may rotate, with the expected placeholder shape and TTL tag', () => {
    const secret = resourcesOf(everything).ExampleSecret;
    if (!secret) throw new Error('no ExampleSecret');
    const name = asString(secret.Properties.Name, 'Name');
    const [grant] = secretsPolicy(roleStatements(everything)).Resource;
    expect(name.startsWith(String(grant).split(':secret:')[1]?.replace(/\*$/, '') ?? '<none>')).toBe(true);
    const value = JSON.parse(asString(secret.Properties.SecretString, 'SecretString')) as Record<
      string,
      string
    >;
    expect(Object.keys(value).sort()).toEqual(['clientSecret', 'environmentId', 'region', 'resourceId']);
    expect(value.region).toBe('NA');
    expect(secret.Properties.Tags).toEqual([
      { Key: 'pingone:previous-secret-ttl', Value: '7d' },
      { Key: 'pingone:rotation', Value: 'rotator' },
    ]);
    expect(secret.Properties.KmsKeyId).toBe(keyA);
  });

  it('gets a rotation schedule that never rotates placeholder content on deploy', () => {
    const schedule = resourcesOf(everything).ExampleSecretRotationSchedule;
    if (!schedule) throw new Error('no ExampleSecretRotationSchedule');
    expect(schedule.Properties).toEqual({
      SecretId: '<ref:ExampleSecret>',
      RotationLambdaARN: '<RotateLambdaFunction.Arn>',
      RotateImmediatelyOnUpdate: false,
      RotationRules: { ScheduleExpression: 'rate(30 days)', Duration: '4h' },
    });
    expect(toList(schedule.DependsOn)).toContain('RotateLambdaPermission');
  });
});

describe('rotation ledger', () => {
  it('is an on-demand table keyed by the string pk, with point-in-time recovery and encryption at rest', () => {
    const table = resourcesOf(defaults).RotationLedgerTable;
    expect(table?.Type).toBe('AWS::DynamoDB::Table');
    expect(table?.Properties).toEqual({
      TableName: 'pingone-secret-rotation-ci-rotation-ledger',
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
      DeletionProtectionEnabled: true,
    });
  });

  it('is kept when the stack is deleted or the table replaced', () => {
    const raw = template.Resources.RotationLedgerTable as unknown as Record<string, unknown>;
    expect(raw.DeletionPolicy).toBe('Retain');
    expect(raw.UpdateReplacePolicy).toBe('Retain');
  });

  it.each([
    ['defaults', defaults],
    ['every option on', everything],
  ])('lets the function only read and write items of that one table (%s)', (_, deployment) => {
    const statements = roleStatements(deployment);
    const dynamodb = statements.filter((s) => s.Action.some((a) => a.startsWith('dynamodb:')));
    // Two statements: owner items, and the rotations' shared rate limiter's buckets.
    expect(dynamodb).toHaveLength(2);
    const ledger = only(
      dynamodb.filter((s) => !JSON.stringify(s.Condition).includes('limiter')),
      'the owner-items statement',
    );
    // No PutItem (no code calls it; it would replace an item whole), and owner items only.
    expect([...ledger.Action].sort()).toEqual([
      'dynamodb:BatchGetItem',
      'dynamodb:GetItem',
      'dynamodb:UpdateItem',
    ]);
    const tableName = resourcesOf(deployment).RotationLedgerTable?.Properties.TableName;
    expect(ledger.Resource).toEqual([`arn:aws:dynamodb:${region}:${account}:table/${tableName}`]);
    expect(ledger.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['resource#*', 'application#*'] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    const limiter = only(
      dynamodb.filter((s) => JSON.stringify(s.Condition).includes('limiter')),
      "the rate limiter's statement",
    );
    expect([...limiter.Action].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    expect(limiter.Resource).toEqual([`arn:aws:dynamodb:${region}:${account}:table/${tableName}`]);
    expect(limiter.Condition).toEqual({
      'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['rotation#limiter#*'] },
      Null: { 'dynamodb:LeadingKeys': 'false' },
    });
    // Nothing else in the stack's policies grants DynamoDB to the rotation function.
    expect(
      allStatements(deployment).filter((s) => s.Action.some((a) => a.startsWith('dynamodb:Delete'))),
    ).toEqual([]);
  });

  it('is exported as an output (for the CLI and the function setting)', () => {
    expect(template.Outputs?.RotationLedgerTableName?.Value).toEqual({ Ref: 'RotationLedgerTable' });
    expect(template.Outputs?.SecretNamePrefix?.Value).toEqual({ Ref: 'SecretNamePrefix' });
  });
});

describe('stack outputs', () => {
  it('exports the function and topic ARNs', () => {
    expect(template.Outputs?.RotateFunctionArn?.Value).toEqual({
      'Fn::GetAtt': ['RotateLambdaFunction', 'Arn'],
    });
    expect(template.Outputs?.AlarmTopicArn?.Value).toEqual({ Ref: 'AlarmTopic' });
  });
});

describe('cfn-lint', () => {
  it('reports nothing on the generated template', () => {
    // cfn-lint takes ~10 s alone and over 30 s on a loaded machine (vitest's default timeout).
    const result = spawnSync('cfn-lint', [templatePath], { encoding: 'utf8', timeout: 80_000 });
    if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error(
        'cfn-lint is not on PATH. It is required for this test (and in CI): install it with `pip install cfn-lint`.',
      );
    }
    expect(result.error).toBeUndefined();
    expect(`${result.stdout}${result.stderr}`).toBe('');
    expect(result.status).toBe(0);
  }, 90_000);
});

describe('deployment artifact', () => {
  it('contains only the bundled handlers and their source maps', () => {
    const names = [...artifact.keys()].sort();
    expect(names).toEqual([
      'functions/audit-list.mjs',
      'functions/audit-list.mjs.map',
      'functions/audit-worker.mjs',
      'functions/audit-worker.mjs.map',
      'functions/audit.mjs',
      'functions/audit.mjs.map',
      'functions/rotate.mjs',
      'functions/rotate.mjs.map',
    ]);
    for (const name of names) expect(name).not.toMatch(/^(local|test|bench|cli|node_modules|lib)\//);
  });

  it('is built with the same esbuild options as `npm run build`', async () => {
    const url = pathToFileURL(join(root, 'scripts/esbuild-options.mjs')).href;
    const shared = (await import(url)) as { lambdaBundleOptions: BuildOptions; banner: { js: string } };
    const outfile = join(workDir, 'reference/rotate.mjs');
    await build({
      ...shared.lambdaBundleOptions,
      entryPoints: [join(root, 'functions/rotate.ts')],
      outfile,
      logLevel: 'silent',
    });
    const withoutMapComment = (code: string) => code.replace(/\n\/\/# sourceMappingURL=\S+\n?$/, '\n');
    const packaged = artifact.get('functions/rotate.mjs')?.toString('utf8') ?? '';
    expect(packaged.startsWith(shared.banner.js)).toBe(true);
    expect(withoutMapComment(packaged)).toBe(withoutMapComment(await readFile(outfile, 'utf8')));
    // Lambda supplies credentials in the environment: the SSO/INI/metadata providers are not bundled.
    expect(packaged).not.toContain('sso_start_url');
    expect(packaged).toContain('AWS_SECRET_ACCESS_KEY');
  });

  it('loads on this Node version and exports a handler function', async () => {
    const dir = join(workDir, 'unzipped');
    for (const [name, data] of artifact) {
      await mkdir(dirname(join(dir, name)), { recursive: true });
      await writeFile(join(dir, name), data);
    }
    const entry = pathToFileURL(join(dir, 'functions/rotate.mjs')).href;
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(entry)}); console.log(typeof m.handler);`,
      ],
      {
        cwd: dir,
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: region,
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          PINGONE_WORKER_PARAMETER: '/pingone/rotation-worker',
          PINGONE_REGION: 'NA',
          PREVIOUS_SECRET_TTL: '7d',
          POWERTOOLS_SERVICE_NAME: 'pingone-secret-rotation',
          POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
        },
      },
    );
    expect(stdout.trim()).toBe('function');
  });
});

describe('fleet dashboard', () => {
  type Widget = { type: string; properties: { metrics?: unknown[][]; alarms?: string[]; region?: string } };
  const widgets = (): Widget[] => {
    const dashboard = resourcesOf(defaults).FleetDashboard;
    if (!dashboard) throw new Error('no FleetDashboard');
    expect(dashboard.Type).toBe('AWS::CloudWatch::Dashboard');
    expect(dashboard.Properties.DashboardName).toBe('pingone-secret-rotation-ci-fleet');
    return (JSON.parse(String(dashboard.Properties.DashboardBody)) as { widgets: Widget[] }).widgets;
  };
  const metrics = () => widgets().flatMap((w) => w.properties.metrics ?? []);

  it('shows every alarm of the stack', () => {
    const alarms = Object.entries(resourcesOf(defaults))
      .filter(([, r]) => r.Type === 'AWS::CloudWatch::Alarm')
      .map(([name]) => `<${name}.Arn>`);
    expect(alarms.length).toBeGreaterThan(5);
    const shown = widgets().flatMap((w) => w.properties.alarms ?? []);
    expect([...shown].sort()).toEqual([...alarms].sort());
  });

  it('counts every verdict the auditor emits (metric Secrets, dimensions service + verdict)', async () => {
    const { VERDICTS } = await import('../../lib/status/verdicts.js');
    const shown = metrics()
      .filter((m) => m[1] === 'Secrets' && m[4] === 'verdict')
      .map((m) => m[5]);
    for (const verdict of VERDICTS) expect(shown, verdict).toContain(verdict);
    for (const m of metrics().filter((x) => x[1] === 'Secrets'))
      expect(m.slice(0, 4)).toEqual([
        'PingOneSecretRotation',
        'Secrets',
        'service',
        'pingone-secret-rotation-audit',
      ]);
  });

  it("shows completed and failed rotations with the function's dimensions (service and step), and audit coverage", () => {
    const all = metrics();
    expect(all).toContainEqual(
      expect.arrayContaining([
        'PingOneSecretRotation',
        'StepSucceeded',
        'service',
        'pingone-secret-rotation',
        'step',
        'finishSecret',
      ]),
    );
    for (const step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret'])
      expect(all).toContainEqual(
        expect.arrayContaining([
          'PingOneSecretRotation',
          'StepFailed',
          'service',
          'pingone-secret-rotation',
          'step',
          step,
        ]),
      );
    for (const name of ['SecretsAudited', 'SecretsNotAudited', 'AuditErrors', 'PreviousSecretInUse'])
      expect(all.map((m) => m[1])).toContain(name);
    for (const w of widgets().filter((x) => x.properties.metrics)) expect(w.properties.region).toBe(region);
  });
});
