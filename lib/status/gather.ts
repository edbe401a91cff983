/**
 * Gather: every read the status model makes (Secrets Manager, the rotation ledger, PingOne) into plain facts.
 * Nothing here judges; judge.ts does, from the facts alone.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotationConfig } from '../config.js';
import type { RotationLedger } from '../ledger/ledger.js';
import type { PingOneClient } from '../pingone/types.js';
import { AWSCURRENT, AWSPENDING, AWSPREVIOUS, SecretsStore } from '../secrets/secrets-store.js';
import { noHint, type RotationErrorHint } from './explain.js';
import type { LedgerFacts, StatusFacts } from './facts.js';
import { ownerFor, readPingOne, readVersionValue } from './inspect.js';

/** PingOne as the rotation function sees it: its configuration and a client acting as its worker app. */
export interface StatusPingOne {
  readonly config: RotationConfig;
  readonly client: PingOneClient;
}

/** What the model reads from, injected. */
export interface StatusDeps {
  readonly secretsManager: SecretsManagerClient;
  /**
   * PingOne access, or a function returning it. The function is called only once AWSCURRENT holds a value
   * naming an owner, so a secret can be judged misconfigured without PingOne configured (it may throw).
   */
  readonly pingone: StatusPingOne | (() => StatusPingOne);
  /** Epoch milliseconds. */
  readonly now: () => number;
  /**
   * Nothing resumes an AWSPENDING here (the local world has no rotation service): every AWSPENDING is
   * stuck, whatever its age.
   */
  readonly noRotationService?: boolean;
  /** How a RotationError's message says where the setting lives (the CLI names its flags). */
  readonly hint?: RotationErrorHint;
  /** Deadline for PingOne's reads (default 30 s). */
  readonly pingOneTimeoutMs?: number;
  /**
   * The rotation ledger (binding, intent, recent rotations); called once an owner is known. Without it the
   * report has no `ledger` and the verdicts do not consider it.
   */
  readonly ledger?: RotationLedger | (() => RotationLedger);
}

const DEFAULT_PINGONE_TIMEOUT_MS = 30_000;
const LEDGER_TIMEOUT_MS = 15_000;

/** Reads everything the verdict depends on. Throws only when Secrets Manager itself cannot be read. */
export async function gatherFacts(deps: StatusDeps, secretId: string): Promise<StatusFacts> {
  const now = deps.now();
  const sm = new SecretsStore(deps.secretsManager);
  const noRotationService = deps.noRotationService === true;
  const view = await sm.view(secretId);
  const current = view.currentVersionId
    ? await readVersionValue(sm, view.arn, { stage: AWSCURRENT }, 'AWSCURRENT')
    : ({ kind: 'placeholder' } as const);
  const previous = view.previousVersionId
    ? await readVersionValue(sm, view.arn, { stage: AWSPREVIOUS }, 'AWSPREVIOUS')
    : undefined;
  const pending = view.pendingVersionId
    ? await readVersionValue(
        sm,
        view.arn,
        { versionId: view.pendingVersionId, stage: AWSPENDING },
        `AWSPENDING (version ${view.pendingVersionId})`,
      )
    : undefined;
  const base = { now, view, current, previous, pending, noRotationService };
  if (current.kind !== 'value') return base;
  const access = typeof deps.pingone === 'function' ? deps.pingone() : deps.pingone;
  const config = access.config;
  const owner = ownerFor(current.value, config);
  if ('problem' in owner) return { ...base, ownerProblem: owner.problem, config };
  const ledger = await readLedger(deps, owner.owner);
  const pingone = await readPingOne(access.client, owner.owner, {
    deadline: deps.now() + (deps.pingOneTimeoutMs ?? DEFAULT_PINGONE_TIMEOUT_MS),
    hint: deps.hint ?? noHint,
  });
  return { ...base, pingone, config, ...(ledger ? { ledger } : {}) };
}

async function readLedger(
  deps: StatusDeps,
  owner: Parameters<RotationLedger['read']>[0],
): Promise<LedgerFacts | undefined> {
  if (!deps.ledger) return undefined;
  let table = 'the rotation ledger';
  try {
    const ledger = typeof deps.ledger === 'function' ? deps.ledger() : deps.ledger;
    table = ledger.table;
    const record = await ledger.read(owner, {
      deadline: deps.now() + LEDGER_TIMEOUT_MS,
      now: deps.now,
      consequence: '',
    });
    return { table, ...(record ? { record } : {}) };
  } catch (error) {
    return { table, problem: (error as Error).message.trim() };
  }
}
