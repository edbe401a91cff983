/**
 * The compliance report's model: for a period, each secret, its owner, every rotation (when, manual or
 * scheduled, outcome), the longest gap between rotations against the policy, and the auditor's findings.
 * A pure function of what the command gathered (ledger records, rotation requests, the audit's reports), so
 * it is tested without AWS. It never sees a secret value: the ledger holds none, the audit's reports none.
 */
import type { LedgerRecord, LedgerRun } from '../../lib/ledger/record.js';
import type { RotationRequest } from '../../lib/ledger/requests.js';
import type { SecretOwner } from '../../lib/pingone/types.js';

export interface OwnerRecord {
  readonly owner: SecretOwner;
  readonly record: LedgerRecord;
}

/** What the report needs of a secret (from the audit's StatusReport). */
export interface SecretFacts {
  readonly arn: string;
  readonly name: string;
  readonly rotationEnabled: boolean;
  readonly scheduleExpression?: string | undefined;
  readonly automaticallyAfterDays?: number | undefined;
  readonly verdict?: string | undefined;
  readonly reason?: string | undefined;
  readonly duplicates?: readonly string[] | undefined;
  /** When the secret was created, if known (the start of its first gap). */
  readonly createdAt?: string | undefined;
}

export interface ReportInput {
  readonly from: Date;
  readonly to: Date;
  readonly now: Date;
  readonly prefix: string;
  /** An explicit policy (longest allowed time between rotations); else each secret's schedule + tolerance. */
  readonly policyMs?: number | undefined;
  readonly toleranceMs: number;
  readonly historyLimit: number;
  readonly owners: readonly OwnerRecord[];
  readonly requests: ReadonlyMap<string, RotationRequest>;
  readonly secrets: readonly SecretFacts[];
  /** Why the audit could not run, if it could not (then there are no findings). */
  readonly auditError?: string | undefined;
}

export type Trigger = 'manual' | 'schedule';
export type RotationOutcome = 'rotated' | 'superseded' | 'failed' | 'unfinished';

export interface ReportRotation {
  /** The rotation's version id (ClientRequestToken): not a secret. */
  readonly versionId: string;
  readonly startedAt: string;
  readonly finishedAt?: string | undefined;
  readonly trigger: Trigger;
  readonly requestedBy?: string | undefined;
  readonly outcome: RotationOutcome;
}

export interface ReportSecretEntry {
  readonly name: string;
  readonly arn: string;
  readonly owner?:
    | { readonly kind: string; readonly environmentId: string; readonly id: string; readonly region: string }
    | undefined;
  readonly boundAt?: string | undefined;
  readonly boundBy?: string | undefined;
  readonly rotationEnabled: boolean;
  readonly schedule?: string | undefined;
  /** The longest allowed time between rotations, and where it comes from. */
  readonly policyMs?: number | undefined;
  readonly policySource: 'flag' | 'schedule' | 'none';
  readonly rotations: readonly ReportRotation[];
  readonly lastRotatedAt?: string | undefined;
  readonly longestGap?: { readonly ms: number; readonly from: string; readonly to: string } | undefined;
  readonly inPolicy: boolean;
  readonly policyProblems: readonly string[];
  readonly findings: readonly string[];
  /** The ledger's history is full and its oldest run is after the period's start: earlier runs are gone. */
  readonly historyTruncated: boolean;
}

