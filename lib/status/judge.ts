/**
 * Judge: the verdict, its reason and notes, from the facts alone (no I/O). The verdict is the first rule
 * below that applies, in order of urgency; each rule's reason says what to do. The verdicts themselves
 * (exit codes, meanings) are declared in verdicts.ts.
 */
import { APPLICATION_TAG, ENVIRONMENT_TAG, RESOURCE_TAG } from '../config.js';
import { retirementIsLive, retirementSettlesAt } from '../ledger/record.js';
import type { PingOneSecretState } from '../pingone/types.js';
import { capitalize, forceAdvice, onboardCommand, rotateCommand, verifyOrigin } from './advice.js';
import { assess, type Findings } from './assess.js';
import type { JudgePolicy, StatusFacts } from './facts.js';
import { matchAtPingOne } from './inspect.js';
import type { StatusReport } from './report-shape.js';
import { duration, isoTime, when } from './text.js';
import { DUPLICATE_OWNER_OUTRANKS, exitCodeOf, STATUS_EXIT, type Verdict } from './verdicts.js';

export interface Judgement {
  readonly verdict: Verdict;
  readonly exitCode: number;
  readonly reason: string;
  readonly notes: readonly string[];
  /** The rule that decided (for tests and debugging; not in the report). */
  readonly rule: RuleName;
  readonly findings: Findings;
}

interface Decision {
  readonly verdict: Verdict;
  readonly reason: string;
}

type Rule = (facts: StatusFacts, a: Findings, policy: JudgePolicy) => Decision | undefined;

