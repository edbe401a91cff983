/**
 * Dispatch and the one-line error: everything `pingone-rotation` does between argv and an exit code, with
 * the dependencies injected so tests run it in-process. The options and their parsing are in
 * command-line.ts, the help in help.ts.
 */

import { redactText } from '../lib/redact.js';
import pkg from '../package.json' with { type: 'json' };
import {
  COMMANDS,
  type CommandName,
  GLOBAL_OPTIONS,
  type ParsedCommand,
  parseCommandLine,
} from './command-line.js';
import { audit } from './commands/audit.js';
import { doctor } from './commands/doctor.js';
import { importTerraform } from './commands/import-terraform.js';
import { onboard } from './commands/onboard.js';
import { type FleetCommonOptions, onboardFleet } from './commands/onboard-fleet.js';
import { onboardWorkerPair } from './commands/onboard-worker-pair.js';
import { rebind } from './commands/rebind.js';
import { report } from './commands/report.js';
import { rotate } from './commands/rotate.js';
import { status } from './commands/status.js';
import { unstick } from './commands/unstick.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import type { CliDeps, GlobalOptions } from './deps.js';
import { describeError, type ErrorContext, EXIT, PROGRAM, UsageError } from './errors.js';
import { type Output, parseDuration } from './format.js';
import { helpText, USAGE } from './help.js';
import {
  failureDocument,
  JsonAlreadyPrinted,
  runWithJson,
  SECRET_COMMANDS,
  type SecretCommand,
  wantsJson,
} from './json-result.js';

export { type CommandName, type ParsedCommand, parseCommandLine } from './command-line.js';
export { helpText } from './help.js';

export interface CliIo {
  readonly out: Output;
  readonly err: Output;
}

/**
 * Runs one command line and returns the exit code. Every failure becomes one line on stderr,
 * `pingone-rotation: <what failed>: <what to do>`, with the stack only under --debug.
 */
export async function runCli(
  argv: readonly string[],
  io: CliIo,
  makeDeps: (globals: GlobalOptions) => CliDeps | Promise<CliDeps>,
): Promise<number> {
  const debug = argv.includes('--debug');
  // Scripts parse `status --json`: they get a JSON object on stdout even when the check itself fails.
  const statusJson = argv[0] === 'status' && argv.includes('--json');
  // The commands that change something print one JSON document with --json, a failure's too.
  const json = wantsJson(argv);
  let endpoint: string | undefined;
  let profile: string | undefined;
  let region: string | undefined;
  let secretId: string | undefined;
  try {
    if (argv[0] === 'completion') return completion(argv.slice(1), io);
    const parsed = parseCommandLine(argv);
    if (parsed.help) {
      io.out.write(helpText(parsed.command));
      return EXIT.ok;
    }
    if (parsed.values.version === true) {
      io.out.write(`${PROGRAM} ${pkg.version}\n`);
      return EXIT.ok;
    }
    if (!parsed.command) {
      io.err.write(USAGE);
      return EXIT.usage;
    }
    endpoint = parsed.globals.endpointUrl;
    profile = parsed.globals.profile;
    region = parsed.globals.region;
    const id = parsed.values['secret-id'] ?? parsed.values['secret-name'];
    if (typeof id === 'string' && id !== '') secretId = id;
    const spec = COMMANDS[parsed.command];
    const absent = (key: string) => parsed.values[key] === undefined || parsed.values[key] === '';
    const missing: string[] = spec.required.filter(absent);
    // onboard names its owner by exactly one of these; onboard itself refuses both.
    if (parsed.command === 'onboard' && absent('resource-id') && absent('application-id')) {
      missing.push('resource-id or --application-id');
    }
    if (missing.length > 0) {
      throw new UsageError(
        `${parsed.command} needs ${missing.map((key) => `--${key}`).join(', ')}`,
        `see ${PROGRAM} ${parsed.command} --help`,
        { setting: `--${missing[0]?.split(' ')[0]}` },
      );
    }
    const deps = await makeDeps(parsed.globals);
    const command = parsed.command;
    if (parsed.values.json === true && isSecretCommand(command)) {
      const context = errorContext(endpoint, secretId, profile, region);
      return await runWithJson(command, secretId ?? '', deps, context, (quiet) =>
        dispatch(command, parsed.values, parsed.globals, quiet),
      );
    }
    return await dispatch(command, parsed.values, parsed.globals, deps);
  } catch (thrown) {
    // With --json the document (with the error) is on stdout already.
    const printed = thrown instanceof JsonAlreadyPrinted;
    const error = printed ? thrown.error : thrown;
    const context = errorContext(endpoint, secretId, profile, region);
    // describeError redacts the line; the stack of an AWS SDK or transport error is redacted here.
    const { line, exitCode } = describeError(error, context);
    io.err.write(`${PROGRAM}: ${line}\n`);
    if (json && !printed) {
      io.out.write(`${JSON.stringify(failureDocument(argv[0] ?? '', error, context), null, 2)}\n`);
    }
    if (statusJson) {
      const failure = { secretId: secretId ?? null, verdict: null, exitCode, error: line };
      io.out.write(`${JSON.stringify(failure, null, 2)}\n`);
    }
    if (debug) io.err.write(`${redactText(stackOf(error))}\n`);
    return exitCode;
  }
}

