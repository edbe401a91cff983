import { intentSettlesAt, type LedgerRecord, withoutIntent } from '../../lib/ledger/record.js';
import { describeOwner } from '../../lib/owner.js';
import type { PingOneSecretState, SecretOwner } from '../../lib/pingone/types.js';
import { AWSCURRENT, AWSPENDING } from '../../lib/secrets/secrets-store.js';
import {
  matchAtPingOne,
  ownerFor,
  type PingOneMatch,
  pendingDisposition,
  readPingOne,
  readVersionValue,
  type VersionValue,
} from '../../lib/status/inspect.js';
import { DEFAULT_STUCK_AFTER_MS } from '../../lib/status/model.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT, rotationErrorHint, UsageError } from '../errors.js';
import { duration, labelsLine, line, when } from '../format.js';
import { cliLedger } from '../ledger.js';
import { callOptions } from '../pingone-access.js';

export interface UnstickOptions {
  readonly secretId: string;
  /** Do it without asking. */
  readonly yes?: boolean;
  /** Print the plan and stop. */
  readonly dryRun?: boolean;
}

/**
 * `unstick`: recovers a rotation left with AWSPENDING on a version that is not AWSCURRENT. If PingOne
 * already uses that version's secret, finishing is the only safe recovery (AWSCURRENT must follow PingOne);
 * otherwise the AWSPENDING label is removed, which changes nothing at PingOne. Prints the exact plan, asks,
 * re-checks that nothing moved meanwhile, then does it.
 */
export async function unstick(deps: CliDeps, options: UnstickOptions): Promise<number> {
  const sm = secretsOf(deps);
  const say = (text = '') => line(deps.out, text);
  const view = await sm.view(options.secretId);
  const pendingId = view.pendingVersionId;
  const currentId = view.currentVersionId;
  if (!pendingId) {
    say(
      `Nothing to unstick: ${view.name} has no AWSPENDING version outside AWSCURRENT (${labelsLine(labels(view))}).`,
    );
    return EXIT.ok;
  }

  const current = await readVersionValue(sm, view.arn, { stage: AWSCURRENT }, 'AWSCURRENT');
  const pending = await readVersionValue(
    sm,
    view.arn,
    { versionId: pendingId, stage: AWSPENDING },
    `AWSPENDING (version ${pendingId})`,
  );
  const currentValue = current.kind === 'value' ? current.value : undefined;

  // PingOne decides between finishing and removing the label when the pending version holds a value.
  let state: PingOneSecretState | undefined;
  let pingOneProblem: string | undefined;
  let ownerText: string | undefined;
  let ledgerOwner: SecretOwner | undefined;
  if (currentValue) {
    try {
      const access = deps.pingone();
      const owner = ownerFor(currentValue, access.config);
      if ('problem' in owner) {
        pingOneProblem = owner.problem;
      } else {
        ownerText = describeOwner(owner.owner);
        ledgerOwner = owner.owner;
        const pingone = await readPingOne(access.client, owner.owner, {
          ...callOptions(deps.now),
          hint: rotationErrorHint,
        });
        state = pingone.state;
        pingOneProblem = pingone.problem;
      }
    } catch (error) {
      if (pending.kind === 'value') throw error;
      pingOneProblem = (error as Error).message;
    }
  } else {
    pingOneProblem = 'AWSCURRENT holds no valid secret value, so PingOne cannot be compared';
  }
  if (pending.kind === 'value' && !state) {
    throw new CliError(
      `cannot tell whether PingOne already uses the AWSPENDING secret of ${view.name} (${pingOneProblem})`,
      'nothing was changed; fix PingOne access (see `pingone-rotation status`) and run unstick again',
    );
  }

  const disposition = pendingDisposition(pending, currentValue, state);
  const now = deps.now();
  // The rotation ledger's intent of this secret: a stale one (nothing can still be in flight) is cleared;
  // the runs stay, so a later rotation still adopts what an abandoned one regenerated.
  const ledger = ledgerOwner ? cliLedger(deps) : undefined;
  let record: LedgerRecord | undefined;
  let ledgerProblem: string | undefined;
  if (ledger && ledgerOwner) {
    try {
      record = await ledger.ledger.read(ledgerOwner, ledger.options());
    } catch (error) {
      ledgerProblem = (error as Error).message;
    }
  }
  const intent = record?.intent?.secretArn === view.arn ? record.intent : undefined;
  const staleIntent = intent && intentSettlesAt(intent).getTime() <= now ? intent : undefined;
  const created =
    (pending.kind !== 'placeholder' ? pending.created : undefined) ??
    view.versions.find((v) => v.id === pendingId)?.created;
  const currentIs = currentValue && state ? matchAtPingOne(currentValue.clientSecret, state) : undefined;

  say(
    `${view.name}: AWSPENDING is on version ${pendingId}, not AWSCURRENT` +
      `${created ? ` (created ${duration(Math.max(0, now - created.getTime()))} ago)` : ''}.`,
  );
  if (ownerText) say(`  It names ${ownerText}.`);
  say(`  ${describeSituation(pending, state, currentIs, pingOneProblem, now)}`);
  const age = created ? now - created.getTime() : undefined;
  if (!deps.local && age !== undefined && age < DEFAULT_STUCK_AFTER_MS) {
    say(
      `  Note: it is only ${duration(Math.max(0, age))} old: the rotation service may still be working on it ` +
        '(`status` calls it stuck after 15m). Unless you know it failed, answer no, wait, and run status again.',
    );
  }
  const secretArg = `--secret-id ${view.arn}`;
  if (disposition === 'finish') {
    say('Plan: finish the rotation. Nothing changes at PingOne.');
    say(
      `  1. Move AWSCURRENT from version ${currentId ?? '(none)'} to ${pendingId}` +
        `${currentId ? ` (Secrets Manager moves AWSPREVIOUS to ${currentId})` : ''}`,
    );
    say(
      `     aws secretsmanager update-secret-version-stage ${secretArg} --version-stage AWSCURRENT ` +
        `--move-to-version-id ${pendingId}${currentId ? ` --remove-from-version-id ${currentId}` : ''}`,
    );
    say(`  2. Remove AWSPENDING from version ${pendingId}`);
  } else {
    say('Plan: remove the AWSPENDING label. The version stays, unlabelled; nothing changes at PingOne.');
    say(`  1. Remove AWSPENDING from version ${pendingId}`);
  }
  say(
    `     aws secretsmanager update-secret-version-stage ${secretArg} --version-stage AWSPENDING ` +
      `--remove-from-version-id ${pendingId}`,
  );
  if (staleIntent) {
    say(
      `  ${disposition === 'finish' ? 3 : 2}. Clear the rotation ledger's stale intent: version ${staleIntent.token} ` +
        `began a regenerate ${when(staleIntent.startedAt, now)}; nothing of it can still be in flight. Its record ` +
        'of the rotation stays (a later rotation adopts what it regenerated).',
    );
  } else if (intent) {
    say(
      `  Note: the rotation ledger holds the intent of version ${intent.token} until ` +
        `${intentSettlesAt(intent).toISOString()} (a regenerate may still be in flight); it is left alone and ` +
        'no regenerate of this owner is sent before then.',
    );
  }
  if (ledgerProblem) say(`  Note: the rotation ledger was not read (${ledgerProblem}); it is left as it is.`);

  if (options.dryRun) {
    say('Dry run: nothing was changed.');
    return EXIT.ok;
  }
  if (!options.yes) {
    if (!deps.prompt) {
      // No one to ask: a missing flag, so a usage error (exit 2) naming it.
      throw new UsageError(
        `unstick of ${view.name} needs confirmation, but stdin is not a terminal`,
        'nothing was changed; re-run with --yes to carry out the plan above',
        { setting: '--yes' },
      );
    }
    const answer = (await deps.prompt('Proceed? [y/N] ')).trim();
    if (!/^y(es)?$/i.test(answer)) {
      throw new CliError('unstick cancelled', 'nothing was changed');
    }
  }

  // The plan was made from a snapshot: refuse if a rotation moved the labels meanwhile.
  const again = await sm.view(view.arn);
  if (again.pendingVersionId !== pendingId || again.currentVersionId !== currentId) {
    throw new CliError(
      `the labels of ${view.name} changed while the plan was shown (${labelsLine(labels(again))})`,
      'nothing was changed; run `pingone-rotation status` and unstick again',
    );
  }

  if (disposition === 'finish') {
    await sm.promote(view.arn, pendingId, currentId);
  }
  await sm.removeStage(view.arn, AWSPENDING, pendingId);
  if (staleIntent && ledger && ledgerOwner && record) {
    const cleared = await ledger.ledger.write(ledgerOwner, withoutIntent(record), ledger.options());
    say(
      cleared === 'written'
        ? "Cleared the rotation ledger's stale intent."
        : "The rotation ledger's record changed meanwhile; its intent was left (run status).",
    );
  }
  const after = await sm.view(view.arn);
  say(
    `Done: ${disposition === 'finish' ? 'rotation finished' : 'AWSPENDING removed'}. ${labelsLine(labels(after))}`,
  );
  say(`Next: ${nextStep(disposition, currentIs, view.name, state, now)}`);
  return EXIT.ok;
}