/** The rules, most urgent first; the last always applies. */
const RULES = {
  /** AWSCURRENT has no value, or not one the function rotates: nothing else can be read. */
  noCurrentValue: (f) => {
    if (f.current.kind === 'value') return undefined;
    const name = f.view.name;
    // The ids are not in a value we can read: the onboard tags know them, when they are there.
    const env = f.view.tags[ENVIRONMENT_TAG];
    const application = f.view.tags[APPLICATION_TAG];
    const resource = f.view.tags[RESOURCE_TAG];
    const command = onboardCommand(
      name,
      application !== undefined && resource === undefined
        ? { environmentId: env, kind: 'application', ownerId: application }
        : { environmentId: env, kind: 'resource', ownerId: resource },
    );
    const fromTags =
      env && (resource ?? application)
        ? ' (the ids are from its pingone:* tags: check them)'
        : ' (put in the PingOne ids)';
    const what = f.current.kind === 'placeholder' ? `${name} has no AWSCURRENT value` : f.current.problem;
    // No value names the owner, so the ledger was not read: nothing shows this secret is the owner's.
    return {
      verdict: 'misconfigured',
      reason: `${what}. ${verifyOrigin(name, undefined)} If it is: \`${command}\`${fromTags}`,
    };
  },
  /** The function would refuse the owner AWSCURRENT names (environment not allowed, …). */
  ownerRefused: (f) => (f.ownerProblem ? { verdict: 'misconfigured', reason: f.ownerProblem } : undefined),
  /** The ledger binds the owner to another secret: every rotation of this one is refused. */
  boundElsewhere: (f, a) => {
    const bound = a.boundElsewhere;
    if (!bound) return undefined;
    return {
      verdict: 'duplicate-owner',
      reason:
        `The rotation ledger binds PingOne ${f.pingone?.owner.kind ?? 'owner'} ${f.pingone?.owner.id ?? ''} to ` +
        `another secret, ${bound.secretArn} (since ${bound.boundAt}, by ${bound.how}): every rotation of this ` +
        "secret is refused before PingOne is called. If this secret should own it, hold PingOne's current secret " +
        `in it and run \`pingone-rotation rebind --secret-id ${f.view.name}\`; otherwise turn its rotation off`,
    };
  },
  /** The secret names the owner under another region than the ledger bound it in: rotations are refused. */
  regionMismatch: (f) => {
    const binding = f.ledger?.record?.binding;
    const owner = f.pingone?.owner;
    if (!owner || binding?.region === undefined || binding.region === owner.region) return undefined;
    return {
      verdict: 'misconfigured',
      reason:
        `${f.view.name} names PingOne ${owner.kind} ${owner.id} in region ${owner.region}, but the rotation ledger ` +
        `bound it in region ${binding.region} (since ${binding.boundAt}, by ${binding.how}): every rotation is ` +
        `refused before PingOne is called (OwnerRegionMismatch). Set the secret's region back to ${binding.region}, ` +
        `or, if the owner really is in ${owner.region}, run \`pingone-rotation rebind --secret-id ${f.view.name}\``,
    };
  },
  pingOneUnreadable: (f, a) =>
    f.pingone?.problem || !a.state
      ? { verdict: 'pingone-error', reason: f.pingone?.problem ?? 'PingOne could not be read' }
      : undefined,
  /** A bad TTL or in-use-window tag fails every rotation with a configuration error. */
  badTag: (_f, a) =>
    a.ttlProblem || a.windowProblem
      ? {
          verdict: 'misconfigured',
          reason: `${a.ttlProblem ?? a.windowProblem}; every rotation fails until the tag is fixed (aws secretsmanager tag-resource)`,
        }
      : undefined,
  pendingVersion: (f, a, policy) =>
    a.pending
      ? {
          verdict: a.pending.stuck ? 'stuck-pending' : 'rotation-in-progress',
          reason: pendingReason(f, a, policy),
        }
      : undefined,
  previousNearExpiry: (f, a) => {
    const previous = a.state?.previous;
    if (a.awsCurrentIs !== 'current' || !a.nearExpiry || !previous) return undefined;
    return {
      verdict: 'previous-in-use-near-expiry',
      reason:
        `Consumers still use PingOne's previous secret (last used ${when(previous.lastUsed, f.now)}) and it ` +
        `expires ${when(previous.expiresAt, f.now)}: whoever still uses it will fail then. Find them (caches, ` +
        'long-lived pods, a service that reads the secret only at start-up) and move them to AWSCURRENT, which is ' +
        "PingOne's current secret; the previous secret cannot be extended (PingOne has no such operation)",
    };
  },
  overdue: (f, a) => {
    const rotation = f.view.rotation;
    if (a.awsCurrentIs !== 'current' || !rotation.enabled || !a.overdue) return undefined;
    return {
      verdict: 'rotation-overdue',
      reason:
        `The next rotation was due ${when(a.overdue.due, f.now)} and has not happened` +
        `${rotation.lastRotated ? ` (last rotated ${when(rotation.lastRotated, f.now)})` : ''}: Secrets ` +
        "Manager's rotations of this secret are failing or not being attempted. Look for RotationFailed events " +
        `and the rotation function's errors (e.g. PreviousSecretInUse), fix the cause, then run ` +
        `\`${rotateCommand(f.view.name)}\``,
    };
  },
  inSync: (f, a) => {
    if (a.awsCurrentIs !== 'current') return undefined;
    if (f.view.rotation.enabled) {
      return {
        verdict: 'healthy',
        reason: "AWSCURRENT is PingOne's current secret and no rotation is pending",
      };
    }
    const arn = f.view.rotation.lambdaArn;
    return {
      verdict: 'not-rotating',
      reason:
        "AWSCURRENT is PingOne's current secret, but rotation is not enabled: attach the rotation function with " +
        `\`${onboardCommand(f.view.name, a.currentValue, { rotationFunctionArn: arn })}\`${arn ? '' : ' (put in your rotation function ARN)'}`,
    };
  },
  /** AWSCURRENT is PingOne's previous secret, and the ledger records no regenerate of this secret's own. */
  unexplainedRegenerate: (f, a) => {
    if (a.awsCurrentIs !== 'previous' || !a.ledgerRecordKnown || a.ownRegenerate) return undefined;
    return {
      verdict: 'drift',
      reason:
        `AWSCURRENT is PingOne's previous secret, valid until ${when(a.state?.previous?.expiresAt, f.now)}, but the ` +
        'rotation ledger records no regenerate by the rotation function for this secret: someone regenerated it ' +
        'outside the function (the console, the API), and a rotation refuses to adopt it (UnexplainedRegenerate). ' +
        "Consumers keep working until then. If the new secret should be this secret's, store it. " +
        forceAdvice(f.view.name, a.currentValue, f.ledger, f.view.arn),
    };
  },
  ownRegenerate: (f, a) => {
    if (a.awsCurrentIs !== 'previous' || !a.ledgerRecordKnown) return undefined;
    return {
      verdict: 'grace',
      reason:
        `AWSCURRENT is PingOne's previous secret, valid until ${when(a.state?.previous?.expiresAt, f.now)}; PingOne's ` +
        'current secret is in no version (a rotation of this secret regenerated it and did not finish: the ' +
        'rotation ledger records the regenerate). Consumers keep working until then: run ' +
        `\`${rotateCommand(f.view.name)}\` before it, and the rotation adopts PingOne's current secret`,
    };
  },
  /** Without the ledger's record a console regenerate cannot be told from the function's own. */
  regenerateOfUnknownOrigin: (f, a) => {
    if (a.awsCurrentIs !== 'previous') return undefined;
    return {
      verdict: 'grace',
      reason:
        `AWSCURRENT is PingOne's previous secret, valid until ${when(a.state?.previous?.expiresAt, f.now)}; PingOne's ` +
        'current secret is in no version (a rotation regenerated it and did not finish, or it was regenerated ' +
        'outside the function: without the rotation ledger it cannot be told which). Consumers keep working until ' +
        `then: run \`${rotateCommand(f.view.name)}\` before it; the rotation adopts PingOne's ` +
        "current secret only if the ledger records the regenerate as this secret's own (else it refuses: UnexplainedRegenerate)",
    };
  },
  neither: (f, a) => ({
    verdict: 'drift',
    reason:
      "AWSCURRENT is neither PingOne's current nor its previous secret: consumers using it cannot authenticate " +
      `and rotation fails.${driftHint(f, a.state!)} Recover by storing PingOne's current secret. ` +
      forceAdvice(f.view.name, a.currentValue, f.ledger, f.view.arn),
  }),
} satisfies Record<string, Rule>;

