/**
 * The verdicts: the ONE declaration of every state the status model can give a secret, with its exit code,
 * what it means and what to do. The model's types and sets, the CLI's exit-code help and the docs' verdict
 * reference (`npm run docs:generate`, checked by test/unit/status/verdict-docs.test.ts) are all derived from
 * this table; add or change a verdict here and nowhere else.
 */

export interface VerdictEntry {
  readonly verdict: string;
  /** `status`'s exit code (and `rotate`'s when it refuses the state). */
  readonly exit: number;
  /** The exit code under `status --strict`, when it differs. */
  readonly strictExit?: number;
  /** One line: what the state is (the CLI's help prints it). */
  readonly meaning: string;
  /** More about when it applies (the docs print it after the meaning). */
  readonly detail?: string;
  /** What the operator does about it (the docs print it; the verdict's reason has the exact command). */
  readonly action: string;
  /** A rotation fixes the state or leaves it fine: `rotate` goes ahead (others are refused unless --force). */
  readonly rotationFixes: boolean;
  /** Someone must act: the auditor logs the secret and its alarms count it. */
  readonly needsAttention: boolean;
  /** duplicate-owner replaces it (the original is kept as a note); more urgent verdicts stand. */
  readonly duplicateOwnerReplaces: boolean;
}

export const VERDICT_TABLE = [
  {
    verdict: 'healthy',
    exit: 0,
    meaning: "AWSCURRENT is PingOne's current secret; rotation on, nothing pending",
    action: 'Nothing.',
    rotationFixes: true,
    needsAttention: false,
    duplicateOwnerReplaces: true,
  },
  {
    verdict: 'not-rotating',
    exit: 0,
    strictExit: 9,
    meaning: "AWSCURRENT is PingOne's current secret, but rotation is not enabled",
    action:
      'Attach the rotation function: `onboard --force … --rotation-function-arn ARN` (the reason has the command). ' +
      'Normal right after `onboard` without rotation.',
    rotationFixes: true,
    needsAttention: true,
    duplicateOwnerReplaces: true,
  },
  {
    verdict: 'drift',
    exit: 3,
    meaning: "AWSCURRENT is not PingOne's current secret and no own rotation explains it",
    detail:
      "Either AWSCURRENT is neither PingOne's current nor its previous secret, or it is the previous one but the rotation ledger records no regenerate by the function for this secret (a regenerate in the console or the API), which a rotation refuses to adopt (`UnexplainedRegenerate`).",
    action:
      "Store PingOne's current secret with `onboard --force` (the reason has the command and says whether forcing is safe: only where the ledger binds the owner to this secret), then rotate.",
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'grace',
    exit: 4,
    meaning: "AWSCURRENT is PingOne's previous secret; its own rotation did not finish",
    detail:
      "A rotation regenerated PingOne and did not finish, and the ledger records that regenerate as this secret's own; consumers keep working until PingOne's previous secret expires. If the ledger cannot be read, `status` still says `grace` with a note that it cannot tell whose regenerate it was; the auditor does not judge the secret at all.",
    action:
      "`rotate --wait` before the previous secret expires; the rotation adopts PingOne's current secret.",
    rotationFixes: true,
    needsAttention: true,
    duplicateOwnerReplaces: true,
  },
  {
    verdict: 'rotation-in-progress',
    exit: 5,
    meaning: 'AWSPENDING younger than --stuck-after (15m): a rotation may be running',
    action: 'Check again later.',
    rotationFixes: false,
    needsAttention: false,
    duplicateOwnerReplaces: true,
  },
  {
    verdict: 'stuck-pending',
    exit: 6,
    meaning: 'AWSPENDING older than --stuck-after: rotations are blocked (see unstick)',
    detail:
      'The reason says whether AWSPENDING holds an empty placeholder or a value, and whether PingOne uses it.',
    action:
      '`unstick` (the reason says whether it finishes the rotation or only removes the label). In the local world ' +
      'nothing resumes a rotation, so any AWSPENDING there is stuck.',
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'pingone-error',
    exit: 7,
    meaning: 'PingOne cannot be read: owner not found, wrong type, no access, unreachable',
    detail:
      'Not found, not a CUSTOM resource or an OIDC application, the worker app has no access, or PingOne cannot be reached.',
    action: "Per the reason: the ids and PingOne region, the worker app's roles, the network.",
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'misconfigured',
    exit: 8,
    meaning: 'AWSCURRENT missing or malformed, a bad tag, or an environment not allowed',
    detail:
      'A bad `pingone:previous-secret-ttl` or `pingone:previous-secret-in-use-window` tag, or an environment outside `PINGONE_ALLOWED_ENVIRONMENTS`.',
    action: 'Fix the named value or tag (the reason names it).',
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'previous-in-use-near-expiry',
    exit: 10,
    meaning: "consumers still use PingOne's previous secret, which expires soon",
    detail:
      'Used within the in-use window and expiring within `AUDIT_NEAR_EXPIRY` (`audit --near-expiry`, default 24h): whoever uses it is about to fail.',
    action:
      "Find them (caches, long-lived pods, services that read the secret only at start-up; PingOne's audit log " +
      "shows the client's authentications) and move them to AWSCURRENT. The previous secret cannot be extended.",
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'rotation-overdue',
    exit: 11,
    meaning: 'rotation is enabled but overdue by more than its window (default 24h)',
    detail: "The due date is Secrets Manager's `NextRotationDate`, else the last rotation plus the interval.",
    action:
      "Rotations are failing or not attempted: check `RotationFailed` events and the rotation function's errors " +
      '(e.g. `PreviousSecretInUse`), fix the cause, then `rotate --wait`.',
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
  {
    verdict: 'duplicate-owner',
    exit: 12,
    meaning: 'another secret names the same PingOne owner, or the ledger binds it there',
    detail:
      'The auditor compares every secret; `status` finds the secrets tagged `pingone:resource-id` / `pingone:application-id` with the same id (as `onboard` tags them). Both read the rotation ledger: a secret whose owner the ledger binds to another secret (a copied or forged one, inside the prefix or not) is `duplicate-owner`, naming the bound secret.',
    action:
      'Keep one secret per owner: point the others at it or delete them. When the ledger binds the owner to another ' +
      'secret, every rotation of this one is refused: turn its rotation off, or `rebind` it (it must hold ' +
      "PingOne's current secret). More urgent verdicts stand, with the duplicate in a note.",
    rotationFixes: false,
    needsAttention: true,
    duplicateOwnerReplaces: false,
  },
] as const satisfies readonly VerdictEntry[];

export type Verdict = (typeof VERDICT_TABLE)[number]['verdict'];

/** Every verdict, in the table's order (the order the auditor reports them). */
export const VERDICTS: readonly Verdict[] = VERDICT_TABLE.map((entry) => entry.verdict);

/** `status` exit codes, one per verdict. */
export const STATUS_EXIT: Readonly<Record<Verdict, number>> = Object.freeze(
  Object.fromEntries(VERDICT_TABLE.map((entry) => [entry.verdict, entry.exit])) as Record<Verdict, number>,
);

/** `not-rotating` under --strict. */
export const NOT_ROTATING_STRICT_EXIT: number = VERDICT_TABLE[1].strictExit;

function verdictsWhere(pick: (entry: VerdictEntry) => boolean): ReadonlySet<Verdict> {
  return new Set(VERDICT_TABLE.filter(pick).map((entry) => entry.verdict));
}

/**
 * The verdicts a rotation fixes or leaves fine: `rotate` refuses the others (unless --force), because a
 * rotation there fails deterministically, retries, and leaves an AWSPENDING behind.
 */
export const ROTATION_FIXES: ReadonlySet<Verdict> = verdictsWhere((entry) => entry.rotationFixes);

/** Verdicts duplicate-owner replaces (the original is kept as a note); more urgent ones stand. */
export const DUPLICATE_OWNER_OUTRANKS: ReadonlySet<Verdict> = verdictsWhere(
  (entry) => entry.duplicateOwnerReplaces,
);

/** Verdicts that need someone (the auditor logs them and counts them unhealthy). */
export const NEEDS_ATTENTION: ReadonlySet<Verdict> = verdictsWhere((entry) => entry.needsAttention);

/** The exit code of a verdict, under --strict or not. */
export function exitCodeOf(verdict: Verdict, strict = false): number {
  const entry: VerdictEntry = VERDICT_TABLE.find((e) => e.verdict === verdict)!;
  return strict && entry.strictExit !== undefined ? entry.strictExit : entry.exit;
}

/**
 * Configuration that works today but hurts consumers: the verdict stands, `status` prints a `Warning` line and
 * the auditor counts it.
 */
export const CONFIG_WARNING_TABLE = [
  {
    code: 'ttl-not-shorter-than-rotation-interval',
    meaning:
      'the previous-secret TTL is at least the rotation interval (`rate(…)` or `AutomaticallyAfterDays`), so each ' +
      'rotation evicts a previous secret that is still valid (and the in-use guard may refuse the rotation)',
    action: 'Shorten the TTL or rotate less often.',
  },
  {
    code: 'ttl-shorter-than-consumer-cache',
    meaning: 'the previous-secret TTL is under 1 hour, shorter than a typical consumer cache',
    action: 'Use at least 1h.',
  },
] as const;

export type ConfigWarning = (typeof CONFIG_WARNING_TABLE)[number]['code'];

export const CONFIG_WARNINGS: readonly ConfigWarning[] = CONFIG_WARNING_TABLE.map((entry) => entry.code);

/** The docs' verdict reference: a Markdown table of every verdict, then the configuration warnings. */
export function verdictReferenceMarkdown(): string {
  const exit = (e: VerdictEntry) =>
    e.strictExit !== undefined ? `${e.exit} (${e.strictExit} with \`--strict\`)` : `${e.exit}`;
  const capital = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
  const lines = [
    '| verdict | exit | meaning | what to do |',
    '| --- | --- | --- | --- |',
    ...VERDICT_TABLE.map((entry) => {
      const e: VerdictEntry = entry;
      return `| \`${e.verdict}\` | ${exit(e)} | ${capital(e.meaning)}.${e.detail ? ` ${e.detail}` : ''} | ${e.action} |`;
    }),
    '',
    'Configuration warnings do not change the verdict; `status` prints them as `Warning` lines, the auditor counts them:',
    '',
    ...CONFIG_WARNING_TABLE.map((w) => `- \`${w.code}\`: ${w.meaning}. ${w.action}`),
  ];
  return lines.join('\n');
}
