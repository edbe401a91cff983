/**
 * Report: a judgement as `status --json` prints it (and the auditor logs it): the facts and findings in plain
 * JSON, the verdict with its reason and notes. Pure. Holds no secret value unless `includeSecrets`.
 */
import { intentIsLive, intentSettlesAt, retirementIsLive, retirementSettlesAt } from '../ledger/record.js';
import type { PingOneSecretState } from '../pingone/types.js';
import { OWNER_ID_FIELDS } from '../secret-value.js';
import type { LedgerFacts, StatusFacts } from './facts.js';
import type { PingOneView, VersionValue } from './inspect.js';
import type { Judgement } from './judge.js';
import type { StatusReport } from './report-shape.js';
import { isoTime } from './text.js';

/** How many of the ledger's recent rotations a report shows. */
const LEDGER_HISTORY_SHOWN = 5;

/** The report of one judgement. `includeSecrets`: put the secret values in (`status --show-secrets` only). */
export function toReport(facts: StatusFacts, judged: Judgement, includeSecrets = false): StatusReport {
  const { view, now } = facts;
  const a = judged.findings;
  const state = a.state;
  const currentValue = a.currentValue;
  const rotation = view.rotation;
  const pending = a.pending;
  return {
    secret: { arn: view.arn, name: view.name },
    verdict: judged.verdict,
    exitCode: judged.exitCode,
    reason: judged.reason,
    notes: [...judged.notes],
    checkedAt: isoTime(new Date(now)),
    versions: view.versions.map((v) => {
      const date = a.created.get(v.id);
      return { versionId: v.id, stages: v.stages, ...(date ? { created: isoTime(date) } : {}) };
    }),
    rotation: {
      enabled: rotation.enabled,
      ...(rotation.lambdaArn ? { lambdaArn: rotation.lambdaArn } : {}),
      ...(rotation.scheduleExpression ? { scheduleExpression: rotation.scheduleExpression } : {}),
      ...(rotation.duration ? { duration: rotation.duration } : {}),
      ...(rotation.automaticallyAfterDays ? { automaticallyAfterDays: rotation.automaticallyAfterDays } : {}),
      ...(rotation.lastRotated ? { lastRotated: isoTime(rotation.lastRotated) } : {}),
      ...(rotation.nextRotation ? { nextRotation: isoTime(rotation.nextRotation) } : {}),
    },
    previousSecretTtl: {
      source: a.ttlTag !== undefined ? 'tag' : 'function-default',
      ...(a.ttlTag !== undefined ? { tag: a.ttlTag } : {}),
      ...(a.ttl ? { effective: a.ttl.text } : {}),
      ...(facts.config?.tagBounds ? { tagMinimum: facts.config.tagBounds.minTtl.text } : {}),
      ...(a.ttlProblem ? { problem: a.ttlProblem } : {}),
    },
    previousSecretInUseWindow: {
      source: a.windowTag !== undefined ? 'tag' : 'function-default',
      ...(a.windowTag !== undefined ? { tag: a.windowTag } : {}),
      ...(a.window ? { effective: a.window.text } : {}),
      ...(facts.config?.tagBounds ? { tagMay: facts.config.tagBounds.inUseWindowMay } : {}),
      ...(a.windowProblem ? { problem: a.windowProblem } : {}),
    },
    warnings: [...a.warnings],
    ...(facts.ledger ? { ledger: ledgerReport(facts.ledger, view.arn, now) } : {}),
    awsCurrent: view.currentVersionId
      ? {
          versionId: view.currentVersionId,
          ...(currentValue
            ? {
                kind: currentValue.kind,
                environmentId: currentValue.environmentId,
                [OWNER_ID_FIELDS[currentValue.kind]]: currentValue.ownerId,
                ...(currentValue.region ? { region: currentValue.region } : {}),
              }
            : {}),
          ...(facts.current.kind === 'malformed' ? { problem: facts.current.problem } : {}),
        }
      : undefined,
    pending: pending
      ? {
          versionId: pending.versionId,
          ...(pending.created ? { created: isoTime(pending.created) } : {}),
          ...(pending.ageMs !== undefined ? { ageSeconds: Math.round(pending.ageMs / 1000) } : {}),
          kind: pending.value.kind,
          ...(pending.pingOneUsesIt !== undefined ? { pingOneUsesIt: pending.pingOneUsesIt } : {}),
          stuck: pending.stuck,
          unstickWould: pending.unstickWould,
        }
      : undefined,
    pingone: facts.pingone
      ? {
          kind: facts.pingone.owner.kind,
          environmentId: facts.pingone.owner.environmentId,
          ...(facts.pingone.owner.kind === 'resource' ? { resourceId: facts.pingone.owner.id } : {}),
          region: facts.pingone.owner.region,
          ...(facts.pingone.resource?.name ? { resourceName: facts.pingone.resource.name } : {}),
          ...(facts.pingone.resource ? { resourceType: facts.pingone.resource.type } : {}),
          ...applicationFields(facts.pingone),
          ...(a.secretTest ? { secretTest: a.secretTest } : {}),
          ...(a.awsCurrentIs ? { awsCurrentIs: a.awsCurrentIs } : {}),
          ...(state?.previous
            ? {
                previous: {
                  expiresAt: isoTime(state.previous.expiresAt),
                  ...(state.previous.lastUsed ? { lastUsed: isoTime(state.previous.lastUsed) } : {}),
                  inUse: a.previousIsInUse,
                  heldBy: [...a.holders],
                },
              }
            : {}),
          ...(facts.pingone.problem ? { problem: facts.pingone.problem } : {}),
        }
      : undefined,
    ...(includeSecrets ? { secrets: secretsOf(facts, state) } : {}),
  };
}