export interface ComplianceReport {
  readonly generatedAt: string;
  readonly from: string;
  readonly to: string;
  readonly prefix: string;
  readonly policy: string;
  readonly totals: {
    readonly secrets: number;
    readonly rotations: number;
    readonly rotated: number;
    readonly failed: number;
    readonly superseded: number;
    readonly unfinished: number;
    readonly manual: number;
    readonly scheduled: number;
    readonly outOfPolicy: number;
    readonly withFindings: number;
  };
  readonly secrets: readonly ReportSecretEntry[];
  readonly notes: readonly string[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** rate(N days|hours) or AutomaticallyAfterDays as milliseconds; cron is not an interval (undefined). */
function scheduleInterval(
  facts: Pick<SecretFacts, 'scheduleExpression' | 'automaticallyAfterDays'>,
): number | undefined {
  const m = /^rate\(\s*(\d+)\s+(hours?|days?)\s*\)$/.exec(facts.scheduleExpression?.trim() ?? '');
  if (m) return Number(m[1]) * (m[2]?.startsWith('hour') ? HOUR : DAY);
  if (facts.automaticallyAfterDays) return facts.automaticallyAfterDays * DAY;
  return undefined;
}

export function buildReport(input: ReportInput): ComplianceReport {
  const from = input.from.getTime();
  const end = Math.min(input.to.getTime(), input.now.getTime());
  const byArn = new Map<string, OwnerRecord>();
  for (const o of input.owners) if (o.record.binding) byArn.set(o.record.binding.secretArn, o);
  const runsOf = (arn: string): LedgerRun[] =>
    input.owners.flatMap((o) => o.record.history.filter((run) => run.secretArn === arn));
  const notes: string[] = [];
  if (input.auditError) notes.push(`Findings missing: the audit could not run (${input.auditError}).`);
  notes.push(
    'Trigger: "manual" rotations were requested with pingone-rotation rotate (recorded in the ledger before ' +
      'RotateSecret, with the operator); every other rotation counts as "schedule" — one started from the ' +
      "console or the AWS CLI is among them (CloudTrail's RotateSecret events tell those apart).",
  );
  const secrets = [...input.secrets].sort((a, b) => a.name.localeCompare(b.name));
  const entries = secrets.map((facts): ReportSecretEntry => {
    const owned = byArn.get(facts.arn);
    const runs = runsOf(facts.arn);
    const inPeriod = runs
      .filter((run) => {
        const t = Date.parse(run.startedAt);
        return t >= from && t <= input.to.getTime();
      })
      .sort((a, b) => a.startedAt.localeCompare(b.startedAt));
    const rotations = inPeriod.map((run): ReportRotation => {
      const request = input.requests.get(run.token);
      return {
        versionId: run.token,
        startedAt: run.startedAt,
        ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
        trigger: request && request.secretArn === facts.arn ? 'manual' : 'schedule',
        ...(request && request.secretArn === facts.arn ? { requestedBy: request.requestedBy } : {}),
        outcome: run.outcome ?? 'unfinished',
      };
    });
    const done = (run: LedgerRun) => Date.parse(run.finishedAt ?? run.regeneratedAt ?? run.startedAt);
    const rotatedTimes = runs
      .filter((run) => run.outcome === 'rotated')
      .map(done)
      .sort((a, b) => a - b);
    const before = rotatedTimes.filter((t) => t < from).at(-1);
    const created = facts.createdAt ? Date.parse(facts.createdAt) : undefined;
    const bound = owned?.record.binding ? Date.parse(owned.record.binding.boundAt) : undefined;
    const inside = rotatedTimes.filter((t) => t >= from && t <= end);
    // The gap before the first rotation in the period starts at the last one before it, else when the secret
    // came under rotation (created or bound), but never before the period nor after its first rotation.
    const anchor =
      before ?? Math.min(Math.max(from, created ?? bound ?? from), inside[0] ?? Number.POSITIVE_INFINITY);
    const points = [anchor, ...inside, end].filter((t) => t <= end).sort((a, b) => a - b);
    let longestGap: ReportSecretEntry['longestGap'];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1] as number;
      const b = points[i] as number;
      if (!longestGap || b - a > longestGap.ms) {
        longestGap = { ms: b - a, from: new Date(a).toISOString(), to: new Date(b).toISOString() };
      }
    }
    const interval = scheduleInterval(facts);
    const policySource: ReportSecretEntry['policySource'] =
      input.policyMs !== undefined ? 'flag' : interval !== undefined ? 'schedule' : 'none';
    const policyMs = input.policyMs ?? (interval !== undefined ? interval + input.toleranceMs : undefined);
    const problems: string[] = [];
    if (!facts.rotationEnabled) problems.push('rotation is not enabled');
    if (policySource === 'none') problems.push('no policy: the schedule is not an interval (pass --policy)');
    if (policyMs !== undefined && longestGap && longestGap.ms > policyMs) {
      problems.push(
        `longest gap ${days(longestGap.ms)} (${longestGap.from} to ${longestGap.to}) exceeds the policy's ${days(policyMs)}`,
      );
    }
    if (!owned) problems.push('no rotation ledger binding: its owner is not proven');
    const findings = [
      ...(facts.verdict && facts.verdict !== 'healthy'
        ? [`${facts.verdict}: ${facts.reason ?? ''}`.trim()]
        : []),
      ...(facts.duplicates?.length && facts.verdict !== 'duplicate-owner'
        ? [`duplicate owner: also named by ${facts.duplicates.join(', ')}`]
        : []),
    ];
    const oldest = runs.map((run) => Date.parse(run.startedAt)).sort((a, b) => a - b)[0];
    const historyTruncated =
      owned !== undefined &&
      owned.record.history.length >= input.historyLimit &&
      oldest !== undefined &&
      oldest > from;
    const last = rotatedTimes.filter((t) => t <= end).at(-1);
    return {
      name: facts.name,
      arn: facts.arn,
      ...(owned
        ? {
            owner: {
              kind: owned.owner.kind,
              environmentId: owned.owner.environmentId,
              id: owned.owner.id,
              region: owned.owner.region,
            },
            boundAt: owned.record.binding?.boundAt,
            boundBy: owned.record.binding?.how,
          }
        : {}),
      rotationEnabled: facts.rotationEnabled,
      ...(facts.scheduleExpression || facts.automaticallyAfterDays
        ? { schedule: facts.scheduleExpression ?? `every ${facts.automaticallyAfterDays} days` }
        : {}),
      ...(policyMs !== undefined ? { policyMs } : {}),
      policySource,
      rotations,
      ...(last !== undefined ? { lastRotatedAt: new Date(last).toISOString() } : {}),
      ...(longestGap ? { longestGap } : {}),
      inPolicy: problems.length === 0,
      policyProblems: problems,
      findings,
      historyTruncated,
    };
  });
  if (entries.some((e) => e.historyTruncated)) {
    notes.push(
      `Some secrets' ledger history is full (${input.historyLimit} rotations) and begins after the period's start: ` +
        'their earlier rotations are not in this report.',
    );
  }
  const all = entries.flatMap((e) => e.rotations);
  const count = (f: (r: ReportRotation) => boolean) => all.filter(f).length;
  return {
    generatedAt: input.now.toISOString(),
    from: input.from.toISOString(),
    to: input.to.toISOString(),
    prefix: input.prefix,
    policy:
      input.policyMs !== undefined
        ? `at most ${days(input.policyMs)} between rotations`
        : `each secret's schedule interval + ${days(input.toleranceMs)}`,
    totals: {
      secrets: entries.length,
      rotations: all.length,
      rotated: count((r) => r.outcome === 'rotated'),
      failed: count((r) => r.outcome === 'failed'),
      superseded: count((r) => r.outcome === 'superseded'),
      unfinished: count((r) => r.outcome === 'unfinished'),
      manual: count((r) => r.trigger === 'manual'),
      scheduled: count((r) => r.trigger === 'schedule'),
      outOfPolicy: entries.filter((e) => !e.inPolicy).length,
      withFindings: entries.filter((e) => e.findings.length > 0).length,
    },
    secrets: entries,
    notes,
  };
}

/** 2.5 days → "2.5 d", 3 hours → "3.0 h". */
export function days(ms: number): string {
  return ms >= DAY ? `${(ms / DAY).toFixed(1)} d` : `${(ms / HOUR).toFixed(1)} h`;
}
