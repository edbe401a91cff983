import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pacedTransport } from '../../../lib/audit/paced-transport.js';
import type { Transport, TransportRequest, TransportResponse } from '../../../lib/pingone/transport.js';

const REQUEST: TransportRequest = {
  method: 'GET',
  url: 'https://api.pingone.eu/v1/x',
  headers: {},
  timeoutMs: 1_000,
};

function response(status: number, headers: Record<string, string> = {}): TransportResponse {
  return {
    status,
    ok: status < 400,
    headers: { get: (name) => headers[name.toLowerCase()] ?? null },
    body: '',
  };
}

/** Fake timers (vitest's), and a transport that records when each request started. */
function setUp(answers: TransportResponse[] = []) {
  const started: number[] = [];
  const inner: Transport = async () => {
    started.push(Date.now());
    return answers.shift() ?? response(200);
  };
  const clock = {
    now: () => Date.now(),
    sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
  };
  return { inner, clock, started };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('pacedTransport', () => {
  it('spaces requests evenly at the configured rate, across concurrent callers', async () => {
    const { inner, clock, started } = setUp();
    const { transport, stats } = pacedTransport(inner, { requestsPerSecond: 4, ...clock });

    const all = Promise.all([1, 2, 3, 4, 5].map(() => transport(REQUEST)));
    await vi.advanceTimersByTimeAsync(2_000);
    await all;

    const gaps = started.slice(1).map((t, i) => t - (started[i] ?? 0));
    expect(gaps).toEqual([250, 250, 250, 250]);
    expect(stats).toMatchObject({ requests: 5, throttled: 0 });
    expect(stats.waitedMs).toBeGreaterThan(0);
  });

  it('pauses every caller for the Retry-After of a 429, then goes on', async () => {
    const { inner, clock, started } = setUp([response(429, { 'retry-after': '2' })]);
    const { transport, stats } = pacedTransport(inner, { requestsPerSecond: 100, ...clock });

    const first = await transport(REQUEST);
    const rest = Promise.all([transport(REQUEST), transport(REQUEST)]);
    await vi.advanceTimersByTimeAsync(3_000);
    await rest;

    expect(first.status).toBe(429);
    expect(stats.throttled).toBe(1);
    expect((started[1] ?? 0) - (started[0] ?? 0)).toBeGreaterThanOrEqual(2_000);
    expect((started[2] ?? 0) - (started[1] ?? 0)).toBe(10);
  });

  it("keeps a DELETE's deadline through a 429's pause: not sent once its turn falls after its timeout, else sent with the wait taken off", async () => {
    const seen: TransportRequest[] = [];
    const answers = [response(429, { 'retry-after': '20' })];
    const inner: Transport = async (request) => {
      seen.push(request);
      return answers.shift() ?? response(204);
    };
    const clock = {
      now: () => Date.now(),
      sleep: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    };
    const { transport, stats } = pacedTransport(inner, { requestsPerSecond: 10, ...clock });
    const del = (timeoutMs: number): TransportRequest => ({
      method: 'DELETE',
      url: 'https://api.pingone.eu/v1/environments/e/resources/r/secret',
      headers: {},
      timeoutMs,
    });

    expect((await transport(REQUEST)).status).toBe(429);
    // Paused 20 s: a DELETE whose caller gave it 10 s must not go out 20 s later (an early retirement's
    // intent would have lapsed by then), and a worker token or a read still waits as before.
    await expect(transport(del(10_000))).rejects.toThrow(/not sent.*within its 10000 ms timeout/);
    const token = transport({ ...REQUEST, method: 'POST', url: 'https://auth.pingone.eu/e/as/token' });
    const late = transport(del(25_000));
    await vi.advanceTimersByTimeAsync(25_000);
    await token;
    await late;

    expect(seen.map((r) => r.method)).toEqual(['GET', 'POST', 'DELETE']);
    // Sent after the pause, with only what was left of its 25 s: the exchange still ends by its deadline.
    const sent = seen[2] as TransportRequest;
    expect(sent.timeoutMs).toBeLessThanOrEqual(25_000 - 20_000);
    expect(sent.timeoutMs).toBeGreaterThan(4_000);
    expect(stats.requests).toBe(3);
  });

  it('refuses a rate that is not a positive number', () => {
    const { inner } = setUp();
    expect(() => pacedTransport(inner, { requestsPerSecond: 0 })).toThrow(/positive number/);
  });
});