export type RuleName = keyof typeof RULES;

/** The rule names in the order they are tried. */
export const RULE_ORDER = Object.keys(RULES) as RuleName[];

/** The verdict, reason and notes for the facts. */
export function judge(facts: StatusFacts, policy: JudgePolicy): Judgement {
  const findings = assess(facts, policy);
  let decided: { rule: RuleName; decision: Decision } | undefined;
  for (const rule of RULE_ORDER) {
    const decision = (RULES[rule] as Rule)(facts, findings, policy);
    if (decision) {
      decided = { rule, decision };
      break;
    }
  }
  // `neither` always decides.
  const { rule, decision } = decided!;
  return {
    verdict: decision.verdict,
    exitCode: exitCodeOf(decision.verdict, policy.strict),
    reason: decision.reason,
    notes: notesFor(facts, findings, decision.verdict),
    rule,
    findings,
  };
}

function notesFor(facts: StatusFacts, a: Findings, verdict: Verdict): string[] {
  const notes: string[] = [];
  if (a.secretTest?.proof === 'comparison') {
    notes.push(
      `testSecret cannot prove a new secret at PingOne: this ${facts.pingone?.owner.kind}'s auth method ` +
        `${a.secretTest.method} does not use the secret, so it only compares it with PingOne's current secret`,
    );
  }
  if (!facts.view.rotation.enabled && verdict !== 'not-rotating') {
    notes.push('rotation is not enabled for this secret');
  }
  const ledger = facts.ledger;
  if (ledger?.problem) notes.push(`rotation ledger not read: ${ledger.problem}`);
  const retirement = ledger?.record?.retirement;
  if (retirementIsLive(retirement, facts.now)) {
    notes.push(
      `the fleet auditor is retiring PingOne's previous secret early (since ${isoTime(retirement.startedAt)}): ` +
        `a rotation of this owner waits until ${isoTime(retirementSettlesAt(retirement))} ` +
        '(RetirementInProgress, which Secrets Manager retries)',
    );
  }
  if (ledger && !ledger.problem && !ledger.record?.binding && a.awsCurrentIs === 'current') {
    notes.push(
      "not bound in the rotation ledger yet: the first rotation claims it (AWSCURRENT is PingOne's current secret)",
    );
  }
  if (a.ttlProblem && verdict !== 'misconfigured') notes.push(a.ttlProblem);
  if (a.windowProblem && verdict !== 'misconfigured') notes.push(a.windowProblem);
  return notes;
}

