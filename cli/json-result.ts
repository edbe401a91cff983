/**
 * `--json` on the commands that change something (onboard, rotate, unstick, rebind): one JSON document on
 * stdout and nothing else there (the command's own lines, progress and prompts go to stderr). The document is
 * made from what the secret looked like before and after the command (the status model, read-only), so it
 * says what happened even when the command failed half way. No secret value is ever in it.
 *
 * The document (docs/cli.md "JSON output" describes it; `version` changes only when a field changes meaning):
 *   { version: 1, command, ok, exitCode, action, changed, secret: {name, arn} | null,
 *     owner: {kind, environmentId, id, region, name?} | null, versionId?, before: Snapshot | null,
 *     after: Snapshot | null, error?: {code, message, setting?} }
 * The fleet commands (onboard-fleet, import-terraform) and onboard-worker-pair print their own document; on a
 * failure before it, they (like every --json command) print `{version, command, ok: false, exitCode, error}`.
 */
import { RotationError } from '../lib/errors.js';
import type { SecretView } from '../lib/secrets/description.js';
import { SecretsStore } from '../lib/secrets/secrets-store.js';
import type { StatusReport } from '../lib/status/model.js';
import { statusReport } from './commands/status.js';
import type { CliDeps } from './deps.js';
import { CliError, describeError, type ErrorContext, EXIT, UsageError } from './errors.js';

const JSON_VERSION = 1;

/** The commands whose --json document is built here; the fleet commands print their own report. */
export const SECRET_COMMANDS = ['onboard', 'rotate', 'unstick', 'rebind'] as const;
export type SecretCommand = (typeof SECRET_COMMANDS)[number];

/** Every command that changes something has --json. */
const MUTATING_COMMANDS = [
  ...SECRET_COMMANDS,
  'onboard-fleet',
  'import-terraform',
  'onboard-worker-pair',
] as const;

/** What a command did, read from the secret before and after it. */
export type Action =
  /** onboard: the secret was created. */
  | 'created'
  /** onboard --force: PingOne's current secret was stored in the existing secret. */
  | 'updated'
  /** rotate: a new version is AWSCURRENT. */
  | 'rotated'
  /** rotate without --wait (the rotation service runs it): a new version is AWSPENDING. */
  | 'started'
  /** unstick: AWSCURRENT moved to the AWSPENDING version. */
  | 'finished'
  /** unstick: the AWSPENDING label was removed. */
  | 'removed-pending'
  /** rebind (or onboard --rebind): the rotation ledger now binds the owner to this secret. */
  | 'bound'
  /** Nothing needed doing (unstick without AWSPENDING, rebind of a secret bound already, a dry run). */
  | 'none';

/**
 * One secret as the status model saw it (no secret value). When the model could not judge it (PingOne not
 * configured or unreachable), Secrets Manager's side alone: `verdict` and `exitCode` null, `reason` says why.
 */
export interface Snapshot {
  readonly verdict: string | null;
  readonly exitCode: number | null;
  readonly reason: string;
  readonly versions: readonly { readonly versionId: string; readonly stages: readonly string[] }[];
  readonly rotation: {
    readonly enabled: boolean;
    readonly lambdaArn?: string;
    readonly scheduleExpression?: string;
    readonly automaticallyAfterDays?: number;
  };
  /** The rotation ledger's binding of the secret's owner: this secret's or another's; null: unbound/unread. */
  readonly binding: {
    readonly secretArn: string;
    readonly thisSecret: boolean;
    readonly boundAt: string;
    readonly how: string;
  } | null;
  /** An AWSPENDING version outside AWSCURRENT, and what unstick would do with it. */
  readonly pending: {
    readonly versionId: string;
    /** placeholder, value, malformed; `unknown` when only Secrets Manager was read. */
    readonly kind: string;
    readonly unstickWould: 'finish' | 'remove-label' | null;
  } | null;
}

export interface JsonError {
  /** `Usage`, a lib/errors.ts code (e.g. `OwnerBoundElsewhere`), `Refused`, `Interrupted`, or the AWS error's name. */
  readonly code: string;
  /** The same line the command prints on stderr after `pingone-rotation: `. */
  readonly message: string;
  /** The flag (or, for a setting without one, the environment variable) to fix. */
  readonly setting?: string;
}

export interface JsonDocument {
  readonly version: number;
  readonly command: string;
  readonly ok: boolean;
  readonly exitCode: number;
  readonly action?: Action;
  /** Whether any version, label, rotation setting or ledger binding differs after the command. */
  readonly changed?: boolean;
  readonly secret?: { readonly name: string; readonly arn: string } | null;
  readonly owner?: {
    readonly kind: string;
    readonly environmentId: string;
    readonly id: string;
    readonly region: string;
    readonly name?: string;
  } | null;
  /** rotate: the new version; unstick: the AWSPENDING version it finished or unlabelled. */
  readonly versionId?: string;
  readonly before?: Snapshot | null;
  readonly after?: Snapshot | null;
  readonly error?: JsonError;
}

