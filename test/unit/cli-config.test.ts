/**
 * The CLI's configuration: flags are values of the rotation function's settings (no round trip through the
 * environment), and an error names where the bad value came from, from the one settings table.
 */
import { describe, expect, it } from 'vitest';
import { rotationErrorHint, UsageError } from '../../cli/errors.js';
import { cliConfig, functionEnvironment } from '../../cli/pingone-access.js';
import { loadConfig } from '../../lib/config.js';
import { ConfigurationError } from '../../lib/errors.js';
import { parseWorkerCredentials } from '../../lib/pingone/worker-credentials.js';
import { SETTINGS } from '../../lib/settings.js';

const ENV = { PINGONE_WORKER_PARAMETER: '/pingone/worker', ROTATION_LEDGER_TABLE: 'rotation-ledger' };

function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('loadConfig with settings given directly', () => {
  it('a given value wins over the variable; an empty one leaves the variable', () => {
    const config = loadConfig(
      { ...ENV, PINGONE_REGION: 'NA' },
      { region: 'EU', ledgerTable: 'other-ledger', workerParameter: '  ' },
    );
    expect(config).toMatchObject({
      defaultRegion: 'EU',
      ledgerTable: 'other-ledger',
      workerParameter: '/pingone/worker',
    });
  });

  it.each([
    ['region', 'XX', "--pingone-region is 'XX': it must be one of NA, EU, CA, AU, SG, AP"],
    ['ledgerTable', 'a/b', "--ledger-table is 'a/b': it must be a DynamoDB table name"],
    ['apiUrl', 'http://api.example.com/v1', '--pingone-api-url must use https'],
    ['authUrl', 'not a url', "--pingone-auth-url is not a valid URL: 'not a url'"],
  ] as const)(
    'a bad %s given by flag is named by the flag and carries the setting',
    (setting, value, text) => {
      const error = thrown(() => loadConfig(ENV, { [setting]: value }));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).message).toContain(text);
      expect((error as ConfigurationError).message).not.toContain(SETTINGS[setting].variable);
      expect((error as ConfigurationError).setting).toBe(setting);
    },
  );

  it.each([
    ['PINGONE_REGION', 'XX', 'region'],
    ['ROTATION_LEDGER_TABLE', 'a/b', 'ledgerTable'],
    ['PREVIOUS_SECRET_TTL', '7', 'previousSecretTtl'],
    ['PREVIOUS_SECRET_IN_USE_WINDOW', 'soon', 'previousSecretInUseWindow'],
    ['PINGONE_WORKER_CACHE_SECONDS', '-1', 'workerCacheSeconds'],
    ['PINGONE_ALLOWED_ENVIRONMENTS', 'not-a-uuid', 'allowedEnvironments'],
  ])(
    'a bad %s in the environment is named by the variable and carries the setting',
    (variable, value, setting) => {
      const error = thrown(() => loadConfig({ ...ENV, [variable]: value }));
      expect((error as ConfigurationError).message).toMatch(new RegExp(`^${variable} `));
      expect((error as ConfigurationError).setting).toBe(setting);
    },
  );

  it('a missing setting carries it too', () => {
    expect((thrown(() => loadConfig({ ROTATION_LEDGER_TABLE: 't-1' })) as ConfigurationError).setting).toBe(
      'workerParameter',
    );
    expect((thrown(() => loadConfig({ PINGONE_WORKER_PARAMETER: '/w' })) as ConfigurationError).setting).toBe(
      'ledgerTable',
    );
  });
});

describe('cliConfig', () => {
  it('a bad value given by flag: the usage error names the flag and says to fix it', () => {
    const error = thrown(() => cliConfig(ENV, { ledgerTable: 'a/b' }));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).exitCode).toBe(2);
    expect((error as UsageError).message).toMatch(
      /^rotation function configuration: --ledger-table is 'a\/b': it must be a DynamoDB table name .*: fix --ledger-table$/,
    );
    expect((error as UsageError).message).not.toContain('ROTATION_LEDGER_TABLE');
    expect((thrown(() => cliConfig(ENV, { region: 'XX' })) as UsageError).message).toMatch(
      /^PingOne configuration: --pingone-region is 'XX': .*: fix --pingone-region$/,
    );
  });

  it('a bad value from the environment: names the variable, and the flag that would override it', () => {
    expect(
      (thrown(() => cliConfig({ ...ENV, ROTATION_LEDGER_TABLE: 'a/b' }, {})) as UsageError).message,
    ).toMatch(
      /^rotation function configuration: ROTATION_LEDGER_TABLE is 'a\/b': .*: pass --ledger-table or set the variable the rotation function uses$/,
    );
    expect((thrown(() => cliConfig({ ...ENV, PREVIOUS_SECRET_TTL: '7' }, {})) as UsageError).message).toMatch(
      /^rotation function configuration: PREVIOUS_SECRET_TTL is '7': .*: fix PREVIOUS_SECRET_TTL in this shell's environment \(the CLI reads the rotation function's variables\)$/,
    );
    expect((thrown(() => cliConfig({ ROTATION_LEDGER_TABLE: 't-1' }, {})) as UsageError).message).toMatch(
      /^PingOne configuration: PINGONE_WORKER_PARAMETER is not set: .*: pass --worker-parameter or set the variable the rotation function uses$/,
    );
  });

  it("the function's environment for a local handler: the variables with each flag's value in its variable", () => {
    expect(functionEnvironment({ ...ENV, PINGONE_REGION: 'NA' }, { region: 'EU', apiUrl: '' })).toEqual({
      ...ENV,
      PINGONE_REGION: 'EU',
    });
  });

  it("a worker parameter's own error is hinted with its flag and variable (by its setting, not its wording)", () => {
    const error = thrown(() => parseWorkerCredentials('{not json', '/w', 'NA')) as ConfigurationError;
    expect(error.setting).toBe('workerParameter');
    expect(rotationErrorHint(error)).toBe(
      ': check --worker-parameter / PINGONE_WORKER_PARAMETER, --region and --profile',
    );
    expect(rotationErrorHint(new ConfigurationError('Worker parameter (no setting)'))).toBe('');
  });
});
