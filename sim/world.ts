/**
 * One simulated run: a small fleet (resources and applications in two PingOne environments), the real
 * rotation handler (lib/handler.ts) in Lambda containers driven by a Secrets Manager rotation service, the
 * real fleet auditor (lib/audit/handler.ts) with early retirement on, an operator running the real CLI
 * commands (cli/commands), a person regenerating in the PingOne console, and consumers authenticating with
 * the secret they last fetched — interleaved by a seeded PRNG on a simulated clock, with faults at every
 * external call, and the invariants (sim/invariants.ts) checked after every event.
 */
import crypto from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import timers from 'node:timers';
import { inspect } from 'node:util';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { onboard } from '../cli/commands/onboard.js';
import { rotate } from '../cli/commands/rotate.js';
import { statusReport } from '../cli/commands/status.js';
import { unstick } from '../cli/commands/unstick.js';
import type { CliDeps } from '../cli/deps.js';
import type { Output } from '../cli/format.js';
import { createPingOneAccess } from '../cli/pingone-access.js';
import { createAuditHandler } from '../lib/audit/handler.js';
import { IN_USE_WINDOW_TAG, TTL_TAG } from '../lib/config.js';
import { createRotationHandler } from '../lib/handler.js';
import { DynamoDbLedger } from '../lib/ledger/ledger.js';
import { EMPTY_RECORD, withBinding } from '../lib/ledger/record.js';
import type { PingOneRegion } from '../lib/pingone/regions.js';
import type { SecretOwner } from '../lib/pingone/types.js';
import { TRANSPORT_ENCODINGS } from '../lib/redact.js';
import { type FaultClass, FaultPlan, Proc, type Sabotage, type SimEnv } from './env.js';
import { type DynamoDbCall, DynamoDbState } from './fakes/dynamodb.js';
import { API_TEMPLATE, AUTH_TEMPLATE, type OwnerRef, PingOneWorld } from './fakes/pingone.js';
import { SecretsManagerState, type SmSecret, short } from './fakes/secrets-manager.js';
import { SsmState } from './fakes/ssm.js';
import { Invariants, type Violation } from './invariants.js';
import { Prng, Scheduler, withSimulatedTimeouts } from './kernel.js';
import { LeakIndex } from './leak-index.js';

export const START = Date.UTC(2026, 0, 5, 8, 0, 0);
export const ROTATION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:pingone-secret-rotation';
const LEDGER_TABLE = 'pingone-rotation-ledger';
const WORKER_PARAMETER = '/pingone/worker';
const AUDIT_WORKER_PARAMETER = '/pingone/audit-worker';
export const FUNCTION_TTL_MS = 7 * 86_400_000;
/** What a person with tag rights may write (valid, out of range, malformed). */
const TTL_TAG_VALUES = ['1m', '10m', '1h', '6h', '1d', '7d', '14d', '30d', '45d', 'soon'];
const WINDOW_TAG_VALUES = ['0', '5m', '30m', '1h', '2h', '1d', '40d', 'never'];
const ROTATION_TIMEOUT_MS = 90_000;
const AUDIT_TIMEOUT_MS = 900_000;
export const RETIRE_AFTER_MS = 3_600_000;
export const IN_USE_WINDOW_MS = 3_600_000;
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'] as const;

export interface SimOptions {
  readonly seed: number;
  /** Fault classes in play. */
  readonly faults: readonly FaultClass[];
  /** Simulated time one run covers. */
  readonly durationMs?: number;
  /** Owner keys that JSON.parse/stringify cannot carry byte for byte (big numbers, `1.50`, escapes); default on. */
  readonly exoticKeys?: boolean;
  /** Keep the whole trace (default: the last 400 lines). */
  readonly fullTrace?: boolean;
  /** A deliberate defect (sim/env.ts), to prove the invariants catch it. */
  readonly sabotage?: Sabotage;
  /** Every DynamoDB call the fake acted on, and how it ended (to replay against moto). */
  readonly onDynamoDbCall?: (call: DynamoDbCall) => void;
}

export interface SimResult {
  readonly seed: number;
  readonly violation: Violation | undefined;
  readonly trace: readonly string[];
  readonly events: number;
  readonly simulatedMs: number;
  readonly stats: Readonly<Record<string, number>>;
}

/** A secret this deployment rotates, and what the simulation knows about it. */
export interface Managed {
  readonly name: string;
  readonly sm: SmSecret;
  readonly owner: OwnerRef & { readonly region: PingOneRegion };
  /** The owner's own keys, as raw JSON members (`"port":8443`): every version must carry them as written. */
  readonly extras: readonly string[];
}

const FUNCTION_ENV = {
  PINGONE_WORKER_PARAMETER: WORKER_PARAMETER,
  ROTATION_LEDGER_TABLE: LEDGER_TABLE,
  PINGONE_REGION: 'NA',
  PINGONE_API_URL: API_TEMPLATE,
  PINGONE_AUTH_URL: AUTH_TEMPLATE,
  PREVIOUS_SECRET_TTL: '7d',
  PREVIOUS_SECRET_IN_USE_WINDOW: '1h',
  POWERTOOLS_DEV: 'false',
  POWERTOOLS_METRICS_NAMESPACE: 'PingOneSecretRotation',
  AWS_REGION: 'us-east-1',
};

