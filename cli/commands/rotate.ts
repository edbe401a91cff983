/** `rotate`: the status pre-check, the settle wait, then the rotation (local world or the rotation service). */

import { ROTATION_FIXES, type StatusReport } from '../../lib/status/model.js';
import type { CliDeps } from '../deps.js';
import { CliError, EXIT } from '../errors.js';
import { line } from '../format.js';
import { rotateLocally } from './rotate-local.js';
import type { RotateOptions } from './rotate-request.js';
import { rotateWithService } from './rotate-service.js';
import { waitForSettledIntent } from './rotate-settle.js';
import { statusReport } from './status.js';

export type { RotateOptions } from './rotate-request.js';

/**
 * `rotate`: RotateSecret, then (with --wait) a live progress line until the new version is AWSCURRENT.
 * In the local world there is no rotation service: LocalRotationDriver plays it and the steps run here.
 */
export async function rotate(deps: CliDeps, options: RotateOptions): Promise<number> {
  let report: StatusReport | undefined;
  if (!options.force) {
    report = await refuseUnlessRotationFixes(deps, options.secretId);
    const owner = ownerLine(report);
    if (owner) line(deps.out, `${report.secret.name}: ${owner} (status: ${report.verdict})`);
  } else {
    // Not to refuse anything (--force), only to see whether an earlier regenerate is still settling.
    report = await statusReport(deps, { secretId: options.secretId }).catch(() => undefined);
  }
  if (report && !(await waitForSettledIntent(deps, report, options))) return EXIT.interrupted;
  return deps.local ? rotateLocally(deps, options) : rotateWithService(deps, options);
}

/** Which PingOne owner the secret names, as status saw it: a resource or an application. */
function ownerLine(report: StatusReport): string | undefined {
  const p = report.pingone;
  if (!p) return undefined;
  const where = `in environment ${p.environmentId} (${p.region})`;
  return p.kind === 'application'
    ? `PingOne OIDC application${p.applicationName ? ` "${p.applicationName}"` : ''} ${p.applicationId} ${where}`
    : `PingOne ${p.resourceType ?? 'CUSTOM'} resource${p.resourceName ? ` "${p.resourceName}"` : ''} ${p.resourceId} ${where}`;
}

/**
 * Runs the status model first: a rotation of a misconfigured secret, a drifted one, one PingOne cannot
 * judge or one with an outstanding AWSPENDING fails the same way every attempt and leaves AWSPENDING
 * behind. Refused with the verdict's exit code and its advice; nothing is changed.
 */
async function refuseUnlessRotationFixes(deps: CliDeps, secretId: string): Promise<StatusReport> {
  const report = await statusReport(deps, { secretId });
  if (ROTATION_FIXES.has(report.verdict)) return report;
  throw new CliError(
    `not rotating ${report.secret.name}: status says ${report.verdict}, which a rotation cannot fix (${report.reason})`,
    'nothing was changed; do what the status says, or pass --force to rotate anyway',
    report.exitCode,
  );
}
