/**
 * The rotation handler on the PingOne simulator with Secrets Manager modelled in memory and the worker
 * parameter and the rotation ledger mocked (./aws-mocks.ts): the echo tests drive it one step at a time.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SSMClient } from '@aws-sdk/client-ssm';
import { expect } from 'vitest';
import { createRotationHandler } from '../../lib/handler.js';
import type { IntrospectEndpointAuthMethod, PingOneSimulator } from '../../local/pingone-simulator/index.js';
import { rotatingSecret, ssmMock, unboundLedger, workerParameter } from './aws-mocks.js';
import type { OutputCapture } from './capture-output.js';
import { findLeaks, type Sensitive } from './leaks.js';
import { testContext } from './simulator.js';

/** The ClientRequestToken and the RotationToken of the rotation `handlerOnSimulator` runs. */
export const TOKEN = '11111111-2222-4333-8444-555555555555';
export const ROTATION_TOKEN = 'rotation~token.lower-case-0123456789abcdef0123456789';

export interface HandlerOnSimulatorOptions {
  readonly workerSecret: string;
  readonly tokenEndpointAuthMethod?: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST';
  readonly introspectEndpointAuthMethod?: IntrospectEndpointAuthMethod;
}

/**
 * A resource and a worker in a new EU environment of `sim`, its secret in an in-memory Secrets Manager with a
 * rotation started, and the real handler on them (no retries' sleep). `step(name)` runs one step; `sensitive`
 * lists the credentials known so far, `leaksOfFailing` those of a step that must fail.
 */
export function handlerOnSimulator(sim: PingOneSimulator, options: HandlerOnSimulatorOptions) {
  const env = sim.createEnvironment({ region: 'EU' });
  const resource = sim.createResource(
    env.id,
    options.introspectEndpointAuthMethod
      ? { introspectEndpointAuthMethod: options.introspectEndpointAuthMethod }
      : {},
  );
  const worker = sim.createWorker(env.id, {
    clientSecret: options.workerSecret,
    ...(options.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: options.tokenEndpointAuthMethod } : {}),
  });
  sim.faults.clear();
  workerParameter(JSON.stringify(worker));
  unboundLedger();
  const sm = rotatingSecret(
    { environmentId: env.id, resourceId: resource.id, clientSecret: resource.secret, region: 'EU' },
    TOKEN,
  );
  const sensitive: Sensitive[] = [
    ROTATION_TOKEN,
    resource.secret,
    { id: worker.clientId, secret: worker.clientSecret },
    { id: resource.id, secret: resource.secret },
  ];
  const handler = createRotationHandler({
    env: {
      PINGONE_WORKER_PARAMETER: '/pingone/worker',
      ROTATION_LEDGER_TABLE: 'rotation-ledger',
      PINGONE_API_URL: sim.apiUrlTemplate,
      PINGONE_AUTH_URL: sim.authUrlTemplate,
    },
    secretsManager: sm.client,
    ssm: new SSMClient({ region: 'us-east-1' }),
    dynamodb: new DynamoDBClient({ region: 'us-east-1' }),
    sleep: async () => {},
  });
  const pingOneSecret = () => sim.readSecret(env.id, resource.id).secret;
  const step = (Step: string) =>
    handler(
      { Step, SecretId: 'pingone/app', ClientRequestToken: TOKEN, RotationToken: ROTATION_TOKEN } as never,
      testContext(),
    );

  /**
   * Runs a step that must fail; returns the credentials (known now: pending secrets, bearer tokens) found in
   * its returned error (message, stack, causes) and in the log `output` captured since the set-up.
   */
  async function leaksOfFailing(run: () => Promise<unknown>, output: OutputCapture): Promise<string[]> {
    const error = await run().then(
      () => {
        throw new Error('expected the step to fail');
      },
      (e: unknown) => e,
    );
    output.stop();
    const chain: string[] = [];
    for (let e: unknown = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
      chain.push(e.message, e.stack ?? '', JSON.stringify(e));
    }
    const text = `${chain.join('\n')}\n${output.text}`;
    expect(output.text).toContain('"message":"rotation step failed"');
    const pending = sm.versions[TOKEN]?.value;
    const extra: Sensitive[] = [...sim.issuedTokens(), pingOneSecret()];
    if (pending) extra.push(JSON.parse(pending).clientSecret as string);
    return findLeaks(text, [...sensitive, ...extra]).map((l) => `${l.value} as ${l.form}`);
  }

  return { env, resource, worker, sm, ssm: ssmMock, handler, step, sensitive, pingOneSecret, leaksOfFailing };
}
