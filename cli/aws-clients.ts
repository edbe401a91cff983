/**
 * The AWS clients the CLI builds, with time limits: an endpoint that accepts the connection and never answers
 * (a proxy, a firewall that black-holes, a wrong --endpoint-url) must not leave the operator looking at
 * nothing. Each attempt gives up after `requestTimeoutMs` (connecting after `connectTimeoutMs`), the SDK
 * retries as usual, and the error that comes out names the endpoint, the operation and the time waited.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';

/** Per attempt: a Secrets Manager, SSM or DynamoDB call answers in well under a second. */
const DEFAULT_AWS_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_AWS_CONNECT_TIMEOUT_MS = 5_000;

export interface AwsClientOptions {
  readonly region?: string | undefined;
  readonly profile?: string | undefined;
  readonly endpoint?: string | undefined;
  readonly requestTimeoutMs?: number;
}

/** What the CLI learned about a failed AWS call: attached to the error as `$cliAws`. */
export interface AwsCallFacts {
  readonly service: string;
  readonly operation: string;
  /** The endpoint the last attempt went to: scheme, host and port. */
  readonly endpoint: string | undefined;
  /** From the command's start to its failure, retries included. */
  readonly elapsedMs: number;
  readonly requestTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

export function awsCallFacts(error: unknown): AwsCallFacts | undefined {
  return (error as { $cliAws?: AwsCallFacts } | undefined)?.$cliAws;
}

type Instrumentable = {
  middlewareStack: { add(middleware: unknown, options: Record<string, unknown>): void };
};

function instrument<T>(client: T, service: string, requestTimeoutMs: number, connectTimeoutMs: number): T {
  const stack = (client as unknown as Instrumentable).middlewareStack;
  // Inside the retries: where each attempt goes.
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) =>
      async (args: { request?: { protocol?: string; hostname?: string; port?: number } }) => {
        const request = args.request;
        if (request?.hostname) {
          context.cliEndpoint = `${request.protocol ?? 'https:'}//${request.hostname}${request.port ? `:${request.port}` : ''}`;
        }
        return next(args);
      },
    { step: 'finalizeRequest', priority: 'low', name: 'cliRecordEndpoint' },
  );
  // Around the retries: how long the whole call took.
  stack.add(
    (next: (args: unknown) => Promise<unknown>, context: Record<string, unknown>) =>
      async (args: unknown) => {
        const started = Date.now();
        try {
          return await next(args);
        } catch (error) {
          if (error && typeof error === 'object') {
            const facts: AwsCallFacts = {
              service,
              operation: String(context.commandName ?? 'a call').replace(/Command$/, ''),
              endpoint: typeof context.cliEndpoint === 'string' ? context.cliEndpoint : undefined,
              elapsedMs: Date.now() - started,
              requestTimeoutMs,
              connectTimeoutMs,
            };
            Object.defineProperty(error, '$cliAws', { value: facts, enumerable: false, configurable: true });
          }
          throw error;
        }
      },
    { step: 'initialize', priority: 'high', name: 'cliCallFacts' },
  );
  return client;
}

/** Secrets Manager, SSM and DynamoDB clients on the default credential chain, with time limits. */
export function createAwsClients(options: AwsClientOptions): {
  secretsManager: SecretsManagerClient;
  ssm: SSMClient;
  dynamodb: DynamoDBClient;
} {
  const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_AWS_REQUEST_TIMEOUT_MS;
  const connectTimeoutMs = Math.min(DEFAULT_AWS_CONNECT_TIMEOUT_MS, requestTimeoutMs);
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    requestHandler: {
      connectionTimeout: connectTimeoutMs,
      requestTimeout: requestTimeoutMs,
      // Without it the SDK only logs a warning when requestTimeout passes, and keeps waiting.
      throwOnRequestTimeout: true,
    },
  };
  return {
    secretsManager: instrument(
      new SecretsManagerClient(config),
      'Secrets Manager',
      requestTimeoutMs,
      connectTimeoutMs,
    ),
    ssm: instrument(new SSMClient(config), 'SSM', requestTimeoutMs, connectTimeoutMs),
    dynamodb: instrument(new DynamoDBClient(config), 'DynamoDB', requestTimeoutMs, connectTimeoutMs),
  };
}
