import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ConfigurationError, PingOneNetworkError, RotationError, WorkerAuthError } from '../lib/errors.js';
import type { SecretOwner } from '../lib/pingone/types.js';
import { explainPingOneError as explainWith } from '../lib/status/explain.js';
import { oneLine } from '../lib/status/text.js';

export { oneLine };

import { redactText } from '../lib/redact.js';
import { awsCallFacts } from './aws-clients.js';

export const PROGRAM = 'pingone-rotation';

/** Process exit codes. `status` verdicts have their own codes from 3 up (see STATUS_EXIT). */
export const EXIT = Object.freeze({
  ok: 0,
  error: 1,
  usage: 2,
  /** Stopped by SIGINT/SIGTERM (128 + SIGINT's 2, as shells report it). */
  interrupted: 130,
});

/**
 * An error the CLI explains itself: `what` failed and what the operator should `todo`. Printed as one line,
 * `pingone-rotation: <what>: <todo>`; the stack only under --debug.
 */
export class CliError extends Error {
  constructor(
    readonly what: string,
    readonly todo: string,
    readonly exitCode: number = EXIT.error,
    options?: { cause?: unknown },
  ) {
    super(`${what}: ${todo}`, options);
    this.name = 'CliError';
  }
}

/** Bad arguments or a missing setting: exit 2. */
export class UsageError extends CliError {
  /** The flag (or, for a setting without one, the environment variable) to fix, when one is to blame. */
  readonly setting: string | undefined;
  constructor(what: string, todo: string, options?: { cause?: unknown; setting?: string }) {
    super(what, todo, EXIT.usage, options);
    this.name = 'UsageError';
    this.setting = options?.setting;
  }
}

interface AwsErrorShape {
  name?: string;
  message?: string;
  code?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
}

const AUTH_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'ExpiredToken',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
]);

/**
 * Turns any error into `{ line, exitCode }`: the one line printed after `pingone-rotation: `. Messages from
 * lib/ are redacted where they are made (lib/redact.ts); an AWS SDK message may quote a request value, so
 * the whole line goes through the redactor's shape rules once more.
 */
export function describeError(
  error: unknown,
  context: ErrorContext = {},
): {
  line: string;
  exitCode: number;
} {
  const { line, exitCode } = describeUnredacted(error, context);
  return { line: redactText(line), exitCode };
}

/** What the command line said, to name in an error: --endpoint-url, --secret-id, --profile, --region. */
export interface ErrorContext {
  readonly endpoint?: string;
  readonly secretId?: string;
  readonly profile?: string;
  readonly region?: string;
}