function errorContext(
  endpoint: string | undefined,
  secretId: string | undefined,
  profile: string | undefined,
  region: string | undefined,
): ErrorContext {
  return {
    ...(endpoint ? { endpoint } : {}),
    ...(secretId ? { secretId } : {}),
    ...(profile ? { profile } : {}),
    ...(region ? { region } : {}),
  };
}

function isSecretCommand(command: CommandName): command is SecretCommand {
  return (SECRET_COMMANDS as readonly string[]).includes(command);
}

function completion(args: readonly string[], io: CliIo): number {
  const [shell, ...rest] = args;
  if (shell === '--help' || shell === '-h') {
    io.out.write(
      `Usage: ${PROGRAM} completion bash|zsh\n\n  bash: source <(${PROGRAM} completion bash)\n  zsh:  source <(${PROGRAM} completion zsh)   (after compinit)\n`,
    );
    return EXIT.ok;
  }
  if (!SHELLS.includes(shell as Shell) || rest.length > 0) {
    throw new UsageError(
      shell === undefined ? 'completion needs a shell' : `completion: unknown shell '${args.join(' ')}'`,
      `use \`${PROGRAM} completion bash\` or \`${PROGRAM} completion zsh\``,
    );
  }
  io.out.write(
    completionScript(shell as Shell, { program: PROGRAM, globalOptions: GLOBAL_OPTIONS, commands: COMMANDS }),
  );
  return EXIT.ok;
}

function stackOf(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const e = current as Error;
    parts.push(`${depth === 0 ? '' : 'Caused by: '}${e.stack ?? String(e)}`);
    current = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}

function fleetFlags(
  str: (key: string) => string | undefined,
  flag: (key: string) => boolean,
  globals: GlobalOptions,
): FleetCommonOptions {
  return {
    pingoneRegion: globals.settings.region,
    prefix: str('prefix'),
    rotationFunctionArn: str('rotation-function-arn'),
    schedule: str('schedule'),
    requestsPerSecond: str('requests-per-second'),
    concurrency: str('concurrency'),
    kmsKeyId: str('kms-key-id'),
    json: flag('json'),
    dryRun: flag('dry-run'),
    yes: flag('yes'),
  };
}

function durationOption(values: ParsedCommand['values'], key: string): number | undefined {
  const text = values[key];
  if (typeof text !== 'string') return undefined;
  const ms = parseDuration(text);
  if (ms === undefined) {
    throw new UsageError(`--${key} '${text}' is not a duration`, 'write it as <n>s, <n>m or <n>h, e.g. 5m', {
      setting: `--${key}`,
    });
  }
  return ms;
}