const AUDIT_SETTINGS = {
  AUDIT_SECRET_NAME_PREFIX: 'pingone/',
  AUDIT_ROTATION_FUNCTION_ARN: ROTATION_ARN,
  AUDIT_CONCURRENCY: '2',
  AUDIT_PINGONE_REQUESTS_PER_SECOND: '5',
  RETIRE_UNUSED_PREVIOUS_AFTER: '1h',
};

export async function runSimulation(options: SimOptions): Promise<SimResult> {
  const world = new World(options);
  return world.run();
}

class World implements SimEnv {
  readonly prng: Prng;
  readonly scheduler = new Scheduler(START);
  faults: FaultPlan;
  readonly #plan: FaultPlan;
  readonly #trace: string[] = [];
  readonly #traceLimit: number;
  /** Every value that must never leave a process, with its forms indexed for the leak scan. */
  readonly leaks = new LeakIndex();
  readonly sm: SecretsManagerState;
  readonly ddb: DynamoDbState;
  readonly ssm: SsmState;
  readonly pingone: PingOneWorld;
  readonly invariants: Invariants;
  readonly managed: Managed[] = [];
  readonly stats: Record<string, number> = {};
  readonly output: string[] = [];
  readonly sabotage: Sabotage | undefined;
  /** Secrets under the prefix that nobody bound with proof: planted, or copied under another region. */
  readonly foreign: { readonly sm: SmSecret; readonly planted: boolean }[] = [];
  /** One URL for every region (PINGONE_API_URL without {region}): the deployment finding 3 needs. */
  readonly singleUrl: boolean;
  readonly functionEnv: Record<string, string>;
  /** The rotations' shared PingOne rate per licence in this run (0: off). */
  readonly sharedRate: number;
  readonly auditEnv: Record<string, string>;
  /** The stack's bounds on tags (TagMinPreviousSecretTtl, TagInUseWindowMay), drawn per seed. */
  readonly tagBounds: { readonly minTtlMs: number; readonly minTtlText: string; readonly may: string };
  /** Per secret ARN: the TTL and in-use window tags from each change on (finding 6's actor writes them). */
  readonly tagHistory = new Map<string, { at: number; ttl?: string; window?: string }[]>();
  /** Per rotation process: which secret each of its invocations was for, from when. */
  readonly invocations = new Map<string, { at: number; arn: string }[]>();
  /** The auditor's own worker (AUDIT_WORKER_PARAMETER), in some seeds (finding 9). */
  auditWorker:
    | { readonly clientId: string; readonly parameter: string; readonly actions: readonly string[] }
    | undefined;
  #procs = 0;

  constructor(readonly options: SimOptions) {
    this.sabotage = options.sabotage;
    this.prng = new Prng(options.seed);
    // Each seed draws its own mix: a rate, and a subset of the fault classes in play (some seeds hammer one).
    const rate = this.prng.pick([0.02, 0.05, 0.1, 0.15, 0.25, 0.35]);
    const subset = options.faults.filter(() => this.prng.chance(0.6));
    this.#plan = new FaultPlan(subset.length > 0 ? subset : options.faults, rate);
    this.faults = new FaultPlan([], 0);
    this.#traceLimit = options.fullTrace ? Number.POSITIVE_INFINITY : 400;
    this.singleUrl = this.prng.chance(0.25);
    this.functionEnv = {
      ...FUNCTION_ENV,
      ...(this.singleUrl
        ? {
            PINGONE_API_URL: API_TEMPLATE.replace('{region}', 'na'),
            PINGONE_AUTH_URL: AUTH_TEMPLATE.replace('{region}', 'na'),
          }
        : {}),
    };
    const drawn = this.prng.pick(
      this.#plan.has('short-ttl') ? ['default', '1d', '1h', '10m'] : ['default', '1d'],
    );
    const minTtl = drawn === 'default' ? undefined : drawn;
    const may = this.prng.pick(['lengthen', 'shorten', 'switch-off']);
    this.tagBounds = {
      minTtlMs: minTtl === undefined ? FUNCTION_TTL_MS : (parseDurationMs(minTtl) as number),
      minTtlText: minTtl ?? '7d (PREVIOUS_SECRET_TTL)',
      may,
    };
    this.functionEnv = {
      ...this.functionEnv,
      ...(minTtl === undefined ? {} : { TAG_MIN_PREVIOUS_SECRET_TTL: minTtl }),
      ...(may === 'lengthen' && this.prng.chance(0.5) ? {} : { TAG_IN_USE_WINDOW_MAY: may }),
    };
    // The rotations' shared PingOne rate (ROTATION_PINGONE_REQUESTS_PER_SECOND: every container waits for its
    // turn in a bucket of the ledger table, a regenerate until its intent's deadline) in a third of the runs.
    // Drawn from a stream of its own, so every other draw of a seed is what it was before this setting.
    const settings = new Prng(options.seed ^ 0x51a7e5);
    this.sharedRate = settings.chance(1 / 3) ? settings.pick([1, 2, 5]) : 0;
    if (this.sharedRate > 0) {
      this.functionEnv = {
        ...this.functionEnv,
        ROTATION_PINGONE_REQUESTS_PER_SECOND: String(this.sharedRate),
      };
    }
    const ownAuditWorker = this.prng.chance(0.5) || this.sabotage === 'auditor-worker-swapped';
    this.auditEnv = {
      ...this.functionEnv,
      ...AUDIT_SETTINGS,
      ...(ownAuditWorker ? { AUDIT_WORKER_PARAMETER } : {}),
    };
    if (this.sabotage === 'tag-bounds-ignored') {
      this.functionEnv = {
        ...this.functionEnv,
        TAG_MIN_PREVIOUS_SECRET_TTL: '1m',
        TAG_IN_USE_WINDOW_MAY: 'switch-off',
      };
    }
    if (this.sabotage === 'auditor-worker-swapped') {
      this.functionEnv = { ...this.functionEnv, PINGONE_WORKER_PARAMETER: AUDIT_WORKER_PARAMETER };
      this.auditEnv = { ...this.auditEnv, AUDIT_WORKER_PARAMETER: WORKER_PARAMETER };
    }
    this.sm = new SecretsManagerState(this);
    this.ddb = new DynamoDbState(this);
    this.ddb.onCall = options.onDynamoDbCall;
    this.ssm = new SsmState(this);
    this.pingone = new PingOneWorld(this);
    this.invariants = new Invariants(this);
  }

