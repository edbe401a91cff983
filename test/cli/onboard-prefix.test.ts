import { describe, expect, it } from 'vitest';
import { useWorld } from '../support/world.js';
import { cli, onboardArgs, pingOneResource, secretExists } from './support.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotation';
const { world } = useWorld();
let counter = 0;

const customResource = () => pingOneResource(world, { name: 'Payroll API' });

const exists = (name: string) => secretExists(world, name);

const onboardWithRotation = (name: string, owner: { environmentId: string; resourceId: string }) => [
  ...onboardArgs(name, owner),
  '--rotation-function-arn',
  FUNCTION_ARN,
  '--schedule',
  'rate(30 days)',
];

describe('onboard and the stack secret-name prefix', () => {
  it('a name outside the default prefix (pingone/) is refused, says why, creates nothing, calls nothing', async () => {
    const owner = customResource();
    const name = `payroll/api-${++counter}`;
    const requestsBefore = world.sim.requests.length;
    const run = await cli(world, onboardWithRotation(name, owner));
    expect(run.code).toBe(2);
    expect(run.out).toBe('');
    expect(run.err).toBe(
      `pingone-rotation: --secret-name '${name}' is outside the stack's secret-name prefix 'pingone/': the ` +
        "rotation function may only rotate secrets under it and the auditor only sees those, and a secret's name " +
        "cannot be changed later: name it pingone/…, or pass --prefix with the stack's secretNamePrefix (stack " +
        'output SecretNamePrefix); nothing was created\n',
    );
    expect(await exists(name)).toBe(false);
    expect(world.sim.requests.length).toBe(requestsBefore);
  });

  it('a name that only looks similar (pingone-payroll/…) is outside pingone/ too', async () => {
    const name = `pingone-payroll/api-${++counter}`;
    const run = await cli(world, onboardWithRotation(name, customResource()));
    expect(run.code).toBe(2);
    expect(run.err).toContain("is outside the stack's secret-name prefix 'pingone/'");
    expect(await exists(name)).toBe(false);
  });

  it("--prefix names the stack's prefix: a name under it is onboarded, one outside it refused", async () => {
    const inside = `team-a/pingone/api-${++counter}`;
    const ok = await cli(world, [
      ...onboardWithRotation(inside, customResource()),
      '--prefix',
      'team-a/pingone/',
    ]);
    expect(ok.err).toBe('');
    expect(ok.code).toBe(0);
    expect(await exists(inside)).toBe(true);

    const outside = `pingone/api-${++counter}`;
    const refused = await cli(world, [
      ...onboardWithRotation(outside, customResource()),
      '--prefix',
      'team-a/pingone/',
    ]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain("is outside the stack's secret-name prefix 'team-a/pingone/'");
    expect(await exists(outside)).toBe(false);
  });

  it('a --prefix that is not a prefix (no trailing /, a wildcard) is a usage error', async () => {
    for (const prefix of ['pingone', 'pingone/*/']) {
      const run = await cli(world, [
        ...onboardWithRotation(`pingone/api-${++counter}`, customResource()),
        '--prefix',
        prefix,
      ]);
      expect(run.code).toBe(2);
      expect(run.err).toContain(`--prefix '${prefix}' is not a secret-name prefix`);
    }
  });
});
