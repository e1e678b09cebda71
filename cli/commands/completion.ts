// `berth completion bash|zsh`: prints a shell completion script for the commands, their options, and app and team
// names after -a/--app and -t/--team. Commands and options are written into the script (generated from this very
// program, so they never drift); names are asked from the server at Tab time through the hidden
// `berth completion:list apps|teams`, which prints one name per line and nothing at all when it cannot ask.
import type { Command, Option } from "commander";
import { CliError, usageError } from "../errors.ts";
import { authedClient } from "../session.ts";

const SHELLS = ["bash", "zsh"] as const;
type Shell = (typeof SHELLS)[number];

/** What the value of an option is completed with. */
type ValueKind = "app" | "team" | "none";

/** What the completion script knows about one command. */
export interface CommandInfo {
  name: string;
  /** Every flag spelling: `-a`, `--app`, `--json`, ... */
  options: string[];
  /** Flags that take a value, with what completes it. */
  values: { flag: string; kind: ValueKind }[];
  /** Words that complete the first argument (completion: bash zsh; help: the commands). */
  args: string[];
}

// Only these characters reach the generated script, so nothing in a name can be shell syntax.
const SAFE_WORD = /^[A-Za-z0-9:_-]+$/;

function valueKind(o: Option): ValueKind {
  const name = o.attributeName();
  return name === "app" ? "app" : name === "team" ? "team" : "none";
}

/** The visible commands of `program` with their options, as the completion scripts see them. */
export function completionModel(program: Command): CommandInfo[] {
  const help = program.createHelp();
  const commands = help.visibleCommands(program).filter((c) => c.name() !== "help");
  const names = commands.map((c) => c.name());
  const out = commands.map((c): CommandInfo => {
    const opts = help.visibleOptions(c);
    return {
      name: c.name(),
      options: opts.flatMap((o) => [o.short, o.long].filter((f): f is string => Boolean(f))),
      values: opts
        .filter((o) => o.required || o.optional)
        .flatMap((o) =>
          [o.short, o.long].filter((f): f is string => Boolean(f)).map((flag) => ({ flag, kind: valueKind(o) })),
        ),
      args: c.name() === "completion" ? [...SHELLS] : [],
    };
  });
  out.push({ name: "help", options: [], values: [], args: names });
  for (const c of out) {
    for (const word of [c.name, ...c.options, ...c.args, ...c.values.map((v) => v.flag)]) {
      if (!SAFE_WORD.test(word)) throw new Error(`cannot put ${JSON.stringify(word)} into a completion script`);
    }
  }
  return out;
}

/** `case` branches (valid in bash and zsh) that set _berth_o (options), _berth_v (flag:kind pairs), _berth_a (args). */
function commandCases(model: CommandInfo[]): string {
  const branches = model.map((c) => {
    const pairs = c.values.map((v) => `${v.flag}:${v.kind}`).join(" ");
    return `    ${c.name}) _berth_o="${c.options.join(" ")}"; _berth_v="${pairs}"; _berth_a="${c.args.join(" ")}" ;;`;
  });
  return [
    "_berth_command_info() {",
    '  _berth_o=""; _berth_v=""; _berth_a=""',
    '  case "$1" in',
    ...branches,
    "  esac",
    "}",
  ].join("\n");
}

const GLOBAL_OPTIONS = "-h --help -v --version";

/** The bash completion script. */
export function bashScript(model: CommandInfo[]): string {
  return `# bash completion for berth. Load it with:  source <(berth completion bash)
# or save it once:  berth completion bash > ~/.local/share/bash-completion/completions/berth
_berth_commands="${model.map((c) => c.name).join(" ")}"
${commandCases(model)}

_berth() {
  # bash splits words at ':' (COMP_WORDBREAKS), so the words come from the line itself, up to the cursor.
  local line="\${COMP_LINE:0:COMP_POINT}"
  local cur="\${line##*[[:space:]]}"
  local -a words
  read -r -a words <<< "\${line:0:\${#line}-\${#cur}}"
  local cmd="" prev="" kind="" pair i
  for ((i = 1; i < \${#words[@]}; i++)); do
    if [[ \${words[i]} != -* ]]; then cmd="\${words[i]}"; break; fi
  done
  (( \${#words[@]} > 1 )) && prev="\${words[\${#words[@]}-1]}"
  local cands=""
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then cands="${GLOBAL_OPTIONS}"; else cands="$_berth_commands"; fi
  else
    _berth_command_info "$cmd"
    for pair in $_berth_v; do
      if [[ "\${pair%%:*}" == "$prev" ]]; then kind="\${pair#*:}"; fi
    done
    case "$kind" in
      app) cands="$("\${words[0]}" completion:list apps 2>/dev/null)" ;;
      team) cands="$("\${words[0]}" completion:list teams 2>/dev/null)" ;;
      none) cands="" ;;
      *) if [[ $cur != -* && "$prev" == "$cmd" && -n $_berth_a ]]; then cands="$_berth_a"; else cands="$_berth_o"; fi ;;
    esac
  fi
  local IFS=$' \\t\\n'
  COMPREPLY=($(compgen -W "$cands" -- "$cur"))
  # With ':' a word break, the reply replaces only what follows the last ':' of the word.
  if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
    local prefix="\${cur%"\${cur##*:}"}"
    COMPREPLY=("\${COMPREPLY[@]#"$prefix"}")
  fi
  return 0
}
complete -F _berth berth
`;
}