  trace(actor: string, text: string): void {
    const t = this.scheduler.now() - START;
    const h = Math.floor(t / 3_600_000);
    const m = Math.floor((t % 3_600_000) / 60_000);
    const s = ((t % 60_000) / 1000).toFixed(3).padStart(6, '0');
    this.#trace.push(`${h}:${String(m).padStart(2, '0')}:${s} ${actor}: ${text}`);
    if (this.#trace.length > this.#traceLimit * 2)
      this.#trace.splice(0, this.#trace.length - this.#traceLimit);
  }

  sensitive(value: string | { id: string; secret: string }): void {
    this.leaks.add(value);
  }

  count(stat: string): void {
    this.stats[stat] = (this.stats[stat] ?? 0) + 1;
  }

  proc(kind: string): Proc {
    this.#procs += 1;
    return new Proc(`${kind}#${this.#procs}`);
  }

  /** Records text that left a process (log line, error, CLI output) for the leak scan. */
  emitted(text: string): void {
    this.output.push(text);
  }

  async run(): Promise<SimResult> {
    const duration = this.options.durationMs ?? 4 * 3_600_000 + 30 * 60_000;
    const restore = patchGlobals(this);
    let violation: Violation | undefined;
    try {
      violation = await withSimulatedTimeouts(this.scheduler, async () => {
        void this.#main(duration);
        const stop = await this.scheduler.run(START + duration, () => this.invariants.check());
        return stop === undefined ? this.invariants.finalCheck() : this.invariants.violation;
      });
    } finally {
      restore();
    }
    const trace = this.#trace.slice(-this.#traceLimit);
    return {
      seed: this.options.seed,
      violation,
      trace,
      events: this.scheduler.events,
      simulatedMs: this.scheduler.now() - START,
      stats: { ...this.stats, faultRatePercent: Math.round(this.#plan.rate * 100) },
    };
  }

  async #main(duration: number): Promise<void> {
    await this.#setup();
    this.faults = this.#plan;
    this.trace(
      'world',
      `faults on: ${[...this.#plan.enabled].join(', ') || 'none'} at rate ${this.#plan.rate}`,
    );
    const rotationService = new RotationService(this);
    this.sm.rotationStarter = (secret, token, how) => rotationService.start(secret, token, how);
    const end = START + duration;
    for (const m of this.managed) {
      void rotationService.schedule(m, end);
      for (let i = 0; i < 2; i++) void new Consumer(this, m, i).run(end);
    }
    for (const f of this.foreign) void rotationService.schedule({ name: f.sm.name, sm: f.sm }, end);
    if (this.singleUrl && this.#plan.has('region-alias') && this.prng.chance(0.5)) {
      void this.#regionAliasCopy(end).then(() => {
        const copy = this.foreign.at(-1);
        if (copy && !copy.planted) void rotationService.schedule({ name: copy.sm.name, sm: copy.sm }, end);
      });
    }
    void new Auditor(this).run(end);
    void new Operator(this).run(end);
    if (this.prng.chance(0.3)) void this.#consolePerson(end);
    if (
      ((this.#plan.has('tags') || this.#plan.has('short-ttl')) && this.prng.chance(0.7)) ||
      this.sabotage === 'tag-bounds-ignored'
    )
      void this.#tagger(end);
  }

  async #setup(): Promise<void> {
    const { prng, pingone } = this;
    const na = pingone.store.createEnvironment({ id: prng.uuid(), region: 'NA' });
    const eu = pingone.store.createEnvironment({ id: prng.uuid(), region: this.singleUrl ? 'NA' : 'EU' });
    const method = prng.pick(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'] as const);
    const worker = pingone.store.createWorker(na.id, {
      clientId: prng.uuid(),
      clientSecret: prng.text(64),
      tokenEndpointAuthMethod: method,
    });
    this.sensitive(worker.clientSecret);
    this.sensitive({ id: worker.clientId, secret: worker.clientSecret });
    this.ssm.parameters.set(
      WORKER_PARAMETER,
      JSON.stringify({
        environmentId: na.id,
        clientId: worker.clientId,
        clientSecret: worker.clientSecret,
        region: 'NA',
        tokenEndpointAuthMethod: method,
      }),
    );

    if (this.auditEnv.AUDIT_WORKER_PARAMETER !== undefined) {
      // Its documented roles (read, and delete for early retirement), or — a deployer's mistake — every role:
      // either way it must never be what regenerates a secret.
      const actions =
        prng.chance(0.5) && this.sabotage !== 'auditor-worker-swapped'
          ? (['read', 'delete'] as const)
          : (['read', 'update', 'delete'] as const);
      const auditMethod = prng.pick(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'] as const);
      const auditor = pingone.store.createWorker(na.id, {
        clientId: prng.uuid(),
        clientSecret: prng.text(64),
        tokenEndpointAuthMethod: auditMethod,
        secretActions: actions,
      });
      this.sensitive(auditor.clientSecret);
      this.sensitive({ id: auditor.clientId, secret: auditor.clientSecret });
      this.ssm.parameters.set(
        AUDIT_WORKER_PARAMETER,
        JSON.stringify({
          environmentId: na.id,
          clientId: auditor.clientId,
          clientSecret: auditor.clientSecret,
          region: 'NA',
          tokenEndpointAuthMethod: auditMethod,
        }),
      );
      this.auditWorker = { clientId: auditor.clientId, parameter: AUDIT_WORKER_PARAMETER, actions };
      this.trace('world', `the auditor has a worker of its own (${actions.join(', ')})`);
    }
    this.trace(
      'world',
      `tag bounds: TTL at least ${this.tagBounds.minTtlText}, in-use window tag may ${this.tagBounds.may}`,
    );
    if (this.sharedRate > 0) {
      this.trace('world', `rotations share a PingOne rate of ${this.sharedRate} requests/s per licence`);
    }

    const setupProc = this.proc('setup');
    setupProc.reliable = true;
    const ledger = new DynamoDbLedger(this.ddb.client(setupProc), LEDGER_TABLE);
    const count = prng.int(2, 5);
    for (let i = 0; i < count; i++) {
      const environment = prng.pick([na, eu]);
      const kind = prng.chance(0.5) ? 'resource' : 'application';
      const id = prng.uuid();
      let secret: string;
      if (kind === 'resource') {
        secret = pingone.store.createResource(environment.id, {
          id,
          introspectEndpointAuthMethod: prng.pick(['CLIENT_SECRET_BASIC', 'CLIENT_SECRET_POST'] as const),
        }).secret as string;
      } else {
        secret = pingone.store.createApplication(environment.id, {
          id,
          tokenEndpointAuthMethod: prng.pick([
            'CLIENT_SECRET_BASIC',
            'CLIENT_SECRET_POST',
            'CLIENT_SECRET_JWT',
          ] as const),
        }).secret as string;
      }
      pingone.noteInitial(secret);
      const region = environment.region;
      const extras = [
        `"username":${JSON.stringify(`svc-${prng.text(6)}`)}`,
        `"port":${prng.int(1024, 65535)}`,
      ];
      if (this.options.exoticKeys ?? true) {
        extras.push(
          `"accountNumber":${prng.int(1, 9)}${prng.text(24, '0123456789')}`,
          '"ratio":1.50',
          '"label":"caf\\u00e9"',
        );
      }
      const idField = kind === 'resource' ? 'resourceId' : 'applicationId';
      const members = [
        `"environmentId":"${environment.id}"`,
        `"${idField}":"${id}"`,
        `"clientSecret":${JSON.stringify(secret)}`,
        ...(region === 'NA' && prng.chance(0.5) ? [] : [`"region":"${region}"`]),
        ...extras,
      ];
      const name = `pingone/${kind}-${i}`;
      const sm = this.sm.create(name, `{${members.join(',')}}`);
      sm.rotationEnabled = true;
      sm.rotationLambdaArn = ROTATION_ARN;
      const owner = { kind, environmentId: environment.id, id, region } as const;
      this.managed.push({ name, sm, owner, extras });
      if (prng.chance(0.7)) {
        const ledgerOwner: SecretOwner = owner;
        await ledger.write(
          ledgerOwner,
          withBinding(EMPTY_RECORD, { secretArn: sm.arn, now: this.scheduler.now(), how: 'onboard' }),
          { deadline: this.scheduler.now() + 60_000, now: this.scheduler.now },
        );
      }
      this.trace('world', `${name}: ${kind} ${id.slice(0, 8)} in ${region}, extras ${extras.join(',')}`);
    }
    if (this.#plan.has('planted') && prng.chance(0.3)) {
      // Someone who may create secrets under the prefix plants one naming an owner (no proof: a made-up secret).
      const victim = prng.pick(this.managed);
      const idField = victim.owner.kind === 'resource' ? 'resourceId' : 'applicationId';
      const sm = this.sm.create(
        `pingone/planted-${prng.text(4)}`,
        JSON.stringify({
          environmentId: victim.owner.environmentId,
          [idField]: victim.owner.id,
          clientSecret: prng.text(64),
          region: victim.owner.region,
        }),
      );
      sm.rotationEnabled = true;
      sm.rotationLambdaArn = ROTATION_ARN;
      this.foreign.push({ sm, planted: true });
      this.trace('world', `${sm.name}: planted, names ${victim.name}'s owner`);
    }
  }

  /** Someone who can read one secret copies it under another region alias (the same owner, another ledger key). */
  async #regionAliasCopy(end: number): Promise<void> {
    await this.scheduler.sleep(this.prng.int(5 * 60_000, end - START));
    const victim = this.prng.pick(this.managed);
    const value = this.sm.version(victim.sm, 'AWSCURRENT')?.value;
    if (!value) return;
    const doc = JSON.parse(value) as Record<string, unknown>;
    const region = this.prng.pick(['EU', 'CA', 'AU'].filter((r) => r !== victim.owner.region));
    const sm = this.sm.create(`pingone/copy-${this.prng.text(4)}`, JSON.stringify({ ...doc, region }));
    sm.rotationEnabled = true;
    sm.rotationLambdaArn = ROTATION_ARN;
    this.foreign.push({ sm, planted: false });
    this.trace('attacker', `copies ${victim.name}'s value into ${sm.name} under region ${region}`);
  }

  async #consolePerson(end: number): Promise<void> {
    await this.scheduler.sleep(this.prng.int(10 * 60_000, end - START));
    const m = this.prng.pick(this.managed);
    const grace = this.prng.chance(0.5) ? 3_600_000 : undefined;
    this.trace(
      'console',
      `a person regenerates ${m.name}'s secret in the PingOne console (previous kept: ${grace ? '1h' : 'no'})`,
    );
    this.invariants.taint(m.owner, 'regenerated in the PingOne console');
    this.pingone.consoleRegenerate(m.owner, grace);
  }

  /**
   * A person who may tag secrets (finding 6) sets or removes the TTL and in-use window tags, with any value:
   * within the stack's bounds, outside them, or malformed. A tag outside the bounds must change nothing.
   */
  async #tagger(end: number): Promise<void> {
    const { prng, scheduler } = this;
    for (;;) {
      await scheduler.sleep(prng.int(5 * 60_000, 60 * 60_000));
      if (scheduler.now() >= end) return;
      const m = prng.pick(this.managed);
      const tags = { ...m.sm.tags };
      for (const [tag, values] of [
        [TTL_TAG, TTL_TAG_VALUES],
        [IN_USE_WINDOW_TAG, WINDOW_TAG_VALUES],
      ] as const) {
        if (!prng.chance(0.6)) continue;
        if (tags[tag] !== undefined && prng.chance(0.3)) delete tags[tag];
        else tags[tag] = prng.pick(values);
      }
      m.sm.tags = tags;
      this.noteTags(m.sm);
      this.trace(
        'tagger',
        `${m.name}: ${TTL_TAG}=${tags[TTL_TAG] ?? '(none)'} ${IN_USE_WINDOW_TAG}=${tags[IN_USE_WINDOW_TAG] ?? '(none)'}`,
      );
    }
  }

