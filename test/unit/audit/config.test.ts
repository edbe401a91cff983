import { describe, expect, it } from 'vitest';
import { loadAuditConfig } from '../../../lib/audit/config.js';
import { ConfigurationError } from '../../../lib/errors.js';

const BASE = {
  PINGONE_WORKER_PARAMETER: '/pingone/worker',
  ROTATION_LEDGER_TABLE: 'pingone-rotation-ledger',
  AUDIT_SECRET_NAME_PREFIX: 'pingone/',
};

describe('loadAuditConfig', () => {
  it('applies the documented defaults, early retirement off', () => {
    expect(loadAuditConfig(BASE)).toMatchObject({
      secretNamePrefix: 'pingone/',
      rotationFunctionArn: undefined,
      concurrency: 8,
      pingOneRequestsPerSecond: 10,
      nearExpiryMs: 24 * 3_600_000,
      stuckAfterMs: 15 * 60_000,
      retireUnusedPreviousAfterMs: undefined,
    });
    expect(
      loadAuditConfig({ ...BASE, RETIRE_UNUSED_PREVIOUS_AFTER: 'off' }).retireUnusedPreviousAfterMs,
    ).toBeUndefined();
  });

  it("reads the worker from AUDIT_WORKER_PARAMETER when set (the auditor's own), else the function's", () => {
    const own = loadAuditConfig({ ...BASE, AUDIT_WORKER_PARAMETER: '/pingone/audit-worker' });
    expect(own.rotation.workerParameter).toBe('/pingone/audit-worker');
    expect(own.ownWorker).toBe(true);
    for (const unset of [{}, { AUDIT_WORKER_PARAMETER: '' }, { AUDIT_WORKER_PARAMETER: '  ' }]) {
      const shared = loadAuditConfig({ ...BASE, ...unset });
      expect(shared.rotation.workerParameter).toBe('/pingone/worker');
      expect(shared.ownWorker).toBe(false);
    }
    expect(() => loadAuditConfig({ ...BASE, AUDIT_WORKER_PARAMETER: '/pingone//audit worker' })).toThrow(
      new ConfigurationError(
        "AUDIT_WORKER_PARAMETER is '/pingone//audit worker': it must be an SSM parameter name such as /pingone/audit-worker, or empty to use PINGONE_WORKER_PARAMETER",
      ),
    );
  });

  it('reads early retirement as a duration from 1h to 30d', () => {
    expect(
      loadAuditConfig({ ...BASE, RETIRE_UNUSED_PREVIOUS_AFTER: '36h' }).retireUnusedPreviousAfterMs,
    ).toBe(36 * 3_600_000);
    for (const bad of ['30m', '31d', 'soon', '-1h']) {
      expect(() => loadAuditConfig({ ...BASE, RETIRE_UNUSED_PREVIOUS_AFTER: bad }), bad).toThrow(
        /RETIRE_UNUSED_PREVIOUS_AFTER is '.*'(, out of range)?: it must be written <n>m, <n>h or <n>d \(or 'off'\) from 1h to 30d/,
      );
    }
  });

  it.each([
    [
      { AUDIT_SECRET_NAME_PREFIX: '' },
      /AUDIT_SECRET_NAME_PREFIX is '': it must be the non-empty secret-name prefix/,
    ],
    [{ AUDIT_SECRET_NAME_PREFIX: 'pingone/*' }, /no wildcards/],
    [
      { AUDIT_ROTATION_FUNCTION_ARN: 'rotate' },
      /AUDIT_ROTATION_FUNCTION_ARN is 'rotate': it must be a Lambda function ARN/,
    ],
    [{ AUDIT_PINGONE_REQUESTS_PER_SECOND: '0' }, /from 1 to 1000/],
    [{ AUDIT_NEAR_EXPIRY: '1w' }, /AUDIT_NEAR_EXPIRY is '1w'/],
  ])('refuses %o, naming the variable', (env, message) => {
    const error = (() => {
      try {
        loadAuditConfig({ ...BASE, ...env });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(message);
  });
});
