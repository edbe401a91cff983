'use strict';
// A local osls plugin that adds the template's `Rules` section: osls's `resources` has no place for it
// (configuration validation refuses the key). Rules are CloudFormation's deploy-time checks across
// parameters: a stack with an inconsistent VPC setting is refused before anything is created, with the
// AssertDescription as the error.
const ref = (name) => ({ Ref: name });
const empty = (name) => ({ 'Fn::Equals': [ref(name), ''] });
const set = (name) => ({ 'Fn::Not': [empty(name)] });

const RULES = {
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