  /** Records a secret's TTL and in-use window tags as of now. */
  noteTags(sm: SmSecret): void {
    const history = this.tagHistory.get(sm.arn) ?? [];
    history.push({
      at: this.scheduler.now(),
      ...(sm.tags[TTL_TAG] === undefined ? {} : { ttl: sm.tags[TTL_TAG] }),
      ...(sm.tags[IN_USE_WINDOW_TAG] === undefined ? {} : { window: sm.tags[IN_USE_WINDOW_TAG] }),
    });
    this.tagHistory.set(sm.arn, history);
  }

  /** Builds the CLI's dependencies for one operator command. */
  cliDeps(proc: Proc): CliDeps & { text: () => string } {
    const chunks: string[] = [];
    const out: Output = { write: (text) => void chunks.push(text) };
    const ssm = this.ssm.client(proc);
    const access = createPingOneAccess({
      env: this.functionEnv,
      flags: {},
      ssm,
      transport: this.pingone.transport(proc),
      now: this.scheduler.now,
      sleep: this.scheduler.sleep,
    });
    return {
      secretsManager: this.sm.client(proc),
      dynamodb: this.ddb.client(proc),
      config: () => access.config,
      pingone: () => access,
      out,
      err: out,
      now: this.scheduler.now,
      sleep: this.scheduler.sleep,
      prompt: undefined,
      local: undefined,
      text: () => chunks.join(''),
    };
  }

