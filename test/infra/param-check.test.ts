/**
 * Deploy-time validation of the osls params (issue 20): osls ignored a --param it had no use for, so a
 * mistyped name (pingoneRegoin=EU) packaged a stack for the default region without a word, and an invalid
 * value only failed at deploy time. infra/param-check.cjs refuses both before anything is built, naming the
 * nearest valid parameter.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageService } from '../support/osls-package.js';

const require = createRequire(import.meta.url);
const { checkParams, parameterConstraints } = require('../../infra/param-check.cjs') as {
  checkParams(input: {
    known: string[];
    given: { name: string; value: string | undefined }[];
    values: Record<string, unknown>;
    constraints: Record<string, unknown>;
  }): string[];
  parameterConstraints(text: string): Record<string, { stackParameter: string }>;
};

const constraints = parameterConstraints(readFileSync('infra/parameters.yml', 'utf8'));
const defaults: Record<string, string> = {
  workerParameterName: '/pingone/rotation-worker',
  pingoneRegion: 'NA',
  previousSecretTtl: '7d',
  secretNamePrefix: 'pingone/',
  auditConcurrency: '8',
  kmsKeyArn: '',
};
const known = Object.keys(defaults);
const check = (given: Record<string, string>) =>
  checkParams({
    known,
    given: Object.entries(given).map(([name, value]) => ({ name, value })),
    values: { ...defaults, ...given },
    constraints,
  });

describe('the params check (infra/param-check.cjs)', () => {
  it('reads every param default of infra/parameters.yml with its stack parameter', () => {
    const text = readFileSync('infra/parameters.yml', 'utf8');
    const referenced = [...text.matchAll(/Default: \$\{param:([A-Za-z0-9]+)\}/g)].map((m) => m[1]);
    expect(Object.keys(constraints).sort()).toEqual([...referenced].sort());
    expect(constraints.pingoneRegion).toMatchObject({
      stackParameter: 'PingOneRegion',
      allowedValues: ['NA', 'EU', 'CA', 'AU', 'SG', 'AP'],
    });
  });

  it('accepts the defaults and valid values', () => {
    expect(check({})).toEqual([]);
    expect(check({ pingoneRegion: 'EU', previousSecretTtl: '30d', auditConcurrency: '64' })).toEqual([]);
  });

  it('a mistyped name is refused with the nearest valid one', () => {
    expect(check({ pingoneRegoin: 'EU' })).toEqual([
      '--param "pingoneRegoin" is not a parameter of this stack: did you mean "pingoneRegion"? (the parameters are listed under params.default in serverless.yml and in docs/configuration.md)',
    ]);
    expect(check({ secretnameprefix: 'team/' })[0]).toContain('did you mean "secretNamePrefix"?');
  });

  it('invalid values are refused with what the parameter accepts', () => {
    expect(check({ pingoneRegion: 'eu' })).toEqual([
      'pingoneRegion = "eu" (stack parameter PingOneRegion) is not one of NA, EU, CA, AU, SG, AP: did you mean "EU"?',
    ]);
    expect(check({ previousSecretTtl: '45d' })).toEqual([
      'previousSecretTtl = "45d" (stack parameter PreviousSecretTtl) is not valid: it must be <n>m, <n>h or <n>d, between 1m and 30d',
    ]);
    expect(check({ auditConcurrency: '100' })).toEqual([
      'auditConcurrency = "100" (stack parameter AuditConcurrency) is out of range: from 1 to 64',
    ]);
    expect(check({ secretNamePrefix: 'pingone' })[0]).toContain('a secret-name prefix ending with "/"');
  });
});

describe('npm run package with a mistyped --param', () => {
  it('fails before building, naming the nearest parameter', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'param-check-'));
    try {
      const error = await packageService(dir, { args: ['--param=pingoneRegoin=EU'] }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(error, 'osls package succeeded with --param=pingoneRegoin=EU').toBeInstanceOf(Error);
      expect(error!.message).toContain(
        '--param "pingoneRegoin" is not a parameter of this stack: did you mean "pingoneRegion"?',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