function driftHint(facts: StatusFacts, state: PingOneSecretState): string {
  if (facts.previous?.kind === 'value') {
    const match = matchAtPingOne(facts.previous.value.clientSecret, state);
    if (match === 'current') {
      return " AWSPREVIOUS holds PingOne's current secret: AWSCURRENT was moved or overwritten by hand.";
    }
  }
  return '';
}

/** stuck-pending / rotation-in-progress: what AWSPENDING holds, where AWSCURRENT stands, what to do. */
function pendingReason(facts: StatusFacts, a: Findings, policy: JudgePolicy): string {
  const pending = a.pending!;
  const state = a.state!;
  const { now } = facts;
  const { stuckAfterMs } = policy;
  const value = pending.value;
  const what =
    value.kind === 'placeholder'
      ? 'an empty placeholder (createSecret never stored a value)'
      : value.kind === 'malformed'
        ? `a value that is not a valid secret (${value.problem})`
        : pending.pingOneUsesIt
          ? 'a value PingOne already uses as its current secret'
          : 'a value PingOne does not use';
  const age = pending.ageMs;
  const since = age !== undefined ? `, created ${duration(age)} ago` : '';
  const currentIs =
    a.awsCurrentIs === 'current'
      ? "AWSCURRENT is still PingOne's current secret"
      : a.awsCurrentIs === 'previous'
        ? `AWSCURRENT is PingOne's previous secret, valid until ${when(state.previous?.expiresAt, now)}`
        : "AWSCURRENT is neither PingOne's current nor previous secret";
  const onlyLocal = facts.noRotationService && (age === undefined || age < stuckAfterMs);
  const next = pending.stuck
    ? `${onlyLocal ? 'nothing resumes it in the local world (no rotation service): ' : ''}run \`pingone-rotation unstick --secret-id ${facts.view.name}\`, which will ${
        pending.unstickWould === 'finish'
          ? 'finish the rotation (move AWSCURRENT to it)'
          : 'remove the AWSPENDING label (nothing changes at PingOne)'
      }`
    : `a rotation may still be running: check again after ${duration(stuckAfterMs - (age ?? 0))}`;
  return `AWSPENDING is on version ${pending.versionId}, ${what}${since}; ${currentIs}. ${capitalize(next)}`;
}

/**
 * duplicate-owner: other secrets (`others`, by name) name the same PingOne owner. Rotating one regenerates
 * the secret the others hold. The verdict becomes duplicate-owner unless a more urgent one applies (drift,
 * stuck-pending, … stand, with the duplicates in a note).
 */
export function markDuplicates(report: StatusReport, others: readonly string[]): StatusReport {
  if (others.length === 0 || !report.pingone) return report;
  const p = report.pingone;
  const list = others.join(', ');
  const also = `${list} also name${others.length === 1 ? 's' : ''} PingOne ${p.kind} ${p.resourceId ?? p.applicationId} in environment ${p.environmentId}`;
  if (!DUPLICATE_OWNER_OUTRANKS.has(report.verdict)) {
    return { ...report, duplicates: [...others], notes: [...report.notes, `duplicate owner: ${also}`] };
  }
  return {
    ...report,
    verdict: 'duplicate-owner',
    exitCode: STATUS_EXIT['duplicate-owner'],
    reason:
      `${also}: rotating one regenerates the secret the other holds, whose consumers fail once PingOne's ` +
      'previous secret expires. Keep one secret per PingOne owner: point the others at the one that stays (or ' +
      'delete them), then rotate it',
    notes: [`${report.verdict}: ${report.reason}`, ...report.notes],
    duplicates: [...others],
  };
}