  /** A Lambda context whose remaining time runs on the simulated clock. */
  context(name: string, timeoutMs: number): Context {
    const deadline = this.scheduler.now() + timeoutMs;
    return {
      callbackWaitsForEmptyEventLoop: true,
      functionName: name,
      functionVersion: '$LATEST',
      invokedFunctionArn: ROTATION_ARN,
      memoryLimitInMB: '256',
      awsRequestId: this.prng.uuid(),
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: 'sim',
      getRemainingTimeInMillis: () => Math.max(0, deadline - this.scheduler.now()),
      done: () => {},
      fail: () => {},
      succeed: () => {},
    };
  }

  /** The AWSCURRENT (or other stage's) clientSecret of a managed secret, read from the fake's state. */
  clientSecretAt(m: Managed, stage: string): string | undefined {
    const value = this.sm.version(m.sm, stage)?.value;
    if (value === undefined) return undefined;
    let secret = this.#parsed.get(value);
    if (secret === undefined) {
      try {
        const doc = JSON.parse(value) as { clientSecret?: unknown };
        secret = typeof doc.clientSecret === 'string' ? doc.clientSecret : '';
      } catch {
        secret = '';
      }
      this.#parsed.set(value, secret);
    }
    return secret === '' ? undefined : secret;
  }

  readonly #parsed = new Map<string, string>();
}

export type { World };

/**
 * While a run lasts: Math.random and crypto.randomUUID from the seed; stdout/stderr captured; and the timers
 * of `node:timers` (which @middy/core imports for its early timeout, armed at every invocation for the
 * context's remaining time) on the simulated clock. A real timer of 90 s or 15 min would never fire within a
 * run, but would keep the run's whole world in memory until it did: across thousands of seeds, gigabytes.
 */
