/** The command line's shape: the global and per-command options, and argv parsed against them. */

import { parseArgs } from 'node:util';
import { type GivenSettings, SETTINGS, type Setting } from '../lib/settings.js';
import type { GlobalOptions } from './deps.js';
import { PROGRAM, UsageError } from './errors.js';
import { parseDuration } from './format.js';

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

export const GLOBAL_OPTIONS = {
  region: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  'worker-parameter': { type: 'string' },
  workers: { type: 'string' },
  'pingone-region': { type: 'string' },
  'pingone-api-url': { type: 'string' },
  'pingone-auth-url': { type: 'string' },
  'ledger-table': { type: 'string' },
  'aws-timeout': { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const satisfies Record<string, OptionSpec>;

/** The options of the fleet commands (onboard-fleet, import-terraform). */
const FLEET_OPTIONS = {
  prefix: { type: 'string' },
  'rotation-function-arn': { type: 'string' },
  schedule: { type: 'string' },
  'requests-per-second': { type: 'string' },
  concurrency: { type: 'string' },
  'kms-key-id': { type: 'string' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  yes: { type: 'boolean', short: 'y' },
} as const satisfies Record<string, OptionSpec>;

export const COMMANDS = {
  onboard: {
    options: {
      'secret-name': { type: 'string' },
      'environment-id': { type: 'string' },
      'resource-id': { type: 'string' },
      'application-id': { type: 'string' },
      'previous-secret-ttl': { type: 'string' },
      'rotation-function-arn': { type: 'string' },
      schedule: { type: 'string' },
      window: { type: 'string' },
      'kms-key-id': { type: 'string' },
      prefix: { type: 'string' },
      force: { type: 'boolean' },
      rebind: { type: 'boolean' },
      yes: { type: 'boolean', short: 'y' },
      'accept-readers': { type: 'string' },
      json: { type: 'boolean' },
    },
    // Exactly one of --resource-id and --application-id: checked by onboard itself.
    required: ['secret-name', 'environment-id'],
  },
  status: {
    options: {
      'secret-id': { type: 'string' },
      json: { type: 'boolean' },
      'show-secrets': { type: 'boolean' },
      'stuck-after': { type: 'string' },
      strict: { type: 'boolean' },
    },
    required: ['secret-id'],
  },
  rotate: {
    options: {
      'secret-id': { type: 'string' },
      wait: { type: 'boolean' },
      timeout: { type: 'string' },
      force: { type: 'boolean' },
      'no-settle-wait': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    required: ['secret-id'],
  },
  unstick: {
    options: {
      'secret-id': { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
    },
    required: ['secret-id'],
  },
  rebind: {
    options: {
      'secret-id': { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'accept-readers': { type: 'string' },
      json: { type: 'boolean' },
    },
    required: ['secret-id'],
  },
  audit: {
    options: {
      prefix: { type: 'string' },
      'rotation-function-arn': { type: 'string' },
      json: { type: 'boolean' },
      'near-expiry': { type: 'string' },
      'stuck-after': { type: 'string' },
    },
    required: [],
  },
  'onboard-fleet': {
    options: { manifest: { type: 'string' }, ...FLEET_OPTIONS },
    required: ['manifest'],
  },
  report: {
    options: {
      from: { type: 'string' },
      to: { type: 'string' },
      format: { type: 'string' },
      out: { type: 'string' },
      prefix: { type: 'string' },
      policy: { type: 'string' },
      'rotation-function-arn': { type: 'string' },
    },
    required: [],
  },
  'import-terraform': {
    options: {
      file: { type: 'string' },
      out: { type: 'string' },
      emit: { type: 'string' },
      'name-template': { type: 'string' },
      ...FLEET_OPTIONS,
    },
    required: ['file'],
    positional: 'file',
  },
  'onboard-worker-pair': {
    options: {
      'environment-id': { type: 'string' },
      'worker-a': { type: 'string' },
      'worker-b': { type: 'string' },
      'secret-name-a': { type: 'string' },
      'secret-name-b': { type: 'string' },
      prefix: { type: 'string' },
      'rotation-function-arn': { type: 'string' },
      schedule: { type: 'string' },
      window: { type: 'string' },
      'previous-secret-ttl': { type: 'string' },
      'kms-key-id': { type: 'string' },
      'organization-id': { type: 'string' },
      json: { type: 'boolean' },
    },
    required: ['environment-id', 'worker-a', 'worker-b', 'rotation-function-arn', 'schedule'],
  },
  doctor: {
    options: { json: { type: 'boolean' } },
    required: [],
  },
} as const satisfies Record<
  string,
  { options: Record<string, OptionSpec>; required: readonly string[]; positional?: string }
>;

export type CommandName = keyof typeof COMMANDS;

export interface ParsedCommand {
  readonly command: CommandName | undefined;
  readonly help: boolean;
  readonly globals: GlobalOptions;
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
}

/** Parses argv (without node and the script). Throws UsageError. */
export function parseCommandLine(argv: readonly string[]): ParsedCommand {
  const first = argv[0];
  const command = first !== undefined && !first.startsWith('-') ? first : undefined;
  if (command !== undefined && !Object.hasOwn(COMMANDS, command)) {
    throw new UsageError(
      `unknown command '${command}'`,
      `use one of ${Object.keys(COMMANDS).join(', ')} (see --help)`,
    );
  }
  const name = command as CommandName | undefined;
  const options = { ...GLOBAL_OPTIONS, ...(name ? COMMANDS[name].options : {}) };
  let values: Record<string, string | boolean | undefined>;
  try {
    const positional: string | undefined = name
      ? (COMMANDS[name] as { positional?: string }).positional
      : undefined;
    const parsed = parseArgs({
      args: [...(name ? argv.slice(1) : argv)],
      options,
      strict: true,
      allowPositionals: positional !== undefined,
    });
    values = parsed.values as Record<string, string | boolean | undefined>;
    // A command's one positional argument stands for its option (import-terraform <file> = --file <file>).
    if (positional !== undefined && parsed.positionals.length > 0) {
      if (parsed.positionals.length > 1 || values[positional] !== undefined) {
        throw Object.assign(new Error(`'${parsed.positionals.at(-1)}'`), {
          code: 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
        });
      }
      values[positional] = parsed.positionals[0];
    }
  } catch (error) {
    const code = (error as { code?: string }).code;
    const quoted = /'([^']+)'/.exec((error as Error).message)?.[1];
    const where = name ? `${PROGRAM} ${name} --help` : `${PROGRAM} --help`;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option '${quoted ?? '?'}'${name ? ` for ${name}` : ''}`, `see ${where}`, {
        ...(quoted ? { setting: quoted } : {}),
      });
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`option ${quoted ?? ''} needs a value`.replace(/\s+/g, ' '), `see ${where}`, {
        ...(quoted ? { setting: quoted.split(/[ ,]/)[0] ?? quoted } : {}),
      });
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      throw new UsageError(
        `unexpected argument '${quoted ?? '?'}'`,
        `options take the form --name value; see ${where}`,
      );
    }
    throw new UsageError((error as Error).message, `see ${where}`);
  }
  const str = (key: string) => (typeof values[key] === 'string' ? (values[key] as string) : undefined);
  return {
    command: name,
    help: values.help === true,
    globals: {
      region: str('region'),
      profile: str('profile'),
      endpointUrl: str('endpoint-url'),
      settings: givenSettings(str),
      awsTimeoutMs: awsTimeout(str('aws-timeout')),
      debug: values.debug === true,
    },
    values,
  };
}

/** The function's settings given by flags, named in the settings table (lib/settings.ts SETTINGS). */
function givenSettings(str: (key: string) => string | undefined): GivenSettings {
  const given: { [S in Setting]?: string } = {};
  for (const [setting, entry] of Object.entries(SETTINGS) as [Setting, { flag?: string }][]) {
    const value = entry.flag ? str(entry.flag.slice(2)) : undefined;
    // PingOne's regions are upper-case (EU); `eu` means the same.
    if (value !== undefined) given[setting] = setting === 'region' ? value.toUpperCase() : value;
  }
  return given;
}

function awsTimeout(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const ms = parseDuration(text);
  if (ms === undefined || ms < 1_000) {
    throw new UsageError(
      `--aws-timeout '${text}' is not a duration of 1s or more`,
      'write it as <n>s or <n>m, e.g. 30s',
      { setting: '--aws-timeout' },
    );
  }
  return ms;
}
