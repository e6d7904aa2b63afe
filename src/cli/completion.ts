// `box completion bash|zsh|fish`: a script that completes box's commands, their flags, and the
// names of containers, images, volumes and networks (asked of box itself as you type, with the
// --root/--runroot already on the line). Generated from the command table, so it never lags.
import { BoxError } from '../errors';
import { CommandSpec } from './args';
import { CompletionData, completionData, NameKind } from './completion-data';

// How each script asks box for names; a kind whose command box lacks gives none.
const NAME_COMMANDS: Record<NameKind, string> = {
  containers: `ps -a --format '{{.Names}}'`,
  images: `images --format '{{.Repository}}:{{.Tag}}'`,
  volumes: 'volume ls -q',
  networks: `network ls --format '{{.Name}}'`,
};

function bashBody(d: CompletionData): string {
  const cases = d.commands
    .map((c) => {
      const vflags = ` ${c.valueFlags.join(' ')} `;
      return `    '${c.key}') flags='${c.flags.join(' ')}'; vflags='${vflags}'; kinds='${c.kinds.join(' ')}' ;;`;
    })
    .join('\n');
  const subs = Object.entries(d.groups)
    .map(([g, s]) => `    ${g}) echo '${s.join(' ')}' ;;`)
    .join('\n');
  const names = (Object.keys(NAME_COMMANDS) as NameKind[])
    .map((k) => `    ${k}) command box "\${_box_globals[@]}" ${NAME_COMMANDS[k]} 2>/dev/null ;;`)
    .join('\n');
  return `_box_names() {
  case "$1" in
${names}
  esac | grep -v '<none>'
}

_box_subcommands() {
  case "$1" in
${subs}
  esac
}

_box() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" i=1 w
  _box_globals=()
  while (( i < COMP_CWORD )); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      --root|--runroot) _box_globals+=("$w" "\${COMP_WORDS[i+1]}"); (( i += 2 )) ;;
      --root=*|--runroot=*) _box_globals+=("$w"); (( i += 1 )) ;;
      *) break ;;
    esac
  done
  COMPREPLY=()
  if (( i == COMP_CWORD )); then
    COMPREPLY=($(compgen -W '${d.top.join(' ')} --root --runroot --help --version' -- "$cur"))
    return
  fi
  local key="\${COMP_WORDS[i]}" subs
  subs="$(_box_subcommands "$key")"
  if [[ -n "$subs" ]]; then
    if (( i + 1 == COMP_CWORD )); then
      COMPREPLY=($(compgen -W "$subs" -- "$cur"))
      return
    fi
    key="$key \${COMP_WORDS[i+1]}"
  fi
  local flags='' vflags='' kinds=''
  case "$key" in
${cases}
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=($(compgen -W "$flags" -- "$cur"))
    return
  fi
  [[ "$vflags" == *" $prev "* ]] && return # a flag's value: the shell's default (files)
  local k words=''
  for k in $kinds; do words+=" $(_box_names "$k")"; done
  [[ -n "$kinds" ]] && COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
`;
}

function bash(d: CompletionData): string {
  return `# box completion for bash: add to ~/.bashrc
#   source <(box completion bash)
# or save it as /etc/bash_completion.d/box
${bashBody(d)}complete -o default -F _box box
`;
}

function zsh(d: CompletionData): string {
  return `#compdef box
# box completion for zsh: add to ~/.zshrc, after compinit
#   source <(box completion zsh)
# It runs the bash completion through zsh's bashcompinit.
autoload -U +X bashcompinit && bashcompinit
${bashBody(d)}complete -o default -F _box box
`;
}

function fish(d: CompletionData): string {
  const lines = [
    '# box completion for fish: box completion fish > ~/.config/fish/completions/box.fish',
    '',
    '# the command words typed so far, without the global options and flags',
    'function __box_words',
    '    set -l skip 0',
    '    for w in (commandline -opc)[2..-1]',
    '        if test $skip = 1; set skip 0; continue; end',
    '        switch $w',
    '            case --root --runroot; set skip 1',
    "            case '--root=*' '--runroot=*' '-*'",
    "            case '*'; echo $w",
    '        end',
    '    end',
    'end',
    '',
    '# the global options on the line, for asking box for names in the same store',
    'function __box_globals',
    '    set -l words (commandline -opc)',
    '    for i in (seq 2 (count $words))',
    '        switch $words[$i]',
    '            case --root --runroot; echo $words[$i]; echo $words[(math $i + 1)]',
    "            case '--root=*' '--runroot=*'; echo $words[$i]",
    '        end',
    '    end',
    'end',
    '',
    '# true when the command typed is exactly KEY... (plus its arguments)',
    'function __box_is',
    '    set -l w (__box_words)',
    '    test (count $w) -ge (count $argv); or return 1',
    '    for i in (seq (count $argv))',
    '        test "$w[$i]" = "$argv[$i]"; or return 1',
    '    end',
    '    return 0',
    'end',
    '',
    'function __box_names',
    '    switch $argv[1]',
    ...(Object.keys(NAME_COMMANDS) as NameKind[]).map(
      (k) => `        case ${k}; box (__box_globals) ${NAME_COMMANDS[k]} 2>/dev/null | string match -v '*<none>*'`,
    ),
    '    end',
    'end',
    '',
    'complete -c box -f',
    `complete -c box -n 'test (count (__box_words)) -eq 0' -a '${d.top.join(' ')}'`,
    ...Object.entries(d.groups).map(
      ([g, s]) => `complete -c box -n 'test (count (__box_words)) -eq 1; and __box_is ${g}' -a '${s.join(' ')}'`,
    ),
  ];
  for (const c of d.commands) {
    const cond = `__box_is ${c.key}`;
    for (const f of c.flags) {
      const opt = f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`;
      lines.push(`complete -c box -n '${cond}' ${opt}${c.valueFlags.includes(f) ? ' -r' : ''}`);
    }
    for (const k of c.kinds) lines.push(`complete -c box -n '${cond}' -a '(__box_names ${k})'`);
  }
  return lines.join('\n') + '\n';
}

const SHELLS: Record<string, (d: CompletionData) => string> = { bash, zsh, fish };

/** The `completion` command over the command table it completes (handed in: cli/index.ts owns it). */
export const completionCommand = (commands: () => { paths: string[][]; spec: CommandSpec }[]): CommandSpec => ({
  paths: [['completion']],
  summary: 'Print a shell completion script (bash, zsh or fish).',
  flags: [],
  positionals: [{ name: 'SHELL' }],
  examples: ['source <(box completion bash)', 'box completion fish > ~/.config/fish/completions/box.fish'],
  async run(a) {
    const make = SHELLS[a.positionals[0]];
    if (!make) throw new BoxError(`unknown shell "${a.positionals[0]}": use bash, zsh or fish`);
    process.stdout.write(make(completionData(commands())));
    return 0;
  },
});
