/**
 * The promise, checked while a run goes on (issue 17):
 * - consumer-locked-out: a consumer holding AWSCURRENT, or AWSPREVIOUS within the grace the system promised
 *   it, authenticates (an owner regenerated in the console is excused until an operator re-onboards it);
 * - evicted-current / deleted-current: no regenerate evicts and no DELETE removes the secret AWSCURRENT holds;
 * - double-regenerate / unexplained-regenerate: at most one regenerate per rotation, each one behind a ledger
 *   intent;
 * - in-use-evicted / in-use-retired: no previous secret used within the in-use window (regenerate) or
 *   RETIRE_UNUSED_PREVIOUS_AFTER (early retirement) is removed;
 * - leak: no credential, in any encoding, in a log line, a returned error or CLI output;
 * - double-binding: no PingOne owner bound to two secrets;
 * - unbound-received-secret: a secret never bound with proof (planted) never receives a PingOne secret;
 * - pending-not-current: the pending value createSecret stored is PingOne's current secret;
 * - owner-keys: every key the owner keeps beside ours is carried into each version byte for byte;
 * - deadline: no invocation outlives its Lambda timeout;
 * - tag-out-of-bounds-acted / grace-below-bound / in-use-evicted (finding 6): a TTL or in-use window tag outside
 *   the stack's bounds (TagMinPreviousSecretTtl, TagInUseWindowMay) changes nothing at PingOne; the grace a
 *   regenerate grants the replaced secret is never shorter than the TTL in force (the stack's bound at the
 *   least); the in-use window judged is the one in force, shortened or off only where the bound allows;
 * - auditor-worker-regenerate / auditor-read-rotation-worker (finding 9): with a worker of its own, the auditor
 *   never regenerates with it, and never reads the rotation function's worker parameter.
 */
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { DeleteCommit, OwnerRef, RegenerateCommit, SecretCall } from './fakes/pingone.js';
import {
  FUNCTION_TTL_MS,
  IN_USE_WINDOW_MS,
  type Managed,
  parseDurationMs,
  RETIRE_AFTER_MS,
  type World,
} from './world.js';

export interface Violation {
  readonly invariant: string;
  readonly detail: string;
  readonly at: number;
}

/** A use this close before a removal is a race the design cannot close (PingOne has no conditional write). */
const RACE_MS = 60_000;
/**
 * How long before its regenerate lands a rotation may have read the secret's tags: one invocation (90 s) and
 * the longest a POST travels (late-commit, 10 s). Every tag value in force within it may be the one read.
 */
const TAG_READ_MS = 120_000;
/** The grace is `expiresAt - now` when PingOne applies it; the function computed it up to TAG_READ_MS earlier. */
const GRACE_SLACK_MS = TAG_READ_MS;
/** PingOne accepts an expiry up to 30 days after its own now; the function keeps a margin below that. */
const GRACE_MAX_MS = 30 * 86_400_000 - 15 * 60_000;

export class Invariants {
  violation: Violation | undefined;
  readonly #tainted = new Map<string, string>();
  /** Secrets whose removal was within the promise (expired, unused long enough): consumers holding them are excused. */
  readonly #excused = new Set<string>();
  /** Ledger intent token → regenerates committed under it. */
  readonly #regeneratesPerIntent = new Map<string, number>();
  #scanned = 0;

  constructor(private readonly world: World) {
    world.pingone.onRegenerate = (commit) => this.#onRegenerate(commit);
    world.pingone.onDelete = (commit) => this.#onDelete(commit);
    world.pingone.onSecretCall = (call) => this.#onSecretCall(call);
    world.ssm.onGet = (name, by) => {
      if (world.auditWorker && by.startsWith('auditor') && name !== world.auditWorker.parameter) {
        this.fail(
          'auditor-read-rotation-worker',
          `${by} read ${name} although the auditor has a worker of its own (${world.auditWorker.parameter})`,
        );
      }
    };
    world.ddb.onWrite = () => this.#checkBindings();
  }

  fail(invariant: string, detail: string): void {
    if (this.violation) return;
    this.violation = { invariant, detail, at: this.world.scheduler.now() };
    this.world.trace('INVARIANT', `${invariant}: ${detail}`);
  }

