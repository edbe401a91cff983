/**
 * What the local world does that Lambda would (issue 12, items 4 and 9): `rotate` says when it turns
 * rotation on and with which function ARN, and keeps the one the user recorded; the first invocation of the
 * rotation function is a cold start (cold_start:true in its log, one ColdStart metric), with the metric
 * dimensions the README documents. The real binary against moto and the simulator.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LOCAL_ROTATION_LAMBDA_ARN } from '../../local/driver.js';
import { docFiles } from '../../scripts/docs-blocks.js';
import { useWorld } from '../support/world.js';
import { binary, onboardArgs } from './support.js';

/** README.md and every page under docs/, as one text: where a fact lives is the docs' business. */
const allDocs = () =>
  docFiles('.')
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');

const { world, unique } = useWorld({ namePrefix: 'pingone/' });

async function rotationOf(name: string) {
  return JSON.parse((await binary(world, ['status', '--secret-id', name, '--json'])).stdout).rotation;
}

describe('local rotate and the rotation configuration (item 4)', () => {
  it('no rotation configured: says it turns rotation on with the local stand-in ARN', async () => {
    const secret = await world.createRotatableSecret({ name: unique('local/fresh'), region: 'EU' });
    expect((await rotationOf(secret.name)).enabled).toBe(false);
    const result = await binary(world, ['rotate', '--secret-id', secret.name, '--wait']);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `Note: ${secret.name} had no rotation configured; RotateSecret turns rotation on, and here it records the ` +
        `local stand-in function ${LOCAL_ROTATION_LAMBDA_ARN} (account 000000000000: no real function), every 30 days.`,
    );
    expect(await rotationOf(secret.name)).toMatchObject({
      enabled: true,
      lambdaArn: LOCAL_ROTATION_LAMBDA_ARN,
    });
  }, 90_000);

  it('the ARN and schedule the user attached are kept, and nothing is said', async () => {
    const eu = world.createEnvironment('EU');
    const resource = world.sim.createResource(eu, { name: 'attached' });
    const name = unique('local/attached');
    const arn = 'arn:aws:lambda:eu-west-1:123456789012:function:pingone-rotation';
    const onboard = await binary(
      world,
      onboardArgs(
        name,
        { environmentId: eu, resourceId: resource.id },
        '--rotation-function-arn',
        arn,
        '--schedule',
        'rate(7 days)',
      ),
    );
    expect(onboard.code).toBe(0);
    const result = await binary(world, ['rotate', '--secret-id', name, '--wait']);
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain('Note:');
    expect(await rotationOf(name)).toMatchObject({
      enabled: true,
      lambdaArn: arn,
      automaticallyAfterDays: 7,
    });
  }, 90_000);

  it('the docs describe it', () => {
    const readme = allDocs();
    expect(readme).toContain(LOCAL_ROTATION_LAMBDA_ARN);
    expect(readme).toMatch(/turns rotation on/);
  });
});

describe('cold start in the local world (item 9)', () => {
  it('the first invocation logs cold_start:true and emits ColdStart once; dimensions [service, step]', async () => {
    const secret = await world.createRotatableSecret({ name: unique('local/cold'), region: 'EU' });
    const result = await binary(world, ['rotate', '--secret-id', secret.name, '--wait', '--debug'], {
      env: { AWS_LAMBDA_INITIALIZATION_TYPE: undefined },
    });
    expect(result.code).toBe(0);
    const records = result.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const logs = records.filter((r) => !('_aws' in r));
    const metrics = records.filter((r) => '_aws' in r) as {
      _aws: { CloudWatchMetrics: { Dimensions: string[][]; Metrics: { Name: string }[] }[] };
    }[];
    expect(logs.length).toBeGreaterThan(4);
    const steps = [...new Set(logs.map((l) => l.step))];
    expect(steps).toEqual(['createSecret', 'setSecret', 'testSecret', 'finishSecret']);
    // Every line of the first invocation (createSecret) is cold, every later one warm.
    for (const log of logs) expect(log.cold_start).toBe(log.step === 'createSecret');
    const coldStarts = metrics.filter((m) =>
      m._aws.CloudWatchMetrics[0]!.Metrics.some((x) => x.Name === 'ColdStart'),
    );
    expect(coldStarts).toHaveLength(1);
    expect(coldStarts[0]!._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'function_name']]);
    const stepMetrics = metrics.filter((m) =>
      m._aws.CloudWatchMetrics[0]!.Metrics.some((x) => x.Name === 'StepSucceeded'),
    );
    expect(stepMetrics).toHaveLength(4);
    for (const m of stepMetrics)
      expect(m._aws.CloudWatchMetrics[0]!.Dimensions).toEqual([['service', 'step']]);
    const readme = allDocs();
    expect(readme).toContain('dimensions `service` and `step`');
    expect(readme).toContain('`ColdStart` (dimensions `service` and `function_name`)');
  });
});
