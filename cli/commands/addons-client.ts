// `berth addons:psql -a APP [NAME]` and `berth addons:redis-cli -a APP [NAME]`: an interactive client session to an
// add-on, over the run WebSocket (`berth run`'s machinery). The server starts a one-off of the add-on's service app
// (its image has the client) and runs the client there with the credentials from that container's environment:
// they never reach this machine, a command line, or the terminal's scrollback. Member and above (docs/addons.md).
import type { Command } from "commander";
import { resolveApp } from "../app-resolver.ts";
import { CliError, usageError } from "../errors.ts";
import { clean, note } from "../output.ts";
import { resolveTarget } from "../session.ts";
import { localTerminal, runSocketSession, terminalSize } from "./socket-session.ts";
import { runTimeout, runUrl } from "./run.ts";

interface ClientOpts {
  app?: string;
  tty?: boolean;
  timeout?: string;
}

/** The run socket's URL for `client` (no command: the server picks it), optionally naming the add-on. */
export function addonClientUrl(
  base: string,
  app: string,
  client: "psql" | "redis-cli",
  addon: string | undefined,
  o: { tty: boolean; cols: number; rows: number; timeoutSeconds: number },
): URL {
  const u = runUrl(base, app, { command: [], ...o });
  u.searchParams.set("client", client);
  if (addon !== undefined) u.searchParams.set("addon", addon);
  return u;
}

async function clientSession(client: "psql" | "redis-cli", name: string | undefined, opts: ClientOpts): Promise<void> {
  if (name !== undefined && !/^[a-z][a-z0-9-]{1,29}$/.test(name))
    throw usageError(`invalid add-on name ${JSON.stringify(name)}`);
  const timeoutSeconds = runTimeout(opts.timeout);
  const app = await resolveApp(opts.app);
  const t = resolveTarget();
  if (!t.token) throw new CliError(`not logged in to ${t.url}; run \`berth login\` or set BERTH_TOKEN`);
  const tty = opts.tty !== false && localTerminal();
  const url = addonClientUrl(t.url, app, client, name, { tty, ...terminalSize(), timeoutSeconds });
  note(`Starting ${client}...`);
  const code = await runSocketSession(url, t, {
    tty,
    onStarted: (f) => note(`Connected through ${clean(f.instance)}`),
  });
  if (code !== 0) throw new CliError("", code);
}

/** Registers `addons:psql` and `addons:redis-cli`. */
export function registerAddonClientCommands(program: Command): void {
  for (const [client, kind] of [
    ["psql", "PostgreSQL"],
    ["redis-cli", "Redis"],
  ] as const) {
    program
      .command(`addons:${client}`)
      .description(
        `open ${client} on the app's ${kind} add-on (NAME, or its only one): interactive on a terminal, else stdin ` +
          "piped in; the credentials stay on the server (member and above)",
      )
      .argument("[name]", "add-on name (default: the app's only one of this kind)")
      .option("-a, --app <app>", "app name (default: from git remote `berth`)")
      .option("--timeout <seconds>", "end the session after this many seconds (default 3600)")
      .option("--no-tty", "pipe stdin/stdout even on a terminal")
      .action((name: string | undefined, opts: ClientOpts) => clientSession(client, name, opts));
  }
}
