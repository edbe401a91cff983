import { describe, expect, it } from 'vitest';
import { limitedTransport, memoryBucketStore, sharedLimiter } from '../../../lib/audit/limiter.js';
import { LedgerUnavailableError } from '../../../lib/errors.js';
import { NotSentError, type Transport, type TransportResponse } from '../../../lib/pingone/transport.js';
import { Prng, Scheduler } from '../../../sim/kernel.js';

const START = Date.UTC(2026, 11, 1);

function response(status: number, headers: Record<string, string> = {}): TransportResponse {
  return { status, ok: status < 400, headers: { get: (n) => headers[n.toLowerCase()] ?? null }, body: '' };
}

/** `workers` separate limiters (one per Lambda container) on one store and one simulated clock. */
function world(workers: number, requestsPerSecond: number) {
  const scheduler = new Scheduler(START);
  const store = memoryBucketStore();
  const prng = new Prng(7);
  const limiters = Array.from({ length: workers }, () =>
    sharedLimiter({
      store,
      requestsPerSecond,
      now: scheduler.now,
      sleep: scheduler.sleep,
      random: () => prng.next(),
    }),
  );
  return { scheduler, store, limiters, prng };
}

async function drive(scheduler: Scheduler, work: Promise<unknown>): Promise<void> {
  let done = false;
  work.then(
    () => {
      done = true;
    },
    () => {
      done = true;
    },
  );
  await scheduler.run(START + 3_600_000, () => (done ? 'done' : undefined));
  await work;
}

