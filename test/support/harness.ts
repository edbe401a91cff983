import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { createRotationHandler } from '../../lib/handler.js';
import { nodeTransport, type Transport } from '../../lib/pingone/transport.js';
import { ownerAuthenticator } from '../../local/authenticator.js';
import { type InvokeFn, LocalRotationDriver, type Step, type StepBoundary } from '../../local/driver.js';
import type { PingOneSimulator } from '../../local/pingone-simulator/index.js';
import { LOCAL_AWS, type LocalWorld } from '../../local/world.js';

/** A crash of the Lambda at one external-call boundary: just before the call, or just after it answered. */
export interface CrashPlan {
  readonly step: Step;
  /** 0-based index of the external call within that step's invocation. */
  readonly index: number;
  readonly when: 'before' | 'after';
}

export class SimulatedCrash extends Error {
  constructor(where: string) {
    super(`simulated crash ${where}`);
    this.name = 'SimulatedCrash';
  }
}

/**
 * Sits at every external-call boundary of the rotation function (Secrets Manager, SSM and the DynamoDB
 * ledger through SDK middleware, PingOne through the HTTP transport). It records the calls of each invocation and can crash the function
 * at one of them: from the crash on, nothing more reaches the outside world, as if the process had died.
 */
export class CallBoundaries {
  plan: CrashPlan | undefined;
  /** Calls of the current invocation, by name (e.g. `sm:GetSecretValue`, `pingone:POST /secret`). */
  calls: string[] = [];
  crashed = false;
  /** Awaited before every call goes out (tests hold one container at a call to force an interleaving). */
  beforeCall: ((name: string) => Promise<void>) | undefined;
  /** Bearer tokens and RotationTokens seen, to scan the logs for. */
  readonly sensitive = new Set<string>();
  #step: Step | undefined;
  readonly #inner = nodeTransport();

  beginInvocation(step: Step): void {
    this.#step = step;
    this.calls = [];
    this.crashed = false;
  }

  /** Wraps an external call. */
  async around<T>(name: string, call: () => Promise<T>): Promise<T> {
    if (this.crashed) throw new SimulatedCrash(`(process already dead) at ${name}`);
    const index = this.calls.length;
    this.calls.push(name);
    const hit =
      this.plan && this.plan.step === this.#step && this.plan.index === index ? this.plan : undefined;
    if (hit) this.plan = undefined; // a crash happens once; the retry runs clean
    if (hit?.when === 'before') {
      this.crashed = true;
      throw new SimulatedCrash(`before ${name}`);
    }
    await this.beforeCall?.(name);
    // "After" means the call was answered (with a result or an error) and the process died before using it.
    const settled = await call().then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (hit?.when === 'after') {
      this.crashed = true;
      throw new SimulatedCrash(`after ${name}`);
    }
    if ('error' in settled) throw settled.error;
    return settled.value;
  }

  instrument<C extends SecretsManagerClient | SSMClient | DynamoDBClient>(client: C, service: string): C {
    const stack = client.middlewareStack as unknown as SecretsManagerClient['middlewareStack'];
    stack.add(
      (next, context) => (args) =>
        this.around(`${service}:${String(context.commandName).replace(/Command$/, '')}`, () => next(args)),
      { step: 'initialize', name: 'callBoundaries' },
    );
    return client;
  }

  readonly transport: Transport = (request) => {
    const url = new URL(request.url);
    const auth = request.headers.authorization;
    if (auth?.startsWith('Bearer ')) this.sensitive.add(auth.slice(7));
    const route = url.pathname
      .replace(/^.*\/api\/v1\/environments\/[^/]+/, '')
      .replace(/^.*\/auth\/[^/]+/, '')
      .replace(/\/resources\/[^/]+/, '/resource')
      .replace(/\/applications\/[^/]+/, '/application');
    return this.around(`pingone:${request.method} ${route || '/'}`, async () => {
      const response = await this.#inner(request);
      if (route.endsWith('/as/token') && response.ok) {
        let body: { access_token?: unknown } = {};
        try {
          body = JSON.parse(response.body) as typeof body;
        } catch {}
        if (typeof body.access_token === 'string') this.sensitive.add(body.access_token);
      }
      return response;
    });
  };
}

