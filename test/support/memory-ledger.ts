import type {
  LedgerCallOptions,
  LedgerWriteOptions,
  LedgerWriteResult,
  RotationLedger,
} from '../../lib/ledger/ledger.js';
import { type LedgerRecord, ledgerKey, retirementIsLive } from '../../lib/ledger/record.js';
import type { SecretOwner } from '../../lib/pingone/types.js';

/**
 * The ledger port in memory, with the DynamoDB implementation's conditional-write semantics (a write wins
 * only against the revision it was computed from), for step-level unit tests.
 */
export class MemoryLedger implements RotationLedger {
  readonly table = 'memory-ledger';
  readonly items = new Map<string, LedgerRecord>();
  reads = 0;
  writes = 0;
  /** Errors the next calls throw instead of answering. */
  failures: Error[] = [];
  /** Runs before the next write is applied (another invocation writing first). */
  beforeWrite: (() => void) | undefined;

  async read(owner: SecretOwner, _options: LedgerCallOptions): Promise<LedgerRecord | undefined> {
    this.reads++;
    const failure = this.failures.shift();
    if (failure) throw failure;
    const item = this.items.get(ledgerKey(owner));
    return item ? structuredClone(item) : undefined;
  }

  async write(
    owner: SecretOwner,
    record: LedgerRecord,
    options: LedgerWriteOptions,
  ): Promise<LedgerWriteResult> {
    this.writes++;
    const failure = this.failures.shift();
    if (failure) throw failure;
    const hook = this.beforeWrite;
    this.beforeWrite = undefined;
    hook?.();
    const key = ledgerKey(owner);
    const stored = this.items.get(key);
    if ((stored?.rev ?? 0) !== record.rev) return 'conflict';
    if (options.unlessRetiring && retirementIsLive(stored?.retirement, options.now())) return 'conflict';
    // The auditor's retirement attribute is its own: a write of the record leaves it as it is.
    const { retirement: _ignored, ...rest } = record;
    const kept = stored?.retirement ? { retirement: stored.retirement } : {};
    this.items.set(key, structuredClone({ ...rest, ...kept, rev: record.rev + 1 }));
    return 'written';
  }

  get(owner: SecretOwner): LedgerRecord | undefined {
    return this.items.get(ledgerKey(owner));
  }
}
