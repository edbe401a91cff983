import { describe, expect, it } from 'vitest';
import { memoryCursorStore } from '../../../lib/audit/cursor.js';
import { finishSweep, memoryBatchStore, type SweepPlan } from '../../../lib/audit/distributed.js';
import { createAuditListHandler } from '../../../lib/audit/distributed-handler.js';
import { memorySweepLeaseStore } from '../../../lib/audit/sweep-lease.js';
import { lambdaContext } from '../../../local/driver.js';
import { OutputCapture } from '../../support/capture-output.js';

const ENV = {
  PINGONE_WORKER_PARAMETER: '/pingone/worker',
  ROTATION_LEDGER_TABLE: 'pingone-rotation-ledger',
  AUDIT_SECRET_NAME_PREFIX: 'pingone/',
};

const START = Date.UTC(2026, 11, 1);

const plan: SweepPlan = {
  sweepId: new Date(START).toISOString(),
  startedAt: START,
  count: 4,
  last: 'pingone/d',
  batches: [0, 1],
  maxConcurrency: 2,
};

describe('finishSweep', () => {
  it('counts failed early retirements apart: the sweep is recorded (every secret was judged), the failures reported', async () => {
    const cursor = memoryCursorStore();
    const outcome = await finishSweep({ cursor, now: () => START + 60_000 }, plan, [
      { b: 0, j: 2, e: 0, u: 0, f: 1 },
      { b: 1, j: 2, e: 0, u: 0 },
    ]);
    expect(outcome).toMatchObject({ complete: true, judged: 4, errors: 0, retirementsFailed: 1 });
    expect(cursor.state?.position).toBe('pingone/d');
  });

  it('fails the execution when an early retirement failed, as the single auditor fails its run', async () => {
    const list = createAuditListHandler({
      env: ENV,
      cursor: memoryCursorStore(),
      batches: memoryBatchStore(),
      now: () => START + 60_000,
    });
    const results = [
      { b: 0, j: 2, e: 0, u: 0, f: 1 },
      { b: 1, j: 2, e: 0, u: 0 },
    ];
    const output = new OutputCapture().start();
    try {
      await expect(list({ action: 'finish', plan, results }, lambdaContext(START, 60_000))).rejects.toThrow(
        /1 early retirements failed/,
      );
      // Without the failure the same sweep succeeds.
      await expect(
        list(
          { action: 'finish', plan, results: [{ b: 0, j: 2, e: 0, u: 0 }, results[1]] },
          lambdaContext(START, 60_000),
        ),
      ).resolves.toMatchObject({ complete: true, retirementsFailed: 0 });
    } finally {
      output.stop();
    }
  });
});

describe('one sweep at a time (the sweep lease)', () => {
  const MACHINE = 'arn:aws:states:us-east-1:123456789012:execution:pingone-secret-rotation-ci-audit';
  const listEvent = (name: string, startedAt = START) => ({
    action: 'list' as const,
    execution: `${MACHINE}:${name}`,
    startedAt: new Date(startedAt).toISOString(),
    timeoutSeconds: 86_400,
  });

  function lister() {
    let clock = START;
    const sweeps = memorySweepLeaseStore();
    const listed: number[] = [];
    const secretsManager = {
      send: async () => {
        listed.push(clock);
        return {
          SecretList: [{ Name: 'pingone/a', ARN: 'arn:aws:secretsmanager:us-east-1:1:secret:pingone/a-x' }],
        };
      },
    };
    const list = createAuditListHandler({
      env: ENV,
      cursor: memoryCursorStore(),
      batches: memoryBatchStore(),
      sweeps,
      secretsManager: secretsManager as never,
      now: () => clock,
    });
    return {
      list,
      sweeps,
      listed,
      at: (ms: number) => {
        clock = ms;
      },
    };
  }

  it('a second execution started while a sweep runs ends at once, lists nothing, and says so (log line, AuditSweepSkipped)', async () => {
    const { list, listed, at } = lister();
    const output = new OutputCapture().start();
    try {
      const plan = (await list(listEvent('first'), lambdaContext(START, 60_000))) as SweepPlan;
      expect(plan).toMatchObject({ count: 1, execution: `${MACHINE}:first` });
      at(START + 3_600_000);
      const second = await list(listEvent('second', START + 3_600_000), lambdaContext(START, 60_000));
      expect(second).toEqual({
        skipped: true,
        heldBy: `${MACHINE}:first`,
        until: new Date(START + 86_400_000).toISOString(),
      });
      // Listed once: the second execution made no ListSecrets call (and so judges nothing, no PingOne load).
      expect(listed).toEqual([START]);
      expect(output.records.find((r) => r.AuditSweepSkipped !== undefined)?.AuditSweepSkipped).toBe(1);
      expect(output.captured).toContain('audit sweep not started: another sweep is still running');

      // The same execution's ListFleet retried (a Lambda service error) is not turned away by its own lease.
      expect(await list(listEvent('first'), lambdaContext(START, 60_000))).toMatchObject({ count: 1 });
      // FinishSweep gives the lease back (even when it fails the execution): the next schedule sweeps.
      await list(
        { action: 'finish', plan, results: [{ b: 0, j: 1, e: 0, u: 0 }] },
        lambdaContext(START, 60_000),
      );
      expect(await list(listEvent('third', START + 3_600_000), lambdaContext(START, 60_000))).toMatchObject({
        count: 1,
        execution: `${MACHINE}:third`,
      });
    } finally {
      output.stop();
    }
  });

  it("expires with the holder's timeout: an execution that never finished blocks the next only until it must have stopped", async () => {
    const { list, at } = lister();
    const output = new OutputCapture().start();
    try {
      await list(listEvent('died'), lambdaContext(START, 60_000));
      at(START + 86_400_000 - 1);
      expect(
        await list(listEvent('early', START + 86_400_000 - 1), lambdaContext(START, 60_000)),
      ).toMatchObject({
        skipped: true,
      });
      at(START + 86_400_000);
      expect(await list(listEvent('after', START + 86_400_000), lambdaContext(START, 60_000))).toMatchObject({
        count: 1,
      });
    } finally {
      output.stop();
    }
  });

  it('refuses a list request without its execution (invoked by hand, not by the state machine)', async () => {
    const { list, listed } = lister();
    const output = new OutputCapture().start();
    try {
      await expect(list({ action: 'list' }, lambdaContext(START, 60_000))).rejects.toThrow(
        /invoked without its execution/,
      );
      expect(listed).toEqual([]);
    } finally {
      output.stop();
    }
  });
});
