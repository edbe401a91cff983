import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { packageService } from '../support/osls-package.js';
import {
  asObject,
  type Deployment,
  type Json,
  satisfiesConstraints,
  type Template,
  TemplateEvaluator,
} from './cloudformation.js';

/**
 * The optional VPC deployment (infra/vpc.yml, infra/cfn-rules.cjs), both shapes of the generated template:
 * no VPC (the default) and in a VPC, with and without the endpoints. cfn-lint of the whole template, VPC
 * resources included, is in template.test.ts.
 */

type RuleSet = Record<
  string,
  { RuleCondition?: Json; Assertions: { Assert: Json; AssertDescription: string }[] }
>;
let workDir: string;
let template: Template & { Rules?: RuleSet };

const region = 'eu-central-1';
const base: Deployment = { region, accountId: '123456789012', stackName: 'pingone-secret-rotation-ci' };
const subnets = 'subnet-0123456789abcdef0,subnet-0fedcba9876543210';
const groups = 'sg-0123456789abcdef0,sg-11111111';
const inVpc: Deployment = { ...base, parameters: { VpcSubnetIds: subnets, VpcSecurityGroupIds: groups } };
const withEndpoints: Deployment = {
  ...base,
  parameters: {
    VpcSubnetIds: subnets,
    VpcSecurityGroupIds: groups,
    CreateVpcEndpoints: 'true',
    VpcId: 'vpc-0a1b2c3d4e5f60718',
    VpcRouteTableIds: 'rtb-0a1b2c3d4e5f60718,rtb-12345678',
  },
};

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'pingone-vpc-'));
  const packageDir = join(workDir, 'package');
  await packageService(packageDir);
  template = JSON.parse(
    await readFile(join(packageDir, 'cloudformation-template-update-stack.json'), 'utf8'),
  );
}, 90_000);

