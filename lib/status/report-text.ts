/**
 * Report as text: a status report as `pingone-rotation status` prints it. Pure.
 */
import { IN_USE_WINDOW_TAG, TTL_TAG } from '../config.js';
import type { StatusReport } from './report-shape.js';
import { when } from './text.js';

const PAD = 11;
function row(label: string, text: string): string {
  return `${label.padEnd(PAD)}${text}`;
}

/** The report as `status` prints it: one labelled row per fact, the verdict last. */
export function reportText(report: StatusReport, now: number): string[] {
  const lines: string[] = [];
  const out = (label: string, text: string) => lines.push(row(label, text));
  out('Secret', report.secret.name);
  out('', report.secret.arn);
  report.versions.forEach((v, i) => {
    const created = v.created ? `  created ${when(v.created, now)}` : '';
    const pending = report.pending?.versionId === v.versionId ? `  (${pendingWord(report.pending)})` : '';
    out(i === 0 ? 'Versions' : '', `${v.versionId}  ${v.stages.join(', ').padEnd(11)}${pending}${created}`);
  });
  if (report.versions.length === 0) out('Versions', 'none with a staging label');

  const r = report.rotation;
  const schedule =
    r.scheduleExpression ??
    (r.automaticallyAfterDays ? `every ${r.automaticallyAfterDays} days` : 'no schedule');
  out(
    'Rotation',
    r.enabled
      ? `enabled, ${schedule}${r.duration ? `, window ${r.duration}` : ''}`
      : `not enabled${r.lambdaArn ? ` (function recorded: ${r.lambdaArn})` : ''}`,
  );
  if (r.enabled && r.lambdaArn) out('', `function ${r.lambdaArn}`);
  if (r.enabled || r.lastRotated) {
    out(
      '',
      `last rotated ${r.lastRotated ? when(r.lastRotated, now) : 'never'}; next ${
        r.nextRotation ? when(r.nextRotation, now) : 'not scheduled'
      }`,
    );
  }
  const ttl = report.previousSecretTtl;
  out(
    '',
    (ttl.tag === undefined
      ? `previous-secret TTL: the function's PREVIOUS_SECRET_TTL${ttl.effective ? ` (${ttl.effective})` : ''} (no ${TTL_TAG} tag)`
      : `previous-secret TTL ${ttl.tag} (tag ${TTL_TAG})${ttl.problem ? ' INVALID' : ''}`) +
      (ttl.tagMinimum ? `; a tag may set ${ttl.tagMinimum} or more` : ''),
  );
  const w = report.previousSecretInUseWindow;
  out(
    '',
    (w.tag === undefined
      ? `in-use guard window: the function's PREVIOUS_SECRET_IN_USE_WINDOW${w.effective ? ` (${w.effective})` : ''} (no ${IN_USE_WINDOW_TAG} tag)`
      : `in-use guard window ${w.tag} (tag ${IN_USE_WINDOW_TAG})${w.problem ? ' INVALID' : w.effective === '0' ? ': guard off' : ''}`) +
      (w.tagMay ? `; a tag may ${TAG_MAY_TEXT[w.tagMay]}` : ''),
  );

  const p = report.pingone;
  if (p) {
    const owner =
      p.kind === 'application'
        ? `${p.protocol === 'OPENID_CONNECT' ? 'OIDC ' : p.protocol ? `${p.protocol} ` : ''}application` +
          `${p.applicationName ? ` "${p.applicationName}"` : ''}` +
          `${p.applicationType ? ` (${[p.applicationType, p.tokenEndpointAuthMethod].filter(Boolean).join(', ')})` : ''}` +
          ` ${p.applicationId}`
        : p.resourceType
          ? `${p.resourceType} resource${p.resourceName ? ` "${p.resourceName}"` : ''} ${p.resourceId}`
          : `resource ${p.resourceId}`;
    out('PingOne', `${owner} in environment ${p.environmentId} (${p.region})`);
    if (p.secretTest) {
      out(
        '',
        p.secretTest.proof === 'introspection'
          ? `testSecret proves a new secret by token introspection (${p.secretTest.method})`
          : `testSecret can only compare a new secret with PingOne's (${p.secretTest.method} does not use it)`,
      );
    }
    if (p.awsCurrentIs) {
      out(
        '',
        p.awsCurrentIs === 'neither'
          ? "AWSCURRENT matches neither PingOne's current nor its previous secret"
          : `AWSCURRENT is PingOne's ${p.awsCurrentIs} secret`,
      );
    }
    if (p.previous) {
      const held = p.previous.heldBy.length > 0 ? p.previous.heldBy.join(', ') : 'in no labelled version';
      out(
        '',
        `previous secret (${held}) valid until ${when(p.previous.expiresAt, now)}, last used ${
          p.previous.lastUsed ? when(p.previous.lastUsed, now) : 'never'
        }${p.previous.inUse ? ' (in use: a rotation now would be refused by the in-use guard)' : ''}`,
      );
    } else if (!p.problem) {
      out('', 'no previous secret');
    }
    if (report.pending?.pingOneUsesIt !== undefined) {
      out('', `AWSPENDING is ${report.pending.pingOneUsesIt ? '' : 'not '}PingOne's current secret`);
    }
  } else if (report.awsCurrent?.environmentId) {
    out(
      'PingOne',
      report.awsCurrent.kind === 'application'
        ? `application ${report.awsCurrent.applicationId} in environment ${report.awsCurrent.environmentId}`
        : `resource ${report.awsCurrent.resourceId} in environment ${report.awsCurrent.environmentId}`,
    );
  }
  const l = report.ledger;
  if (l) {
    const b = l.binding;
    out(
      'Ledger',
      l.problem
        ? `not read (${l.problem})`
        : b
          ? b.thisSecret
            ? `bound to this secret since ${when(b.boundAt, now)} (by ${b.how})`
            : `bound to ANOTHER secret, ${b.secretArn}, since ${when(b.boundAt, now)} (by ${b.how})`
          : 'not bound yet',
    );
    if (l.intent) {
      out(
        '',
        `intent: version ${l.intent.versionId} began a regenerate ${when(l.intent.startedAt, now)}` +
          (l.intent.live
            ? `; no other regenerate until ${when(l.intent.settlesAt, now)}`
            : ' (settled; stale)'),
      );
    }
    if (l.retirement) {
      out(
        '',
        `retirement: the fleet auditor began retiring PingOne's previous secret ${when(l.retirement.startedAt, now)}` +
          (l.retirement.live
            ? `; no regenerate until ${when(l.retirement.settlesAt, now)} (rotations wait: RetirementInProgress)`
            : ' (settled; stale)'),
      );
    }
    if (l.lastRotated) out('', `last rotation finished ${when(l.lastRotated, now)} (ledger)`);
    for (const run of l.history) {
      const steps = [
        `started ${when(run.startedAt, now)}`,
        run.regeneratedAt ? `regenerated ${when(run.regeneratedAt, now)}` : 'not regenerated',
        run.finishedAt ? `${run.outcome ?? 'ended'} ${when(run.finishedAt, now)}` : 'unfinished',
      ];
      out(
        '',
        `${run.versionId}  ${steps.join(', ')}${run.secretArn === report.secret.arn ? '' : ` (${run.secretArn})`}`,
      );
    }
  }
  if (report.secrets) {
    for (const [key, value] of Object.entries(report.secrets)) {
      if (value !== undefined) out(key === 'awsCurrent' ? 'Secrets' : '', `${key} ${value}`);
    }
  }
  for (const warning of report.warnings) out('Warning', `${warning.code}: ${warning.message}`);
  for (const note of report.notes) out('Note', note);
  out('Verdict', `${report.verdict}: ${report.reason}`);
  return lines;
}

function pendingWord(pending: NonNullable<StatusReport['pending']>): string {
  const kind =
    pending.kind === 'placeholder'
      ? 'empty placeholder'
      : pending.kind === 'value'
        ? 'holds a value'
        : 'malformed';
  return `${kind}${pending.stuck ? ', stuck' : ', in progress'}`;
}

/** What TAG_IN_USE_WINDOW_MAY lets a tag do, in words. */
const TAG_MAY_TEXT = {
  lengthen: 'only lengthen it',
  shorten: 'shorten it, not switch it off',
  'switch-off': 'shorten it or switch it off',
} as const;
