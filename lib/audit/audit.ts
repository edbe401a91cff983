/**
 * The fleet auditor: finds the secrets this deployment rotates and judges each with the status model
 * (lib/status, the same one `pingone-rotation status` uses), then looks across the fleet for duplicate
 * owners and, when enabled, retires previous secrets nobody uses any more. The Lambda (lib/audit/handler.ts)
 * and `pingone-rotation audit` both run `runAudit`; only their output differs.
 */
import type { SecretListEntry, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { RotationLedger } from '../ledger/ledger.js';
import { redactText } from '../redact.js';
import { SecretsStore } from '../secrets/secrets-store.js';
import {
  CONFIG_WARNINGS,
  type ConfigWarning,
  inspectStatus,
  markDuplicates,
  ownerKey,
  type StatusDeps,
  type StatusPingOne,
  type StatusReport,
  VERDICTS,
  type Verdict,
} from '../status/model.js';
import { oneLine } from '../status/text.js';
import { NEEDS_ATTENTION } from '../status/verdicts.js';
import type { RunProgress } from './cursor.js';
import { keepReason, type RetirementLedger, type RetirementOutcome, retireIfUnused } from './retire.js';

export interface AuditSettings {
  readonly secretNamePrefix: string;
  /** Only secrets whose RotationLambdaARN is this; undefined: every secret under the prefix. */
  readonly rotationFunctionArn?: string | undefined;
  readonly concurrency: number;
  readonly nearExpiryMs: number;
  readonly stuckAfterMs: number;
  /** Early retirement after this long unused; undefined: off. */
  readonly retireUnusedPreviousAfterMs?: number | undefined;
  /** The local world: nothing resumes an AWSPENDING, so any is stuck. */
  readonly noRotationService?: boolean;
  /**
   * Where the last run stopped (the name of the last secret it started, lib/audit/cursor.ts): this run starts
   * at the next name in order and wraps round to the first. Undefined: from the first name.
   */
  readonly startAfter?: string | undefined;
  /**
   * The secrets to judge, already listed (a batch of the distributed audit, lib/audit/distributed.ts), in
   * name order; undefined: list the prefix.
   */
  readonly entries?: readonly SecretListEntry[] | undefined;
}

export interface AuditDeps {
  readonly secretsManager: SecretsManagerClient;
  readonly pingone: StatusPingOne;
  /** Epoch milliseconds. */
  readonly now: () => number;
  /** Absolute time (epoch ms) by which the run must be done; no secret is started too close to it. */
  readonly deadline: number;
  readonly hint?: StatusDeps['hint'];
  /**
   * The rotation ledger, read for every secret as `pingone-rotation status` reads it: which secret is bound to
   * the PingOne owner (another one: duplicate-owner) and which regenerates the function made (a regenerate it
   * did not make is drift, not grace). Required, so the audit and `status` give the same verdict. A secret
   * whose ledger record cannot be read is not judged: it is reported in `errors`, naming the table.
   */
  readonly rotationLedger: RotationLedger | (() => RotationLedger);
  /** Needed for early retirement (the ledger proves which secret owns which PingOne owner). */
  readonly ledger?: RetirementLedger | undefined;
}

/** Kept back per secret still to start: time for its reads and retries within the run's deadline. */
const PER_SECRET_RESERVE_MS = 10_000;
const PINGONE_TIMEOUT_MS = 20_000;

export interface AuditResult {
  readonly checkedAt: string;
  readonly prefix: string;
  readonly rotationFunctionArn?: string;
  /** Secrets listed under the prefix. */
  readonly listed: number;
  /** Listed but rotated by another function (or none), so not this deployment's. */
  readonly skipped: number;
  readonly reports: readonly StatusReport[];
  readonly verdicts: Readonly<Record<Verdict, number>>;
  readonly warnings: Readonly<Record<ConfigWarning, number>>;
  /** Secrets that could not be judged (Secrets Manager refused, an unexpected error). */
  readonly errors: readonly { readonly secret: string; readonly error: string }[];
  /** Secrets not started before the deadline. */
  readonly notAudited: readonly string[];
  readonly retirements: readonly RetirementOutcome[];
  /** Judged secrets whose previous secret could have been retired early, not checked before the deadline. */
  readonly retirementsSkipped: readonly string[];
  /** Where the run went in the fleet's name order (for the cursor). */
  readonly progress: RunProgress;
  readonly durationMs: number;
}

/** Secrets that need someone (the verdict table's needsAttention): everything but healthy and a rotation still running. */
export function isUnhealthy(verdict: Verdict): boolean {
  return NEEDS_ATTENTION.has(verdict);
}

/** Runs one audit over the fleet. Never changes anything, except early retirement when enabled. */
export async function runAudit(deps: AuditDeps, settings: AuditSettings): Promise<AuditResult> {
  const started = deps.now();
  const { mine, listed } = settings.entries
    ? { mine: [...settings.entries], listed: settings.entries.length }
    : await listFleet(deps.secretsManager, settings);
  const statusDeps: StatusDeps = {
    secretsManager: deps.secretsManager,
    pingone: deps.pingone,
    now: deps.now,
    pingOneTimeoutMs: PINGONE_TIMEOUT_MS,
    ledger: deps.rotationLedger,
    ...(deps.hint ? { hint: deps.hint } : {}),
    ...(settings.noRotationService ? { noRotationService: true } : {}),
  };

  // The fleet in name order, from the first name after the cursor round to the one before it.
  const after = settings.startAfter;
  const first =
    after === undefined
      ? 0
      : Math.max(
          0,
          mine.findIndex((e) => byName(e.Name ?? '', after) > 0),
        );
  const order = [...mine.slice(first), ...mine.slice(0, first)];
  const progress = {
    lastStarted: undefined as string | undefined,
    sweepBeganAt: undefined as number | undefined,
  };
  let sweepEndedAt: string | undefined;
  let beganBeforeEnd = false;

  const reports: StatusReport[] = [];
  const errors: { secret: string; error: string }[] = [];
  const notAudited: string[] = [];
  let next = 0;
  const worker = async () => {
    for (;;) {
      const index = next++;
      const entry = order[index];
      if (!entry) return;
      const name = entry.Name ?? entry.ARN ?? '?';
      if (deps.now() + PER_SECRET_RESERVE_MS > deps.deadline) {
        notAudited.push(name);
        continue;
      }
      // Started in order (indexes are handed out in order and each is started or the rest are not).
      progress.lastStarted = name;
      const position = (first + index) % order.length;
      if (position === 0) progress.sweepBeganAt = deps.now();
      if (position === order.length - 1) {
        sweepEndedAt = name;
        beganBeforeEnd = progress.sweepBeganAt !== undefined;
      }
      try {
        const report = await inspectStatus(statusDeps, {
          secretId: entry.ARN ?? name,
          stuckAfterMs: settings.stuckAfterMs,
          nearExpiryMs: settings.nearExpiryMs,
        });
        // Without the ledger's record the verdict may be wrong (grace for a console regenerate, healthy for a
        // secret bound elsewhere): the secret is not judged, and the run says why.
        if (report.ledger?.problem) {
          errors.push({ secret: name, error: redactText(oneLine(ledgerProblem(report.ledger.problem))) });
          continue;
        }
        reports[index] = report;
      } catch (error) {
        errors.push({ secret: name, error: redactText(oneLine(describeError(error))) });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, settings.concurrency) }, worker));

  const judged = withLedgerOwners(withDuplicates(reports.filter((r): r is StatusReport => r !== undefined)));

  const retirements: RetirementOutcome[] = [];
  const retirementsSkipped: string[] = [];
  const afterMs = settings.retireUnusedPreviousAfterMs;
  if (afterMs !== undefined) {
    for (const report of judged) {
      if (deps.now() + PER_SECRET_RESERVE_MS > deps.deadline) {
        // Not an error (the previous secret still expires at its TTL), but said: the next run checks it again.
        if (report.pingone?.previous && keepReason(report, afterMs, deps.now()) === undefined) {
          retirementsSkipped.push(report.secret.name);
        }
        continue;
      }
      const outcome = await retireIfUnused(
        { pingone: deps.pingone, ledger: deps.ledger, now: deps.now, deadline: deps.deadline },
        report,
        afterMs,
      );
      if (outcome) retirements.push(outcome);
    }
  }

  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<Verdict, number>;
  const warnings = Object.fromEntries(CONFIG_WARNINGS.map((w) => [w, 0])) as Record<ConfigWarning, number>;
  for (const report of judged) {
    verdicts[report.verdict] += 1;
    for (const warning of report.warnings) warnings[warning.code] += 1;
  }
  return {
    checkedAt: new Date(started).toISOString(),
    prefix: settings.secretNamePrefix,
    ...(settings.rotationFunctionArn ? { rotationFunctionArn: settings.rotationFunctionArn } : {}),
    listed,
    skipped: listed - mine.length,
    reports: judged,
    verdicts,
    warnings,
    errors,
    notAudited,
    retirements,
    retirementsSkipped,
    progress:
      order.length === 0
        ? // Nothing to judge: an empty sweep, begun and ended now.
          { lastStarted: undefined, sweepBeganAt: started, sweepEndedAt: '', beganBeforeEnd: true }
        : { ...progress, sweepEndedAt, beganBeforeEnd },
    durationMs: deps.now() - started,
  };
}

