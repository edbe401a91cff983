import { describe, expect, it } from 'vitest';
import { memoryCursorStore } from '../../../lib/audit/cursor.js';
import { finishSweep, memoryBatchStore, type SweepPlan } from '../../../lib/audit/distributed.js';
import { createAuditListHandler } from '../../../lib/audit/distributed-handler.js';
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
