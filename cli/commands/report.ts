import { writeFile } from 'node:fs/promises';
import { type AttributeValue, ScanCommand } from '@aws-sdk/client-dynamodb';
import { runAudit } from '../../lib/audit/audit.js';
import { parseItem } from '../../lib/ledger/items.js';
import { HISTORY_LIMIT } from '../../lib/ledger/record.js';
import { parseRequestItem, type RotationRequest } from '../../lib/ledger/requests.js';
import type { SecretOwnerKind } from '../../lib/pingone/types.js';
import { DEFAULT_NEAR_EXPIRY_MS, DEFAULT_STUCK_AFTER_MS } from '../../lib/status/model.js';
import type { CliDeps } from '../deps.js';
import { rotationErrorHint, UsageError } from '../errors.js';
import { line } from '../format.js';
import { cliLedger } from '../ledger.js';
import { buildReport, type OwnerRecord, type SecretFacts } from '../report/model.js';
import { type ReportFormat, renderReport } from '../report/render.js';
import { DEFAULT_SECRET_NAME_PREFIX } from './onboard-input.js';

export interface ReportOptions {
  readonly from?: string | undefined;
  readonly to?: string | undefined;
  readonly format?: string | undefined;
  readonly out?: string | undefined;
  readonly prefix?: string | undefined;
  /** Longest allowed time between rotations, e.g. 30d; default each secret's schedule + 1 day. */
  readonly policy?: string | undefined;
  readonly rotationFunctionArn?: string | undefined;
}

const DAY = 86_400_000;
export const DEFAULT_REPORT_DAYS = 90;
const POLICY_TOLERANCE_MS = DAY;

/**
 * `report`: the compliance report for a period, from the rotation ledger's history (every owner's runs and
 * the CLI's recorded manual requests) and the fleet audit (each secret's schedule, verdict and duplicates).
 * Read-only.
 */
export async function report(deps: CliDeps, options: ReportOptions): Promise<number> {
  const now = new Date(deps.now());
  const to = options.to ? date(options.to, '--to') : now;
  const from = options.from
    ? date(options.from, '--from')
    : new Date(to.getTime() - DEFAULT_REPORT_DAYS * DAY);
  if (from.getTime() >= to.getTime())
    throw new UsageError('--from is not before --to', 'give a period that is not empty');
  const format = (options.format ?? formatFromFile(options.out) ?? 'json') as ReportFormat;
  if (!['csv', 'json', 'html'].includes(format)) {
    throw new UsageError(
      `--format '${options.format}' is not csv, json or html`,
      'e.g. --format html --out report.html',
    );
  }
  const policyMs = options.policy === undefined ? undefined : policy(options.policy);
  const prefix = options.prefix ?? DEFAULT_SECRET_NAME_PREFIX;
  const access = deps.pingone();
  const { ledger } = cliLedger(deps);
  const [scan, audit] = await Promise.all([
    scanLedger(deps, access.config.ledgerTable),
    runAudit(
      {
        secretsManager: deps.secretsManager,
        pingone: access,
        now: deps.now,
        deadline: deps.now() + 15 * 60_000,
        hint: rotationErrorHint,
        rotationLedger: () => ledger,
      },
      {
        secretNamePrefix: prefix,
        rotationFunctionArn: options.rotationFunctionArn,
        concurrency: 4,
        nearExpiryMs: DEFAULT_NEAR_EXPIRY_MS,
        stuckAfterMs: DEFAULT_STUCK_AFTER_MS,
        noRotationService: deps.local !== undefined,
      },
    ).then(
      (result) => ({ result, error: undefined }),
      (error: unknown) => ({ result: undefined, error: (error as Error).message }),
    ),
  ]);
  const secrets: SecretFacts[] = (audit.result?.reports ?? []).map((r) => ({
    arn: r.secret.arn,
    name: r.secret.name,
    rotationEnabled: r.rotation.enabled,
    scheduleExpression: r.rotation.scheduleExpression,
    automaticallyAfterDays: r.rotation.automaticallyAfterDays,
    verdict: r.verdict,
    reason: r.reason,
    duplicates: r.duplicates,
  }));
  for (const failure of audit.result?.errors ?? []) {
    secrets.push({
      arn: failure.secret,
      name: failure.secret,
      rotationEnabled: false,
      verdict: 'not audited',
      reason: failure.error,
    });
  }
  const model = buildReport({
    from,
    to,
    now,
    prefix,
    policyMs,
    toleranceMs: POLICY_TOLERANCE_MS,
    historyLimit: HISTORY_LIMIT,
    owners: scan.owners,
    requests: scan.requests,
    secrets,
    auditError: audit.error,
  });
  const text = renderReport(model, format);
  if (options.out) {
    await writeFile(options.out, text);
    const t = model.totals;
    line(
      deps.out,
      `Wrote ${options.out} (${format}): ${t.secrets} secrets, ${t.rotations} rotations (${t.manual} manual, ` +
        `${t.scheduled} scheduled; ${t.failed} failed), ${t.outOfPolicy} out of policy, ${t.withFindings} with findings, ` +
        `${model.from} to ${model.to}.`,
    );
  } else {
    deps.out.write(text);
  }
  return 0;
}

/** Every owner record and rotation request in the ledger table (a paginated Scan). */
async function scanLedger(
  deps: CliDeps,
  table: string,
): Promise<{ owners: OwnerRecord[]; requests: Map<string, RotationRequest> }> {
  const owners: OwnerRecord[] = [];
  const requests = new Map<string, RotationRequest>();
  let ExclusiveStartKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await deps.dynamodb.send(
      new ScanCommand({ TableName: table, ExclusiveStartKey, ConsistentRead: true }),
    );
    for (const item of page.Items ?? []) {
      const request = parseRequestItem(item);
      if (request) {
        requests.set(request.token, request);
        continue;
      }
      const kind = item.ownerKind?.S;
      const environmentId = item.environmentId?.S;
      const id = item.ownerId?.S;
      const region = item.region?.S;
      if ((kind !== 'resource' && kind !== 'application') || !environmentId || !id) continue;
      owners.push({
        owner: { kind: kind as SecretOwnerKind, environmentId, id, region: (region ?? '') as never },
        record: parseItem(item, table),
      });
    }
    ExclusiveStartKey = page.LastEvaluatedKey;
  } while (ExclusiveStartKey);
  return { owners, requests };
}

function date(text: string, flag: string): Date {
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(text) ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(d.getTime())) {
    throw new UsageError(`${flag} '${text}' is not a date`, 'write it as 2026-09-01 or 2026-09-01T12:00:00Z');
  }
  return d;
}

function policy(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(d|h)$/.exec(text.trim());
  if (!m || Number(m[1]) <= 0) {
    throw new UsageError(
      `--policy '${text}' is not a duration in days or hours`,
      'e.g. --policy 30d or --policy 36h',
    );
  }
  return Number(m[1]) * (m[2] === 'd' ? DAY : 3_600_000);
}

function formatFromFile(out: string | undefined): string | undefined {
  const ext = /\.(csv|json|html?)$/i.exec(out ?? '')?.[1]?.toLowerCase();
  return ext === 'htm' ? 'html' : ext;
}