function patchGlobals(world: World): () => void {
  const random = Math.random;
  const uuid = crypto.randomUUID;
  const out = process.stdout.write;
  const err = process.stderr.write;
  const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = timers;
  const prng = world.prng.fork();
  Math.random = () => prng.next();
  crypto.randomUUID = () => prng.uuid() as ReturnType<typeof crypto.randomUUID>;
  const hex = TRANSPORT_ENCODINGS.find((e) => e.name === 'hex') as { encode: (t: string) => string[] };
  const hexEncode = hex.encode;
  if (world.sabotage === 'no-hex-redaction') hex.encode = () => [];
  const simulated = new WeakMap<object, () => void>();
  timers.setTimeout = ((fire: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
    const handle = { simulated: true };
    simulated.set(
      handle,
      world.scheduler.after(ms ?? 0, () => fire(...args)),
    );
    return handle;
  }) as unknown as typeof timers.setTimeout;
  timers.clearTimeout = ((handle: unknown) => {
    const cancel = typeof handle === 'object' && handle !== null ? simulated.get(handle) : undefined;
    if (cancel) cancel();
    else realClearTimeout(handle as Parameters<typeof realClearTimeout>[0]);
  }) as typeof timers.clearTimeout;
  syncBuiltinESMExports();
  const capture = (chunk: unknown, ...rest: unknown[]) => {
    world.emitted(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const callback = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  return () => {
    Math.random = random;
    crypto.randomUUID = uuid;
    hex.encode = hexEncode;
    timers.setTimeout = realSetTimeout;
    timers.clearTimeout = realClearTimeout;
    syncBuiltinESMExports();
    process.stdout.write = out;
    process.stderr.write = err;
  };
}

// ---- the rotation function and the service that drives it -------------------------------------------

interface Container {
  readonly proc: Proc;
  readonly handler: ReturnType<typeof createRotationHandler>;
  busy: boolean;
}

type InvokeOutcome = { ok: true } | { ok: false; error: string };

/** Secrets Manager's rotation engine: RotateSecret's rotations and the schedule, each step a Lambda invocation. */
class RotationService {
  readonly #containers: Container[] = [];
  readonly #running = new Set<string>();

  constructor(private readonly world: World) {}

  /** Scheduled rotations: near the top of some hours, as rotation windows do. */
  async schedule(m: { readonly name: string; readonly sm: SmSecret }, end: number): Promise<void> {
    const { scheduler, prng } = this.world;
    for (let hour = 1; START + hour * 3_600_000 < end; hour++) {
      if (!prng.chance(0.6)) continue;
      const at = START + hour * 3_600_000 + prng.int(0, 20_000);
      await scheduler.sleep(at - scheduler.now());
      const pending = this.world.sm.pending(m.sm);
      if (pending) {
        this.start(m.sm, pending.id, 'resume');
        continue;
      }
      const token = this.world.sm.newToken();
      const version = { id: token, value: undefined, stages: [] as string[], created: scheduler.now() };
      m.sm.versions.push(version);
      this.world.sm.moveStage(m.sm, 'AWSPENDING', version);
      this.world.trace('secrets-manager', `${m.name}: scheduled rotation ${short(token)}`);
      this.start(m.sm, token, 'new');
    }
  }

  start(secret: SmSecret, token: string, how: 'new' | 'resume'): void {
    const key = `${secret.arn}|${token}`;
    if (this.#running.has(key)) return;
    this.#running.add(key);
    if (how === 'resume')
      this.world.trace('secrets-manager', `${secret.name}: reattempting rotation ${short(token)}`);
    void this.#rotate(secret, token).finally(() => this.#running.delete(key));
  }

  async #rotate(secret: SmSecret, token: string): Promise<void> {
    const { world } = this;
    const { scheduler, prng } = world;
    const attempts = prng.int(2, 6);
    for (let attempt = 1; attempt <= attempts; attempt++) {
      let failed = false;
      for (const step of STEPS) {
        if (world.sm.pending(secret)?.id !== token) {
          world.trace(
            'secrets-manager',
            `${secret.name}: rotation ${short(token)} no longer pending; stopped`,
          );
          return;
        }
        const outcome = await this.#invokeStep(secret, token, step);
        if (!outcome.ok) {
          failed = true;
          break;
        }
      }
      if (!failed) {
        world.trace('secrets-manager', `${secret.name}: rotation ${short(token)} complete`);
        return;
      }
      await scheduler.sleep(prng.int(20_000, 15 * 60_000));
    }
    world.trace(
      'secrets-manager',
      `${secret.name}: rotation ${short(token)} failed ${attempts} times; left pending`,
    );
  }

  /** One step: an invocation, and sometimes a second one of the same step in another container. */
  async #invokeStep(secret: SmSecret, token: string, step: (typeof STEPS)[number]): Promise<InvokeOutcome> {
    const { world } = this;
    const rotationToken = world.prng.text(48);
    world.sensitive(rotationToken);
    const event = {
      Step: step,
      SecretId: secret.arn,
      ClientRequestToken: token,
      RotationToken: rotationToken,
    };
    if (world.faults.has('crash') && world.prng.chance(world.faults.rate)) {
      // At-least-once delivery: the same step runs twice, concurrently, in two containers.
      const delay = world.prng.int(0, 20_000);
      world.trace(
        'secrets-manager',
        `${secret.name}: ${step} ${short(token)} delivered twice (+${delay} ms)`,
      );
      void world.scheduler.sleep(delay).then(() => this.invoke(event, secret.name));
    }
    return this.invoke(event, secret.name);
  }

  async invoke(
    event: { Step: string; SecretId: string; ClientRequestToken: string; RotationToken: string },
    name: string,
  ): Promise<InvokeOutcome> {
    const { world } = this;
    const { scheduler } = world;
    const container = this.#container();
    container.busy = true;
    const started = scheduler.now();
    const label = `${event.Step} ${name} ${short(event.ClientRequestToken)}`;
    const invocations = world.invocations.get(container.proc.name) ?? [];
    invocations.push({ at: started, arn: event.SecretId });
    world.invocations.set(container.proc.name, invocations);
    world.trace(container.proc.name, `invoked: ${label}`);
    const context = world.context('pingone-secret-rotation', ROTATION_TIMEOUT_MS);
    const outcome = await new Promise<InvokeOutcome>((resolve) => {
      let done = false;
      const finish = (o: InvokeOutcome) => {
        if (done) return;
        done = true;
        resolve(o);
      };
      scheduler.after(ROTATION_TIMEOUT_MS, () => {
        if (done) return;
        if (!container.proc.dead) {
          world.invariants.fail(
            'deadline',
            `${container.proc.name} ran ${label} past the Lambda timeout (${ROTATION_TIMEOUT_MS} ms) without ending`,
          );
        }
        container.proc.crash();
        finish({ ok: false, error: 'Task timed out' });
      });
      container.handler(event, context).then(
        () => finish({ ok: true }),
        (error: unknown) => {
          if (isEarlyTimeout(error)) {
            // The Lambda timeout, as the function sees it (middy answers 5 ms before it): the invocation did
            // not end on its own. Lambda then stops the process.
            if (!container.proc.dead && !done) {
              world.invariants.fail(
                'deadline',
                `${container.proc.name} ran ${label} until the Lambda timeout (${ROTATION_TIMEOUT_MS} ms) without ending`,
              );
            }
            container.proc.crash();
          }
          const text = inspect(error, { depth: 8 });
          world.emitted(text);
          finish({ ok: false, error: oneLine(error) });
        },
      );
    });
    container.busy = false;
    if (container.proc.dead) {
      const index = this.#containers.indexOf(container);
      if (index >= 0) this.#containers.splice(index, 1);
    }
    world.trace(
      container.proc.name,
      `${outcome.ok ? 'ok' : `failed: ${outcome.error}`} (${scheduler.now() - started} ms)`,
    );
    if (outcome.ok && event.Step === 'createSecret')
      world.invariants.afterCreateSecret(event.SecretId, event.ClientRequestToken, started);
    if (outcome.ok) world.count(`step ${event.Step} ok`);
    else world.count(`step ${event.Step} failed`);
    return outcome;
  }

  #container(): Container {
    const idle = this.#containers.find((c) => !c.busy && !c.proc.dead);
    if (idle) return idle;
    const { world } = this;
    const proc = world.proc('rotation');
    const serviceName = 'pingone-secret-rotation';
    const handler = createRotationHandler({
      env: world.functionEnv,
      secretsManager: world.sm.client(proc),
      ssm: world.ssm.client(proc),
      dynamodb: world.ddb.client(proc),
      transport: world.pingone.transport(proc),
      now: world.scheduler.now,
      sleep: world.scheduler.sleep,
      logger: new Logger({ serviceName }),
      metrics: new Metrics({ namespace: 'PingOneSecretRotation', serviceName }),
    });
    const container: Container = { proc, handler, busy: false };
    this.#containers.push(container);
    return container;
  }
}