/**
 * The secrets under the prefix whose rotation function is this deployment's, by paging ListSecrets (the
 * name filter is a prefix match server-side; it is checked again here).
 */
export async function listFleet(
  sm: SecretsManagerClient,
  settings: AuditSettings,
): Promise<{ mine: SecretListEntry[]; listed: number }> {
  const mine: SecretListEntry[] = [];
  let listed = 0;
  const pages = new SecretsStore(sm).listSecrets([{ Key: 'name', Values: [settings.secretNamePrefix] }], {
    maxResults: 100,
  });
  for await (const page of pages) {
    for (const entry of page) {
      if (!entry.Name?.startsWith(settings.secretNamePrefix) || entry.DeletedDate) continue;
      listed += 1;
      if (
        settings.rotationFunctionArn &&
        !sameFunction(entry.RotationLambdaARN, settings.rotationFunctionArn)
      ) {
        continue;
      }
      mine.push(entry);
    }
  }
  mine.sort((a, b) => byName(a.Name ?? '', b.Name ?? ''));
  return { mine, listed };
}

/** The fleet's order: by name, code unit by code unit (the same on every runtime, unlike localeCompare). */
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The same function, with or without a version/alias qualifier. */
function sameFunction(arn: string | undefined, expected: string): boolean {
  if (!arn) return false;
  const base = (value: string) => value.split(':').slice(0, 7).join(':');
  return base(arn) === base(expected);
}