export interface HarnessOptions {
  readonly env?: Record<string, string>;
  /** Where the function's DynamoDB client goes (default moto): a dead port makes the ledger unreachable. */
  readonly dynamodbEndpoint?: string;
  /**
   * Simulated time between a failed attempt and Secrets Manager's retry (the simulator's clock, which the
   * function reads, moves by this much). Default 0: retries follow at once.
   */
  readonly retryAfterMs?: number;
  /** Retry pauses: real by default; instant for the crash matrix. */
  readonly instantRetries?: boolean;
  readonly functionTimeoutMs?: number;
  readonly maxAttempts?: number;
  readonly afterStep?: (boundary: StepBoundary, ok: boolean) => Promise<void>;
  /** Before Secrets Manager's next attempt, instead of moving the clock by `retryAfterMs`. */
  readonly beforeRetry?: () => Promise<void> | void;
}

/**
 * The real rotation handler wired to the local world through the call boundaries, driven by the local
 * rotation driver. After a crash the next invocation gets a new handler (a new container: no caches).
 */
export function rotationHarness(world: LocalWorld, options: HarnessOptions = {}) {
  const boundaries = new CallBoundaries();
  const rotationTokens: string[] = [];
  const makeHandler = () =>
    createRotationHandler({
      env: { ...world.functionEnv, ...options.env },
      secretsManager: boundaries.instrument(
        new SecretsManagerClient({ ...LOCAL_AWS, endpoint: world.moto.url }),
        'sm',
      ),
      ssm: boundaries.instrument(new SSMClient({ ...LOCAL_AWS, endpoint: world.moto.url }), 'ssm'),
      dynamodb: boundaries.instrument(
        new DynamoDBClient({ ...LOCAL_AWS, endpoint: options.dynamodbEndpoint ?? world.moto.url }),
        'ddb',
      ),
      transport: boundaries.transport,
      now: () => world.sim.clock.now().getTime(),
      ...(options.instantRetries ? { sleep: async () => {} } : {}),
    });
  let handler = makeHandler();
  const handlersBuilt = { count: 1 };
  const invoke: InvokeFn = async (event, context) => {
    if (boundaries.crashed) {
      handler = makeHandler();
      handlersBuilt.count++;
    }
    boundaries.beginInvocation(event.Step);
    const result = await handler(event as never, context);
    // A process that died at a call reports nothing, even when the code went on past that call's error (an
    // informational write whose failure is only logged).
    if (boundaries.crashed) throw new SimulatedCrash('(the process died during the invocation)');
    return result;
  };
  const driver = new LocalRotationDriver({
    secretsManager: world.secretsManager,
    invoke,
    maxAttempts: options.maxAttempts ?? 3,
    functionTimeoutMs: options.functionTimeoutMs ?? 30_000,
    newRotationToken: () => {
      const token = randomBytes(24).toString('hex');
      rotationTokens.push(token);
      return token;
    },
    ...(options.afterStep ? { afterStep: (b, r) => options.afterStep?.(b, r.ok) } : {}),
    ...(options.beforeRetry
      ? { beforeRetry: options.beforeRetry }
      : options.retryAfterMs
        ? { beforeRetry: () => world.sim.clock.advance(options.retryAfterMs ?? 0) }
        : {}),
  });
  return { boundaries, driver, invoke, rotationTokens, handlersBuilt };
}

/**
 * Introspection as the secret's owner, the way testSecret proves a secret (an application by its own auth
 * method, a client assertion included), with no fault injection (local/authenticator.ts, shared with npm start).
 */
export const authenticator = ownerAuthenticator;

/** Regenerates PingOne committed for a resource or application (failed-before-commit faults excluded). */
export function committedRegenerates(sim: PingOneSimulator, ownerId: string): number {
  return sim.requests.filter(
    (r) =>
      r.method === 'POST' &&
      (r.route === 'secret' || r.route === 'application-secret') &&
      (r.resourceId === ownerId || r.applicationId === ownerId) &&
      (r.fault?.includes('commitThenFail') || (r.status < 300 && !r.fault?.includes('failNext'))),
  ).length;
}