// ---- the auditor ------------------------------------------------------------------------------------

class Auditor {
  constructor(private readonly world: World) {}

  async run(end: number): Promise<void> {
    const { scheduler, prng } = this.world;
    let handler: ReturnType<typeof createAuditHandler> | undefined;
    let proc: Proc | undefined;
    for (let hour = 1; START + hour * 3_600_000 < end; hour++) {
      const at = START + hour * 3_600_000 + prng.int(0, 20_000);
      await scheduler.sleep(at - scheduler.now());
      if (!handler || !proc || proc.dead) {
        proc = this.world.proc('auditor');
        const serviceName = 'pingone-secret-rotation-audit';
        handler = createAuditHandler({
          env: this.world.auditEnv,
          secretsManager: this.world.sm.client(proc),
          ssm: this.world.ssm.client(proc),
          dynamodb: this.world.ddb.client(proc),
          transport: this.world.pingone.transport(proc),
          now: scheduler.now,
          sleep: scheduler.sleep,
          logger: new Logger({ serviceName }),
          metrics: new Metrics({ namespace: 'PingOneSecretRotation', serviceName }),
        });
      }
      const current = proc;
      const started = scheduler.now();
      this.world.trace(current.name, 'audit starts');
      let finished = false;
      const outcome = await Promise.race([
        handler(undefined, this.world.context('pingone-secret-rotation-audit', AUDIT_TIMEOUT_MS)).then(
          (summary) => `done: ${JSON.stringify({ audited: summary.audited, retired: summary.retired })}`,
          (error: unknown) => {
            if (isEarlyTimeout(error)) {
              if (!current.dead && !finished)
                this.world.invariants.fail('deadline', `${current.name} ran until the audit Lambda timeout`);
              current.crash();
            }
            this.world.emitted(inspect(error, { depth: 8 }));
            return `failed: ${oneLine(error)}`;
          },
        ),
        scheduler.sleep(AUDIT_TIMEOUT_MS).then(() => {
          if (finished) return 'ignored';
          if (!current.dead) {
            this.world.invariants.fail('deadline', `${current.name} ran past the audit Lambda timeout`);
          }
          current.crash();
          return 'timed out';
        }),
      ]);
      finished = true;
      this.world.trace(current.name, `audit ${outcome} (${scheduler.now() - started} ms)`);
    }
  }
}

