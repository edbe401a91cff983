import { beforeEach, describe, expect, it } from 'vitest';
import { basicAuthorization, TRANSPORT_ENCODINGS } from '../../lib/redact.js';
import { ECHO_ENCODINGS, type EchoEncoding } from '../../local/pingone-simulator/index.js';
import { OutputCapture } from '../support/capture-output.js';
import { handlerOnSimulator } from '../support/handler-on-simulator.js';
import { findLeaks } from '../support/leaks.js';
import { useSimulator } from '../support/simulator.js';

/**
 * The handler end to end against an upstream that quotes the request back in another encoding (the
 * simulator's echo fault with `encoding`): hex (finding 7 of issue 17), base64 and base64url of the whole
 * quote (so a credential sits at any byte alignment), double percent-encoding, JSON `\u` escapes, HTML
 * entities, `\x` escapes, quoted-printable. For each, neither the log records nor the error the handler
 * returns to Secrets Manager hold any form of the worker secret, the bearer token or the new client secret;
 * and the same echo unredacted is caught by the leak scanner, so each check can fail.
 */
/** Lower case: the redactor's shape rules let it through, so only its knowledge of every form removes it. */
const WORKER_SECRET = 'worker~secret.lower-case_0123456789abcdef';
const ENCODED = ECHO_ENCODINGS.filter((e): e is Exclude<EchoEncoding, 'none'> => e !== 'none');

const output = new OutputCapture();
const sim = useSimulator();
let rotation: ReturnType<typeof handlerOnSimulator>;
let worker: { clientId: string; clientSecret: string; environmentId: string };
let authBase: string;

function setUp(tokenEndpointAuthMethod: 'CLIENT_SECRET_BASIC' | 'CLIENT_SECRET_POST') {
  rotation = handlerOnSimulator(sim, {
    workerSecret: WORKER_SECRET,
    tokenEndpointAuthMethod,
    introspectEndpointAuthMethod: 'CLIENT_SECRET_BASIC',
  });
  worker = rotation.worker;
  authBase = `${sim.authUrl('EU')}/${rotation.env.id}`;
  output.start();
  output.clear();
}

const step = (name: string) => rotation.step(name);
/** The handler's returned error (message, stack, causes) and this test's log output, scanned. */
const leaksOfFailing = (run: () => Promise<unknown>) => rotation.leaksOfFailing(run, output);

describe('the encodings', () => {
  it('every encoding the redactor covers has an echo fault, and the other way round', () => {
    const redactor = TRANSPORT_ENCODINGS.map((e) => e.name).filter((n) => n !== 'as-sent');
    const echoed = ENCODED.map((e) => (e === 'hex-upper' ? 'hex' : e));
    expect([...new Set(echoed)].sort()).toEqual([...redactor].sort());
  });
});

describe.each(ENCODED)('an upstream that echoes the request as %s', (encoding) => {
  beforeEach(() => setUp('CLIENT_SECRET_BASIC'));

  it('the scan is real: the echo itself, unredacted, is caught in that encoding', async () => {
    sim.faults.echo({ route: 'token', status: 400, encoding });
    const response = await fetch(`${authBase}/as/token`, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(worker.clientId, worker.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: `grant_type=client_credentials&client_secret=${encodeURIComponent(WORKER_SECRET)}`,
    });
    const echoed = (await response.json()) as { error_description: string };
    output.stop();
    const credential = { id: worker.clientId, secret: WORKER_SECRET };
    expect(findLeaks(echoed.error_description, [credential])).toHaveLength(1);
    // …and by the forms of that encoding alone.
    const name = encoding === 'hex-upper' ? 'hex' : encoding;
    expect(findLeaks(echoed.error_description, [credential], { encodings: [name] })).toHaveLength(1);
  });

  it('createSecret: the worker token request (Basic) echoed: no worker secret anywhere', async () => {
    sim.faults.echo({ route: 'token', status: 400, encoding });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'token' && r.fault === 'echo:400')).toBe(true);
  });

  it('createSecret: the secret read echoed: no bearer token anywhere', async () => {
    sim.faults.echo({ route: 'secret', method: 'GET', status: 400, encoding });
    expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    expect(sim.issuedTokens().length).toBeGreaterThan(0);
  });

  it('testSecret: the introspection with the new client secret echoed: no form of it anywhere', async () => {
    await step('createSecret');
    await step('setSecret');
    sim.faults.echo({ route: 'introspect', status: 400, count: 10, encoding });
    expect(await leaksOfFailing(() => step('testSecret'))).toEqual([]);
    expect(sim.requests.some((r) => r.route === 'introspect' && r.fault === 'echo:400')).toBe(true);
  });
});

describe.each(ENCODED)(
  'a worker sending its secret in the body (CLIENT_SECRET_POST), echoed as %s',
  (encoding) => {
    beforeEach(() => setUp('CLIENT_SECRET_POST'));

    it('createSecret: no worker secret in the logs or the returned error', async () => {
      sim.faults.echo({ route: 'token', status: 400, encoding });
      expect(await leaksOfFailing(() => step('createSecret'))).toEqual([]);
    });
  },
);