  taint(owner: OwnerRef, why: string): void {
    this.#tainted.set(key(owner), why);
  }

  /**
   * An operator re-onboarded the owner (AWSCURRENT is PingOne's current secret again). What the console
   * person replaced is not the function's promise: consumers still holding it are excused.
   */
  untaint(owner: OwnerRef): void {
    if (!this.#tainted.delete(key(owner))) return;
    const current = this.world.pingone.secretOf(owner)?.secret;
    for (const m of this.world.managed) {
      if (!sameOwner(m.owner, owner)) continue;
      for (const version of m.sm.versions) {
        const secret = clientSecretOf(version.value);
        if (secret !== undefined && secret !== current) this.#excused.add(secret);
      }
    }
  }

  #isTainted(owner: OwnerRef): boolean {
    return this.#tainted.has(key(owner));
  }

  /** After every event. */
  check(): string | undefined {
    if (!this.violation) this.#scanLeaks();
    if (!this.violation) this.#checkCurrentAccepted();
    return this.violation ? this.violation.invariant : undefined;
  }

  finalCheck(): Violation | undefined {
    this.#scanLeaks();
    for (const m of this.world.managed) this.#checkOwnerKeys(m);
    return this.violation;
  }

  // ---- consumers ----

  consumerUses(m: Managed, held: string, who: string): void {
    const { world } = this;
    const result = world.pingone.authenticate(m.owner, held);
    world.count(result ? 'consumer ok' : 'consumer refused');
    if (result || this.#isTainted(m.owner)) return;
    const current = world.clientSecretAt(m, 'AWSCURRENT');
    const previous = world.clientSecretAt(m, 'AWSPREVIOUS');
    if (held === current) {
      this.fail('consumer-locked-out', `${who} holds AWSCURRENT of ${m.name} and PingOne refuses it`);
    } else if (
      held === previous &&
      (this.#graceUntil.get(held) ?? Number.POSITIVE_INFINITY) <= world.scheduler.now()
    ) {
      // Past the grace PingOne granted it (a TTL tag within the stack's bounds may make it short).
      world.count('consumer past grace');
    } else if (held === previous && !this.#excused.has(held)) {
      this.fail(
        'consumer-locked-out',
        `${who} holds AWSPREVIOUS of ${m.name} (within its grace: not expired, not retired as unused) and PingOne refuses it`,
      );
    }
  }

  #stamp = '';

  #checkCurrentAccepted(): void {
    const { world } = this;
    const stamp = `${world.sm.mutations}/${world.pingone.mutations}/${this.#tainted.size}`;
    if (stamp === this.#stamp) return;
    this.#stamp = stamp;
    for (const f of world.foreign) {
      if (!f.planted) continue;
      for (const version of f.sm.versions) {
        const secret = clientSecretOf(version.value);
        if (secret !== undefined && world.pingone.origins.has(secret)) {
          this.fail(
            'unbound-received-secret',
            `${f.sm.name}, planted and never bound with proof, holds a PingOne secret (version ${version.id.slice(0, 8)})`,
          );
          return;
        }
      }
    }
    for (const m of world.managed) {
      if (this.#isTainted(m.owner)) continue;
      const current = world.clientSecretAt(m, 'AWSCURRENT');
      const state = world.pingone.secretOf(m.owner);
      if (current === undefined || !state) continue;
      if (current !== state.secret && current !== state.previous?.secret) {
        this.fail(
          'consumer-locked-out',
          `AWSCURRENT of ${m.name} is neither PingOne's current nor previous secret`,
        );
        return;
      }
    }
  }

  // ---- PingOne commits ----

  #holders(owner: OwnerRef, secret: string | undefined, stage: string): Managed[] {
    if (secret === undefined) return [];
    return this.world.managed.filter(
      (m) => sameOwner(m.owner, owner) && this.world.clientSecretAt(m, stage) === secret,
    );
  }

  /** Replaced secret → until when PingOne keeps it (the grace it was granted). */
  readonly #graceUntil = new Map<string, number>();

  #onSecretCall(call: SecretCall): void {
    const auditor = this.world.auditWorker;
    if (call.method === 'POST' && auditor && call.workerId === auditor.clientId) {
      this.fail(
        'auditor-worker-regenerate',
        `${call.by} sent a regenerate of ${describe(call.owner)} with the auditor's own worker's token`,
      );
    }
  }

  /**
   * What the secret's tags allowed over the last TAG_READ_MS (any value then in force may be the one the
   * rotation read): whether every one of them is outside the stack's bounds (the rotation must refuse), the
   * shortest TTL and the shortest in-use window among those within them.
   */
  #tagsInForce(by: string): { refused: boolean; ttlMs: number; windowMs: number; text: string } {
    const { world } = this;
    const now = world.scheduler.now();
    // The secrets whose rotation `by` ran within the window (a container serves one invocation at a time, but
    // a request of an earlier one may land during the next).
    const invocations = world.invocations.get(by) ?? [];
    const arns = new Set<string>();
    for (let i = invocations.length - 1; i >= 0; i--) {
      const invocation = invocations[i] as (typeof invocations)[number];
      arns.add(invocation.arn);
      if (invocation.at <= now - TAG_READ_MS) break;
    }
    const inForce: { ttl?: string; window?: string }[] = [];
    for (const arn of arns) {
      const history = world.tagHistory.get(arn) ?? [];
      for (let i = history.length - 1; i >= 0; i--) {
        const entry = history[i] as (typeof history)[number];
        inForce.push(entry);
        if (entry.at <= now - TAG_READ_MS) break;
      }
      if ((history[0]?.at ?? 0) > now - TAG_READ_MS || history.length === 0) inForce.push({});
    }
    if (inForce.length === 0) inForce.push({});
    const { minTtlMs, may } = world.tagBounds;
    let refused = true;
    let ttlMs = Number.POSITIVE_INFINITY;
    let windowMs = Number.POSITIVE_INFINITY;
    for (const tags of inForce) {
      const ttl = tags.ttl === undefined ? FUNCTION_TTL_MS : parseDurationMs(tags.ttl);
      const ttlOk =
        tags.ttl === undefined ||
        (ttl !== undefined && ttl >= 60_000 && ttl <= 30 * 86_400_000 && ttl >= minTtlMs);
      const window = tags.window === undefined ? IN_USE_WINDOW_MS : parseDurationMs(tags.window);
      const windowOk =
        tags.window === undefined ||
        (window !== undefined &&
          window <= 30 * 86_400_000 &&
          (window > 0 || may === 'switch-off') &&
          (window >= IN_USE_WINDOW_MS || window === 0 || may !== 'lengthen'));
      if (!ttlOk || !windowOk) continue;
      refused = false;
      ttlMs = Math.min(ttlMs, ttl as number);
      windowMs = Math.min(windowMs, window as number);
    }
    const text = inForce.map((t) => `ttl=${t.ttl ?? '-'} window=${t.window ?? '-'}`).join('; ');
    return { refused, ttlMs, windowMs, text };
  }