/** duplicate-owner: two or more secrets naming one PingOne owner. */
function withDuplicates(reports: StatusReport[]): StatusReport[] {
  const byOwner = new Map<string, string[]>();
  for (const report of reports) {
    const key = ownerKey(report);
    if (key) byOwner.set(key, [...(byOwner.get(key) ?? []), report.secret.name]);
  }
  return reports.map((report) => {
    const key = ownerKey(report);
    const names = key ? (byOwner.get(key) ?? []) : [];
    return names.length > 1
      ? markDuplicates(
          report,
          names.filter((n) => n !== report.secret.name),
        )
      : report;
  });
}

/**
 * duplicate-owner from the ledger: the ledger binds the secret's PingOne owner to another secret. The other
 * secret may be outside the prefix or deleted; either way this secret's contents name an owner the rotation
 * function will refuse for it (a forged or copied secret). The status model already judged it
 * duplicate-owner from the record it read; this names the other secret in `duplicates`, as for two secrets
 * under the prefix.
 */
function withLedgerOwners(reports: StatusReport[]): StatusReport[] {
  return reports.map((report) => {
    const bound = report.ledger?.binding;
    if (!bound || bound.thisSecret) return report;
    const already = report.duplicates ?? [];
    if (already.some((name) => bound.secretArn.includes(`:secret:${name}-`))) return report;
    return markDuplicates(report, [
      ...already,
      `${bound.secretArn} (bound to this PingOne owner in the rotation ledger)`,
    ]);
  });
}

/** Why a secret was not judged when its ledger record could not be read. */
function ledgerProblem(problem: string): string {
  const text = problem.replace(/\s*$/, '');
  return (
    `${text}${/[.!?]$/.test(text) ? '' : '.'} Not judged: without the ledger's record a regenerate made outside ` +
    'the function (drift) cannot be told from one the function made (grace), nor a secret bound to another ' +
    'secret (duplicate-owner) from its owner'
  );
}

/** One error as a log field; text from AWS or PingOne passes the redactor's shape rules (lib/redact.ts). */
function describeError(error: unknown): string {
  if (error instanceof Error) return redactText(`${error.name}: ${error.message}`);
  return redactText(String(error));
}
