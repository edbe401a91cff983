import { readFile, writeFile } from 'node:fs/promises';
import type { CliDeps } from '../deps.js';
import { UsageError } from '../errors.js';
import { line } from '../format.js';
import type { OnboardingItem } from '../onboarding/items.js';
import { runFleet } from '../onboarding/run-fleet.js';
import { parseTerraformJson, type TerraformSecret } from '../onboarding/terraform.js';
import { type EmitMode, emitTerraform, modeFor } from '../onboarding/terraform-emit.js';
import { type FleetCommonOptions, fleetOptions, withDefaults } from './onboard-fleet.js';

export interface ImportTerraformOptions extends FleetCommonOptions {
  readonly file: string;
  /** Where the Terraform to apply afterwards is written. */
  readonly out?: string | undefined;
  /** removed (Terraform ≥ 1.7) or state-rm; default from the file's terraform_version. */
  readonly emit?: string | undefined;
  /** The secret name: {prefix}, {path}, {kind}, {environmentId}, {ownerId}. */
  readonly nameTemplate?: string | undefined;
}

export const DEFAULT_NAME_TEMPLATE = '{prefix}{path}';

/**
 * `import-terraform <file>`: the PingOne secrets Terraform manages (from `terraform show -json`) onboarded
 * through the onboarding engine, then the Terraform that makes Terraform forget them written to a file.
 */
export async function importTerraform(deps: CliDeps, options: ImportTerraformOptions): Promise<number> {
  // A bad flag is named before the file is read.
  if (options.emit !== undefined && options.emit !== 'removed' && options.emit !== 'state-rm') {
    throw new UsageError(
      `--emit '${options.emit}' is not removed or state-rm`,
      'removed needs Terraform 1.7 or later',
      { setting: '--emit' },
    );
  }
  const fleet = fleetOptions(options);
  let text: string;
  try {
    text = await readFile(options.file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read ${options.file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
      'pass the output of `terraform show -json`',
      { setting: '--file' },
    );
  }
  const findings = parseTerraformJson(text, options.file);
  const mode: EmitMode = (options.emit as EmitMode | undefined) ?? modeFor(findings.terraformVersion);
  const out =
    options.out ?? (mode === 'removed' ? 'pingone-rotation-removed.tf' : 'pingone-rotation-state-rm.sh');
  const template = options.nameTemplate ?? DEFAULT_NAME_TEMPLATE;
  const unusable: { secret: TerraformSecret; why: string }[] = [];
  const pairs: { secret: TerraformSecret; item: OnboardingItem }[] = [];
  for (const secret of findings.secrets) {
    if (!secret.environmentId || !secret.ownerId) {
      unusable.push({
        secret,
        why: 'its ids are not known yet (create it with Terraform first, or use the state)',
      });
      continue;
    }
    const schedule = secret.rotation?.schedule ?? options.schedule;
    const item = withDefaults(
      {
        secretName: template
          .replaceAll('{prefix}', fleet.prefix)
          .replaceAll('{path}', secret.path.join('/'))
          .replaceAll('{kind}', secret.kind)
          .replaceAll('{environmentId}', secret.environmentId)
          .replaceAll('{ownerId}', secret.ownerId),
        environmentId: secret.environmentId,
        kind: secret.kind,
        ownerId: secret.ownerId,
        ...(schedule ? { schedule } : {}),
        source: secret.address,
      },
      { ...options, schedule: undefined },
    );
    pairs.push({ secret, item });
  }
  if (findings.secrets.length === 0) {
    throw new UsageError(
      `${options.file} has no pingone_resource_secret or pingone_application_secret`,
      'nothing to import; check that it is the right state',
    );
  }
  const preface = [
    `Terraform ${findings.kind} ${options.file}${findings.terraformVersion ? ` (Terraform ${findings.terraformVersion})` : ''}: ` +
      `${findings.secrets.length} PingOne secret${findings.secrets.length === 1 ? '' : 's'}.`,
    ...pairs.map(({ secret, item }) => {
      const r = secret.rotation;
      const schedule = r
        ? r.schedule
          ? `${r.schedule} from ${r.address} (${r.period}, found by ${r.via})${r.note ? `; ${r.note}` : ''}`
          : `${options.schedule ?? 'none'}: ${r.address} (${r.period}) ${r.note ?? 'cannot be a schedule'}`
        : `${item.schedule ?? 'none'} (no time_rotating found${item.schedule ? '; from --schedule' : ''})`;
      return `  ${secret.address} -> ${item.secretName}: ${secret.kind} ${secret.ownerId}; schedule ${schedule}`;
    }),
    ...unusable.map(({ secret, why }) => `  ${secret.address}: skipped, ${why}`),
  ];
  const jsonExtra: Record<string, unknown> = {
    terraform: {
      file: options.file,
      kind: findings.kind,
      version: findings.terraformVersion ?? null,
      emit: mode,
      out,
      skipped: unusable.map(({ secret, why }) => ({ address: secret.address, why })),
    },
  };
  const items = pairs.map((p) => p.item);
  const dryRunText = options.dryRun
    ? emitTerraform({
        findings,
        imported: pairs.map((p) => p.secret),
        left: unusable,
        source: options.file,
        mode,
        now: new Date(deps.now()),
      }).text
    : undefined;
  if (dryRunText !== undefined) (jsonExtra.terraform as Record<string, unknown>).text = dryRunText;
  const say = (t = '') => line(options.json ? deps.err : deps.out, t);
  const code = await runFleet(deps, items, {
    ...fleet,
    preface,
    jsonExtra,
    after: async (result) => {
      const imported = pairs
        .filter((_, i) => ['onboarded', 'completed', 'unchanged'].includes(result.results[i]?.outcome ?? ''))
        .map((p) => p.secret);
      const left = [
        ...unusable,
        ...pairs.flatMap((p, i) => {
          const r = result.results[i];
          return r && !['onboarded', 'completed', 'unchanged'].includes(r.outcome)
            ? [{ secret: p.secret, why: r.outcome === 'failed' ? (r.error ?? 'failed') : 'not started' }]
            : [];
        }),
      ];
      const emitted = emitTerraform({
        findings,
        imported,
        left,
        source: options.file,
        mode,
        now: new Date(deps.now()),
      });
      await writeFile(out, emitted.text);
      Object.assign(jsonExtra.terraform as object, {
        forgotten: emitted.forgotten,
        timeRotatingForgotten: emitted.rotatingForgotten,
        timeRotatingKept: emitted.rotatingKept.map((r) => r.configAddress),
        text: emitted.text,
      });
      say(
        `Wrote ${out}: ${mode === 'removed' ? `${emitted.forgotten.length} removed block(s) for the secrets` : `${emitted.forgotten.length} terraform state rm command(s)`}` +
          `${emitted.rotatingForgotten.length ? ` and ${emitted.rotatingForgotten.length} for their time_rotating` : ''}; apply it as its comments say:`,
      );
      if (!options.json) deps.out.write(`${emitted.text}\n`);
    },
  });
  if (dryRunText !== undefined && !options.json) {
    say(`The Terraform it would write to ${out} (not written in a dry run):`);
    deps.out.write(`${dryRunText}\n`);
  }
  return code;
}