afterAll(async () => {
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

const resources = (deployment: Deployment) => new TemplateEvaluator(template, deployment).resources();

/** The AssertDescriptions of the template's Rules that refuse this deployment (CloudFormation's check). */
function refusedBy(deployment: Deployment): string[] {
  const evaluator = new TemplateEvaluator(template, deployment);
  return Object.values(template.Rules ?? {}).flatMap((rule) =>
    rule.RuleCondition !== undefined && evaluator.evaluate(rule.RuleCondition) !== true
      ? []
      : rule.Assertions.filter((a) => evaluator.evaluate(a.Assert) !== true).map((a) => a.AssertDescription),
  );
}

describe('VPC deployment', () => {
  it('by default: no VPC, no endpoints, no VPC permissions', () => {
    const r = resources(base);
    expect(r.RotateLambdaFunction?.Properties.VpcConfig).toBeUndefined();
    expect(r.IamRoleLambdaExecution?.Properties.ManagedPolicyArns).toBeUndefined();
    expect(JSON.stringify(r.IamRoleLambdaExecution?.Properties.Policies)).not.toContain('ec2:');
    expect(Object.values(r).filter((x) => x.Type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(refusedBy(base)).toEqual([]);
  });

  it('with subnets and security groups: the function runs in them, with the ENI policy on its role', () => {
    const r = resources(inVpc);
    expect(r.RotateLambdaFunction?.Properties.VpcConfig).toEqual({
      SubnetIds: subnets.split(','),
      SecurityGroupIds: groups.split(','),
    });
    // The ENI actions inline, not AWSLambdaVPCAccessExecutionRole (which adds logs:* on "*"); denied to the code.
    expect(r.IamRoleLambdaExecution?.Properties.ManagedPolicyArns).toBeUndefined();
    const policies = (r.IamRoleLambdaExecution?.Properties.Policies ?? []) as {
      PolicyDocument: { Statement: Record<string, unknown>[] };
    }[];
    const statements = policies.flatMap((p) => p.PolicyDocument.Statement);
    const eni = statements.filter((s) => JSON.stringify(s.Action).includes('ec2:'));
    expect(eni.map((s) => [s.Effect, s.Action, s.Resource, s.Condition])).toEqual([
      [
        'Allow',
        [
          'ec2:CreateNetworkInterface',
          'ec2:DescribeNetworkInterfaces',
          'ec2:DescribeSubnets',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        '*',
        undefined,
      ],
      [
        'Deny',
        [
          'ec2:CreateNetworkInterface',
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        '*',
        {
          ArnEquals: {
            'lambda:SourceFunctionArn': `arn:aws:lambda:${region}:123456789012:function:pingone-secret-rotation-ci-rotate`,
          },
        },
      ],
    ]);
    expect(JSON.stringify(statements)).not.toContain('logs:CreateLogGroup');
    // Endpoints only on request: the VPC may already have them (private DNS allows one per service).
    expect(Object.values(r).filter((x) => x.Type.startsWith('AWS::EC2::'))).toEqual([]);
    expect(refusedBy(inVpc)).toEqual([]);
  });

  it('with CreateVpcEndpoints: Secrets Manager and SSM interface endpoints, a DynamoDB gateway endpoint', () => {
    const r = resources(withEndpoints);
    const endpoints = Object.values(r).filter((x) => x.Type === 'AWS::EC2::VPCEndpoint');
    expect(endpoints.map((e) => [e.Properties.ServiceName, e.Properties.VpcEndpointType]).sort()).toEqual([
      [`com.amazonaws.${region}.dynamodb`, 'Gateway'],
      [`com.amazonaws.${region}.secretsmanager`, 'Interface'],
      [`com.amazonaws.${region}.ssm`, 'Interface'],
    ]);
    for (const e of endpoints) expect(e.Properties.VpcId).toBe('vpc-0a1b2c3d4e5f60718');
    for (const e of endpoints.filter((x) => x.Properties.VpcEndpointType === 'Interface')) {
      // Private DNS: the SDK's default regional endpoints resolve to the endpoint, no configuration needed.
      expect(e.Properties).toMatchObject({
        PrivateDnsEnabled: true,
        SubnetIds: subnets.split(','),
        SecurityGroupIds: ['<VpcEndpointSecurityGroup.GroupId>'],
      });
    }
    const gateway = endpoints.find((e) => e.Properties.VpcEndpointType === 'Gateway');
    expect(gateway?.Properties.RouteTableIds).toEqual(['rtb-0a1b2c3d4e5f60718', 'rtb-12345678']);
  });

  it('lets HTTPS reach the endpoints from each of the function’s security groups, and nothing else', () => {
    const r = resources(withEndpoints);
    const sg = r.VpcEndpointSecurityGroup?.Properties;
    const ingress = [
      ...((sg?.SecurityGroupIngress ?? []) as Json[]),
      ...Object.values(r)
        .filter((x) => x.Type === 'AWS::EC2::SecurityGroupIngress')
        .map((x) => x.Properties),
    ].map((rule) => asObject(rule, 'ingress'));
    expect(ingress.map((i) => [i.IpProtocol, i.FromPort, i.ToPort, i.SourceSecurityGroupId])).toEqual([
      ['tcp', 443, 443, 'sg-0123456789abcdef0'],
      ['tcp', 443, 443, 'sg-11111111'],
    ]);
    for (const i of ingress) expect(i.CidrIp).toBeUndefined();
    // The allow-all default egress is replaced.
    expect(sg?.SecurityGroupEgress).toEqual([
      { IpProtocol: '-1', CidrIp: '127.0.0.1/32', Description: 'no egress' },
    ]);

    const five = 'sg-11111111,sg-22222222,sg-33333333,sg-44444444,sg-55555555';
    const all = resources({
      ...withEndpoints,
      parameters: { ...withEndpoints.parameters, VpcSecurityGroupIds: five },
    });
    const sources = [
      ...((all.VpcEndpointSecurityGroup?.Properties.SecurityGroupIngress ?? []) as Json[]),
      ...Object.values(all)
        .filter((x) => x.Type === 'AWS::EC2::SecurityGroupIngress')
        .map((x) => x.Properties),
    ].map((rule) => asObject(rule, 'ingress').SourceSecurityGroupId);
    expect(sources).toEqual(five.split(','));
  });

  it('refuses inconsistent settings at deploy time (Rules), naming what is missing', () => {
    const refuse = (parameters: Record<string, string>) => refusedBy({ ...base, parameters });
    expect(refuse({ VpcSubnetIds: subnets })).toEqual([
      'VpcSubnetIds and VpcSecurityGroupIds must be set together (or both left empty)',
    ]);
    expect(refuse({ VpcSecurityGroupIds: groups })).toEqual([
      'VpcSubnetIds and VpcSecurityGroupIds must be set together (or both left empty)',
    ]);
    expect(
      refuse({ VpcSubnetIds: subnets, VpcSecurityGroupIds: groups, CreateVpcEndpoints: 'true' }),
    ).toEqual([
      'CreateVpcEndpoints=true needs VpcId, the VPC of VpcSubnetIds',
      'CreateVpcEndpoints=true needs VpcRouteTableIds for the DynamoDB gateway endpoint',
    ]);
    expect(refuse({ CreateVpcEndpoints: 'true' })).toContain(
      'CreateVpcEndpoints=true needs VpcSubnetIds (and VpcSecurityGroupIds)',
    );
    expect(refusedBy(withEndpoints)).toEqual([]);
  });

  it('validates the IDs it is given', () => {
    const accepts = (name: string, value: string) => {
      const parameter = template.Parameters?.[name];
      if (!parameter) throw new Error(`no stack parameter ${name}`);
      return satisfiesConstraints(parameter, value);
    };
    expect(accepts('VpcSubnetIds', subnets)).toBe(true);
    expect(accepts('VpcSubnetIds', 'subnet-0123456789abcdef0, subnet-0fedcba9876543210')).toBe(false);
    expect(accepts('VpcSubnetIds', 'sg-0123456789abcdef0')).toBe(false);
    expect(accepts('VpcSecurityGroupIds', 'sg-1,sg-2')).toBe(false);
    expect(
      accepts(
        'VpcSecurityGroupIds',
        'sg-11111111,sg-22222222,sg-33333333,sg-44444444,sg-55555555,sg-66666666',
      ),
    ).toBe(false);
    expect(accepts('VpcId', 'vpc-0a1b2c3d4e5f60718')).toBe(true);
    expect(accepts('VpcRouteTableIds', 'rtb-0a1b2c3d4e5f60718')).toBe(true);
    expect(accepts('CreateVpcEndpoints', 'yes')).toBe(false);
  });
});
