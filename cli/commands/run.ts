// `berth run -a APP -- CMD...`: runs a command once in a new container of the app's deployed release (its image and
// config vars), streams the output and exits with the command's exit code, like `heroku run`. No TTY or stdin.
import type { Command } from "commander";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { ApiError, CliError, usageError } from "../errors.ts";
import { clean, note, stripTerminal } from "../output.ts";
import { resolveTarget } from "../session.ts";

interface RunOpts {
  app?: string;
  timeout?: string;
  json?: boolean;
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
  const timeoutSeconds = opts.timeout === undefined ? 3600 : Number(opts.timeout);
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 86_400)
    throw usageError("--timeout is whole seconds from 1 to 86400");
  const app = await resolveApp(opts.app);
  const t = resolveTarget();
  if (!t.token) throw new CliError(`not logged in to ${t.url}; run \`berth login\` or set BERTH_TOKEN`);
  const res = await fetch(`${t.url}/api/v1/apps/${seg(app)}/run`, {
    method: "POST",
    headers: { authorization: `Bearer ${t.token}`, "content-type": "application/json" },
    body: JSON.stringify({ command: words, timeoutSeconds }),
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { code?: string; message?: string } };
    throw new ApiError(clean(body.error?.message ?? `Berth answered HTTP ${res.status}`), res.status, body.error?.code ?? "");
  }
  const decoder = new TextDecoder();
  let buffered = "";
  let exit: RunEvent | undefined;
  const handle = (line: string) => {
    const e = parseRunEvent(line);
    if (!e) return;
    // --json: the API's own events, one JSON object per line (like `logs --json`), output text unmodified.
    if (opts.json) process.stdout.write(`${JSON.stringify(e)}\n`);
    if (e.type === "exit") exit = e;
    else if (opts.json) return;
    else if (e.type === "started") note(`Running on ${e.instance} (v${e.release})`);
    else if (e.type === "output") (e.stream === "stderr" ? process.stderr : process.stdout).write(`${stripTerminal(e.text)}\n`);
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
  if (done.reason && done.code !== 0 && !opts.json) note(`exited with code ${done.code}: ${clean(done.reason)}`);
  if (done.code !== 0) throw new CliError("", done.code);
}

/** Registers `run`. */
export function registerRunCommand(program: Command): void {
  program
    .command("run")
    .description("run a command once in a new container of the deployed release (its config included); exits with its code")
    .argument("<command...>", "the command, after --")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("--timeout <seconds>", "stop the command after this many seconds (default 3600)")
    .action(runCommand);
}
