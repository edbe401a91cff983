import { describe, expect, it } from 'vitest';
import { keepReason } from '../../../lib/audit/retire.js';
import type { StatusReport } from '../../../lib/status/model.js';

const HOUR = 3_600_000;

/** A healthy report whose AWSPREVIOUS holds PingOne's unexpired previous secret: the only question left is time. */
function report(previous: { lastUsed?: string }, currentCreated = '2026-12-05T10:00:00Z'): StatusReport {
  return {
    verdict: 'healthy',
    versions: [{ stages: ['AWSCURRENT'], created: currentCreated }],
    pingone: {
      kind: 'resource',
      environmentId: 'env',
      resourceId: 'res',
      region: 'NA',
      previous: { expiresAt: '2026-12-12T10:00:00Z', inUse: false, heldBy: ['AWSPREVIOUS'], ...previous },
    },
  } as unknown as StatusReport;
}

describe('early retirement judges a report time (whole seconds, rounded down) as late as its second allows', () => {
  // PingOne's lastUsed of 11:00:00.900 reads 11:00:00 in the report.
  const used = report({ lastUsed: '2026-12-05T11:00:00Z' });

  it('keeps a previous secret whose last use may be less than the period ago', () => {
    // 1 h 0.5 s after 11:00:00, but possibly only 59 min 59.6 s after the use (found by the simulation, seed 8009502).
    expect(keepReason(used, HOUR, Date.parse('2026-12-05T12:00:00.500Z'))).toMatch(
      /used less than RETIRE_UNUSED_PREVIOUS_AFTER ago/,
    );
    expect(keepReason(used, HOUR, Date.parse('2026-12-05T12:00:00.998Z'))).toBeDefined();
  });

  it('retires once the period has passed since the end of that second', () => {
    expect(keepReason(used, HOUR, Date.parse('2026-12-05T12:00:00.999Z'))).toBeUndefined();
  });

  it('judges a never-used previous secret from when AWSCURRENT was created, the same way', () => {
    const never = report({}, '2026-12-05T11:00:00Z');
    expect(keepReason(never, HOUR, Date.parse('2026-12-05T12:00:00.500Z'))).toMatch(/rotation is less than/);
    expect(keepReason(never, HOUR, Date.parse('2026-12-05T12:00:01Z'))).toBeUndefined();
  });
});
