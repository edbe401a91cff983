'use strict';
// A local osls plugin that adds the template's `Rules` section: osls's `resources` has no place for it
// (configuration validation refuses the key). Rules are CloudFormation's deploy-time checks across
// parameters: a stack with an inconsistent VPC setting is refused before anything is created, with the
// AssertDescription as the error.
const ref = (name) => ({ Ref: name });
const empty = (name) => ({ 'Fn::Equals': [ref(name), ''] });
const set = (name) => ({ 'Fn::Not': [empty(name)] });

const RULES = {
  // The workers are named in one place (infra/worker-settings.cjs checks the same at package time).
  OneWorkerSetting: {
    Assertions: [
      {
        Assert: { 'Fn::Not': [{ 'Fn::And': [set('PingOneWorkers'), set('WorkerParameterName')] }] },
        AssertDescription:
          'PingOneWorkers and WorkerParameterName are both set: name the workers in one place, PingOneWorkers (a worker per PingOne organization; leave WorkerParameterName empty) or WorkerParameterName (the single worker)',
      },
      {
        Assert: { 'Fn::Or': [set('PingOneWorkers'), set('WorkerParameterName')] },
        AssertDescription:
          'No worker is named: set WorkerParameterName (the single worker, e.g. /pingone/rotation-worker) or PingOneWorkers (a worker per PingOne organization)',
      },
    ],
  },
  VpcSubnetsAndSecurityGroupsTogether: {
    Assertions: [
      {
        Assert: {
          'Fn::Or': [
            { 'Fn::And': [empty('VpcSubnetIds'), empty('VpcSecurityGroupIds')] },
            { 'Fn::And': [set('VpcSubnetIds'), set('VpcSecurityGroupIds')] },
          ],
        },
        AssertDescription: 'VpcSubnetIds and VpcSecurityGroupIds must be set together (or both left empty)',
      },
    ],
  },
  VpcEndpointsNeedVpcAndRouteTables: {
    RuleCondition: { 'Fn::Equals': [ref('CreateVpcEndpoints'), 'true'] },
    Assertions: [
      {
        Assert: set('VpcSubnetIds'),
        AssertDescription: 'CreateVpcEndpoints=true needs VpcSubnetIds (and VpcSecurityGroupIds)',
      },
      {
        Assert: set('VpcId'),
        AssertDescription: 'CreateVpcEndpoints=true needs VpcId, the VPC of VpcSubnetIds',
      },
      {
        Assert: set('VpcRouteTableIds'),
        AssertDescription: 'CreateVpcEndpoints=true needs VpcRouteTableIds for the DynamoDB gateway endpoint',
      },
    ],
  },
};

class CloudFormationRules {
  constructor(serverless) {
    this.hooks = {
      'before:package:finalize': () => {
        const template = serverless.service.provider.compiledCloudFormationTemplate;
        template.Rules = { ...template.Rules, ...RULES };
      },
    };
  }
}

module.exports = CloudFormationRules;
module.exports.RULES = RULES;
