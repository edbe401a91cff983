import { describeOwner } from '../../lib/owner.js';
import { sameSecret } from '../../lib/secret-value.js';
import { AWSCURRENT } from '../../lib/secrets/secrets-store.js';
import { ownerFor, readVersionValue } from '../../lib/status/inspect.js';
import { type CliDeps, secretsOf } from '../deps.js';
import { CliError, EXIT, explainPingOneError } from '../errors.js';
import { line } from '../format.js';
import { assertNoLiveIntent, cliLedger, confirm, confirmReaders, writeBinding } from '../ledger.js';
import { callOptions } from '../pingone-access.js';

export interface RebindOptions {
  readonly secretId: string;
  /** Do it without asking. */
  readonly yes?: boolean;
  /** Without a terminal: who may read the secret, exactly as rebind reports it. */
  readonly acceptReaders?: string;
}

/**
 * `rebind`: moves the rotation ledger's binding of a PingOne owner to this secret, so that this secret's
 * rotations are accepted and the previous owner's refused. Proof of possession first: the secret's
 * AWSCURRENT must be PingOne's current secret (read as the worker app). Prints the plan and asks.
 */
export async function rebind(deps: CliDeps, options: RebindOptions): Promise<number> {
  const say = (text: string) => line(deps.out, text);
  const sm = secretsOf(deps);
  const view = await sm.view(options.secretId);
  const current = await readVersionValue(sm, view.arn, { stage: AWSCURRENT }, 'AWSCURRENT');
  if (current.kind !== 'value') {
    throw new CliError(
      `${view.name} holds no valid AWSCURRENT value (${current.kind === 'malformed' ? current.problem : 'empty'})`,
      "nothing was changed; store PingOne's current secret with `pingone-rotation onboard --force --rebind`",
    );
  }
  const access = deps.pingone();
  const found = ownerFor(current.value, access.config);
  if ('problem' in found) throw new CliError(`cannot rebind ${view.name}`, found.problem);
  const owner = found.owner;
  const cli = cliLedger(deps);
  const record = await cli.ledger.read(owner, cli.options());
  const binding = record?.binding;
  // Bound here already: nothing to do, unless the secret now names the owner under another region (its
  // rotations are refused until the binding is proven again in that region).
  const regionMoved = binding?.region !== undefined && binding.region !== owner.region;
  if (binding?.secretArn === view.arn && !regionMoved) {
    say(`${describeOwner(owner)} is already bound to ${view.name} (${view.arn}) since ${binding.boundAt}.`);
    return EXIT.ok;
  }
  assertNoLiveIntent(record, owner, deps.now());

  let state: Awaited<ReturnType<typeof access.client.readSecret>>;
  try {
    state = await access.client.readSecret(owner, callOptions(deps.now));
  } catch (error) {
    const explained = explainPingOneError(error, owner);
    if (explained === undefined) throw error;
    throw new CliError(explained, 'nothing was changed', EXIT.error, { cause: error });
  }
  if (!sameSecret(state.secret, current.value.clientSecret)) {
    const is = sameSecret(state.previous?.secret, current.value.clientSecret)
      ? "PingOne's previous secret"
      : "neither PingOne's current nor its previous secret";
    throw new CliError(
      `${view.name}'s AWSCURRENT is ${is} for ${describeOwner(owner)}: it does not prove possession`,
      "nothing was changed; store PingOne's current secret in it with `pingone-rotation onboard --force " +
        `--rebind --secret-name ${view.name} --environment-id ${owner.environmentId} --resource-id ${owner.id}\``,
    );
  }

  say(`${view.name} (${view.arn}) holds PingOne's current secret for ${describeOwner(owner)}.`);
  say(
    binding?.secretArn === view.arn
      ? `Plan: bind ${describeOwner(owner)} to ${view.arn} in region ${owner.region} (the rotation ledger bound ` +
          `it in ${binding.region} since ${binding.boundAt}, by ${binding.how}).`
      : binding
        ? `Plan: move the rotation ledger binding from ${binding.secretArn} (bound since ${binding.boundAt}, ` +
          `by ${binding.how}) to ${view.arn}. From then on rotations of ${binding.secretArn} are refused ` +
          '(turn its rotation off, or point it at another owner).'
        : `Plan: bind ${describeOwner(owner)} to ${view.arn} (it is not bound yet).`,
  );
  await confirm(deps, options.yes, `rebind of ${view.name}`);
  // From now on every rotation writes PingOne's new secrets into it: who else can read it, first.
  await confirmReaders(deps, view.name, view.arn, options.acceptReaders, `rebind of ${view.name}`);
  await writeBinding(cli, owner, record, view.arn, 'rebind', deps.now());
  say(
    `Done: ${describeOwner(owner)} is bound to ${view.name}. Next: pingone-rotation status --secret-id ${view.name}`,
  );
  return EXIT.ok;
}
