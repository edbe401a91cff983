/**
 * The compliance report as CSV (one row per rotation; a secret without one gets one row), JSON (the model)
 * and one self-contained HTML page (inline CSS and SVG, no script, no external resource): the fleet's totals
 * and a timeline per secret. The model holds no secret value, so neither does any of these.
 */
import { type ComplianceReport, days, type ReportSecretEntry } from './model.js';

export type ReportFormat = 'csv' | 'json' | 'html';

export function renderReport(report: ComplianceReport, format: ReportFormat): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`;
  if (format === 'csv') return csv(report);
  return html(report);
}

const CSV_COLUMNS = [
  'secret_name',
  'secret_arn',
  'owner_kind',
  'environment_id',
  'owner_id',
  'region',
  'schedule',
  'policy_days',
  'longest_gap_days',
  'in_policy',
  'policy_problems',
  'findings',
  'rotation_version_id',
  'rotation_started_at',
  'rotation_finished_at',
  'rotation_trigger',
  'rotation_requested_by',
  'rotation_outcome',
] as const;

function csvCell(value: string | number | boolean | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  // A cell a spreadsheet would run as a formula is quoted as text.
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csv(report: ComplianceReport): string {
  const rows: string[] = [CSV_COLUMNS.join(',')];
  for (const s of report.secrets) {
    const base = [
      s.name,
      s.arn,
      s.owner?.kind,
      s.owner?.environmentId,
      s.owner?.id,
      s.owner?.region,
      s.schedule,
      s.policyMs !== undefined ? (s.policyMs / 86_400_000).toFixed(2) : undefined,
      s.longestGap ? (s.longestGap.ms / 86_400_000).toFixed(2) : undefined,
      s.inPolicy,
      s.policyProblems.join('; '),
      s.findings.join('; '),
    ];
    const rotations = s.rotations.length > 0 ? s.rotations : [undefined];
    for (const r of rotations) {
      rows.push(
        [...base, r?.versionId, r?.startedAt, r?.finishedAt, r?.trigger, r?.requestedBy, r?.outcome]
          .map(csvCell)
          .join(','),
      );
    }
  }
  return `${rows.join('\n')}\n`;
}

function esc(text: string | number | undefined): string {
  return String(text ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const WIDTH = 760;
const COLOURS: Record<string, string> = {
  rotated: '#2e7d32',
  failed: '#c62828',
  superseded: '#ef6c00',
  unfinished: '#6a1b9a',
};

function timeline(report: ComplianceReport, s: ReportSecretEntry): string {
  const from = Date.parse(report.from);
  const to = Date.parse(report.to);
  const span = Math.max(1, to - from);
  const x = (iso: string) => Math.round(10 + ((Date.parse(iso) - from) / span) * (WIDTH - 20));
  const gap = s.longestGap
    ? `<rect x="${x(s.longestGap.from)}" y="14" width="${Math.max(2, x(s.longestGap.to) - x(s.longestGap.from))}" height="12" fill="${s.inPolicy ? '#c8e6c9' : '#ffcdd2'}"><title>longest gap ${esc(days(s.longestGap.ms))}</title></rect>`
    : '';
  const marks = s.rotations
    .map((r) => {
      const cx = x(r.finishedAt ?? r.startedAt);
      const colour = COLOURS[r.outcome] ?? '#555';
      const title = `<title>${esc(r.startedAt)} ${esc(r.trigger)}${r.requestedBy ? ` by ${esc(r.requestedBy)}` : ''}: ${esc(r.outcome)}</title>`;
      return r.trigger === 'manual'
        ? `<rect x="${cx - 5}" y="15" width="10" height="10" fill="${colour}">${title}</rect>`
        : `<circle cx="${cx}" cy="20" r="5" fill="${colour}">${title}</circle>`;
    })
    .join('');
  return (
    `<svg class="timeline" width="${WIDTH}" height="40" viewBox="0 0 ${WIDTH} 40" role="img" aria-label="rotations of ${esc(s.name)}">` +
    `<line x1="10" y1="20" x2="${WIDTH - 10}" y2="20" stroke="#999" stroke-width="2"/>${gap}${marks}` +
    `<text x="10" y="38" font-size="10" fill="#666">${esc(report.from.slice(0, 10))}</text>` +
    `<text x="${WIDTH - 10}" y="38" font-size="10" fill="#666" text-anchor="end">${esc(report.to.slice(0, 10))}</text></svg>`
  );
}

function html(report: ComplianceReport): string {
  const t = report.totals;
  const total = (label: string, value: number, bad = false) =>
    `<div class="total${bad && value > 0 ? ' bad' : ''}"><div class="n">${value}</div><div>${esc(label)}</div></div>`;
  const secrets = report.secrets
    .map((s) => {
      const rows = s.rotations
        .map(
          (r) =>
            `<tr><td>${esc(r.startedAt)}</td><td>${esc(r.finishedAt ?? '')}</td><td>${esc(r.trigger)}${r.requestedBy ? ` (${esc(r.requestedBy)})` : ''}</td>` +
            `<td class="o-${esc(r.outcome)}">${esc(r.outcome)}</td><td class="mono">${esc(r.versionId)}</td></tr>`,
        )
        .join('');
      const owner = s.owner
        ? `${esc(s.owner.kind)} ${esc(s.owner.id)} in environment ${esc(s.owner.environmentId)} (${esc(s.owner.region)}), bound ${esc(s.boundAt)} by ${esc(s.boundBy)}`
        : 'no rotation ledger binding';
      return `<section class="secret ${s.inPolicy ? 'ok' : 'out'}">
