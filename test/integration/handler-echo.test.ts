import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand } from '@aws-sdk/client-ssm';
import { beforeEach, describe, expect, it } from 'vitest';
import { OutputCapture } from '../support/capture-output.js';
import { handlerOnSimulator, ROTATION_TOKEN } from '../support/handler-on-simulator.js';
import { useSimulator } from '../support/simulator.js';

/**
 * The handler end to end with an upstream that quotes requests back: PingOne (the simulator's echo fault)
 * and Secrets Manager (a ValidationException quoting the SecretString and the RotationToken, as AWS
 * validation errors quote request values). Neither the log records nor the error the handler returns —
 * what Secrets Manager records as the rotation failure — holds any form of any credential.
 */
const output = new OutputCapture();
const sim = useSimulator();
let rotation: ReturnType<typeof handlerOnSimulator>;

beforeEach(() => {
  rotation = handlerOnSimulator(sim, { workerSecret: 'worker~secret.lower-case_0123456789abcdef' });
  output.start();
  output.clear();
});

const step = (name: string) => rotation.step(name);
/** The handler's returned error (message, stack, causes) and this test's log output, scanned. */
const leaksOfFailing = (run: () => Promise<unknown>) => rotation.leaksOfFailing(run, output);

describe('the handler against echoing upstreams', () => {
  it('createSecret: the worker token request is echoed back', async () => {
    sim.faults.echo({ route: 'token', status: 400 });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: the secret read is echoed back (bearer token)', async () => {
    sim.faults.echo({ route: 'secret', method: 'GET', status: 400 });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
  });

  it('testSecret: the introspection with the pending secret is echoed back', async () => {
    await step('createSecret');
    await step('setSecret');
    sim.faults.echo({ route: 'introspect', status: 400, count: 10 });
    expect(await leaksOfFailing(() => step('testSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'introspect' && r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: Secrets Manager refuses PutSecretValue quoting the SecretString and the RotationToken', async () => {
    rotation.sm.mock.on(PutSecretValueCommand).callsFake((input) => {
      const error = new Error(
        `1 validation error detected: Value '${input.SecretString}' at 'secretString' failed to satisfy ` +
          `constraint; RotationToken '${input.RotationToken}' is not valid`,
      );
      error.name = 'ValidationException';
      throw error;
    });
    const leaks = await leaksOfFailing(() => step('createSecret'));
    // The value PingOne generated for this rotation (its current secret now) was quoted, and is scanned for.
    expect(output.text).toContain('ValidationException');
    expect(leaks).toEqual([]);
    const regenerated = sim.requests.filter(
      (r) => r.method === 'POST' && r.route === 'secret' && r.resourceId === rotation.resource.id,
    );
    expect(regenerated).toHaveLength(1);
  });

  it('the last line of defence: any error quoting the RotationToken (here from SSM) is scrubbed by the handler', async () => {
    rotation.ssm.reset();
    rotation.ssm.on(GetParameterCommand).rejects(
      Object.assign(new Error(`Parameter read failed for request with RotationToken ${ROTATION_TOKEN}`), {
        name: 'InternalServerError',
      }),
    );
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(output.text).toContain('Worker parameter');
  });
});
