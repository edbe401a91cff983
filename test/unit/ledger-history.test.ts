import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbLedger } from '../../lib/ledger/ledger.js';
import {
  EMPTY_RECORD,
  HISTORY_LIMIT,
  type LedgerRecord,
  withFinished,
  withRegenerated,
  withRegenerateIntent,
} from '../../lib/ledger/record.js';

const owner = {
  kind: 'resource',
  environmentId: '5d3b2a10-1111-4222-8333-444455556666',
  id: '0a1b2c3d-1234-4567-89ab-cdef01234567',
  region: 'EU',
} as const;

describe('the ledger keeps the history the compliance report needs, within DynamoDB item limits', () => {
  it(`keeps the last ${HISTORY_LIMIT} rotations (newest first) and a full item stays far below 400 KB`, async () => {
    // The longest secret name Secrets Manager allows (512 characters) makes the longest ARN.
    const arn = `arn:aws:secretsmanager:eu-west-1:123456789012:secret:pingone/${'n'.repeat(504)}-AbCdEf`;
    let record: LedgerRecord = EMPTY_RECORD;
    const start = Date.parse('2026-01-01T00:00:00Z');
    for (let i = 0; i < HISTORY_LIMIT + 20; i++) {
      const now = start + i * 86_400_000;
      const token = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      record = withRegenerateIntent(record, { secretArn: arn, token, now, postUntil: now + 60_000 });
      record = withRegenerated(record, { secretArn: arn, token, now: now + 1_000 });
      record = withFinished(record, { secretArn: arn, token, now: now + 5_000 }) ?? record;
    }
    expect(HISTORY_LIMIT).toBeGreaterThanOrEqual(100);
    expect(record.history).toHaveLength(HISTORY_LIMIT);
    expect(record.history[0]?.token).toMatch(/119$/);
    expect(record.history.at(-1)?.token).toMatch(/020$/);
    expect(record.history.every((run) => run.outcome === 'rotated')).toBe(true);

    // The item as DynamoDbLedger writes it (captured, not sent): its JSON form over-counts DynamoDB's size.
    let item: unknown;
    const client = {
      send: async (command: { input: unknown }) => {
        item = command.input;
        return {};
      },
    } as unknown as DynamoDBClient;
    const ledger = new DynamoDbLedger(client, 'ledger');
    await ledger.write(owner, record, { deadline: Date.now() + 10_000, now: Date.now });
    const bytes = Buffer.byteLength(JSON.stringify(item));
    expect(bytes).toBeLessThan(100 * 1024);
    console.log(`a full ledger item (${HISTORY_LIMIT} runs, 512-character name): ${bytes} bytes as JSON`);
  });
});