<h2>${esc(s.name)} <span class="badge">${s.inPolicy ? 'in policy' : 'out of policy'}</span></h2>
<p class="meta">Owner: ${owner}<br>Schedule: ${esc(s.schedule ?? 'none')}${s.rotationEnabled ? '' : ' (rotation not enabled)'} · Policy: ${s.policyMs !== undefined ? esc(days(s.policyMs)) : 'none'} (${esc(s.policySource)}) · Longest gap: ${s.longestGap ? `${esc(days(s.longestGap.ms))} (${esc(s.longestGap.from)} to ${esc(s.longestGap.to)})` : 'n/a'} · Last rotated: ${esc(s.lastRotatedAt ?? 'never')}</p>
${timeline(report, s)}
${s.policyProblems.length ? `<ul class="problems">${s.policyProblems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : ''}
${s.findings.length ? `<ul class="findings">${s.findings.map((f) => `<li>${esc(f)}</li>`).join('')}</ul>` : ''}
${s.historyTruncated ? '<p class="note">The ledger history is full: earlier rotations are not shown.</p>' : ''}
${rows ? `<table><thead><tr><th>Started</th><th>Finished</th><th>Trigger</th><th>Outcome</th><th>Version</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="none">No rotation in the period.</p>'}
</section>`;
    })
    .join('\n');
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>PingOne secret rotation report ${esc(report.from.slice(0, 10))} to ${esc(report.to.slice(0, 10))}</title>
<style>
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:0 0 4px}
.sub{color:#555;margin:0 0 16px}.totals{display:flex;flex-wrap:wrap;gap:8px;margin:12px 0 20px}
.total{border:1px solid #ddd;border-radius:6px;padding:8px 12px;min-width:90px}.total .n{font-size:22px;font-weight:600}
.total.bad{border-color:#c62828;color:#c62828}.secret{border:1px solid #ddd;border-left:6px solid #2e7d32;border-radius:6px;padding:10px 14px;margin:0 0 14px}
.secret.out{border-left-color:#c62828}.badge{font-size:12px;font-weight:500;padding:1px 6px;border-radius:4px;background:#e8f5e9;color:#2e7d32}
.secret.out .badge{background:#ffebee;color:#c62828}.meta{color:#444;font-size:13px;margin:0 0 6px}
table{border-collapse:collapse;font-size:12px;margin-top:6px}td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}
.mono{font-family:ui-monospace,monospace;color:#666}.problems li{color:#c62828}.findings li{color:#ef6c00}
.o-rotated{color:#2e7d32}.o-failed{color:#c62828}.o-superseded{color:#ef6c00}.o-unfinished{color:#6a1b9a}
.legend{font-size:12px;color:#555}.notes{font-size:12px;color:#555}
</style></head><body>
<h1>PingOne secret rotation report</h1>
<p class="sub">${esc(report.from)} to ${esc(report.to)} · secrets under ${esc(report.prefix)} · policy: ${esc(report.policy)} · generated ${esc(report.generatedAt)}</p>
<div class="totals">${total('secrets', t.secrets)}${total('rotations', t.rotations)}${total('rotated', t.rotated)}${total('manual', t.manual)}${total('scheduled', t.scheduled)}${total('failed', t.failed, true)}${total('superseded', t.superseded)}${total('unfinished', t.unfinished, true)}${total('out of policy', t.outOfPolicy, true)}${total('with findings', t.withFindings, true)}</div>
<p class="legend">Timeline: ● scheduled, ■ manual; green rotated, red failed, orange superseded, purple unfinished; the band is the longest gap (red when over the policy).</p>
${secrets || '<p>No secrets.</p>'}
${report.notes.length ? `<div class="notes"><h2>Notes</h2><ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>` : ''}
</body></html>
`;
}