  #onRegenerate(commit: RegenerateCommit): void {
    const { world } = this;
    if (commit.previousExpiresAt !== undefined)
      this.#graceUntil.set(commit.replaced, commit.previousExpiresAt);
    if (commit.viaConsole || this.#isTainted(commit.owner)) return;
    world.count('regenerate');
    const tags = this.#tagsInForce(commit.by);
    if (tags.refused) {
      this.fail(
        'tag-out-of-bounds-acted',
        `${commit.by} regenerated ${describe(commit.owner)} while every TTL / in-use window tag value in force was outside the stack's bounds (${tags.text}; bounds: TTL at least ${world.tagBounds.minTtlText}, window tag may ${world.tagBounds.may})`,
      );
      return;
    }
    const grace = (commit.previousExpiresAt ?? commit.at) - commit.at;
    if (grace < Math.min(tags.ttlMs, GRACE_MAX_MS) - GRACE_SLACK_MS) {
      this.fail(
        'grace-below-bound',
        `${commit.by}'s regenerate of ${describe(commit.owner)} kept the replaced secret ${Math.round(grace / 1000)} s, shorter than the TTL in force (${Math.round(tags.ttlMs / 1000)} s; ${tags.text}; stack minimum ${world.tagBounds.minTtlText})`,
      );
      return;
    }
    const evictedCurrent = this.#holders(commit.owner, commit.evicted, 'AWSCURRENT');
    if (evictedCurrent.length > 0) {
      this.fail(
        'evicted-current',
        `${commit.by}'s regenerate evicted the secret AWSCURRENT of ${evictedCurrent[0]?.name} holds (a second regenerate before the rotation finished)`,
      );
      return;
    }
    const intent = this.#ledgerItem(commit.owner)?.intent?.M;
    if (!intent) {
      this.fail(
        'unexplained-regenerate',
        `${commit.by} regenerated ${describe(commit.owner)} with no ledger intent`,
      );
      return;
    }
    const token = intent.token?.S ?? '?';
    const n = (this.#regeneratesPerIntent.get(token) ?? 0) + 1;
    this.#regeneratesPerIntent.set(token, n);
    if (n > 1) {
      this.fail(
        'double-regenerate',
        `rotation ${token.slice(0, 8)} regenerated ${describe(commit.owner)} ${n} times`,
      );
      return;
    }
    // The evicted previous secret: fine when its last use is older than the in-use window.
    const before = commit.evicted;
    if (before !== undefined)
      this.#judgeRemoval(
        commit.owner,
        before,
        commit.evictedLastUsed,
        tags.windowMs,
        'in-use-evicted',
        commit.by,
      );
  }