// ---- the operator -----------------------------------------------------------------------------------

class Operator {
  constructor(private readonly world: World) {}

  async run(end: number): Promise<void> {
    const { world } = this;
    const { scheduler, prng } = world;
    for (;;) {
      await scheduler.sleep(prng.int(15 * 60_000, 75 * 60_000));
      if (scheduler.now() >= end) return;
      const m = prng.pick([
        ...world.managed,
        ...world.foreign.map((f) => ({ name: f.sm.name, sm: f.sm, owner: undefined })),
      ]);
      const proc = world.proc('operator');
      const deps = world.cliDeps(proc);
      let action = 'status';
      try {
        const report = await statusReport(deps, { secretId: m.name });
        world.trace(proc.name, `status ${m.name}: ${report.verdict}`);
        const advice = `${report.reason} ${report.notes.join(' ')}`;
        // An operator forces a secret they know is theirs, or — confused — one status tells them to force.
        const forceAdvised = advice.includes('onboard --force') && !advice.includes('Verify where');
        if (report.verdict === 'stuck-pending') {
          action = 'unstick';
          await unstick(deps, { secretId: m.name, yes: true });
        } else if (report.verdict === 'drift' && (m.owner !== undefined || forceAdvised)) {
          action = 'onboard --force';
          const owner = m.owner ?? ownerNamedBy(world.sm.version(m.sm, 'AWSCURRENT')?.value);
          if (!owner) throw new Error('the secret names no owner');
          await onboard(deps, {
            secretName: m.name,
            environmentId: owner.environmentId,
            ...(owner.kind === 'resource' ? { resourceId: owner.id } : { applicationId: owner.id }),
            pingoneRegion: owner.region,
            force: true,
            yes: true,
          });
          if (m.owner) world.invariants.untaint(m.owner);
        } else if (prng.chance(0.4)) {
          action = 'rotate';
          await rotate(deps, { secretId: m.name, wait: prng.chance(0.5), timeoutMs: 10 * 60_000 });
        }
        world.trace(proc.name, `${action} ${m.name}: done`);
      } catch (error) {
        world.emitted(inspect(error, { depth: 8 }));
        world.trace(proc.name, `${action} ${m.name}: ${oneLine(error)}`);
      }
      world.emitted(deps.text());
    }
  }
}

// ---- consumers --------------------------------------------------------------------------------------

class Consumer {
  held: string | undefined;

  constructor(
    private readonly world: World,
    private readonly m: Managed,
    private readonly index: number,
  ) {}

  get name(): string {
    return `consumer ${this.m.name}/${this.index}`;
  }

  async run(end: number): Promise<void> {
    const { scheduler, prng } = this.world;
    const lag = prng.int(30_000, 10 * 60_000);
    const useEvery = prng.pick([60_000, 3 * 60_000, 10 * 60_000, 30 * 60_000]);
    let nextRefresh = scheduler.now();
    let nextUse = scheduler.now() + prng.int(0, useEvery);
    for (;;) {
      const next = Math.min(nextRefresh, nextUse);
      if (next >= end) return;
      await scheduler.sleep(next - scheduler.now());
      if (scheduler.now() >= nextRefresh) {
        this.held = this.world.clientSecretAt(this.m, 'AWSCURRENT');
        nextRefresh = scheduler.now() + lag;
      }
      if (scheduler.now() >= nextUse) {
        nextUse = scheduler.now() + prng.int(useEvery / 2, useEvery * 1.5);
        if (this.held !== undefined) this.world.invariants.consumerUses(this.m, this.held, this.name);
      }
    }
  }
}

/** The owner a secret's value names (for an operator following status's advice about a foreign secret). */
function ownerNamedBy(value: string | undefined): (OwnerRef & { region: PingOneRegion }) | undefined {
  if (!value) return undefined;
  const doc = JSON.parse(value) as Record<string, string>;
  const kind = doc.applicationId ? 'application' : 'resource';
  const id = doc.applicationId ?? doc.resourceId;
  if (!doc.environmentId || !id) return undefined;
  return { kind, environmentId: doc.environmentId, id, region: (doc.region ?? 'NA') as PingOneRegion };
}

/** `10m`, `1h`, `7d` in ms; `0` is 0; anything else undefined. */
export function parseDurationMs(text: string): number | undefined {
  if (/^0+[mhd]?$/.test(text)) return 0;
  const match = /^(\d{1,6})([mhd])$/.exec(text);
  if (!match) return undefined;
  return Number(match[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 'm' | 'h' | 'd'];
}

/** @middy/core's early timeout (5 ms before the context's remaining time runs out). */
function isEarlyTimeout(error: unknown): boolean {
  return (error as { cause?: { package?: unknown } } | undefined)?.cause?.package === '@middy/core';
}

function oneLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  return text.replace(/\s+/g, ' ').slice(0, 300);
}
