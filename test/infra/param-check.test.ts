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
const { checkParams, finalValues, parameterConstraints } = require('../../infra/param-check.cjs') as {
  finalValues(values: Record<string, unknown>): Record<string, unknown>;
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

describe('the worker settings (infra/worker-settings.cjs, issue 19)', () => {
  const list = (...workers: Record<string, unknown>[]) => JSON.stringify(workers);
  // serverless.yml's default of workerParameterName, an osls variable (as configurationInput holds it).
  // biome-ignore lint/suspicious/noTemplateCurlyInString: an osls variable, not a template string
  const RAW_DEFAULT = '${file(infra/worker-settings.cjs)}';
  const eu = { name: 'eu', region: 'EU', parameter: '/pingone/workers/eu', environments: '*' };
  const na = { name: 'na', region: 'NA', secret: 'pingone/workers/na', environments: '*' };
  /** The params as the template gets them: `workerParameterName` defaults by `workers` (serverless.yml). */
  const checkWorkers = (given: Record<string, string>) => {
    const values = finalValues({
      ...defaults,
      workerParameterName: RAW_DEFAULT,
      workers: '',
      workerParameterPath: '/pingone/workers/',
      ...given,
    });
    return checkParams({
      known: [...known, 'workers', 'workerParameterPath'],
      given: Object.entries(given).map(([name, value]) => ({ name, value })),
      values,
      constraints,
    });
  };

  it('workerParameterName defaults to /pingone/rotation-worker until workers is set, then to empty', () => {
    const raw = { workerParameterName: RAW_DEFAULT };
    expect(finalValues({ ...raw, workers: '' }).workerParameterName).toBe('/pingone/rotation-worker');
    expect(finalValues({ ...raw, workers: list(eu) }).workerParameterName).toBe('');
    expect(checkWorkers({})).toEqual([]);
    expect(checkWorkers({ workers: list(eu, na) })).toEqual([]);
    // A secret may be named by its ARN.
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:pingone/workers/na-AbCdEf';
    expect(checkWorkers({ workers: list({ ...na, secret: arn }) })).toEqual([]);
    // A worker may name its PingOne organization (the licence whose rate budget it shares), as
    // onboard-worker-pair --organization-id prints it.
    expect(
      checkWorkers({ workers: list({ ...eu, organization: 'org-1' }, { ...na, organization: 'org-1' }) }),
    ).toEqual([]);
  });

  it('refuses both, and neither', () => {
    expect(checkWorkers({ workers: list(eu), workerParameterName: '/pingone/rotation-worker' })).toEqual([
      'workers and workerParameterName = "/pingone/rotation-worker" are both set: name the workers in one place, workers (the single worker is a list of one) or workerParameterName',
    ]);
    expect(
      checkParams({
        known,
        given: [],
        values: { ...defaults, workerParameterName: '', workers: '' },
        constraints,
      }),
    ).toEqual([
      'no worker is named: set workerParameterName (the single worker, e.g. /pingone/rotation-worker) or workers (a worker per PingOne organization)',
    ]);
  });

  it("refuses a worker the stack's roles could not read, naming it and the scope", () => {
    expect(checkWorkers({ workers: list({ ...eu, parameter: '/pingone/rotation-worker-eu' }) })).toEqual([
      "workers: worker 'eu''s parameter /pingone/rotation-worker-eu is not under workerParameterPath = \"/pingone/workers/\", the only SSM parameters the stack's roles may read: move it there or change workerParameterPath",
    ]);
    expect(checkWorkers({ workers: list({ ...na, secret: 'payroll/worker' }) })[0]).toContain(
      "worker 'na''s secret payroll/worker is not under secretNamePrefix = \"pingone/\"",
    );
    // Without a leading slash it is the same parameter (and the same ARN).
    expect(checkWorkers({ workers: list({ ...eu, parameter: 'pingone/workers/eu' }) })).toEqual([]);
  });

  it('refuses a document that is not a JSON array, or longer than the stack parameter allows', () => {
    expect(checkWorkers({ workers: '[{"name":' })).toContain(
      'workers is not valid JSON: it must be the PINGONE_WORKERS array (docs/configuration.md)',
    );
    expect(checkWorkers({ workers: '[]' })).toContain(
      'workers is not a non-empty JSON array: it must be the PINGONE_WORKERS array (docs/configuration.md)',
    );
    const many = list(
      ...Array.from({ length: 30 }, (_, i) => ({
        ...eu,
        name: `w${i}`,
        parameter: `/pingone/workers/w${i}`,
      })),
    );
    expect(checkWorkers({ workers: many })[0]).toMatch(
      /^workers \(stack parameter PingOneWorkers\) is too long: \d+ characters, at most 2048$/,
    );
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
