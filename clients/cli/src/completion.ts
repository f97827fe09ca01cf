// Shell completion scripts, generated from the command specs: commands, subcommands, options and
// option values. zsh gets the bash function through bashcompinit.
import { GLOBAL_OPTIONS, type CommandSpec } from './args';
import { UsageError } from './errors';

export const SHELLS = ['bash', 'zsh'] as const;

const quote = (words: Iterable<string>) => [...words].join(' ');

export function completionScript(shell: string, commands: readonly CommandSpec[]): string {
  if (shell !== 'bash' && shell !== 'zsh') throw new UsageError(`no completion for "${shell}"; use bash or zsh`);
  const globalFlags = Object.keys(GLOBAL_OPTIONS).map((name) => `--${name}`);
  const valueOptions = new Set<string>(['--url']);
  const wordCases: string[] = [];
  const optionCases: string[] = [];
  const valueCases: string[] = [];

  // Words offered after each prefix of command words: '' -> top level, 'todo' -> its subcommands.
  const next = new Map<string, Set<string>>();
  for (const command of commands) {
    for (let i = 0; i < command.path.length; i++) {
      const prefix = command.path.slice(0, i).join(' ');
      if (!next.has(prefix)) next.set(prefix, new Set());
      next.get(prefix)!.add(command.path[i]!);
    }
    const key = command.path.join(' ');
    if (command.argChoices) next.set(key, new Set(command.argChoices));
    const flags = [...Object.keys(command.options).map((name) => `--${name}`), ...globalFlags];
    optionCases.push(`    ${JSON.stringify(key)}|${JSON.stringify(key + ' ')}*) opts=${JSON.stringify(quote(flags))} ;;`);
    for (const [name, spec] of Object.entries(command.options)) {
      if (spec.type === 'string') valueOptions.add(`--${name}`);
      if (spec.choices) valueCases.push(`    ${JSON.stringify(`--${name}`)}) COMPREPLY=($(compgen -W ${JSON.stringify(quote(spec.choices))} -- "$cur")); return ;;`);
    }
  }
  for (const [prefix, words] of next) wordCases.push(`    ${JSON.stringify(prefix)}) words=${JSON.stringify(quote(words))} ;;`);

  const bash = `_citadel() {
  local cur prev cmd="" words="" opts="" i w skip=0
  cur="\${COMP_WORDS[COMP_CWORD]}"
  prev="\${COMP_WORDS[COMP_CWORD-1]}"
  case "$prev" in
${[...new Set(valueCases)].join('\n')}
    ${[...valueOptions].join('|')}) return ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    if ((skip)); then skip=0; continue; fi
    case "$w" in
      ${[...valueOptions].join('|')}) skip=1 ;;
      -*) ;;
      *) cmd="\${cmd:+$cmd }$w" ;;
    esac
  done
  case "$cmd" in
${wordCases.join('\n')}
  esac
  case "$cmd" in
${optionCases.join('\n')}
    *) opts=${JSON.stringify(quote(globalFlags))} ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
  else
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
  fi
}
complete -F _citadel citadel
`;
  if (shell === 'bash') return `# bash completion for citadel: eval "$(citadel completion bash)"\n${bash}`;
  return `#compdef citadel\n# zsh completion for citadel: eval "$(citadel completion zsh)"\nautoload -U +X bashcompinit && bashcompinit\n${bash}`;
}
