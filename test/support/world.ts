/**
 * The one local-world fixture for the CLI and integration tests: moto (Secrets Manager, SSM, the ledger's
 * DynamoDB table), the PingOne simulator, the worker parameter and the function's environment
 * (local/world.ts), started once per file, stopped after the file, and what a file needs around it: unique
 * secret names, a reset of the simulator's faults before each test, the log capture and the set of
 * sensitive values the file's last test scans the logs for (test/support/leaks.ts).
 *
 *   const { world, unique } = useWorld({ reset: 'faults' });
 *   it('…', async () => { const secret = await world.createRotatableSecret({ name: unique('orders') }); … });
 *
 * `world` may be named anywhere in the file; it is usable from the file's beforeAll on (useWorld's own
 * beforeAll runs first). `startWorld` is the same world without the hooks, for a test that wants its own.
 */
import { afterAll, beforeAll, beforeEach } from 'vitest';
import {
  type LocalWorld,
  type LocalWorldOptions,
  type OwnedSecret,
  startLocalWorld,
} from '../../local/world.js';
import { OutputCapture } from './capture-output.js';
import { authenticator, type rotationHarness } from './harness.js';
import { describeLeaks, type Sensitive } from './leaks.js';

export { ownerOfSecret } from '../../local/world.js';

export interface WorldFixtureOptions extends LocalWorldOptions {
  /**
   * Before each test: clear the simulator's fault rules (`faults`), and its request log too
   * (`faults-and-requests`, for tests that count PingOne calls).
   */
  readonly reset?: 'faults' | 'faults-and-requests';
  /**
   * Capture stdout and stderr (the function's logs) from before the world starts until it stops; the file's
   * last test scans `output.captured` with `logLeaks()`.
   */
  readonly captureLogs?: boolean;
  /** What `unique(prefix)` puts in front (e.g. `pingone/`, the stack's default secret-name prefix). */
  readonly namePrefix?: string;
}

export interface WorldFixture {
  /** The file's world (usable once the file's beforeAll hooks run). */
  readonly world: LocalWorld;
  /** `<namePrefix><prefix>-<n>`, a new n each call: names that no other test of the file uses. */
  unique(prefix: string): string;
  /** The log capture (started only with `captureLogs`). */
  readonly output: OutputCapture;
  /** Values that must not appear in any log: the worker secret, and what the file's tests add. */
  readonly sensitive: Set<Sensitive>;
  /** Whether PingOne accepts `clientSecret` for the secret's owner (introspection as the owner). */
  authenticates(secret: OwnedSecret, clientSecret: string): Promise<boolean>;
  /** The clientSecret a stage (or version) of the secret holds, added to `sensitive`; undefined if none. */
  storedSecret(secretId: string, stage?: string): Promise<string | undefined>;
  /** Adds the RotationTokens and bearer tokens the harnesses saw to `sensitive`. */
  remember(...harnesses: ReturnType<typeof rotationHarness>[]): void;
  /** Every secret PingOne holds now, current and previous, for every resource and application. */
  pingOneSecrets(): string[];
  /**
   * The sensitive values (with every PingOne secret held now) that appear in the captured logs in any
   * encoding, masked; `[]` when none do.
   */
  logLeaks(extra?: Iterable<Sensitive>): string[];
}

/** The local world with the tests' defaults: the function keeps the replaced secret 7 days. */
export function startWorld(options: LocalWorldOptions = {}): Promise<LocalWorld> {
  return startLocalWorld({ previousSecretTtl: '7d', ...options });
}

/** Every secret the simulator holds now (current and previous), for resources and applications alike. */
export function pingOneSecretsOf(world: LocalWorld): string[] {
  const { resources, applications } = world.sim.snapshot();
  const out: string[] = [];
  for (const owner of [...resources, ...applications]) {
    if (!owner.secret) continue;
    out.push(owner.secret.secret);
    if (owner.secret.previous) out.push(owner.secret.previous.secret);
  }
  return out;
}

/**
 * One world for the whole file: started in beforeAll (registered here, so before the file's own), stopped in
 * afterAll. Call it at the top level of a test file.
 */
export function useWorld(options: WorldFixtureOptions = {}): WorldFixture {
  const { reset, captureLogs, namePrefix = '', ...worldOptions } = options;
  let current: LocalWorld | undefined;
  let counter = 0;
  const output = new OutputCapture();
  const sensitive = new Set<Sensitive>();
  const started = (): LocalWorld => {
    if (!current) throw new Error('the local world is not running here: use it inside tests and hooks');
    return current;
  };

  beforeAll(async () => {
    if (captureLogs) output.start();
    current = await startWorld(worldOptions);
    sensitive.add(current.worker.clientSecret);
  }, 60_000);

  afterAll(async () => {
    await current?.stop();
    current = undefined;
    if (captureLogs) output.stop();
  });

  if (reset) {
    beforeEach(() => {
      const { sim } = started();
      sim.faults.clear();
      if (reset === 'faults-and-requests') sim.clearRequests();
    });
  }

  const world = new Proxy({} as LocalWorld, {
    get(_, key) {
      const target = started();
      const value = Reflect.get(target, key, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
    has: (_, key) => Reflect.has(started(), key),
    ownKeys: () => Reflect.ownKeys(started()),
    getOwnPropertyDescriptor: (_, key) => Reflect.getOwnPropertyDescriptor(started(), key),
  });

  let authenticate: ReturnType<typeof authenticator> | undefined;
  let authenticateFor: LocalWorld | undefined;

  return {
    world,
    output,
    sensitive,
    unique: (prefix) => `${namePrefix}${prefix}-${++counter}`,
    authenticates(secret, clientSecret) {
      const target = started();
      if (authenticateFor !== target) {
        authenticate = authenticator(target.sim);
        authenticateFor = target;
      }
      return (authenticate as ReturnType<typeof authenticator>)(secret, clientSecret);
    },
    async storedSecret(secretId, stage = 'AWSCURRENT') {
      const value = await started()
        .readSecretJson(secretId, { stage })
        .then((json) => json.clientSecret as string | undefined)
        .catch(() => undefined);
      if (value) sensitive.add(value);
      return value;
    },
    remember(...harnesses) {
      for (const harness of harnesses) {
        for (const token of harness.rotationTokens) sensitive.add(token);
        for (const token of harness.boundaries.sensitive) sensitive.add(token);
      }
    },
    pingOneSecrets: () => pingOneSecretsOf(started()),
    logLeaks(extra = []) {
      const values = [...sensitive, ...extra, ...(current ? pingOneSecretsOf(current) : [])];
      return describeLeaks(output.captured, values);
    },
  };
}
