/**
 * `pingone-rotation completion bash|zsh`: a completion script generated from the same option tables the
 * parser uses, so it cannot fall behind them. Completes commands, each command's options, PingOne regions
 * and the shell names; values such as secret ids are left to the shell.
 */
import { REGIONS } from '../lib/pingone/regions.js';

export const SHELLS = ['bash', 'zsh'] as const;
export type Shell = (typeof SHELLS)[number];

type Options = Readonly<Record<string, { readonly type: 'string' | 'boolean' }>>;

export interface CompletionSpec {
  readonly program: string;
  readonly globalOptions: Options;
  readonly commands: Readonly<Record<string, { readonly options: Options }>>;
}

const flags = (options: Options) => Object.keys(options).map((name) => `--${name}`);
const valued = (options: Options) =>
  Object.entries(options)
    .filter(([, spec]) => spec.type === 'string')
    .map(([name]) => `--${name}`);

export function completionScript(shell: Shell, spec: CompletionSpec): string {
  const commands = [...Object.keys(spec.commands), 'completion'];
  const globals = flags(spec.globalOptions);
  const takesValue = [
    ...new Set([
      ...valued(spec.globalOptions),
      ...Object.values(spec.commands).flatMap((c) => valued(c.options)),
    ]),
  ].filter((flag) => flag !== '--pingone-region');
  const fn = `_${spec.program.replace(/[^A-Za-z0-9]/g, '_')}`;
  const perCommand = Object.entries(spec.commands).map(
    ([name, c]) => [name, flags(c.options).join(' ')] as const,
  );
  if (shell === 'bash') {
    return `# ${spec.program} completion for bash. Load it with:
#   source <(${spec.program} completion bash)     (or: ${spec.program} completion bash > ~/.${spec.program}-completion.bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" opts=""
  if [[ \${COMP_CWORD} -eq 1 ]]; then
    COMPREPLY=( $(compgen -W "${commands.join(' ')} --help --version" -- "\${cur}") )
    return 0
  fi
  case "\${prev}" in
    --pingone-region) COMPREPLY=( $(compgen -W "${REGIONS.join(' ')}" -- "\${cur}") ); return 0 ;;
    ${takesValue.join('|')}) COMPREPLY=(); return 0 ;;
  esac
  case "\${COMP_WORDS[1]}" in
${perCommand.map(([name, opts]) => `    ${name}) opts="${opts}" ;;`).join('\n')}
    completion) COMPREPLY=( $(compgen -W "${SHELLS.join(' ')}" -- "\${cur}") ); return 0 ;;
    *) return 0 ;;
  esac
  COMPREPLY=( $(compgen -W "\${opts} ${globals.join(' ')}" -- "\${cur}") )
  return 0
}
complete -F ${fn} ${spec.program}
`;
  }
  return `#compdef ${spec.program}
# ${spec.program} completion for zsh (after compinit). Load it with:
#   source <(${spec.program} completion zsh)
${fn}() {
  if (( CURRENT == 2 )); then
    compadd -- ${commands.join(' ')} --help --version
    return
  fi
  case "\${words[CURRENT-1]}" in
    --pingone-region) compadd -- ${REGIONS.join(' ')}; return ;;
    ${takesValue.join('|')}) return ;;
  esac
  case "\${words[2]}" in
${perCommand.map(([name, opts]) => `    ${name}) compadd -- ${opts} ${globals.join(' ')} ;;`).join('\n')}
    completion) compadd -- ${SHELLS.join(' ')} ;;
  esac
}
compdef ${fn} ${spec.program}
`;
}
