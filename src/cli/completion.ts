/**
 * Shell completion scripts generated from the command tree (commander has none built in): every
 * command, subcommand and option as registered, kinds for the KIND argument, and object names
 * fetched with `tenet get KIND -o name` when a name is expected. bash is the base; zsh loads the
 * bash script through bashcompinit (the same words, one generator to keep right); fish gets its own
 * `complete` lines.
 */
import type { Command, Option } from 'commander';
import { KINDS } from '../core/model/registry';

interface Node {
  /** Space-joined command path without the program name ('' for the top). */
  path: string;
  subcommands: string[];
  options: { flags: string[]; takesValue: boolean; description: string }[];
  description: string;
}

/** Commands whose first argument is a kind and second an object name. */
const KIND_COMMANDS = new Set(['get', 'describe', 'delete']);
const OUTPUTS = ['table', 'wide', 'json', 'yaml', 'name', 'jsonpath='];

function optionsOf(command: Command): Node['options'] {
  return (command.options as readonly Option[]).map((o) => ({
    flags: [o.short, o.long].filter((f): f is string => typeof f === 'string'),
    takesValue: o.required || o.optional,
    description: o.description,
  }));
}

export function commandTree(program: Command): Node[] {
  const nodes: Node[] = [];
  const walk = (command: Command, path: string) => {
    const subs = command.commands as readonly Command[];
    nodes.push({ path, subcommands: subs.map((c) => c.name()), options: optionsOf(command), description: command.description() });
    for (const sub of subs) walk(sub, path ? `${path} ${sub.name()}` : sub.name());
  };
  walk(program, '');
  return nodes;
}

const quote = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

export function bashCompletion(program: Command): string {
  const nodes = commandTree(program);
  const globals = nodes[0].options;
  const lines: string[] = [
    '# tenet bash completion: source <(tenet completion bash)',
    '_tenet_complete() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
    '  local -A subs opts valued',
  ];
  for (const node of nodes) {
    lines.push(`  subs[${quote(node.path || '_')}]=${quote(node.subcommands.join(' '))}`);
    const own = node.path === '' ? node.options : [...node.options, ...globals];
    lines.push(`  opts[${quote(node.path || '_')}]=${quote([...own.flatMap((o) => o.flags), '--help'].join(' '))}`);
  }
  const valued = new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags)));
  lines.push(`  local valued_list=${quote([...valued].join(' '))}`);
  lines.push(
    '  local path="" args=() i w skip=0',
    '  for ((i=1; i<COMP_CWORD; i++)); do',
    '    w="${COMP_WORDS[i]}"',
    '    if ((skip)); then skip=0; continue; fi',
    '    case "$w" in',
    '      --*=*) continue ;;',
    '      -*) [[ " $valued_list " == *" $w "* ]] && skip=1; continue ;;',
    '    esac',
    '    local key="${path:-_}"',
    '    if [[ " ${subs[$key]} " == *" $w "* ]]; then path="${path:+$path }$w"; else args+=("$w"); fi',
    '  done',
    '  local key="${path:-_}"',
    `  case "$prev" in`,
    `    -o|--output) COMPREPLY=($(compgen -W ${quote(OUTPUTS.join(' '))} -- "$cur")); return ;;`,
    '  esac',
    '  if [[ " $valued_list " == *" $prev "* ]]; then COMPREPLY=($(compgen -f -- "$cur")); return; fi',
    '  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "${opts[$key]}" -- "$cur")); return; fi',
    '  if [[ -n "${subs[$key]}" ]]; then COMPREPLY=($(compgen -W "${subs[$key]}" -- "$cur")); return; fi',
    '  case "$path" in',
    `    ${[...KIND_COMMANDS].join('|')})`,
    '      if ((${#args[@]} == 0)); then',
    `        COMPREPLY=($(compgen -W ${quote(KINDS.map((k) => k.plural).join(' '))} -- "$cur"))`,
    '      elif ((${#args[@]} == 1)); then',
    '        local names',
    '        names=$(tenet get "${args[0]}" -o name 2>/dev/null | sed "s#^[^/]*/##")',
    '        COMPREPLY=($(compgen -W "$names" -- "$cur"))',
    '      fi ;;',
    '    completion) COMPREPLY=($(compgen -W "bash zsh fish" -- "$cur")) ;;',
    '    *) COMPREPLY=($(compgen -f -- "$cur")) ;;',
    '  esac',
    '}',
    'complete -F _tenet_complete tenet',
  );
  return `${lines.join('\n')}\n`;
}

export function zshCompletion(program: Command): string {
  return `#compdef tenet\n# tenet zsh completion: source <(tenet completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n${bashCompletion(program)}`;
}

export function fishCompletion(program: Command): string {
  const nodes = commandTree(program);
  const esc = (text: string) => text.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
  const lines = ['# tenet fish completion: tenet completion fish | source', 'complete -c tenet -f'];
  for (const node of nodes) {
    const words = node.path ? node.path.split(' ') : [];
    // The condition: exactly this command path was typed (fish's helpers, one per level).
    const condition = words.length === 0 ? '__fish_use_subcommand' : `__fish_seen_subcommand_from ${words[words.length - 1]}`;
    for (const sub of node.subcommands) {
      const child = nodes.find((n) => n.path === (node.path ? `${node.path} ${sub}` : sub));
      lines.push(`complete -c tenet -n '${condition}' -a '${esc(sub)}' -d '${esc(child?.description.split('\n')[0].slice(0, 60) ?? '')}'`);
    }
    for (const option of node.options) {
      const flags = option.flags.map((f) => (f.startsWith('--') ? `-l ${f.slice(2)}` : `-s ${f.slice(1)}`)).join(' ');
      lines.push(
        `complete -c tenet${words.length ? ` -n '${condition}'` : ''} ${flags}${option.takesValue ? ' -r' : ''} -d '${esc(option.description.slice(0, 60))}'`,
      );
    }
  }
  for (const command of KIND_COMMANDS)
    lines.push(`complete -c tenet -n '__fish_seen_subcommand_from ${command}' -a '${KINDS.map((k) => k.plural).join(' ')}'`);
  lines.push(`complete -c tenet -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'`);
  return `${lines.join('\n')}\n`;
}
