import { afterEach, describe, expect, it } from 'vitest';
import { RuntimeApiEmulator } from '../../local/lambda-runtime/runtime-api.js';

let api: RuntimeApiEmulator | undefined;
afterEach(async () => {
  await api?.stop();
  api = undefined;
});

async function started(options: ConstructorParameters<typeof RuntimeApiEmulator>[0] = {}) {
  api = new RuntimeApiEmulator(options);
  const host = await api.start();
  const url = (path: string) => `http://${host}/2018-06-01/runtime${path}`;
  return { api, url };
}

describe('Runtime API emulator', () => {
  it('hands the runtime an invocation with Lambda’s headers and takes its response', async () => {
    const { api, url } = await started({ functionArn: 'arn:aws:lambda:eu-west-1:1:function:f' });
    const before = Date.now();
    const result = api.invoke({ event: { Step: 'createSecret' }, timeoutMs: 30_000, requestId: 'req-1' });
    const next = await fetch(url('/invocation/next'));
    expect(await next.json()).toEqual({ Step: 'createSecret' });
    expect(next.headers.get('lambda-runtime-aws-request-id')).toBe('req-1');
    expect(next.headers.get('lambda-runtime-invoked-function-arn')).toBe(
      'arn:aws:lambda:eu-west-1:1:function:f',
    );
    const deadline = Number(next.headers.get('lambda-runtime-deadline-ms'));
    expect(deadline).toBeGreaterThanOrEqual(before + 30_000);
    expect(deadline).toBeLessThan(Date.now() + 30_001);
    expect(next.headers.get('lambda-runtime-trace-id')).toMatch(
      /^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$/,
    );
    expect(await api.initDone).toMatchObject({ ok: true });

    const posted = await fetch(url('/invocation/req-1/response'), { method: 'POST', body: 'null' });
    expect(posted.status).toBe(202);
    expect(await result).toMatchObject({ ok: true, requestId: 'req-1', body: 'null' });
    // A second answer for the same invocation is refused, as is an unknown request id.
    expect((await fetch(url('/invocation/req-1/error'), { method: 'POST', body: '{}' })).status).toBe(403);
    expect((await fetch(url('/invocation/nope/response'), { method: 'POST', body: '{}' })).status).toBe(400);
  });

  it('records a function error with its type', async () => {
    const { api, url } = await started();
    const result = api.invoke({ event: {}, timeoutMs: 30_000, requestId: 'req-2' });
    await (await fetch(url('/invocation/next'))).text();
    await fetch(url('/invocation/req-2/error'), {
      method: 'POST',
      headers: { 'lambda-runtime-function-error-type': 'DriftError' },
      body: JSON.stringify({ errorType: 'DriftError', errorMessage: 'neither secret matches' }),
    });
    expect(await result).toMatchObject({
      ok: false,
      errorType: 'DriftError',
      errorMessage: 'neither secret matches',
    });
  });

  it('records an init error', async () => {
    const { api, url } = await started();
    await fetch(url('/init/error'), {
      method: 'POST',
      headers: { 'lambda-runtime-function-error-type': 'Runtime.HandlerNotFound' },
      body: JSON.stringify({ errorType: 'Runtime.HandlerNotFound', errorMessage: 'x is undefined' }),
    });
    expect(await api.initDone).toMatchObject({ ok: false, errorType: 'Runtime.HandlerNotFound' });
  });

  it('times an invocation out at its deadline and tells the caller to stop the runtime', async () => {
    const timedOut: string[] = [];
    const { api, url } = await started({ onTimeout: (id) => timedOut.push(id) });
    const result = api.invoke({ event: {}, timeoutMs: 100, requestId: 'slow' });
    await (await fetch(url('/invocation/next'))).text();
    expect(await result).toMatchObject({ ok: false, errorType: 'Sandbox.Timedout', timedOut: true });
    expect(timedOut).toEqual(['slow']);
    expect((await fetch(url('/invocation/slow/response'), { method: 'POST', body: 'null' })).status).toBe(
      403,
    );
  });

  it('fails open invocations when the runtime dies', async () => {
    const { api, url } = await started();
    const result = api.invoke({ event: {}, timeoutMs: 30_000 });
    await (await fetch(url('/invocation/next'))).text();
    api.abandon('runtime exited (1)');
    expect(await result).toMatchObject({ ok: false, errorType: 'Runtime.ExitError' });
  });
});
