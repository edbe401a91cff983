/**
 * Argument parsing, help, dispatch and the one-line error: everything `pingone-rotation` does between
 * argv and an exit code, with the dependencies injected so tests run it in-process.
 */

import { parseArgs } from 'node:util';
import { type GivenSettings, SETTINGS, type Setting } from '../lib/config.js';
import { redactText } from '../lib/redact.js';
import { ROTATION_FIXES, verdictExitHelp } from '../lib/status/verdicts.js';
import pkg from '../package.json' with { type: 'json' };
import { AUDIT_EXIT, audit, DEFAULT_AUDIT_PREFIX } from './commands/audit.js';
import { DEFAULT_NAME_TEMPLATE, importTerraform } from './commands/import-terraform.js';
import { onboard } from './commands/onboard.js';
import {
  DEFAULT_CONCURRENCY,
  DEFAULT_REQUESTS_PER_SECOND,
  type FleetCommonOptions,
  onboardFleet,
} from './commands/onboard-fleet.js';
import { rebind } from './commands/rebind.js';
import { DEFAULT_REPORT_DAYS, report } from './commands/report.js';
import { DEFAULT_ROTATE_TIMEOUT_MS, rotate } from './commands/rotate.js';
import { DEFAULT_STUCK_AFTER_MS, NOT_ROTATING_STRICT_EXIT, status } from './commands/status.js';
import { unstick } from './commands/unstick.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import type { CliDeps, GlobalOptions } from './deps.js';
import { describeError, EXIT, PROGRAM, UsageError } from './errors.js';
import { duration, type Output, parseDuration } from './format.js';

type OptionSpec = { type: 'string' | 'boolean'; short?: string };

