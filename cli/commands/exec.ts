// `berth ps:exec -a APP [INSTANCE] [-- CMD...]`: a session inside a running instance (like `heroku ps:exec`,
// `kubectl exec -it`). With a terminal on both ends: raw mode (Ctrl-C, Ctrl-D and every other key go to the remote
// side), the window size and its changes; without one, stdin and stdout are piped (end of input closes the remote
// stdin). The remote exit code becomes the CLI's. Wire format: docs/console.md.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { CliError, usageError } from "../errors.ts";
import { clean, note } from "../output.ts";
import { resolveTarget } from "../session.ts";
import { localTerminal, runSocketSession, terminalSize } from "./socket-session.ts";

interface ExecOpts {
  app?: string;
  tty?: boolean;
  json?: boolean;
}

const INSTANCE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Splits `[INSTANCE] [-- CMD...]`: words after `--` in the raw argv are the command, one word before is the instance. */
export function splitExecArgs(
  args: readonly string[],
  rawArgv: readonly string[],
): { instance?: string; command: string[] } {
  const dash = rawArgv.indexOf("--");
  const command = dash >= 0 ? rawArgv.slice(dash + 1) : [];
  const before = args.slice(0, args.length - command.length);
  if (before.length > 1)
    throw usageError("give at most one instance; put the command after --, like `berth ps:exec -a APP -- ls -la`");
  const instance = before[0];
  if (instance !== undefined && !INSTANCE.test(instance))
    throw usageError(`invalid instance id ${JSON.stringify(instance)}`);
  return { ...(instance !== undefined ? { instance } : {}), command };
}

/** The exec endpoint's URL for these options. */
export function execUrl(
  base: string,
  app: string,
  o: { instance?: string; command: string[]; tty: boolean; cols: number; rows: number },
): URL {
  const u = new URL(`${base}/api/v1/apps/${seg(app)}/exec`);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  if (o.instance) u.searchParams.set("instance", o.instance);
  u.searchParams.set("tty", o.tty ? "1" : "0");
  u.searchParams.set("cols", String(o.cols));
  u.searchParams.set("rows", String(o.rows));
  for (const word of o.command) u.searchParams.append("cmd", word);
  return u;
}

async function execCommand(words: string[], opts: ExecOpts, cmd: Command): Promise<void> {
  // The argv the program parsed (commander keeps it on the root command; not in its types).
  const rawArgs = (cmd.parent as (Command & { rawArgs?: string[] }) | null)?.rawArgs ?? process.argv;
  const { instance, command } = splitExecArgs(words, rawArgs);
  const app = await resolveApp(opts.app);
  const t = resolveTarget();
  if (!t.token) throw new CliError(`not logged in to ${t.url}; run \`berth login\` or set BERTH_TOKEN`);
  const tty = opts.tty !== false && localTerminal();
  const url = execUrl(t.url, app, { ...(instance ? { instance } : {}), command, tty, ...terminalSize() });
  const code = await runSocketSession(url, t, {
    tty,
    onStarted: (f) => {
      if (opts.json) process.stderr.write(`${JSON.stringify(f)}\n`);
      else if (tty) note(`Connected to ${clean(f.instance)}. The session ends when the command exits.`);
    },
  });
  if (code !== 0) throw new CliError("", code);
}

/** Registers `ps:exec`. */
export function registerExecCommand(program: Command): void {
  program
    .command("ps:exec")
    .description(
      "open a shell (or run CMD) inside a running instance: a terminal when yours is one, else piped; exits with its code",
    )
    .argument("[instance-and-command...]", "[INSTANCE] (default: the first running web instance), then -- CMD...")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--no-tty", "pipe stdin/stdout even on a terminal")
    .action(execCommand);
}
