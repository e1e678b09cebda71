// `berth ps:exec -a APP [INSTANCE] [-- CMD...]`: a session inside a running instance (like `heroku ps:exec`,
// `kubectl exec -it`). With a terminal on both ends: raw mode (Ctrl-C, Ctrl-D and every other key go to the remote
// side), the window size and its changes; without one, stdin and stdout are piped (end of input closes the remote
// stdin). The remote exit code becomes the CLI's. Wire format: docs/console.md.
import type { Command } from "commander";
import type WebSocket from "ws";
import { seg } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { ApiError, CliError, usageError } from "../errors.ts";
import { clean, note } from "../output.ts";
import { resolveTarget } from "../session.ts";

interface ExecOpts {
  app?: string;
  tty?: boolean;
  json?: boolean;
}

const INSTANCE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/** Server text frames. */
type ServerFrame =
  | { type: "started"; instance: string; session: string }
  | { type: "exit"; code: number }
  | { type: "ended"; reason: string }
  | { type: "error"; error: { code: string; message: string } };

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
  const stdin = process.stdin;
  const stdout = process.stdout;
  const tty = opts.tty !== false && Boolean(stdin.isTTY && stdout.isTTY);
  const size = () => ({ cols: stdout.columns || 80, rows: stdout.rows || 24 });
  const url = execUrl(t.url, app, { ...(instance ? { instance } : {}), command, tty, ...size() });
  // Loaded here: only this command needs a WebSocket, and every other command starts faster without it.
  const WebSocketClass = (await import("ws")).default;
  const ws: WebSocket = new WebSocketClass(url, {
    headers: { authorization: `Bearer ${t.token}` },
    maxPayload: 1024 * 1024,
  });

  const code = await new Promise<number>((resolve, reject) => {
    let outcome: number | Error | undefined;
    let raw = false;
    const restore = () => {
      if (raw) stdin.setRawMode(false);
      raw = false;
      stdin.pause();
      stdin.off("data", onInput);
      stdin.off("end", onEnd);
      stdout.off("resize", onResize);
    };
    const onInput = (d: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      ws.send(d, { binary: true });
      // Backpressure: stop reading local input while the socket has a lot queued.
      if (ws.bufferedAmount > 1024 * 1024) {
        stdin.pause();
        const wait = setInterval(() => {
          if (ws.bufferedAmount < 256 * 1024 || ws.readyState !== ws.OPEN) {
            clearInterval(wait);
            stdin.resume();
          }
        }, 20);
      }
    };
    const onEnd = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "eof" }));
    };
    const onResize = () => {
      if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ type: "resize", ...size() }));
    };
    ws.on("unexpected-response", (_req, res) => {
      ws.terminate();
      outcome = new ApiError(
        res.statusCode === 401 ? `not logged in to ${t.url} (token rejected)` : `Berth answered HTTP ${res.statusCode}`,
        res.statusCode ?? 0,
        "",
      );
    });
    ws.on("message", (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as Buffer);
      if (isBinary) {
        const out = buf[0] === 2 ? process.stderr : stdout;
        if (!out.write(buf.subarray(1))) {
          // The terminal or pipe is slower than the instance: stop reading the socket until it drains.
          ws.pause();
          out.once("drain", () => ws.resume());
        }
        return;
      }
      let f: ServerFrame;
      try {
        f = JSON.parse(buf.toString("utf8")) as ServerFrame;
      } catch {
        return;
      }
      if (f.type === "started") {
        if (opts.json) process.stderr.write(`${JSON.stringify(f)}\n`);
        else if (tty) note(`Connected to ${clean(f.instance)}. The session ends when the command exits.`);
        if (tty) {
          stdin.setRawMode(true);
          raw = true;
        }
        stdin.on("data", onInput);
        stdin.on("end", onEnd);
        stdout.on("resize", onResize);
        stdin.resume();
      } else if (f.type === "exit") {
        outcome = f.code;
      } else if (f.type === "ended") {
        outcome = new CliError(`session ended: ${clean(f.reason)}`);
      } else if (f.type === "error") {
        outcome = new ApiError(clean(f.error.message), 0, f.error.code);
      }
    });
    ws.on("error", (err) => {
      outcome ??= new CliError(`cannot reach ${t.url}: ${clean(err.message)}`);
    });
    ws.on("close", () => {
      restore();
      if (typeof outcome === "number") resolve(outcome);
      else reject(outcome ?? new CliError("the connection ended before the command finished"));
    });
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