const GLOBAL_OPTIONS = {
  region: { type: 'string' },
  profile: { type: 'string' },
  'endpoint-url': { type: 'string' },
  'worker-parameter': { type: 'string' },
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

const COMMANDS = {
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
    },
    required: ['secret-id'],
  },
  unstick: {
    options: {
      'secret-id': { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'dry-run': { type: 'boolean' },
    },
    required: ['secret-id'],
  },
  rebind: {
    options: {
      'secret-id': { type: 'string' },
      yes: { type: 'boolean', short: 'y' },
      'accept-readers': { type: 'string' },
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
} as const satisfies Record<
  string,
  { options: Record<string, OptionSpec>; required: readonly string[]; positional?: string }
>;

export type CommandName = keyof typeof COMMANDS;

const GLOBAL_HELP = `Options for every command:
  --region R              AWS region (default: the SDK's chain, AWS_REGION / profile)
  --profile P             AWS profile (default: the SDK's default credential chain)
  --endpoint-url URL      AWS endpoint (also AWS_ENDPOINT_URL); a loopback URL means the local world (moto)
  --worker-parameter N    SSM SecureString with the PingOne worker credentials (PINGONE_WORKER_PARAMETER)
  --pingone-region R      default PingOne region: NA, EU, CA, AU, SG, AP, any case (PINGONE_REGION, default NA)
  --pingone-api-url T     PingOne API base URL template, {tld}/{region} expanded (PINGONE_API_URL)
  --pingone-auth-url T    PingOne auth base URL template (PINGONE_AUTH_URL)
  --ledger-table T        the rotation ledger DynamoDB table (ROTATION_LEDGER_TABLE; stack output
                          RotationLedgerTableName)
  --aws-timeout D         give up on an AWS request unanswered after D, each attempt (default 10s)
  --debug                 print the stack of an error (and, locally, the rotation function's logs)
  -h, --help              this help
  --version               print the version`;

const EXIT_HELP = `Exit codes:
  0  success; status: healthy, or not-rotating (a note)
  1  error: an AWS or PingOne call failed, a rotation failed or timed out, unstick refused or cancelled
  2  usage: a bad or missing option or setting
  130 interrupted (Ctrl-C / SIGTERM): rotate stopped at a step boundary and printed how to continue
  status verdicts (rotate exits with the same code when it refuses the state; --force skips that check):
${verdictExitHelp()}
  audit: ${AUDIT_EXIT.unhealthy} when any secret needs attention, 1 when one could not be judged`;

const USAGE = `Usage: ${PROGRAM} <command> [options]   (install: npm link in the checkout; never npx elsewhere)

Operate PingOne client secrets (custom resources and OIDC applications) rotated by AWS Secrets Manager.

Commands:
  onboard   bring a PingOne CUSTOM resource's or OIDC application's secret under Secrets Manager (and rotation)
  status    versions, labels, rotation and PingOne's view; a verdict and an exit code
  rotate    rotate now, with live progress (--wait)
  unstick   recover a rotation left with AWSPENDING
  rebind    move a PingOne owner's rotation ledger binding to this secret (proof of possession, confirmation)
  audit     every secret under a prefix, judged like status: the fleet auditor's run, read-only
  onboard-fleet   onboard every secret a manifest (CSV or JSON) lists; resumable, paced, with progress
  report    the compliance report for a period (CSV, JSON or one HTML page): rotations, gaps, policy, findings
  import-terraform <file>   onboard the secrets a Terraform state/plan (terraform show -json) manages, and
                  write the Terraform that makes Terraform forget them without regenerating them
  completion bash|zsh   print a shell completion script (source <(${PROGRAM} completion bash))

Run '${PROGRAM} <command> --help' for a command's options.
No secret value is ever printed, except by 'status --show-secrets'.

${GLOBAL_HELP}

${EXIT_HELP}
`;

const FLEET_HELP = `  --prefix P                  the stack's secret-name prefix (default pingone/): other names are refused
  --rotation-function-arn A   the rotation function to attach on each item's schedule (RotateFunctionArn)
  --schedule S                the schedule of items that name none, e.g. "rate(30 days)"
  --requests-per-second N     PingOne requests per second, at most (default ${DEFAULT_REQUESTS_PER_SECOND}; the worker's token included)
  --concurrency N             items in progress at once (default ${DEFAULT_CONCURRENCY})
  --kms-key-id K              KMS key for the new secrets
  --dry-run                   print the plan, read and change nothing
  --json                      the report as JSON on stdout (every item, its outcome and changes)
  --yes, -y                   do not ask (required when stdin is not a terminal)

Progress: on a terminal a bar with counts and an ETA (stderr); otherwise one line per item.`;

const AUDIT_HELP = `Usage: ${PROGRAM} audit [--prefix pingone/] [--rotation-function-arn ARN] [--json] [--near-expiry 24h] [--stuck-after 15m]

The fleet auditor's run from here: lists the secrets under --prefix (default ${DEFAULT_AUDIT_PREFIX}), keeps those rotated by
--rotation-function-arn (default: every one), judges each exactly as status does (verdicts, warnings), looks
for secrets naming the same PingOne owner, and prints a verdict count and one line per secret that needs
attention. Read-only: it never retires a previous secret. Exits ${AUDIT_EXIT.healthy} when nothing needs attention, ${AUDIT_EXIT.unhealthy} when
something does, 1 when a secret could not be judged.

  --prefix P                 secret-name prefix (the stack's secretNamePrefix)
  --rotation-function-arn A  only secrets rotated by this function (the stack's RotateFunctionArn)
  --json                     the whole result as JSON (no secret values)
  --near-expiry D            previous-in-use-near-expiry threshold (default 24h)
  --stuck-after D            an AWSPENDING older than this is stuck (default ${duration(DEFAULT_STUCK_AFTER_MS)})

${GLOBAL_HELP}
`;

const COMMAND_HELP: Record<CommandName, string> = {
  onboard: `Usage: ${PROGRAM} onboard --secret-name N --environment-id E (--resource-id R | --application-id A) [options]

Reads the resource (it must be CUSTOM) or the application (it must be OpenID Connect, and not the rotation
function's own worker app) and its current secret from PingOne as the rotation function's worker app, and
creates the secret {environmentId, resourceId|applicationId, clientSecret, region} with the tags
pingone:environment-id, pingone:resource-id|pingone:application-id (and pingone:previous-secret-ttl). With --rotation-function-arn and
--schedule it attaches rotation without rotating now: Secrets Manager runs testSecret only, so the first
scheduled rotation starts from a secret PingOne knows.

  --secret-name N             the Secrets Manager secret to create (or, with --force, update)
  --environment-id E          PingOne environment id (UUID)
  --resource-id R             PingOne CUSTOM resource id (UUID), or
  --application-id A          PingOne OIDC application id (UUID); SAML apps and the worker's own app are refused
  --pingone-region R          the owner's PingOne region (default PINGONE_REGION, else NA)
  --previous-secret-ttl T     how long PingOne keeps the replaced secret, 1m..30d, e.g. 7d (tag)
  --rotation-function-arn A   attach this rotation function ...
  --schedule S                ... on this schedule: rate(30 days), rate(12 hours), cron(...)
  --window W                  rotation window in hours, e.g. 4h
  --kms-key-id K              KMS key for the secret
  --prefix P                  the stack's secretNamePrefix (stack output SecretNamePrefix; default pingone/):
                              a --secret-name outside it is refused, since the function could never rotate it
  --force                     the secret exists: store PingOne's current secret as its AWSCURRENT (the drift fix)
  --rebind                    another secret holds the resource or application (rotation ledger binding, or
                              its pingone:resource-id / pingone:application-id tag): take it over, after
                              confirmation (the other secret's rotations are refused)
  --yes, -y                   confirm --rebind without asking (required when stdin is not a terminal)
  --accept-readers R          --force into an existing secret shows who can read it (resource policy, KMS key)
                              and asks; without a terminal, R must repeat what it found, e.g.
                              'policy=none;kms=aws/secretsmanager'

The secret is bound to its owner in the rotation ledger (ROTATION_LEDGER_TABLE / --ledger-table): onboard read
PingOne's current secret, which proves possession. An owner another secret holds is refused, naming it.

${GLOBAL_HELP}
`,
  status: `Usage: ${PROGRAM} status --secret-id S [--json] [--show-secrets] [--stuck-after 15m] [--strict]

Versions and labels, rotation configuration (last and next rotation), and PingOne's side: whether AWSCURRENT
is PingOne's current secret, its previous one, or neither; when the previous one expires and was last used;
an outstanding AWSPENDING. Ends with a one-line verdict and exits with its code.

  --secret-id S        name or ARN
  --json               one JSON object (no secret values)
  --show-secrets       also print the secret values (AWSCURRENT, AWSPENDING, PingOne's current/previous)
  --stuck-after D      an AWSPENDING older than this is stuck, younger is in progress (default ${duration(DEFAULT_STUCK_AFTER_MS)})
  --strict             not-rotating exits ${NOT_ROTATING_STRICT_EXIT} instead of 0

${EXIT_HELP}

${GLOBAL_HELP}
`,
  rotate: `Usage: ${PROGRAM} rotate --secret-id S [--wait] [--timeout 5m] [--force] [--no-settle-wait]

Checks the secret as \`status\` does, and refuses (with the verdict's exit code) unless a rotation fixes the state
or leaves it fine: ${[...ROTATION_FIXES].join(', ')}. Then starts a rotation (RotateSecret). With --wait, follows it with a live progress line until the new version is
AWSCURRENT, the rotation is abandoned, or --timeout (default ${duration(DEFAULT_ROTATE_TIMEOUT_MS)}) passes.
In the local world (a loopback AWS endpoint) there is no rotation service: the steps run in this process
through the local rotation driver, with the built bundle dist/rotate/index.mjs (or lib/handler.ts without it).

  --secret-id S   name or ARN
  --wait          follow the rotation until it ends (implied in the local world)
  --timeout D     give up following after D, e.g. 90s, 5m
  --force         skip the status check (a rotation of a drifted or misconfigured secret fails and leaves AWSPENDING)
  --no-settle-wait  when an earlier regenerate of the owner may still be in flight (the rotation ledger's intent,
                  e.g. right after unstick), say until when and exit, changing nothing; by default rotate waits
                  for it to settle, with a countdown on a terminal

Ctrl-C (or SIGTERM) never cuts a step short: in the local world the running step finishes, the rotation stops
before the next one, and rotate prints the labels, whether PingOne regenerated, and the one command that
continues; against the service it stops following (the rotation goes on). Exit 130.

${GLOBAL_HELP}
`,
  rebind: `Usage: ${PROGRAM} rebind --secret-id S [--yes] [--accept-readers R]

Moves the rotation ledger binding of the PingOne owner the secret names to this secret, so that its rotations
are accepted and those of the secret bound before are refused. The secret's AWSCURRENT must be PingOne's
current secret (read as the worker app): that is the proof of possession. Prints the plan, asks before doing it.
Refused while a rotation of the owner may have a regenerate in flight.

  --secret-id S  name or ARN of the secret that should own the PingOne secret
  --yes, -y      do not ask (required when stdin is not a terminal)
  --accept-readers R  who may read the secret (resource policy, KMS key), as rebind shows it: required with
                 --yes when stdin is not a terminal, e.g. 'policy=none;kms=aws/secretsmanager'

${GLOBAL_HELP}
`,
  audit: AUDIT_HELP,
  report: `Usage: ${PROGRAM} report [--from 2026-09-01] [--to 2026-12-01] [--format csv|json|html] [--out F] [--policy 30d]

The evidence a compliance review asks for, for a period: each secret under --prefix, its PingOne owner (the
rotation ledger's binding), every rotation (when, manual or scheduled — a manual one with who asked —, its
outcome: rotated, failed, superseded, unfinished), the longest gap between rotations against the policy,
the secrets out of policy, and the fleet audit's findings (drift, duplicate owners, ...). From the ledger's
history (the last 100 rotations of each owner) and Secrets Manager; read-only. No secret value appears in
any format. Rotations count as manual when \`${PROGRAM} rotate\` asked for them (it records the request in the
ledger table first); any other counts as scheduled.

  --from D, --to D        the period (dates or ISO times; default the last ${DEFAULT_REPORT_DAYS} days to now)
  --format F              csv (one row per rotation), json, or html (one self-contained page: fleet totals
                          and a timeline per secret); default from --out's extension, else json
  --out F                 write to F (default stdout)
  --policy D              the longest allowed time between rotations, e.g. 30d (default: each secret's
                          schedule interval + 1 day)
  --prefix P              secret-name prefix (default pingone/)
  --rotation-function-arn A   only secrets rotated by this function

Needs dynamodb:Scan on the ledger table, plus what audit needs.

${GLOBAL_HELP}
`,
  'import-terraform': `Usage: ${PROGRAM} import-terraform <file> [--rotation-function-arn A] [--out F] [options]

Reads \`terraform show -json\` output (of the state, or of a saved plan) and finds every
pingone_resource_secret and pingone_application_secret, in the root module and in nested child modules,
with their environment and resource/application ids, and the time_rotating behind each one's
regenerate_trigger_values (by the plan's configuration references, the state's depends_on, or the trigger's
value). Each is onboarded as onboard-fleet does (PingOne's CURRENT secret, never regenerated; tags; ledger
binding; rotation on the schedule carried over from its time_rotating, rotation_days = 30 -> rate(30 days),
or --schedule). The secret and previous secret the state holds are never read or printed.

Then it writes (and prints) the Terraform to apply so Terraform forgets the imported secrets without
destroying or regenerating them: removed { from = ...; lifecycle { destroy = false } } blocks for Terraform
1.7 and later, or the terraform state rm commands for older Terraform, plus the time_rotating that only drove
them; the comments say which blocks to delete and the interim ignore_changes. Secrets that failed are left
to Terraform and named in the file; run the command again to complete them.

  <file>, --file F            terraform show -json output (state or plan)
  --out F                     where to write the Terraform (default pingone-rotation-removed.tf, or
                              pingone-rotation-state-rm.sh for state-rm)
  --emit removed|state-rm     default: removed if the file's terraform_version is 1.7 or later
  --name-template T           secret names (default ${DEFAULT_NAME_TEMPLATE}): {prefix}, {path} (module names and
                              keys, then the resource name: module.apps["web"].pingone_application_secret.oidc
                              -> apps/web/oidc), {kind}, {environmentId}, {ownerId}
${FLEET_HELP}

${GLOBAL_HELP}
`,
  'onboard-fleet': `Usage: ${PROGRAM} onboard-fleet --manifest FILE [--rotation-function-arn A] [options]

Onboards every secret the manifest lists, as onboard does one: reads the owner's CURRENT secret from PingOne
as the worker app (never regenerates), creates the secret {environmentId, resourceId|applicationId,
clientSecret, region} with the owner tags, binds the owner to it in the rotation ledger (proof of
possession), adds the row's tags and attaches rotation on the row's schedule. Names outside --prefix are
refused before anything is created. Prints the plan and asks (naming the count) before it starts.

Idempotent and resumable: run it again after a crash, Ctrl-C or a failure and it completes what is missing
(an existing secret holding the owner's current secret is taken over, not duplicated) and leaves done items
unchanged. A failed item does not stop the others. Exit 0 when every item succeeded, 1 when one failed,
130 when interrupted (the running items finish first).

Manifest: CSV with a header row, or JSON (an array or {"items": [...]}). Columns/keys (case, _ and -
ignored): secretName, environmentId, and kind + ownerId or resourceId or applicationId; optional region,
schedule (rate(30 days), cron(...)), window (4h), ttl (7d) and tags (JSON object, or CSV key=value;key=value).

  --manifest FILE             the manifest
${FLEET_HELP}

${GLOBAL_HELP}
`,
  unstick: `Usage: ${PROGRAM} unstick --secret-id S [--yes] [--dry-run]

Finds a version with AWSPENDING that is not AWSCURRENT. If it holds a value PingOne already uses as its current
secret, finishing the rotation is the safe recovery (AWSCURRENT moves to it); otherwise (an empty placeholder,
or a value PingOne does not use) the AWSPENDING label is removed. Prints the exact plan, asks before doing it.

  --yes, -y     do not ask (required when stdin is not a terminal)
  --dry-run     print the plan only

${GLOBAL_HELP}
`,
};

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
      throw new UsageError(`unknown option '${quoted ?? '?'}'${name ? ` for ${name}` : ''}`, `see ${where}`);
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(`option ${quoted ?? ''} needs a value`.replace(/\s+/g, ' '), `see ${where}`);
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

/** The function's settings given by flags, named in the settings table (lib/config.ts SETTINGS). */
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
    );
  }
  return ms;
}