/** The zsh completion script (native compsys: `words` and `CURRENT`, candidates through compadd). */
export function zshScript(model: CommandInfo[]): string {
  return `#compdef berth
# zsh completion for berth. Load it with:  source <(berth completion zsh)   (after compinit)
# or save it once as _berth in a directory of your $fpath:  berth completion zsh > ~/.zfunc/_berth
_berth_commands="${model.map((c) => c.name).join(" ")}"
${commandCases(model)}

_berth() {
  local cur="\${words[CURRENT]}" prev="\${words[CURRENT-1]}" cmd="" kind="" pair i
  for (( i = 2; i < CURRENT; i++ )); do
    if [[ \${words[i]} != -* ]]; then cmd="\${words[i]}"; break; fi
  done
  local -a cands
  if [[ -z $cmd ]]; then
    if [[ $cur == -* ]]; then cands=(${GLOBAL_OPTIONS}); else cands=(\${=_berth_commands}); fi
  else
    _berth_command_info "$cmd"
    for pair in \${=_berth_v}; do
      if [[ "\${pair%%:*}" == "$prev" ]]; then kind="\${pair#*:}"; fi
    done
    case "$kind" in
      app) cands=(\${(f)"$("\${words[1]}" completion:list apps 2>/dev/null)"}) ;;
      team) cands=(\${(f)"$("\${words[1]}" completion:list teams 2>/dev/null)"}) ;;
      none) cands=() ;;
      *) if [[ $cur != -* && "$prev" == "$cmd" && -n $_berth_a ]]; then cands=(\${=_berth_a}); else cands=(\${=_berth_o}); fi ;;
    esac
  fi
  compadd -- "\${cands[@]}"
}
# Autoloaded from $fpath, this file is the body of _berth: define, then complete; sourced, register it.
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then
  _berth "$@"
else
  compdef _berth berth
fi
`;
}

/** Prints the script for `shell`. */
function printScript(shell: string, cmd: Command): void {
  if (!(SHELLS as readonly string[]).includes(shell))
    throw usageError(`no completion for ${JSON.stringify(shell)}: use bash or zsh`);
  const program = cmd.parent;
  if (!program) throw new Error("completion must be a subcommand");
  const model = completionModel(program);
  process.stdout.write((shell as Shell) === "bash" ? bashScript(model) : zshScript(model));
}

/** Names a completion script offers: app or team names, one per line. */
async function listNames(kind: string): Promise<void> {
  if (kind !== "apps" && kind !== "teams") throw usageError("completion:list takes apps or teams");
  let names: string[];
  try {
    const { body } = await authedClient().request<{ name: string }[]>("GET", `/${kind}`, undefined, {
      timeoutMs: 3000,
    });
    names = body.map((x) => x.name);
  } catch (err) {
    // At Tab time an error message would be printed into the user's command line; no names is the right answer.
    if (err instanceof CliError) return;
    throw err;
  }
  // Names are server data going into a shell's word list: only the characters names are made of.
  const safe = names.filter((n) => /^[a-z][a-z0-9-]{0,62}$/.test(n));
  if (safe.length) process.stdout.write(`${safe.join("\n")}\n`);
}

/** Registers completion and its hidden helper. */
export function registerCompletionCommands(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script (bash or zsh); see docs/cli.md for where to load it")
    .argument("<shell>", "bash or zsh")
    .action((shell: string, _opts: unknown, cmd: Command) => printScript(shell, cmd));
  program
    .command("completion:list <kind>", { hidden: true })
    .description("app or team names for the completion scripts, one per line")
    .action(listNames);
}
