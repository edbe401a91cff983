#!/usr/bin/env node
// `npm run lint:infra`: cfn-lint on the template that `npm run package` generated. cfn-lint is a Python tool
// (not an npm dependency — the npm package of that name is an unrelated, stale linter), so say clearly
// when it is missing instead of failing with a bare ENOENT.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const templates = process.argv.slice(2);
if (templates.length === 0) templates.push('.serverless/cloudformation-template-update-stack.json');

for (const template of templates) {
  if (!existsSync(template)) {
    console.error(`lint:infra: ${template} does not exist; run \`npm run package\` first.`);
    process.exit(2);
  }
}

const result = spawnSync('cfn-lint', templates, { stdio: 'inherit' });
if (result.error && 'code' in result.error && result.error.code === 'ENOENT') {
  console.error(
    'lint:infra: cfn-lint is not on PATH. Install the AWS CloudFormation linter (Python) with `pip install cfn-lint` ' +
      '(or `pipx install cfn-lint`); version 1.51 or later is expected.',
  );
  process.exit(127);
}
if (result.error) throw result.error;
process.exit(result.status ?? 1);