export function helpText(command: CommandName | undefined): string {
  return command ? COMMAND_HELP[command] : USAGE;
}

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
      );
    }
    const deps = await makeDeps(parsed.globals);
    return await dispatch(parsed.command, parsed.values, parsed.globals, deps);
  } catch (error) {
    // describeError redacts the line; the stack of an AWS SDK or transport error is redacted here.
    const { line, exitCode } = describeError(error, {
      ...(endpoint ? { endpoint } : {}),
      ...(secretId ? { secretId } : {}),
      ...(profile ? { profile } : {}),
      ...(region ? { region } : {}),
    });
    io.err.write(`${PROGRAM}: ${line}\n`);
    if (statusJson) {
      const failure = { secretId: secretId ?? null, verdict: null, exitCode, error: line };
      io.out.write(`${JSON.stringify(failure, null, 2)}\n`);
    }
    if (debug) io.err.write(`${redactText(stackOf(error))}\n`);
    return exitCode;
  }
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
    throw new UsageError(`--${key} '${text}' is not a duration`, 'write it as <n>s, <n>m or <n>h, e.g. 5m');
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
    default: {
      const unreachable: never = command;
      throw new UsageError(`unknown command '${String(unreachable)}'`, `see ${PROGRAM} --help`);
    }
  }
}
