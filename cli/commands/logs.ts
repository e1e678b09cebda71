// `berth logs`: an app's recent log lines, and with --tail the live stream after them. Every entry has a per-app
// seq: the history answer says how far it reached (`lastSeq`), the live stream is subscribed BEFORE the history is
// fetched, and only entries with a larger seq than anything printed are printed, so nothing is lost or doubled.
// When the server drops messages for a slow reader, or the stream reconnects, the gap is fetched by seq.
import type { Command } from "commander";
import type WebSocket from "ws";
import { seg, type BerthApi } from "../api-client.ts";
import { resolveApp } from "../app-resolver.ts";
import { CliError, usageError } from "../errors.ts";
import { note, stripTerminal } from "../output.ts";
import { authedClient, resolveTarget } from "../session.ts";
import type { LogEntry, Logs as LogsPage } from "../api-types.ts";
export type { LogEntry };

interface LogsOpts {
  app?: string;
  num: string;
  tail?: boolean;
  /** CONTRACT spelling of --tail. */
  follow?: boolean;
  ps?: string;
  /** CONTRACT spelling of --ps. */
  type?: string;
  source?: string;
  json?: boolean;
}

interface Filters {
  processType?: string;
  source?: LogEntry["source"];
}

const SOURCES = ["app", "router", "berth"] as const;
/** Close code of a stream whose credential ended (docs/api.md). */
const STREAM_CLOSE_UNAUTHORIZED = 4401;
const TYPE = /^[a-z][a-z0-9_-]{0,29}$/;
const PAGE = 1000;

/**
 * Makes log text safe for a terminal: escape sequences and control characters go (so a log line cannot move the
 * cursor, retitle the window, or hide text), carriage-return rewrites keep their last state, newlines become `\n`.
 */
export function sanitizeLogText(text: string): string {
  return stripTerminal(text).split("\n").join("\\n");
}

/** One entry as a line: `2026-11-27T12:00:00.123Z web[1a2b3c4d]: text`, `... router: text`, `... berth: text`. */
export function formatLogEntry(e: LogEntry): string {
  let who: string = e.source;
  if (e.source === "app") {
    const short = e.instance ? (e.instance.split("-").at(-1) ?? e.instance) : "";
    who = `${e.processType ?? "app"}${short ? `[${short}]` : ""}`;
  }
  return sanitizeLogText(`${e.at} ${who}: ${e.text}`);
}