/** The PingOne owner a report's AWSCURRENT names, as a key (kind/environment/id), when known. */
export function ownerKey(report: StatusReport): string | undefined {
  const p = report.pingone;
  const id = p?.resourceId ?? p?.applicationId;
  if (p && id) return `${p.kind}/${p.environmentId.toLowerCase()}/${id.toLowerCase()}`;
  return undefined;
}

function applicationFields(view: PingOneView): Record<string, string> {
  if (view.owner.kind !== 'application') return {};
  const app = view.application;
  return {
    applicationId: view.owner.id,
    ...(app?.name ? { applicationName: app.name } : {}),
    ...(app ? { protocol: app.protocol, applicationType: app.type } : {}),
    ...(app?.tokenEndpointAuthMethod ? { tokenEndpointAuthMethod: app.tokenEndpointAuthMethod } : {}),
  };
}

function secretsOf(
  facts: StatusFacts,
  state: PingOneSecretState | undefined,
): Record<string, string | undefined> {
  const value = (v: VersionValue | undefined) => (v?.kind === 'value' ? v.value.clientSecret : undefined);
  return {
    awsCurrent: value(facts.current),
    awsPrevious: value(facts.previous),
    awsPending: value(facts.pending),
    pingOneCurrent: state?.secret,
    pingOnePrevious: state?.previous?.secret,
  };
}

function ledgerReport(ledger: LedgerFacts, arn: string, now: number): NonNullable<StatusReport['ledger']> {
  const record = ledger.record;
  const intent = record?.intent;
  const history = (record?.history ?? []).slice(0, LEDGER_HISTORY_SHOWN).map((run) => ({
    versionId: run.token,
    secretArn: run.secretArn,
    startedAt: run.startedAt,
    ...(run.regeneratedAt ? { regeneratedAt: run.regeneratedAt } : {}),
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.outcome ? { outcome: run.outcome } : {}),
  }));
  const lastRotated = record?.history.find((run) => run.outcome === 'rotated')?.finishedAt;
  return {
    table: ledger.table,
    ...(record?.binding
      ? { binding: { ...record.binding, thisSecret: record.binding.secretArn === arn } }
      : {}),
    ...(intent
      ? {
          intent: {
            versionId: intent.token,
            secretArn: intent.secretArn,
            startedAt: intent.startedAt,
            settlesAt: isoTime(intentSettlesAt(intent)),
            live: intentIsLive(intent, now),
          },
        }
      : {}),
    ...(record?.retirement
      ? {
          retirement: {
            secretArn: record.retirement.secretArn,
            startedAt: record.retirement.startedAt,
            settlesAt: isoTime(retirementSettlesAt(record.retirement)),
            live: retirementIsLive(record.retirement, now),
          },
        }
      : {}),
    history,
    ...(lastRotated ? { lastRotated } : {}),
    ...(ledger.problem ? { problem: ledger.problem } : {}),
  };
}
