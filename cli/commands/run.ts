// `berth run -a APP -- CMD...`: runs a command once in a new container of the app's deployed release (its image and
// config vars) and exits with the command's exit code, like `heroku run`. On a terminal it is interactive (a pty in
// the container, raw mode, the window size; `berth run -a APP -- sh` is a shell); otherwise stdin is piped in and the
// output streams out. Both go over the run WebSocket (exec protocol, docs/console.md); `--json` keeps the NDJSON
// event stream of POST /apps/APP/run (no stdin).
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { ApiError, CliError, usageError } from "../errors.ts";
import { clean, note } from "../output.ts";
import { resolveTarget } from "../session.ts";
import { localTerminal, runSocketSession, terminalSize } from "./socket-session.ts";

interface RunOpts {
  app?: string;
  timeout?: string;
  json?: boolean;
  tty?: boolean;
  type?: string;
}

/** `--type`: a process type name (server/validation/names.ts ProcessType); a usage error otherwise. */
export function runType(value: string | undefined): string | undefined {
  if (value !== undefined && !/^[a-z][a-z0-9_-]{0,29}$/.test(value))
    throw usageError(`invalid process type ${JSON.stringify(value)}`);
  return value;
}

/** How the command's streams travel: a remote terminal, pipes, or the NDJSON event stream (`--json`). */
export type RunMode = "tty" | "pipe" | "json";

/** Picks the mode: `--json` wins; a terminal only when both ends are one and `--no-tty` was not given. */
export function runMode(opts: { json?: boolean; tty?: boolean }, terminal: boolean): RunMode {
  if (opts.json) return "json";
  return opts.tty !== false && terminal ? "tty" : "pipe";
}

/** `--timeout` in whole seconds (default 3600); a usage error otherwise. */
export function runTimeout(value: string | undefined): number {
  const seconds = value === undefined ? 3600 : Number(value);
  if (!/^\d+$/.test(value ?? "3600") || !Number.isInteger(seconds) || seconds < 1 || seconds > 86_400)
    throw usageError("--timeout is whole seconds from 1 to 86400");
  return seconds;
}

/** The run socket's URL: one `cmd` parameter per word, the terminal's size, the timeout. */
export function runUrl(
  base: string,
  app: string,
  o: { command: string[]; tty: boolean; cols: number; rows: number; timeoutSeconds: number; type?: string | undefined },
): URL {
  const u = new URL(`${base}/api/v1/apps/${seg(app)}/run`);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.searchParams.set("tty", o.tty ? "1" : "0");
  u.searchParams.set("cols", String(o.cols));
  u.searchParams.set("rows", String(o.rows));
  u.searchParams.set("timeout", String(o.timeoutSeconds));
  if (o.type) u.searchParams.set("type", o.type);
  for (const word of o.command) u.searchParams.append("cmd", word);
  return u;
}

type RunEvent =
  | { type: "started"; instance: string; release: number }
  | { type: "output"; stream: "stdout" | "stderr"; text: string }
  | { type: "exit"; code: number; reason?: string };

/** Parses one NDJSON line of the run stream; null for anything unexpected (skipped). */
export function parseRunEvent(line: string): RunEvent | null {
  try {
    const v = JSON.parse(line) as RunEvent;
    return v && typeof v === "object" && typeof v.type === "string" ? v : null;
  } catch {
    return null;
  }
}

async function runCommand(words: string[], opts: RunOpts): Promise<void> {
  if (words.length === 0) throw usageError("give the command after --, like `berth run -a APP -- ls -la`");
  const timeoutSeconds = runTimeout(opts.timeout);
  const type = runType(opts.type);
  const app = await resolveApp(opts.app);
  const t = resolveTarget();
  if (!t.token) throw new CliError(`not logged in to ${t.url}; run \`berth login\` or set BERTH_TOKEN`);
  const mode = runMode(opts, localTerminal());
  if (mode !== "json") {
    const tty = mode === "tty";
    const url = runUrl(t.url, app, { command: words, tty, ...terminalSize(), timeoutSeconds, type });
    note("Starting a one-off container...");
    const code = await runSocketSession(url, t, {
      tty,
      onStarted: (f) => note(`Running on ${clean(f.instance)}${f.release !== undefined ? ` (v${f.release})` : ""}`),
    });
    if (code !== 0) throw new CliError("", code);
    return;
  }
  const res = await fetch(`${t.url}/api/v1/apps/${seg(app)}/run`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body: JSON.stringify({ command: words, timeoutSeconds, ...(type ? { type } : {}) }),
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(
      clean(body.error?.message ?? `Berth answered HTTP ${res.status}`),
      res.status,
      body.error?.code ?? "",
    );
  }
  const decoder = new TextDecoder();
  let buffered = "";
  let exit: RunEvent | undefined;
  const handle = (line: string) => {
    const e = parseRunEvent(line);
    if (!e) return;
    // The API's own events, one JSON object per line (like `logs --json`), output text unmodified.
    process.stdout.write(`${JSON.stringify(e)}\n`);
    if (e.type === "exit") exit = e;
  };
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buffered += decoder.decode(chunk, { stream: true });
    let nl = buffered.indexOf("\n");
    while (nl >= 0) {
      handle(buffered.slice(0, nl));
      buffered = buffered.slice(nl + 1);
      nl = buffered.indexOf("\n");
    }
  }
  if (buffered) handle(buffered);
  const done = exit as Extract<RunEvent, { type: "exit" }> | undefined;
  if (!done) throw new CliError("the connection ended before the command finished");
  if (done.code !== 0) throw new CliError("", done.code);
}

/** Registers `run`. */
export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description(
      "run a command once in a new container of the deployed release (its config included): interactive on a " +
        "terminal (`berth run -a APP -- sh`), else stdin piped in; exits with its code",
    )
    .argument("<command...>", "the command, after --")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--timeout <seconds>", "stop the command after this many seconds (default 3600; exit code 124)")
    .option("--type <type>", "give the one-off the limits (memory, CPU, disk, bandwidth) of this process type")
    .option("--no-tty", "pipe stdin/stdout even on a terminal")
    .action(runCommand);
}
