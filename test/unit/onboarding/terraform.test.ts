import { parse as parseHcl } from '@cdktf/hcl2json';
import { describe, expect, it } from 'vitest';
import { configAddressOf, parseTerraformJson, scheduleFor } from '../../../cli/onboarding/terraform.js';
import { emitTerraform, modeFor } from '../../../cli/onboarding/terraform-emit.js';
import { describeLeaks } from '../../support/leaks.js';

const ENV = '5d3b2a10-1111-4222-8333-444455556666';
const APP = '7e6d5c4b-aaaa-4bbb-8ccc-ddddeeeeffff';
const RES = '0a1b2c3d-1234-4567-89ab-cdef01234567';

/** `terraform show -json plan.out`: the secrets exist (prior_state); the configuration says what feeds them. */
const PLAN = {
  format_version: '1.2',
  terraform_version: '1.8.5',
  planned_values: { root_module: {} },
  prior_state: {
    values: {
      root_module: {
        child_modules: [
          {
            address: 'module.idp',
            resources: [
              {
                address: 'module.idp.time_rotating.web',
                mode: 'managed',
                type: 'time_rotating',
                name: 'web',
                values: { rotation_days: 7, rotation_rfc3339: '2026-12-12T00:00:00Z' },
              },
              {
                address: 'module.idp.pingone_application_secret.web',
                mode: 'managed',
                type: 'pingone_application_secret',
                name: 'web',
                values: {
                  environment_id: ENV,
                  application_id: APP,
                  secret: 'state-secret-value',
                  regenerate_trigger_values: {},
                },
              },
              {
                address: 'module.idp.pingone_resource_secret.api["eu"]',
                mode: 'managed',
                type: 'pingone_resource_secret',
                name: 'api',
                index: 'eu',
                values: { environment_id: ENV, resource_id: RES, secret: 'state-secret-value-2' },
              },
            ],
          },
        ],
      },
    },
  },
  configuration: {
    root_module: {
      module_calls: {
        idp: {
          module: {
            resources: [
              {
                address: 'pingone_application_secret.web',
                expressions: {
                  regenerate_trigger_values: {
                    references: ['time_rotating.web.rotation_rfc3339', 'time_rotating.web'],
                  },
                },
              },
              { address: 'time_rotating.web', expressions: { rotation_days: { constant_value: 7 } } },
            ],
          },
        },
      },
    },
  },
};

describe('import-terraform: reading terraform show -json', () => {
  it('a plan: secrets from prior_state, the time_rotating through the configuration references', () => {
    const found = parseTerraformJson(JSON.stringify(PLAN), 'plan.json');
    expect(found.kind).toBe('plan');
    expect(found.terraformVersion).toBe('1.8.5');
    expect(
      found.secrets.map((s) => [s.address, s.kind, s.environmentId, s.ownerId, s.path.join('/')]),
    ).toEqual([
      ['module.idp.pingone_application_secret.web', 'application', ENV, APP, 'idp/web'],
      ['module.idp.pingone_resource_secret.api["eu"]', 'resource', ENV, RES, 'idp/api/eu'],
    ]);
    expect(found.secrets[0]?.rotation).toMatchObject({
      address: 'module.idp.time_rotating.web',
      via: 'configuration',
      period: 'rotation_days = 7',
      schedule: 'rate(7 days)',
    });
    expect(found.secrets[1]?.rotation).toBeUndefined();
    expect(describeLeaks(JSON.stringify(found), ['state-secret-value'])).toEqual([]);
  });

  it('not terraform show -json: a usage error that says what to run', () => {
    expect(() => parseTerraformJson('{"resources": []}', 'x.json')).toThrow(
      /terraform show -json > state.json/,
    );
    expect(() => parseTerraformJson('terraform {', 'x.tf')).toThrow(/x.tf is not JSON/);
  });

  it('periods as Secrets Manager schedules', () => {
    expect(scheduleFor(30 * 1440).schedule).toBe('rate(30 days)');
    expect(scheduleFor(1440).schedule).toBe('rate(1 day)');
    expect(scheduleFor(12 * 60).schedule).toBe('rate(12 hours)');
    expect(scheduleFor(90)).toMatchObject({
      schedule: undefined,
      note: expect.stringMatching(/every 4 hours/),
    });
    expect(scheduleFor(5000 * 1440).schedule).toBe('rate(999 days)');
    expect(scheduleFor(6 * 60 + 30)).toMatchObject({ schedule: 'rate(7 hours)' });
  });

  it('addresses: instance keys dropped for removed blocks', () => {
    expect(configAddressOf('module.a["x.y"].module.b[0].pingone_resource_secret.s["k"]')).toBe(
      'module.a.module.b.pingone_resource_secret.s',
    );
  });

  it('Terraform 1.7+ gets removed blocks, older the state rm commands', () => {
    expect(modeFor('1.7.0')).toBe('removed');
    expect(modeFor('1.10.2')).toBe('removed');
    expect(modeFor('1.6.6')).toBe('state-rm');
    expect(modeFor(undefined)).toBe('removed');
  });

  it('a secret with an instance not imported is not forgotten (a removed block would forget every instance)', async () => {
    const state = {
      terraform_version: '1.9.0',
      values: {
        root_module: {
          resources: [0, 1].map((i) => ({
            address: `pingone_resource_secret.api[${i}]`,
            mode: 'managed',
            type: 'pingone_resource_secret',
            name: 'api',
            index: i,
            values: { environment_id: ENV, resource_id: RES.replace(/7$/, String(i)) },
          })),
        },
      },
    };
    const findings = parseTerraformJson(JSON.stringify(state), 's.json');
    const [first, second] = findings.secrets;
    const emitted = emitTerraform({
      findings,
      imported: [first!],
      left: [{ secret: second!, why: 'PingOne has no such resource' }],
      source: 's.json',
      mode: 'removed',
      now: new Date('2026-12-05T00:00:00Z'),
    });
    expect(emitted.forgotten).toEqual([]);
    expect(emitted.text).toContain(
      '# Not imported (still managed by Terraform; run import-terraform again): pingone_resource_secret.api[1]: PingOne has no such resource',
    );
    expect(emitted.text).toContain(
      '# Not forgotten yet: pingone_resource_secret.api has instances not imported',
    );
    const hcl = (await parseHcl('x.tf', emitted.text)) as Record<string, unknown>;
    expect(hcl.removed).toBeUndefined();
  });
});