function labels(view: { versions: readonly { id: string; stages: readonly string[] }[] }) {
  return Object.fromEntries(view.versions.map((v) => [v.id, v.stages]));
}

function describeSituation(
  pending: VersionValue,
  state: PingOneSecretState | undefined,
  currentIs: PingOneMatch | undefined,
  pingOneProblem: string | undefined,
  now: number,
): string {
  const what =
    pending.kind === 'placeholder'
      ? 'It is an empty placeholder: createSecret never stored a value'
      : pending.kind === 'malformed'
        ? `Its value is not a valid secret (${pending.problem})`
        : state && matchAtPingOne(pending.value.clientSecret, state) === 'current'
          ? 'It holds a value, and PingOne already uses it as its current secret'
          : 'It holds a value that PingOne does not use as its current secret';
  const current =
    currentIs === 'current'
      ? "AWSCURRENT is PingOne's current secret"
      : currentIs === 'previous'
        ? `AWSCURRENT is PingOne's previous secret, valid until ${when(state?.previous?.expiresAt, now)}`
        : currentIs === 'neither'
          ? "AWSCURRENT is neither PingOne's current nor previous secret"
          : `PingOne was not checked (${pingOneProblem})`;
  return `${what}; ${current}.`;
}

function nextStep(
  disposition: 'finish' | 'remove-label',
  currentIs: PingOneMatch | undefined,
  name: string,
  state: PingOneSecretState | undefined,
  now: number,
): string {
  if (disposition === 'finish' || currentIs === 'current')
    return `pingone-rotation status --secret-id ${name}`;
  if (currentIs === 'previous') {
    return (
      `pingone-rotation rotate --secret-id ${name} --wait before ${when(state?.previous?.expiresAt, now)}: ` +
      "the rotation adopts PingOne's current secret"
    );
  }
  return `pingone-rotation status --secret-id ${name} (AWSCURRENT does not match PingOne: see its advice)`;
}
