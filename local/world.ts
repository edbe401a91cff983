import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParameterCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { loadConfig } from '../lib/config.js';
import { ledgerFromConfig, type RotationLedger } from '../lib/ledger/ledger.js';
import { type PingOneRegion, REGIONS } from '../lib/pingone/regions.js';
import type { SecretOwner, SecretOwnerKind } from '../lib/pingone/types.js';
import { type WorkerRouter, workerDirectory, workerSecretReader } from '../lib/pingone/workers.js';
import { OWNER_ID_FIELDS } from '../lib/secret-value.js';
import { AWSCURRENT } from '../lib/secrets/secrets-store.js';
import { createLedgerTable, LOCAL_LEDGER_TABLE } from './ledger-table.js';
import { type MotoServer, startMoto } from './moto.js';
import { MotoSecretsStore } from './moto-secrets.js';
import {
  type ApplicationAuthMethod,
  type ApplicationType,
  type IntrospectEndpointAuthMethod,
  type PingOneSimulator,
  startPingOneSimulator,
  type WorkerCredentials,
} from './pingone-simulator/index.js';

/** Static credentials for the local world; moto accepts any. */
export const LOCAL_AWS = Object.freeze({
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
});

/** A Secrets Manager secret holding a CUSTOM resource's current secret. */
export interface RotatableSecret {
  readonly arn: string;
  readonly name: string;
  readonly kind: 'resource';
  readonly environmentId: string;
  readonly resourceId: string;
  /** The resource id. */
  readonly ownerId: string;
  readonly region: PingOneRegion;
}

/** A Secrets Manager secret holding an OIDC application's current secret. */
export interface RotatableApplicationSecret {
  readonly arn: string;
  readonly name: string;
  readonly kind: 'application';
  readonly environmentId: string;
  readonly applicationId: string;
  /** The application id. */
  readonly ownerId: string;
  readonly region: PingOneRegion;
  readonly tokenEndpointAuthMethod: ApplicationAuthMethod;
}

/** Either kind of rotatable secret. */
export type OwnedSecret = RotatableSecret | RotatableApplicationSecret;

/** The PingOne owner a local secret was created for, as the function and the ledger name it. */
export function ownerOfSecret(secret: OwnedSecret): SecretOwner {
  return {
    kind: secret.kind,
    environmentId: secret.environmentId,
    id: secret.ownerId,
    region: secret.region,
  };
}

export interface SecretSpec {
  readonly name: string;
  readonly region?: PingOneRegion;
  /** An existing simulator environment; a new one in `region` otherwise. */
  readonly environmentId?: string;
  readonly introspectEndpointAuthMethod?: IntrospectEndpointAuthMethod;
  readonly tags?: Record<string, string>;
  /** Extra owner keys carried in the secret JSON. */
  readonly extra?: Record<string, unknown>;
}

export interface ApplicationSecretSpec {
  readonly name: string;
  readonly region?: PingOneRegion;
  readonly environmentId?: string;
  /** Default WEB_APP. */
  readonly type?: ApplicationType;
  /** Default CLIENT_SECRET_BASIC. */
  readonly tokenEndpointAuthMethod?: ApplicationAuthMethod;
  readonly tags?: Record<string, string>;
  readonly extra?: Record<string, unknown>;
}

/**
 * The local rehearsal world: moto (Secrets Manager, SSM and DynamoDB for the rotation ledger) and the PingOne
 * simulator on loopback, a worker app whose credentials sit in an SSM SecureString, the ledger table, and the
 * environment the rotation function needs.
 */
export interface LocalWorld {
  readonly moto: MotoServer;
  readonly sim: PingOneSimulator;
  readonly secretsManager: SecretsManagerClient;
  /** The Secrets Manager adapter on `secretsManager`, for moto (local/moto-secrets.ts). */
  readonly secrets: MotoSecretsStore;
  readonly ssm: SSMClient;
  readonly dynamodb: DynamoDBClient;
  /** The rotation ledger table (ROTATION_LEDGER_TABLE). */
  readonly ledgerTable: string;
  /** The ledger, read as the function reads it (tests look at bindings and history). */
  readonly ledger: RotationLedger;
  readonly worker: WorkerCredentials;
  readonly workerParameter: string;
  /** With `workerRegions`: each region's worker, its SSM parameter and its name in PINGONE_WORKERS. */
  readonly regionWorkers: readonly {
    readonly name: string;
    readonly region: PingOneRegion;
    readonly parameter: string;
    readonly credentials: WorkerCredentials;
  }[];
  /** The function's workers (PINGONE_WORKERS), reading their credentials from moto as the function does. */
  workerRouter(): WorkerRouter;
  /** The rotation function's environment variables for this world. */
  readonly functionEnv: Readonly<Record<string, string>>;
  /** AWS SDK environment (endpoint, region, test credentials) for a process that uses this world. */
  readonly awsEnv: Readonly<Record<string, string>>;
  createEnvironment(region: PingOneRegion): string;
  /** A CUSTOM resource in PingOne and a Secrets Manager secret holding its current secret. */
  createRotatableSecret(spec: SecretSpec): Promise<RotatableSecret>;
  /** An OIDC application in PingOne and a Secrets Manager secret `{ environmentId, applicationId, … }`. */
  createRotatableApplicationSecret(spec: ApplicationSecretSpec): Promise<RotatableApplicationSecret>;
  /** PingOne's current view of the secret's owner. */
  pingOneSecret(secret: OwnedSecret): ReturnType<PingOneSimulator['readSecret']>;
  /** The parsed AWSCURRENT / AWSPREVIOUS / a version's JSON. */
  readSecretJson(
    secretId: string,
    selector?: { stage?: string; versionId?: string },
  ): Promise<Record<string, unknown>>;
  labels(secretId: string): Promise<Record<string, string[]>>;
  stop(): Promise<void>;
}