describe('the shared PingOne limiter (one bucket per licence, conditional writes)', () => {
  it('three workers of one licence together stay within its rate: no token spent twice', async () => {
    const { scheduler, limiters } = world(3, 5);
    const starts: number[] = [];
    const work = Promise.all(
      limiters.map(async (limiter) => {
        for (let i = 0; i < 20; i++) {
          await limiter.acquire('org-a');
          starts.push(scheduler.now());
        }
      }),
    );
    await drive(scheduler, work);
    expect(starts).toHaveLength(60);
    // 60 requests at 5/s with a burst of 5: at least 11 s, and no second holds more than rate + burst.
    expect(Math.max(...starts) - START).toBeGreaterThanOrEqual(11_000);
    expect(Math.max(...starts) - START).toBeLessThan(11_000 * 1.1);
    for (const t of starts)
      expect(starts.filter((s) => s >= t && s < t + 1_000).length).toBeLessThanOrEqual(10);
    // The workers raced on the item and lost some races: the condition, not luck, kept the count.
    expect(limiters.reduce((n, l) => n + l.stats.conflicts, 0)).toBeGreaterThan(0);
    expect(limiters.reduce((n, l) => n + l.stats.acquired, 0)).toBe(60);
  });

  it('a 429 seen by one worker pauses every worker of that licence for its Retry-After, not another licence', async () => {
    const { scheduler, limiters } = world(2, 100);
    const [a, b] = limiters as [ReturnType<typeof sharedLimiter>, ReturnType<typeof sharedLimiter>];
    let refused = false;
    const inner: Transport = async () => {
      if (!refused) {
        refused = true;
        return response(429, { 'retry-after': '3' });
      }
      return response(200);
    };
    const licenceOf = (url: string) => (url.includes('other') ? 'org-b' : 'org-a');
    const asA = limitedTransport(inner, { limiter: a, licenceOf, now: scheduler.now, random: () => 0.5 });
    const asB = limitedTransport(inner, { limiter: b, licenceOf, now: scheduler.now, random: () => 0.5 });
    const request = (url: string) => ({ method: 'GET' as const, url, headers: {}, timeoutMs: 10_000 });
    const seen: Record<string, number> = {};
    const work = (async () => {
      expect((await asA(request('https://api/org-a/1'))).status).toBe(429);
      await Promise.all([
        asB(request('https://api/org-a/2')).then(() => {
          seen.sameLicence = scheduler.now() - START;
        }),
        asB(request('https://api/other/3')).then(() => {
          seen.otherLicence = scheduler.now() - START;
        }),
      ]);
    })();
    await drive(scheduler, work);
    // Worker B never got the 429, yet waited it out (3 s plus up to a tenth of jitter); the other licence did not.
    expect(seen.sameLicence).toBeGreaterThanOrEqual(3_000);
    expect(seen.sameLicence).toBeLessThan(3_400);
    expect(seen.otherLicence).toBeLessThan(100);
  });

  it("waitUntilDeadline: a read or a regenerate waits for its turn until its caller's deadline, not only its own timeout, and still ends by it", async () => {
    const { scheduler, limiters } = world(2, 1);
    const [a, b] = limiters as [ReturnType<typeof sharedLimiter>, ReturnType<typeof sharedLimiter>];
    const sent: { method: string; at: number; timeoutMs: number }[] = [];
    const inner: Transport = async (request) => {
      sent.push({ method: request.method, at: scheduler.now(), timeoutMs: request.timeoutMs });
      return response(200);
    };
    const asB = limitedTransport(inner, {
      limiter: b,
      licenceOf: () => 'org-a',
      now: scheduler.now,
      waitUntilDeadline: true,
    });
    const call = (method: 'GET' | 'POST', deadline: number) => ({
      method,
      url: 'https://api/environments/e/resources/r/secret',
      headers: {},
      timeoutMs: 10_000,
      deadline,
    });
    const outcomes: string[] = [];
    const record = (p: Promise<unknown>) =>
      p.then(
        () => outcomes.push('sent'),
        (error: Error) => outcomes.push(`${error.name}: ${error.message}`),
      );
    const work = (async () => {
      // The licence's next turn is 15 s away: past each request's 10 s timeout, within its caller's 20 s.
      for (let i = 0; i < 15; i++) void a.acquire('org-a');
      await scheduler.sleep(10);
      await record(asB(call('GET', scheduler.now() + 20_000)));
      for (let i = 0; i < 15; i++) void a.acquire('org-a');
      const postDeadline = scheduler.now() + 20_000;
      await record(asB(call('POST', postDeadline)));
      // Its turn would come after its caller's deadline: not sent, no turn taken.
      for (let i = 0; i < 15; i++) void a.acquire('org-a');
      await record(asB(call('POST', scheduler.now() + 5_000)));
      return postDeadline;
    })();
    await drive(scheduler, work);
    const postDeadline = await work;
    expect(outcomes.slice(0, 2)).toEqual(['sent', 'sent']);
    expect(outcomes[2]).toMatch(
      /^NotSentError: not sent: licence org-a's PingOne rate budget had no turn for it before its caller's deadline/,
    );
    expect(sent.map((s) => s.method)).toEqual(['GET', 'POST']);
    const post = sent[1] as { at: number; timeoutMs: number };
    // The POST waited past its own 10 s timeout, then went out with what was left: it ends by its deadline.
    expect(post.at + post.timeoutMs).toBeLessThanOrEqual(postDeadline);
    expect(b.stats.late).toBe(1);
  });

  it("keeps a DELETE's deadline through the shared wait: not sent when the licence's turn comes after its timeout", async () => {
    const { scheduler, limiters, store } = world(2, 1);
    const [a, b] = limiters as [ReturnType<typeof sharedLimiter>, ReturnType<typeof sharedLimiter>];
    const sent: { method: string; at: number; timeoutMs: number }[] = [];
    const inner: Transport = async (request) => {
      sent.push({ method: request.method, at: scheduler.now() - START, timeoutMs: request.timeoutMs });
      return response(204);
    };
    const licenceOf = () => 'org-a';
    const asB = limitedTransport(inner, { limiter: b, licenceOf, now: scheduler.now, random: () => 0.5 });
    const del = (timeoutMs: number) => ({
      method: 'DELETE' as const,
      url: 'https://api/environments/e/resources/r/secret',
      headers: {},
      timeoutMs,
    });
    const outcomes: string[] = [];
    const work = (async () => {
      // Another worker of the licence queued 15 requests at 1/s: the licence's next turn is 15 s away.
      for (let i = 0; i < 15; i++) void a.acquire('org-a');
      await scheduler.sleep(10);
      await asB(del(10_000)).then(
        () => outcomes.push('sent'),
        (error: Error) => outcomes.push(error.message),
      );
      await asB(del(30_000)).then(() => outcomes.push('sent'));
    })();
    await drive(scheduler, work);
    expect(outcomes[0]).toMatch(
      /not sent: licence org-a's PingOne rate budget had no turn for it within its 10000 ms/,
    );
    expect(outcomes[1]).toBe('sent');
    // Only the second went out, after its wait, with the wait taken off its timeout (it ends by its deadline).
    expect(sent).toHaveLength(1);
    const only = sent[0] as { at: number; timeoutMs: number };
    expect(only.at).toBeGreaterThanOrEqual(14_000);
    expect(only.at + only.timeoutMs).toBeLessThanOrEqual(10 + 30_000 + 1);
    expect(b.stats.late).toBe(1);
    // The refused one took no turn: the bucket holds the other worker's 15 and the one DELETE sent.
    expect(store.items.get('org-a')?.rev).toBe(16);
  });

  it('a limiter that cannot read its bucket sends nothing and says so (NotSentError, the store error as cause)', async () => {
    const failing = {
      read: async () => {
        throw new LedgerUnavailableError('The PingOne rate limiter could not be used: TimeoutError');
      },
      write: async () => 'written' as const,
    };
    const limiter = sharedLimiter({
      store: failing,
      requestsPerSecond: 1,
      now: () => START,
      sleep: async () => {},
    });
    let sent = 0;
    const transport = limitedTransport(
      async () => {
        sent++;
        return response(200);
      },
      { limiter, licenceOf: () => 'org-a', now: () => START, waitUntilDeadline: true },
    );
    const error = await transport({
      method: 'POST',
      url: 'https://api/environments/e/resources/r/secret',
      headers: {},
      timeoutMs: 10_000,
      deadline: START + 20_000,
    }).catch((e) => e);
    expect(error).toBeInstanceOf(NotSentError);
    expect(error.cause).toBeInstanceOf(LedgerUnavailableError);
    expect(sent).toBe(0);
  });

  it("waitUntilDeadline with a sleep: a limiter whose bucket does not answer gives the turn up by the caller's deadline", async () => {
    const scheduler = new Scheduler(START);
    const hanging = {
      read: () => new Promise<undefined>(() => {}),
      write: async () => 'written' as const,
    };
    const limiter = sharedLimiter({
      store: hanging,
      requestsPerSecond: 1,
      now: scheduler.now,
      sleep: scheduler.sleep,
    });
    let sent = 0;
    const transport = limitedTransport(
      async () => {
        sent++;
        return response(200);
      },
      {
        limiter,
        licenceOf: () => 'org-a',
        now: scheduler.now,
        waitUntilDeadline: true,
        sleep: scheduler.sleep,
      },
    );
    const outcome = transport({
      method: 'GET',
      url: 'https://api/environments/e/resources/r/secret',
      headers: {},
      timeoutMs: 10_000,
      deadline: START + 20_000,
    }).then(
      () => 'sent',
      (error: Error) => `${error.name} at ${scheduler.now() - START} ms`,
    );
    await drive(scheduler, outcome);
    expect(await outcome).toBe('NotSentError at 19750 ms');
    expect(sent).toBe(0);
  });
});