/** Whether argv asks a command that changes something for --json (decided before parsing, for usage errors). */
export function wantsJson(argv: readonly string[]): boolean {
  return (MUTATING_COMMANDS as readonly string[]).includes(argv[0] ?? '') && argv.includes('--json');
}

/** The error part of a document: the described line, its code and the setting to fix. */
function jsonError(error: unknown, context: ErrorContext): { error: JsonError; exitCode: number } {
  const { line, exitCode } = describeError(error, context);
  const setting = settingOf(error);
  return {
    error: { code: codeOf(error, exitCode), message: line, ...(setting ? { setting } : {}) },
    exitCode,
  };
}

function codeOf(error: unknown, exitCode: number): string {
  if (error instanceof UsageError || exitCode === EXIT.usage) return 'Usage';
  const cause = (error as { cause?: unknown })?.cause;
  if (error instanceof RotationError) return error.code;
  if (error instanceof CliError) return cause instanceof RotationError ? cause.code : 'Refused';
  const name = (error as { name?: unknown })?.name;
  return typeof name === 'string' && name !== 'Error' ? name : 'Unexpected';
}

function settingOf(error: unknown): string | undefined {
  if (!(error instanceof UsageError)) return undefined;
  // Else the first flag the message names (`--schedule 'weekly' is not …`).
  return error.setting ?? /(?:^|[\s'(])(--[a-z][a-z0-9-]*)/.exec(error.what)?.[1];
}

/** The document of a command that failed before it ran (a usage error) or of a fleet command's failure. */
export function failureDocument(command: string, error: unknown, context: ErrorContext): JsonDocument {
  const { error: described, exitCode } = jsonError(error, context);
  return { version: JSON_VERSION, command, ok: false, exitCode, error: described };
}

interface Seen {
  readonly report?: StatusReport;
  /** Only Secrets Manager's side, when the status model could not judge the secret. */
  readonly view?: SecretView;
  readonly problem?: string;
}

async function snapshot(deps: CliDeps, secretId: string): Promise<Seen | undefined> {
  try {
    return { report: await statusReport(deps, { secretId }) };
  } catch (error) {
    try {
      const view = await new SecretsStore(deps.secretsManager).view(secretId);
      return { view, problem: describeError(error).line };
    } catch {
      // No such secret yet (onboard), or nothing readable: the command itself says why.
      return undefined;
    }
  }
}

function toSnapshot(seen: Seen | undefined): Snapshot | null {
  const report = seen?.report;
  const view = seen?.view;
  if (!report && view) {
    return {
      verdict: null,
      exitCode: null,
      reason: `not judged: ${seen?.problem ?? 'the status model failed'}`,
      versions: view.versions.map((v) => ({ versionId: v.id, stages: [...v.stages].sort() })),
      rotation: {
        enabled: view.rotation.enabled,
        ...(view.rotation.lambdaArn ? { lambdaArn: view.rotation.lambdaArn } : {}),
        ...(view.rotation.scheduleExpression ? { scheduleExpression: view.rotation.scheduleExpression } : {}),
        ...(view.rotation.automaticallyAfterDays
          ? { automaticallyAfterDays: view.rotation.automaticallyAfterDays }
          : {}),
      },
      binding: null,
      pending: view.pendingVersionId
        ? { versionId: view.pendingVersionId, kind: 'unknown', unstickWould: null }
        : null,
    };
  }
  if (!report) return null;
  const binding = report.ledger?.binding;
  const pending = report.pending;
  return {
    verdict: report.verdict,
    exitCode: report.exitCode,
    reason: report.reason,
    versions: report.versions
      .filter((v) => v.stages.length > 0)
      .map((v) => ({ versionId: v.versionId, stages: [...v.stages].sort() })),
    rotation: {
      enabled: report.rotation.enabled,
      ...(report.rotation.lambdaArn ? { lambdaArn: report.rotation.lambdaArn } : {}),
      ...(report.rotation.scheduleExpression
        ? { scheduleExpression: report.rotation.scheduleExpression }
        : {}),
      ...(report.rotation.automaticallyAfterDays
        ? { automaticallyAfterDays: report.rotation.automaticallyAfterDays }
        : {}),
    },
    binding: binding
      ? {
          secretArn: binding.secretArn,
          thisSecret: binding.thisSecret,
          boundAt: binding.boundAt,
          how: binding.how,
        }
      : null,
    pending: pending
      ? { versionId: pending.versionId, kind: pending.kind, unstickWould: pending.unstickWould }
      : null,
  };
}

function ownerOf(report: StatusReport | undefined): JsonDocument['owner'] {
  const p = report?.pingone;
  if (p) {
    const id = p.kind === 'application' ? p.applicationId : p.resourceId;
    const name = p.kind === 'application' ? p.applicationName : p.resourceName;
    if (id) {
      return {
        kind: p.kind,
        environmentId: p.environmentId,
        id,
        region: p.region,
        ...(name ? { name } : {}),
      };
    }
  }
  const a = report?.awsCurrent;
  const id = a?.kind === 'application' ? a.applicationId : a?.resourceId;
  if (a?.kind && a.environmentId && id) {
    return { kind: a.kind, environmentId: a.environmentId, id, region: a.region ?? 'NA' };
  }
  return null;
}

const current = (s: Snapshot | null) => s?.versions.find((v) => v.stages.includes('AWSCURRENT'))?.versionId;

/** What the command did, from the two snapshots. */
function actionOf(
  command: SecretCommand,
  before: Snapshot | null,
  after: Snapshot | null,
): { action: Action; versionId?: string } {
  if (!after) return { action: 'none' };
  const newCurrent = current(after) !== current(before) ? current(after) : undefined;
  const bound =
    after.binding?.thisSecret === true &&
    (before?.binding?.thisSecret !== true || before.binding.boundAt !== after.binding.boundAt);
  switch (command) {
    case 'onboard':
      if (!before) return { action: 'created' };
      if (newCurrent) return { action: 'updated', versionId: newCurrent };
      return { action: bound ? 'bound' : 'none' };
    case 'rotate': {
      if (newCurrent) return { action: 'rotated', versionId: newCurrent };
      const pending = after.pending?.versionId;
      if (pending && pending !== before?.pending?.versionId) return { action: 'started', versionId: pending };
      return { action: 'none' };
    }
    case 'unstick': {
      const pending = before?.pending?.versionId;
      if (!pending) return { action: 'none' };
      if (current(after) === pending) return { action: 'finished', versionId: pending };
      if (after.pending?.versionId !== pending) return { action: 'removed-pending', versionId: pending };
      return { action: 'none', versionId: pending };
    }
    case 'rebind':
      return { action: bound ? 'bound' : 'none' };
  }
}

/**
 * Runs a command that changes one secret with its lines on stderr, and prints the JSON document on stdout.
 * Returns the exit code; on a failure the document carries the error and the error is thrown on (runCli
 * prints its line on stderr as without --json).
 */
export async function runWithJson(
  command: SecretCommand,
  secretId: string,
  deps: CliDeps,
  context: ErrorContext,
  run: (deps: CliDeps) => Promise<number>,
): Promise<number> {
  const quiet: CliDeps = { ...deps, out: deps.err };
  const beforeSeen = await snapshot(deps, secretId);
  const beforeReport = beforeSeen?.report;
  const beforeArn = beforeReport?.secret.arn ?? beforeSeen?.view?.arn;
  let exitCode: number;
  let failure: unknown;
  let failed = false;
  try {
    exitCode = await run(quiet);
  } catch (error) {
    failed = true;
    failure = error;
    exitCode = describeError(error, context).exitCode;
  }
  const afterSeen = await snapshot(deps, beforeArn ?? secretId);
  const afterReport = afterSeen?.report;
  const before = toSnapshot(beforeSeen);
  const after = toSnapshot(afterSeen);
  const { action, versionId } = actionOf(command, before, after);
  const error: JsonError | undefined = failed
    ? jsonError(failure, context).error
    : exitCode === EXIT.interrupted
      ? { code: 'Interrupted', message: 'interrupted (SIGINT/SIGTERM): see stderr for where it stopped' }
      : undefined;
  const document: JsonDocument = {
    version: JSON_VERSION,
    command,
    ok: !failed && exitCode === EXIT.ok,
    exitCode,
    action,
    changed: JSON.stringify(comparable(before)) !== JSON.stringify(comparable(after)),
    secret: secretOf(afterSeen) ?? secretOf(beforeSeen) ?? null,
    owner: ownerOf(afterReport) ?? ownerOf(beforeReport),
    ...(versionId ? { versionId } : {}),
    before,
    after,
    ...(error ? { error } : {}),
  };
  deps.out.write(`${JSON.stringify(document, null, 2)}\n`);
  if (failed) throw new JsonAlreadyPrinted(failure);
  return exitCode;
}

function secretOf(seen: Seen | undefined): { name: string; arn: string } | undefined {
  if (seen?.report) return seen.report.secret;
  return seen?.view ? { name: seen.view.name, arn: seen.view.arn } : undefined;
}

/** What `changed` compares: the state, not the judgement's wording. */
function comparable(s: Snapshot | null) {
  return s ? { versions: s.versions, rotation: s.rotation, binding: s.binding } : null;
}

/** A failure whose JSON document is on stdout already: runCli prints only its line on stderr. */
export class JsonAlreadyPrinted extends Error {
  constructor(readonly error: unknown) {
    super('printed');
  }
}