export interface LocalWorldOptions {
  readonly workerParameter?: string;
  readonly workerRegion?: PingOneRegion;
  /**
   * One worker per region (each its region's default organization's, covering all of it), named in
   * PINGONE_WORKERS: a deployment serving several regions, each region's token used only there. Default:
   * every region. `[]`: the single worker (PINGONE_WORKER_PARAMETER) in `workerRegion`.
   */
  readonly workerRegions?: readonly PingOneRegion[];
  readonly previousSecretTtl?: string;
  readonly ledgerTable?: string;
}

export async function startLocalWorld(options: LocalWorldOptions = {}): Promise<LocalWorld> {
  // Both start together; when one fails, the one that started is stopped before the error goes up (a
  // simulator left listening would keep the process alive after its error was printed).
  const [motoStart, simStart] = await Promise.allSettled([startMoto(), startPingOneSimulator()]);
  if (motoStart.status === 'rejected' || simStart.status === 'rejected') {
    await Promise.all([
      motoStart.status === 'fulfilled' ? motoStart.value.stop() : undefined,
      simStart.status === 'fulfilled' ? simStart.value.stop() : undefined,
    ]);
    throw motoStart.status === 'rejected' ? motoStart.reason : (simStart as PromiseRejectedResult).reason;
  }
  const moto = motoStart.value;
  const sim = simStart.value;
  try {
    const clientConfig = { ...LOCAL_AWS, endpoint: moto.url, maxAttempts: 2 };
    const secretsManager = new SecretsManagerClient(clientConfig);
    const secrets = new MotoSecretsStore(secretsManager);
    const ssm = new SSMClient(clientConfig);
    const dynamodb = new DynamoDBClient(clientConfig);
    const ledgerTable = await createLedgerTable(dynamodb, options.ledgerTable ?? LOCAL_LEDGER_TABLE);
    const workerRegion = options.workerRegion ?? 'NA';
    const workerEnv = sim.createEnvironment({ name: 'Administrators', region: workerRegion });
    const worker = sim.createWorker(workerEnv.id, { environments: 'all' });
    const workerParameter = options.workerParameter ?? '/pingone/rotation-worker';
    await ssm.send(
      new PutParameterCommand({
        Name: workerParameter,
        Type: 'SecureString',
        Overwrite: true,
        Value: JSON.stringify({
          environmentId: worker.environmentId,
          clientId: worker.clientId,
          clientSecret: worker.clientSecret,
          region: workerRegion,
        }),
      }),
    );

    // Each region's worker: the first region's is the single worker above; the others are stored at once.
    const regionWorkers: LocalWorld['regionWorkers'][number][] = await Promise.all(
      (options.workerRegions ?? REGIONS).map(async (region) => {
        const name = region.toLowerCase();
        if (region === workerRegion) return { name, region, parameter: workerParameter, credentials: worker };
        const home = sim.createEnvironment({ name: `Administrators ${region}`, region });
        const credentials = sim.createWorker(home.id, { environments: 'all' });
        const parameter = `/pingone/rotation-worker-${name}`;
        await ssm.send(
          new PutParameterCommand({
            Name: parameter,
            Type: 'SecureString',
            Overwrite: true,
            Value: JSON.stringify({
              environmentId: credentials.environmentId,
              clientId: credentials.clientId,
              clientSecret: credentials.clientSecret,
              region,
            }),
          }),
        );
        return { name, region, parameter, credentials };
      }),
    );
    const workerSetting: Record<string, string> =
      regionWorkers.length > 0
        ? {
            PINGONE_WORKERS: JSON.stringify(
              regionWorkers.map((w) => ({
                name: w.name,
                region: w.region,
                parameter: w.parameter,
                environments: '*',
              })),
            ),
          }
        : { PINGONE_WORKER_PARAMETER: workerParameter };

    const awsEnv = {
      AWS_ENDPOINT_URL: moto.url,
      AWS_REGION: LOCAL_AWS.region,
      AWS_DEFAULT_REGION: LOCAL_AWS.region,
      AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const functionEnv = {
      ...workerSetting,
      PINGONE_REGION: workerRegion,
      PINGONE_API_URL: sim.apiUrlTemplate,
      PINGONE_AUTH_URL: sim.authUrlTemplate,
      PREVIOUS_SECRET_TTL: options.previousSecretTtl ?? '7d',
      // The local world lets a tag shorten the TTL (its demo shows short-TTL warnings); a deployed stack's
      // default lets tags only lengthen it (TagMinPreviousSecretTtl, docs/configuration.md).
      TAG_MIN_PREVIOUS_SECRET_TTL: '1m',
      ROTATION_LEDGER_TABLE: ledgerTable,
    };

    /** A Secrets Manager secret holding an owner's current secret (the JSON `onboard` writes), with the spec's tags. */
    const storeOwnerSecret = async (
      spec: {
        readonly name: string;
        readonly tags?: Record<string, string>;
        readonly extra?: Record<string, unknown>;
      },
      owner: {
        readonly kind: SecretOwnerKind;
        readonly environmentId: string;
        readonly id: string;
        readonly clientSecret: string;
        readonly region: PingOneRegion;
      },
    ) => {
      const out = await secrets.create({
        name: spec.name,
        secretString: JSON.stringify({
          environmentId: owner.environmentId,
          [OWNER_ID_FIELDS[owner.kind]]: owner.id,
          clientSecret: owner.clientSecret,
          region: owner.region,
          ...spec.extra,
        }),
        tags: spec.tags ?? {},
      });
      return {
        arn: out.arn,
        name: spec.name,
        environmentId: owner.environmentId,
        ownerId: owner.id,
        region: owner.region,
      };
    };

    const world: LocalWorld = {
      moto,
      sim,
      secretsManager,
      secrets,
      ssm,
      dynamodb,
      ledgerTable,
      ledger: ledgerFromConfig(dynamodb, { ledgerTable }),
      worker,
      workerParameter,
      regionWorkers,
      workerRouter: () =>
        workerDirectory(loadConfig(functionEnv), {
          ssm: {
            get: async (name, options) =>
              (await ssm.send(new GetParameterCommand({ Name: name, WithDecryption: options.decrypt })))
                .Parameter?.Value,
          },
          secrets: workerSecretReader(secrets),
          maxAgeSeconds: 0,
        }),
      functionEnv,
      awsEnv,
      createEnvironment: (region) => sim.createEnvironment({ region }).id,
      async createRotatableSecret(spec) {
        const region = spec.region ?? workerRegion;
        const environmentId = spec.environmentId ?? sim.createEnvironment({ region }).id;
        const resource = sim.createResource(environmentId, {
          name: `${spec.name} API`,
          ...(spec.introspectEndpointAuthMethod
            ? { introspectEndpointAuthMethod: spec.introspectEndpointAuthMethod }
            : {}),
        });
        const stored = await storeOwnerSecret(spec, {
          kind: 'resource',
          environmentId,
          id: resource.id,
          clientSecret: resource.secret,
          region,
        });
        return { ...stored, kind: 'resource', resourceId: resource.id };
      },
      async createRotatableApplicationSecret(spec) {
        const region = spec.region ?? workerRegion;
        const environmentId = spec.environmentId ?? sim.createEnvironment({ region }).id;
        const tokenEndpointAuthMethod = spec.tokenEndpointAuthMethod ?? 'CLIENT_SECRET_BASIC';
        const application = sim.createApplication(environmentId, {
          name: spec.name,
          type: spec.type ?? 'WEB_APP',
          tokenEndpointAuthMethod,
        });
        const stored = await storeOwnerSecret(spec, {
          kind: 'application',
          environmentId,
          id: application.id,
          clientSecret: application.secret,
          region,
        });
        return { ...stored, kind: 'application', applicationId: application.id, tokenEndpointAuthMethod };
      },
      pingOneSecret: (secret) => sim.readSecret(secret.environmentId, secret.ownerId, secret.kind),
      async readSecretJson(secretId, selector = {}) {
        const out = await secrets.getVersion(secretId, {
          versionId: selector.versionId,
          stage: selector.stage || !selector.versionId ? (selector.stage ?? AWSCURRENT) : undefined,
        });
        return JSON.parse(out.secretString ?? '{}') as Record<string, unknown>;
      },
      async labels(secretId) {
        const { versions } = await secrets.describe(secretId);
        return Object.fromEntries(Object.entries(versions).map(([id, stages]) => [id, [...stages].sort()]));
      },
      async stop() {
        secretsManager.destroy();
        ssm.destroy();
        dynamodb.destroy();
        await Promise.all([moto.stop(), sim.stop()]);
      },
    };
    return world;
  } catch (error) {
    await Promise.all([moto.stop(), sim.stop()]);
    throw error;
  }
}
