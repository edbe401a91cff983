// osls variable resolver for the StringEquals condition of the secrets statement (infra/role.yml). IAM
// condition keys are object keys, which neither CloudFormation intrinsics nor osls variables can fill in,
// so the object is built here at package time; the values stay CloudFormation expressions.
//
// - secretsmanager:resource/AllowRotationLambdaArn: the secret's rotation must be configured to run this
//   function (its ARN is built from the function name, not GetAtt: the role must not depend on the function).
// - aws:ResourceTag/<secretTagKey>: present only when the SecretTagValue parameter is set.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

module.exports = async ({ resolveVariable }) => {
  const tagKey = await resolveVariable('param:secretTagKey');
  if (typeof tagKey !== 'string' || !TAG_KEY.test(tagKey) || tagKey.startsWith('aws:')) {
    throw new Error(
      `param secretTagKey must be a tag key (1-128 letters, digits, spaces or _.:/=+-@, not starting with "aws:"); got ${JSON.stringify(tagKey)}`,
    );
  }
  const functionName = await resolveVariable('self:functions.rotate.name');
  return {
    'secretsmanager:resource/AllowRotationLambdaArn': {
      'Fn::Sub': `arn:\${AWS::Partition}:lambda:\${AWS::Region}:\${AWS::AccountId}:function:${functionName}`,
    },
    [`aws:ResourceTag/${tagKey}`]: {
      'Fn::If': ['HasSecretTagCondition', { Ref: 'SecretTagValue' }, { Ref: 'AWS::NoValue' }],
    },
  };
};
