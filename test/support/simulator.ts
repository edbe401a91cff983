/**
 * The PingOne simulator alone, for tests that need no moto: `useSimulator()` starts one for the file (or the
 * describe block it is called in) and stops it after (the local world with moto: ./world.ts).
 */
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import {
  type PingOneSimulator,
  type PingOneSimulatorOptions,
  startPingOneSimulator,
} from '../../local/pingone-simulator/index.js';

export interface SimulatorFixtureOptions extends PingOneSimulatorOptions {
  /** Before each test: clear the fault rules (`faults`), and the request log too (`faults-and-requests`). */
  readonly reset?: 'faults' | 'faults-and-requests';
}

/** One simulator for the file (or the describe block): usable from the file's own beforeAll on. */
export function useSimulator(options: SimulatorFixtureOptions = {}): PingOneSimulator {
  const { reset, ...simulatorOptions } = options;
  let current: PingOneSimulator | undefined;
  const started = (): PingOneSimulator => {
    if (!current) throw new Error('the PingOne simulator is not running here: use it inside tests and hooks');
    return current;
  };
  beforeAll(async () => {
    current = await startPingOneSimulator(simulatorOptions);
  });
  afterAll(async () => {
    await current?.stop();
    current = undefined;
  });
  if (reset) {
    beforeEach(() => {
      const sim = started();
      sim.faults.clear();
      if (reset === 'faults-and-requests') sim.clearRequests();
    });
  }
  return new Proxy({} as PingOneSimulator, {
    get(_, key) {
      const target = started();
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (_, key) => Reflect.has(started(), key),
  });
}

/** A Lambda context for a direct handler call, `remainingMs` left of its timeout throughout. */
export function testContext(remainingMs = 30_000): Context {
  return {
    functionName: 'pingone-rotate',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:pingone-rotate',
    memoryLimitInMB: '256',
    awsRequestId: 'req-1',
    logGroupName: '/aws/lambda/pingone-rotate',
    logStreamName: 's',
    callbackWaitsForEmptyEventLoop: false,
    getRemainingTimeInMillis: () => remainingMs,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** RFC 6749 §2.3.1: form-urlencode id and secret, then Base64 (written apart from lib/redact.ts on purpose). */
export function basicAuth(id: string, secret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}
