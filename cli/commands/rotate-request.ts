/** What every way of starting a rotation shares: the options, the manual-request record, the in-progress refusal. */

import { hostname, userInfo } from 'node:os';
import { recordRotationRequest } from '../../lib/ledger/requests.js';
import type { CliDeps } from '../deps.js';
import { CliError, describeError, oneLine, PROGRAM } from '../errors.js';
import { duration, line } from '../format.js';

export const DEFAULT_ROTATE_TIMEOUT_MS = 5 * 60_000;

export const DEFAULT_POLL_INTERVAL_MS = 2_000;

export interface RotateOptions {
  readonly secretId: string;
  /** Follow the rotation until it succeeds, fails or times out. */
  readonly wait?: boolean;
  readonly timeoutMs?: number;
  readonly intervalMs?: number;
  /** Rotate even when `status` says a rotation cannot fix the state. */
  readonly force?: boolean;
  /**
   * false (`--no-settle-wait`): when an earlier regenerate of the owner may still be in flight, say until
   * when and change nothing, instead of waiting for it to settle.
   */
  readonly settleWait?: boolean;
}

/**
 * Records in the ledger table that this rotation (its ClientRequestToken) was asked for by hand, before it
 * starts: the compliance report tells manual rotations from scheduled ones by it. Best effort: a table that
 * cannot be written costs only that label (the rotation itself then meets the same table and says so).
 */
export async function recordManualRequest(deps: CliDeps, token: string, secretArn: string): Promise<void> {
  let table: string;
  try {
    table = deps.config().ledgerTable;
  } catch {
    return; // no function configuration here (no ledger table named): nothing to record it in
  }
  try {
    let who = 'unknown';
    try {
      who = `${userInfo().username}@${hostname()}`;
    } catch {
      // no user name (a container without one): unknown
    }
    await recordRotationRequest(
      deps.dynamodb,
      table,
      {
        token,
        secretArn,
        requestedAt: new Date(deps.now()).toISOString(),
        requestedBy: who,
        via: 'pingone-rotation rotate',
      },
      { abortSignal: AbortSignal.timeout(10_000) },
    );
  } catch (error) {
    line(
      deps.err,
      `${PROGRAM}: note: could not record this rotation as manual in the rotation ledger (${oneLine(describeError(error, {}).line)}); ` +
        'the compliance report will count it as scheduled',
    );
  }
}

export function inProgress(name: string, pendingVersionId: string | undefined): CliError {
  return new CliError(
    `a previous rotation of ${name} is not complete${pendingVersionId ? ` (AWSPENDING is on version ${pendingVersionId})` : ''}`,
    `see \`pingone-rotation status --secret-id ${name}\`; if it is stuck, recover with \`pingone-rotation unstick --secret-id ${name}\``,
  );
}

export function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : duration(ms);
}
