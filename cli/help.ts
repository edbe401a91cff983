/** The CLI's help: the usage, each command's help, the global options and the exit codes. */

import { ROTATION_FIXES } from '../lib/status/verdicts.js';
import type { CommandName } from './command-line.js';
import { AUDIT_EXIT, DEFAULT_AUDIT_PREFIX } from './commands/audit.js';
import { DEFAULT_NAME_TEMPLATE } from './commands/import-terraform.js';
import { DEFAULT_CONCURRENCY, DEFAULT_REQUESTS_PER_SECOND } from './commands/onboard-fleet.js';
import { DEFAULT_REPORT_DAYS } from './commands/report.js';
import { DEFAULT_ROTATE_TIMEOUT_MS } from './commands/rotate-request.js';
import { DEFAULT_STUCK_AFTER_MS, NOT_ROTATING_STRICT_EXIT } from './commands/status.js';
import { PROGRAM } from './errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { duration } from './format.js';

const GLOBAL_HELP = `Options for every command:
  --region R              AWS region (default: the SDK's chain, AWS_REGION / profile)
  --profile P             AWS profile (default: the SDK's default credential chain)
  --endpoint-url URL      AWS endpoint (also AWS_ENDPOINT_URL); a loopback URL means the local world (moto)
  --worker-parameter N    SSM SecureString with the PingOne worker credentials (PINGONE_WORKER_PARAMETER)
  --workers JSON          the workers per PingOne organization: region, credential, environments (PINGONE_WORKERS)
  --pingone-region R      default PingOne region: NA, EU, CA, AU, SG, AP, any case (PINGONE_REGION, default NA)
  --pingone-api-url T     PingOne API base URL template, {tld}/{region} expanded (PINGONE_API_URL)
  --pingone-auth-url T    PingOne auth base URL template (PINGONE_AUTH_URL)
  --ledger-table T        the rotation ledger DynamoDB table (ROTATION_LEDGER_TABLE; stack output
                          RotationLedgerTableName)
  --aws-timeout D         give up on an AWS request unanswered after D, each attempt (default 10s)
  --debug                 print the stack of an error (and, locally, the rotation function's logs)
  -h, --help              this help
  --version               print the version`;

/** From the one exit-code table (cli/exit-codes.ts), as docs/cli.md's is. */
const EXIT_HELP = exitCodesHelp();

export const USAGE = `Usage: ${PROGRAM} <command> [options]   (install: npm link in the checkout; never npx elsewhere)

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
  onboard-worker-pair   two worker apps of one organization as rotated secrets, each rotated through the other
  doctor    each worker: its token, the environments it sees, the roles it lacks and where to grant them
  completion bash|zsh   print a shell completion script (source <(${PROGRAM} completion bash))

Run '${PROGRAM} <command> --help' for a command's options.
No secret value is ever printed, except by 'status --show-secrets'.

${GLOBAL_HELP}

${EXIT_HELP}
`;

/** --json of the commands that change one secret (cli/json-result.ts; docs/cli.md, JSON output). */
function jsonHelp(column: number): string {
  const pad = ' '.repeat(column);
  return (
    `  ${'--json'.padEnd(column - 2)}one JSON document on stdout: what was done, the secret, its owner, the\n` +
    `${pad}versions and verdict before and after, or the error ({code, message, setting}); every\n` +
    `${pad}other line goes to stderr, and a question needs --yes / --accept-readers instead`
  );
}

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
something does, 1 when a secret could not be judged or none was found under --prefix (the wrong region,
profile or prefix: an empty audit is never green).

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
${jsonHelp(30)}

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
${jsonHelp(18)}

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
${jsonHelp(17)}

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
  'onboard-worker-pair': `Usage: ${PROGRAM} onboard-worker-pair --environment-id E --worker-a ID --worker-b ID
         --rotation-function-arn A --schedule S [options]

Makes two worker apps of one PingOne organization rotate each other's secret. For each: reads its current
secret from PingOne (never regenerates; a worker never reads its own, so when the configured worker is one of
the pair, the other's credential reads it), creates the secret {environmentId, applicationId, clientSecret,
region} under --prefix with the tags pingone:environment-id and pingone:application-id (and
pingone:previous-secret-ttl), binds the worker to it in the rotation ledger (proof of possession) and attaches
rotation without rotating now. Every refusal (a secret holding something else, a worker held by another
secret, a rotation in flight) is found for both before anything is written. Idempotent: what is done already
is left alone, so running it again changes nothing and completes a run cut short. Then it prints the pair's
entries for the stack's workers param (PINGONE_WORKERS).

  --environment-id E          the PingOne environment of the two worker apps (UUID)
  --worker-a ID, --worker-b ID   the two worker apps' client ids (UUIDs)
  --secret-name-a N, --secret-name-b N   the secrets (default <prefix>workers/<client id>)
  --prefix P                  the stack's secretNamePrefix (default pingone/): other names are refused
  --rotation-function-arn A   the rotation function (stack output RotateFunctionArn) ...
  --schedule S                ... and its schedule: rate(30 days), rate(12 hours), cron(...)
  --window W                  rotation window in hours, e.g. 4h
  --previous-secret-ttl T     how long PingOne keeps a replaced worker secret, 1m..30d (tag): the time a warm
                              container holding it keeps working
  --kms-key-id K              KMS key for the new secrets
  --organization-id O         the PingOne organization's id, put in both printed entries as "organization":
                              the auditor and the rotations then draw on one rate budget (licence) for both
  --pingone-region R          the organization's region (default PINGONE_REGION, else NA)
  --json                      one JSON document on stdout: {ok, changed, workers[] with each secret and its
                              changes (created, tagged, bound, rotation-attached), workersSetting} or the
                              error ({code, message, setting}); every other line goes to stderr

${GLOBAL_HELP}
`,
  doctor: `Usage: ${PROGRAM} doctor [--json]

For each configured worker (PINGONE_WORKERS, or the single worker of PINGONE_WORKER_PARAMETER): reads its
credential, obtains a token from its region's auth service, lists the environments it can see and checks, on
every environment it must serve, the roles it needs: read client secrets, regenerate client secrets, read
applications. Says exactly what is missing (the permissions) and where to grant it (the role, the worker app,
the environment). Read-only: only the token request and GETs reach PingOne; no secret value is printed.

  --json    the report as JSON on stdout: workers[].environments[].missing[] with capability and permissions

Exit: 0 every worker has what it needs; 14 a worker lacks a role or cannot see an environment it must
serve; 1 a worker could not be checked (credential unreadable, token refused, PingOne unreadable).

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
${jsonHelp(16)}

${GLOBAL_HELP}
`,
};

export function helpText(command: CommandName | undefined): string {
  return command ? COMMAND_HELP[command] : USAGE;
}