function describeUnredacted(
  error: unknown,
  context: ErrorContext,
): {
  line: string;
  exitCode: number;
} {
  if (error instanceof CliError) return { line: oneLine(error.message), exitCode: error.exitCode };
  if (error instanceof RotationError) {
    return { line: oneLine(`${error.message}${rotationErrorHint(error)}`), exitCode: EXIT.error };
  }
  const e = (error ?? {}) as AwsErrorShape;
  const name = e.name ?? 'Error';
  // Joined to what to do with ': ', so without its own final period.
  const message = oneLine(e.message ?? String(error)).replace(/\.$/, '');
  if (name === 'CredentialsProviderError' || /Could not load credentials/i.test(message)) {
    const profile = context.profile ?? process.env.AWS_PROFILE;
    if (profile && !profileExists(profile)) {
      return {
        line:
          `the AWS profile '${profile}' does not exist in ${awsConfigFiles().join(' or ')}: ` +
          'check --profile / AWS_PROFILE (`aws configure list-profiles` lists them)',
        exitCode: EXIT.usage,
      };
    }
    return {
      line:
        'no AWS credentials found: pass --profile (or set AWS_PROFILE), run `aws sso login`, or set ' +
        'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY',
      exitCode: EXIT.error,
    };
  }
  if (/Region is missing/i.test(message)) {
    return { line: 'no AWS region: pass --region or set AWS_REGION', exitCode: EXIT.usage };
  }
  if (name === 'AccessDeniedException' || name === 'AccessDenied') {
    return {
      line: `AWS denied the request (${message}): use a role with the permissions docs/cli.md lists (Permissions), e.g. with --profile`,
      exitCode: EXIT.error,
    };
  }
  if (AUTH_ERRORS.has(name)) {
    return {
      line: `AWS rejected the credentials (${name}): refresh them (\`aws sso login\`) or pick another --profile`,
      exitCode: EXIT.error,
    };
  }
  if (name === 'ResourceNotFoundException') {
    // The SDK's text ("can't find the specified secret") does not say which one.
    const which = context.secretId
      ? /specified secret/.test(message)
        ? message.replace(/the specified secret/, `the secret '${context.secretId}'`)
        : `${message} (secret '${context.secretId}')`
      : message;
    return {
      line: `${/^Secrets Manager/.test(which) ? '' : 'Secrets Manager: '}${which}: check --secret-id, --region and --profile`,
      exitCode: EXIT.error,
    };
  }
  const facts = awsCallFacts(error);
  if (name === 'TimeoutError' && facts) {
    const where = facts.endpoint ?? context.endpoint ?? `the ${facts.service} endpoint`;
    const connecting = /establish a connection/.test(message);
    const attempts = (error as AwsErrorShape & { $metadata?: { attempts?: number } }).$metadata?.attempts;
    return {
      line:
        `${connecting ? 'could not connect to' : 'no answer from'} ${where} (${facts.service} ${facts.operation}) ` +
        `within ${seconds(connecting ? facts.connectTimeoutMs : facts.requestTimeoutMs)}` +
        `${attempts && attempts > 1 ? ` per attempt; gave up after ${attempts} attempts, ${seconds(facts.elapsedMs)} in all` : ''}: ` +
        'check --endpoint-url / AWS_ENDPOINT_URL, --region and your network or proxy; --aws-timeout allows longer',
      exitCode: EXIT.error,
    };
  }
  const code = e.code ?? (error as { cause?: { code?: string } })?.cause?.code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || name === 'TimeoutError') {
    const host = unreachableHost(error);
    const where = host ? ` ${host}` : context.endpoint ? ` ${context.endpoint}` : '';
    const regionHint =
      code === 'ENOTFOUND' && context.region && !context.endpoint
        ? ` (is '${context.region}' an AWS region?)`
        : '';
    return {
      line: `cannot reach the AWS endpoint${where} (${code ?? name})${regionHint}: check --region, --endpoint-url / AWS_ENDPOINT_URL and your network (is moto running?)`,
      exitCode: EXIT.error,
    };
  }
  // An answer that is not an AWS API's: an HTML page from a proxy, a captive portal, a wrong --endpoint-url.
  // The SDK reports it as SyntaxError (it parsed HTML as JSON) or UnknownError, which say nothing useful.
  if (
    facts &&
    (name === 'SyntaxError' ||
      name === 'Unknown' ||
      name === 'UnknownError' ||
      /^(UnknownError|Unexpected token|Unexpected end of JSON)/.test(message))
  ) {
    const response = (error as { $response?: { statusCode?: number; headers?: Record<string, string> } })
      .$response;
    const status = e.$metadata?.httpStatusCode ?? response?.statusCode;
    const type = response?.headers?.['content-type'];
    const where = facts.endpoint ?? context.endpoint ?? `the ${facts.service} endpoint`;
    return {
      line:
        `${where} did not answer like AWS ${facts.service} (${facts.operation}` +
        `${status ? `: HTTP ${status}` : ''}${type ? `, ${type.split(';')[0]}` : ''}): ` +
        `check that ${context.region ? `--region '${context.region}'` : 'the region'} is an AWS region where ` +
        'you use Secrets Manager, --endpoint-url / AWS_ENDPOINT_URL, and any proxy (HTTPS_PROXY)',
      exitCode: EXIT.error,
    };
  }
  if (e.$metadata) {
    return {
      line: `AWS ${name}: ${message}: fix the cause above, or re-run with --debug for details`,
      exitCode: EXIT.error,
    };
  }
  return {
    line: `unexpected ${name}: ${message}: re-run with --debug for the stack`,
    exitCode: EXIT.error,
  };
}

/** The shared AWS config and credentials files, as the SDK finds them. */
function awsConfigFiles(): string[] {
  return [
    process.env.AWS_CONFIG_FILE ?? join(homedir(), '.aws', 'config'),
    process.env.AWS_SHARED_CREDENTIALS_FILE ?? join(homedir(), '.aws', 'credentials'),
  ];
}

/** Whether a `[profile NAME]` (config) or `[NAME]` (credentials; `default` either way) section exists. */
function profileExists(name: string): boolean {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const section = new RegExp(`^\\s*\\[\\s*(profile\\s+)?${escaped}\\s*\\]\\s*$`, 'm');
  return awsConfigFiles().some((file) => {
    try {
      return section.test(readFileSync(file, 'utf8'));
    } catch {
      return false;
    }
  });
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)} s`;
}

/** The host (and port) a network error names: `127.0.0.1:9` (ECONNREFUSED), `name.invalid` (ENOTFOUND). */
function unreachableHost(error: unknown): string | undefined {
  let current = error as
    | { address?: unknown; port?: unknown; hostname?: unknown; cause?: unknown }
    | undefined;
  for (let depth = 0; current && depth < 4; depth++) {
    if (typeof current.hostname === 'string') return current.hostname;
    if (typeof current.address === 'string') {
      return typeof current.port === 'number' ? `${current.address}:${current.port}` : current.address;
    }
    current = current.cause as typeof current;
  }
  return undefined;
}

/** Where the CLI sets what a RotationError is about: its flags and the function's variables. */
export function rotationErrorHint(error: RotationError): string {
  if (error instanceof WorkerAuthError) return ' (set by --worker-parameter / PINGONE_WORKER_PARAMETER)';
  if (error instanceof PingOneNetworkError) {
    return ': check --pingone-api-url / --pingone-auth-url (PINGONE_API_URL / PINGONE_AUTH_URL) and your network';
  }
  if (error instanceof ConfigurationError && error.setting === 'workerParameter') {
    return ': check --worker-parameter / PINGONE_WORKER_PARAMETER, --region and --profile';
  }
  return '';
}

/**
 * What a PingOne failure means for `owner`, with what to do (the status model's wording, with the CLI's
 * flags). Returns undefined for errors that are not PingOne's.
 */
export function explainPingOneError(error: unknown, owner: SecretOwner): string | undefined {
  const text = explainWith(error, owner, rotationErrorHint);
  return text === undefined ? undefined : redactText(text);
}
