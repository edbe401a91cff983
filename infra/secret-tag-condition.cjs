// osls variable resolver for the tag condition of infra/iam-statements.yml. IAM condition keys are object
// keys, which neither CloudFormation intrinsics nor osls variables can fill in, so the key
// `aws:ResourceTag/<secretTagKey>` is built here at package time; the value stays a CloudFormation Ref.
const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;

module.exports = async ({ resolveVariable }) => {
  const tagKey = await resolveVariable('param:secretTagKey');
  if (typeof tagKey !== 'string' || !TAG_KEY.test(tagKey) || tagKey.startsWith('aws:')) {
    throw new Error(
      `param secretTagKey must be a tag key (1-128 letters, digits, spaces or _.:/=+-@, not starting with "aws:"); got ${JSON.stringify(tagKey)}`,
    );
  }
  return { [`aws:ResourceTag/${tagKey}`]: { Ref: 'SecretTagValue' } };
};
