import { type DoctorReport, doctorText, runDoctor } from '../../lib/doctor.js';
import { PingOneHttpClient } from '../../lib/pingone/http-client.js';
import type { CliDeps } from '../deps.js';
import { CliError, EXIT } from '../errors.js';

/** doctor's exit codes: 0 every worker has what it needs; 1 a worker could not be checked; 14 something is missing. */
export const DOCTOR_EXIT = Object.freeze({ ok: EXIT.ok, error: EXIT.error, missing: 14 });

export interface DoctorOptions {
  readonly json?: boolean;
}

/**
 * `doctor`: for each configured worker (PINGONE_WORKERS, or the single worker), obtains a token, lists the
 * environments it can see and checks the roles it needs on each; says what is missing and where to grant it.
 * Read-only: the token request and GETs only.
 */
export async function doctor(deps: CliDeps, options: DoctorOptions): Promise<number> {
  const access = deps.pingone();
  const workers = access.workers;
  if (!workers) throw new CliError('doctor needs the configured workers', 'this PingOne access has none');
  const config = access.config;
  // The access's own client (its transport, its cached tokens), or one like it.
  const client =
    access.client instanceof PingOneHttpClient
      ? access.client
      : new PingOneHttpClient({
          apiUrlTemplate: config.apiUrlTemplate,
          authUrlTemplate: config.authUrlTemplate,
          workers,
          now: deps.now,
          sleep: deps.sleep,
          retry: { maxAttempts: 3, maxDelayMs: 2_000, maxRetryAfterMs: 5_000 },
        });
  const report: DoctorReport = await runDoctor({ client, workers, now: deps.now });
  const exitCode =
    report.verdict === 'ok'
      ? DOCTOR_EXIT.ok
      : report.verdict === 'missing'
        ? DOCTOR_EXIT.missing
        : DOCTOR_EXIT.error;
  if (options.json) {
    deps.out.write(
      `${JSON.stringify({ version: 1, command: 'doctor', ok: exitCode === 0, exitCode, ...report }, null, 2)}\n`,
    );
  } else {
    deps.out.write(doctorText(report));
  }
  return exitCode;
}