async function dispatch(
  command: CommandName,
  values: ParsedCommand['values'],
  globals: GlobalOptions,
  deps: CliDeps,
): Promise<number> {
  const str = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  const flag = (key: string) => values[key] === true;
  switch (command) {
    case 'onboard': {
      const optional = (key: string, name: string) => (str(key) !== undefined ? { [name]: str(key) } : {});
      return onboard(deps, {
        secretName: str('secret-name')!,
        environmentId: str('environment-id')!,
        resourceId: str('resource-id'),
        applicationId: str('application-id'),
        ...(globals.settings.region ? { pingoneRegion: globals.settings.region } : {}),
        ...optional('previous-secret-ttl', 'previousSecretTtl'),
        ...optional('rotation-function-arn', 'rotationFunctionArn'),
        ...optional('schedule', 'schedule'),
        ...optional('window', 'window'),
        ...optional('kms-key-id', 'kmsKeyId'),
        ...optional('prefix', 'secretNamePrefix'),
        force: flag('force'),
        rebind: flag('rebind'),
        yes: flag('yes'),
        ...optional('accept-readers', 'acceptReaders'),
      });
    }
    case 'rebind':
      return rebind(deps, {
        secretId: str('secret-id')!,
        yes: flag('yes'),
        ...(str('accept-readers') !== undefined ? { acceptReaders: str('accept-readers') } : {}),
      });
    case 'status': {
      const stuckAfterMs = durationOption(values, 'stuck-after');
      return status(deps, {
        secretId: str('secret-id')!,
        json: flag('json'),
        showSecrets: flag('show-secrets'),
        strict: flag('strict'),
        ...(stuckAfterMs !== undefined ? { stuckAfterMs } : {}),
      });
    }
    case 'rotate': {
      const timeoutMs = durationOption(values, 'timeout');
      return rotate(deps, {
        secretId: str('secret-id')!,
        wait: flag('wait'),
        force: flag('force'),
        settleWait: !flag('no-settle-wait'),
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      });
    }
    case 'unstick':
      return unstick(deps, { secretId: str('secret-id')!, yes: flag('yes'), dryRun: flag('dry-run') });
    case 'audit': {
      const nearExpiryMs = durationOption(values, 'near-expiry');
      const stuckAfterMs = durationOption(values, 'stuck-after');
      return audit(deps, {
        ...(str('prefix') ? { prefix: str('prefix') } : {}),
        ...(str('rotation-function-arn') ? { rotationFunctionArn: str('rotation-function-arn') } : {}),
        json: flag('json'),
        ...(nearExpiryMs !== undefined ? { nearExpiryMs } : {}),
        ...(stuckAfterMs !== undefined ? { stuckAfterMs } : {}),
      });
    }
    case 'report':
      return report(deps, {
        from: str('from'),
        to: str('to'),
        format: str('format'),
        out: str('out'),
        prefix: str('prefix'),
        policy: str('policy'),
        rotationFunctionArn: str('rotation-function-arn'),
      });
    case 'import-terraform':
      return importTerraform(deps, {
        file: str('file')!,
        out: str('out'),
        emit: str('emit'),
        nameTemplate: str('name-template'),
        ...fleetFlags(str, flag, globals),
      });
    case 'onboard-fleet':
      return onboardFleet(deps, { manifest: str('manifest')!, ...fleetFlags(str, flag, globals) });
    case 'onboard-worker-pair':
      return onboardWorkerPair(deps, {
        environmentId: str('environment-id')!,
        workerA: str('worker-a')!,
        workerB: str('worker-b')!,
        secretNameA: str('secret-name-a'),
        secretNameB: str('secret-name-b'),
        pingoneRegion: globals.settings.region,
        prefix: str('prefix'),
        rotationFunctionArn: str('rotation-function-arn'),
        schedule: str('schedule'),
        window: str('window'),
        previousSecretTtl: str('previous-secret-ttl'),
        kmsKeyId: str('kms-key-id'),
        organizationId: str('organization-id'),
        json: flag('json'),
      });
    case 'doctor':
      return doctor(deps, { json: flag('json') });
    default: {
      const unreachable: never = command;
      throw new UsageError(`unknown command '${String(unreachable)}'`, `see ${PROGRAM} --help`);
    }
  }
}