function parseLines(raw: string): number {
  if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) < 1 || Number(raw) > 10_000)
    throw usageError(`--num must be a whole number from 1 to 10000, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function parseFilters(opts: LogsOpts): Filters {
  const f: Filters = {};
  if (opts.ps !== undefined && opts.type !== undefined && opts.ps !== opts.type)
    throw usageError("--ps and --type name the same filter; give one");
  const type = opts.ps ?? opts.type;
  if (type !== undefined) {
    if (!TYPE.test(type)) throw usageError(`invalid process type ${JSON.stringify(type)}`);
    f.processType = type;
  }
  if (opts.source !== undefined) {
    if (!(SOURCES as readonly string[]).includes(opts.source))
      throw usageError(`--source must be one of ${SOURCES.join(", ")}`);
    f.source = opts.source as LogEntry["source"];
  }
  return f;
}

const matches = (e: LogEntry, f: Filters) =>
  (f.processType === undefined || e.processType === f.processType) && (f.source === undefined || e.source === f.source);

function query(params: Record<string, string | number | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, String(v));
  return q.toString();
}

/** Writes entries to stdout: one line each, or one JSON object per line with --json. */
function printEntries(entries: LogEntry[], json: boolean): void {
  if (entries.length === 0) return;
  const text = entries.map((e) => (json ? JSON.stringify(e) : formatLogEntry(e))).join("\n");
  process.stdout.write(`${text}\n`);
}

/** Follows the live stream until interrupted; `after` is the last seq already printed. */
class Follower {
  private printed: number;
  private chain: Promise<void> = Promise.resolve();
  private ws: WebSocket | undefined;
  private attempt = 0;
  private done = false;
  private fail: ((err: Error) => void) | undefined;
  private WebSocketClass: typeof WebSocket | undefined;

  constructor(
    private readonly api: BerthApi,
    private readonly token: string,
    private readonly app: string,
    private readonly filters: Filters,
    private readonly json: boolean,
    private readonly lines: number,
  ) {
    this.printed = 0;
  }

  /** Subscribes, prints the history, then the live entries; resolves only when stopped. */
  async run(): Promise<void> {
    // Loaded here, not at start: only --follow needs a WebSocket, and every other command starts faster without it.
    this.WebSocketClass = (await import("ws")).default;
    return new Promise<void>((resolve, reject) => {
      this.fail = reject;
      const stop = () => {
        this.done = true;
        this.ws?.close();
        resolve();
      };
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
      this.connect(true);
    });
  }

  private connect(first: boolean): void {
    if (this.done) return;
    const u = new URL(`${this.api.url}/api/v1/stream`);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    const ws = new (this.WebSocketClass as typeof WebSocket)(u, {
      headers: { authorization: `Bearer ${this.token}`, "user-agent": "berth-cli" },
      handshakeTimeout: 15_000,
    });
    this.ws = ws;
    let subscribed = false;
    ws.on("open", () => ws.send(JSON.stringify({ type: "subscribe", app: this.app, channel: "logs" })));
    ws.on("message", (raw: WebSocket.RawData) => {
      let f: { type?: string; app?: string; channel?: string; data?: { entries?: LogEntry[] }; message?: string };
      try {
        f = JSON.parse(raw.toString()) as typeof f;
      } catch {
        return;
      }
      // Refused, or ended later because access was lost (removed from the team, app destroyed, token revoked).
      if (f.type === "error") {
        this.done = true;
        ws.close();
        this.fail?.(new CliError(`cannot follow the logs of ${this.app}: ${f.message ?? "refused"}`));
        return;
      }
      if (f.type === "subscribed" && f.app === this.app && f.channel === "logs") {
        subscribed = true;
        this.attempt = 0;
        // History (first time) or the gap since the last printed entry (after a reconnect).
        this.enqueue(() => (first ? this.history() : this.catchUp()));
        return;
      }
      if (f.type === "dropped") {
        this.enqueue(() => this.catchUp());
        return;
      }
      if (f.type === "message" && f.app === this.app && f.channel === "logs" && subscribed) {
        const entries = f.data?.entries ?? [];
        this.enqueue(async () => this.printLive(entries));
      }
    });
    ws.on("unexpected-response", (_req, res) => {
      ws.terminate();
      if (res.statusCode === 401) {
        this.done = true;
        this.fail?.(new CliError("the stream refused the credentials; run `berth login` or check BERTH_TOKEN"));
      }
    });
    ws.on("error", () => undefined);
    ws.on("close", (code: number) => {
      if (this.done || this.ws !== ws) return;
      // 4401: the token this stream was opened with was revoked or expired; reconnecting with it cannot work.
      if (code === STREAM_CLOSE_UNAUTHORIZED) {
        this.done = true;
        this.fail?.(
          new CliError("the stream ended: the token was revoked or expired; run `berth login` or check BERTH_TOKEN"),
        );
        return;
      }
      const delay = Math.min(10_000, 250 * 2 ** this.attempt++);
      if (this.attempt === 3) note("berth: log stream interrupted; reconnecting...");
      setTimeout(() => this.connect(false), delay);
    });
  }

  private enqueue(fn: () => Promise<void>): void {
    this.chain = this.chain.then(fn).catch((err: unknown) => {
      this.done = true;
      this.ws?.close();
      this.fail?.(err instanceof Error ? err : new Error(String(err)));
    });
  }

  private async history(): Promise<void> {
    const q = query({ lines: this.lines, processType: this.filters.processType, source: this.filters.source });
    const { body } = await this.api.get<LogsPage>(`/apps/${seg(this.app)}/logs?${q}`);
    printEntries(body.entries, this.json);
    this.printed = Math.max(this.printed, body.lastSeq);
  }

  private async catchUp(): Promise<void> {
    for (;;) {
      const q = query({
        lines: PAGE,
        after: this.printed,
        processType: this.filters.processType,
        source: this.filters.source,
      });
      const { body } = await this.api.get<LogsPage>(`/apps/${seg(this.app)}/logs?${q}`);
      printEntries(body.entries, this.json);
      const last = body.entries.at(-1)?.seq ?? body.lastSeq;
      this.printed = Math.max(this.printed, body.entries.length < PAGE ? body.lastSeq : last);
      if (body.entries.length < PAGE) return;
    }
  }

  private printLive(entries: LogEntry[]): void {
    const fresh = entries.filter((e) => typeof e.seq === "number" && e.seq > this.printed);
    printEntries(
      fresh.filter((e) => matches(e, this.filters)),
      this.json,
    );
    for (const e of fresh) this.printed = Math.max(this.printed, e.seq);
  }
}

async function logs(opts: LogsOpts): Promise<void> {
  const lines = parseLines(opts.num);
  const filters = parseFilters(opts);
  const app = await resolveApp(opts.app);
  const api = authedClient();
  if (!opts.tail && !opts.follow) {
    const q = query({ lines, processType: filters.processType, source: filters.source });
    const { body } = await api.get<LogsPage>(`/apps/${seg(app)}/logs?${q}`);
    printEntries(body.entries, opts.json ?? false);
    return;
  }
  const token = resolveTarget().token as string;
  await new Follower(api, token, app, filters, opts.json ?? false, lines).run();
}

/** Registers `berth logs`. */
export function registerLogCommands(program: Command): void {
  program
    .command("logs")
    .description("show an app's recent log lines (app output, router, platform); -f/--tail follows them live")
    .option("-a, --app <app>", "app name (default: from git remote `berth`)")
    .option("-n, --num <lines>", "how many recent lines (1-10000)", "100")
    .option("-f, --follow", "keep printing new lines as they arrive (Ctrl-C to stop)")
    .option("-t, --tail", "same as --follow (Heroku's spelling)")
    .option("--type <type>", "only lines of this process type, e.g. web")
    .option("--ps <type>", "same as --type (Heroku's spelling)")
    .option("--source <source>", "only lines from app, router or berth")
    .action(logs);
}