  #onDelete(commit: DeleteCommit): void {
    if (this.#isTainted(commit.owner) || commit.removed === undefined) return;
    this.world.count('retired');
    const current = this.#holders(commit.owner, commit.removed, 'AWSCURRENT');
    if (current.length > 0) {
      this.fail(
        'deleted-current',
        `${commit.by}'s DELETE removed the secret AWSCURRENT of ${current[0]?.name} holds: every consumer is locked out`,
      );
      return;
    }
    this.#judgeRemoval(
      commit.owner,
      commit.removed,
      commit.lastUsed,
      RETIRE_AFTER_MS,
      'in-use-retired',
      commit.by,
    );
  }

  #judgeRemoval(
    owner: OwnerRef,
    secret: string,
    lastUsed: number | undefined,
    windowMs: number,
    invariant: string,
    by: string,
  ): void {
    const now = this.world.scheduler.now();
    if (lastUsed === undefined || now - lastUsed >= windowMs) {
      this.#excused.add(secret);
      return;
    }
    if (now - lastUsed < RACE_MS) {
      // Used between the actor's last read and its call: a race no client of PingOne can close.
      this.world.count(`${invariant} race`);
      this.#excused.add(secret);
      return;
    }
    const holders = this.#holders(owner, secret, 'AWSPREVIOUS');
    this.fail(
      invariant,
      `${by} removed a previous secret${holders[0] ? ` (AWSPREVIOUS of ${holders[0].name})` : ''} last used ${Math.round((now - lastUsed) / 1000)} s ago`,
    );
  }

  // ---- the rotation function's results ----

  afterCreateSecret(secretArn: string, token: string, started: number): void {
    const { world } = this;
    const m = world.managed.find((x) => x.sm.arn === secretArn);
    if (!m || this.#isTainted(m.owner)) return;
    const version = m.sm.versions.find((v) => v.id === token);
    // Only a value this invocation stored: an earlier one was checked when it was stored.
    if ((version?.writtenAt ?? 0) < started) {
      this.#checkOwnerKeys(m);
      return;
    }
    const pending = version?.value
      ? (JSON.parse(version.value) as { clientSecret?: string }).clientSecret
      : undefined;
    const state = world.pingone.secretOf(m.owner);
    if (pending !== undefined && state && pending !== state.secret) {
      this.fail(
        'pending-not-current',
        `createSecret stored a pending secret for ${m.name} that is not PingOne's current secret`,
      );
      return;
    }
    this.#checkOwnerKeys(m);
  }

  #checkOwnerKeys(m: Managed): void {
    for (const version of m.sm.versions) {
      if (version.value === undefined) continue;
      for (const member of m.extras) {
        if (!version.value.includes(member)) {
          this.fail(
            'owner-keys',
            `version ${version.id.slice(0, 8)} of ${m.name} does not carry ${member} as written`,
          );
          return;
        }
      }
    }
  }

  // ---- the ledger ----

  #ledgerItem(owner: OwnerRef): Record<string, AttributeValue> | undefined {
    for (const table of this.world.ddb.tables.values()) {
      for (const item of table.values()) {
        if (
          item.environmentId?.S === owner.environmentId.toLowerCase() &&
          item.ownerId?.S === owner.id.toLowerCase() &&
          (item.ownerKind?.S ?? owner.kind) === owner.kind
        ) {
          return item;
        }
      }
    }
    return undefined;
  }

  #checkBindings(): void {
    const bound = new Map<string, Set<string>>();
    for (const table of this.world.ddb.tables.values()) {
      for (const item of table.values()) {
        const arn = item.binding?.M?.secretArn?.S;
        if (!arn) continue;
        const owner = `${item.ownerKind?.S}#${item.environmentId?.S}#${item.ownerId?.S}`;
        const arns = bound.get(owner) ?? new Set();
        arns.add(arn);
        bound.set(owner, arns);
        if (arns.size > 1) {
          this.fail(
            'double-binding',
            `PingOne owner ${owner} is bound to two secrets: ${[...arns].join(', ')}`,
          );
          return;
        }
      }
    }
  }

  // ---- leaks ----

  #scanLeaks(): void {
    const { world } = this;
    const output = world.output;
    if (this.#scanned >= output.length) return;
    const text = output.slice(this.#scanned).join('\n');
    this.#scanned = output.length;
    // Text already scanned is dropped: a long run would otherwise keep every log line it ever wrote.
    if (this.#scanned > 1_000) {
      output.splice(0, this.#scanned);
      this.#scanned = 0;
    }
    const texts = [text, ...decodedRuns(text)];
    for (const candidate of texts) {
      const leak = world.leaks.find(candidate);
      if (leak) {
        const where = candidate === text ? '' : ' (inside an encoded run)';
        const line = text.split('\n').find((l) => world.leaks.find(l) !== undefined) ?? '';
        this.fail('leak', `${leak}${where} in: ${mask(line, world.leaks.values).slice(0, 300)}`);
        return;
      }
    }
  }
}

/** Base64 and hex runs in `text`, decoded: an upstream may quote a whole request encoded. */
function decodedRuns(text: string): string[] {
  const out: string[] = [];
  for (const match of text.matchAll(/[A-Za-z0-9+/_-]{32,}={0,2}/g)) {
    const decoded = Buffer.from(
      match[0],
      match[0].includes('_') || match[0].includes('-') ? 'base64url' : 'base64',
    ).toString('latin1');
    if (/^[\x20-\x7e\s]*$/.test(decoded.slice(0, 64))) out.push(decoded);
  }
  for (const match of text.matchAll(/(?:[0-9a-fA-F]{2}){16,}/g)) {
    out.push(Buffer.from(match[0], 'hex').toString('latin1'));
  }
  return out;
}

/** A line with every known value masked, for the report. */
function mask(line: string, values: readonly (string | { id: string; secret: string })[]): string {
  let out = line;
  for (const v of values) {
    const secret = typeof v === 'string' ? v : v.secret;
    if (secret.length >= 8) out = out.split(secret).join(`${secret.slice(0, 4)}…`);
  }
  return out;
}

function clientSecretOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const secret = (JSON.parse(value) as { clientSecret?: unknown }).clientSecret;
    return typeof secret === 'string' ? secret : undefined;
  } catch {
    return undefined;
  }
}

function key(owner: OwnerRef): string {
  return `${owner.kind}#${owner.environmentId.toLowerCase()}#${owner.id.toLowerCase()}`;
}

function sameOwner(a: OwnerRef, b: OwnerRef): boolean {
  return key(a) === key(b);
}

function describe(owner: OwnerRef): string {
  return `${owner.kind} ${owner.id.slice(0, 8)}`;
}
