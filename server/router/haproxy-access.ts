// Access lines from HAProxy. HAProxy logs each request into an in-memory ring ("access", haproxy-config.ts) and the
// control plane reads it with `show events access -w` over the Runtime API socket, which only the control plane's
// user can open (0600 in a 0700 directory): no other local process can write lines that land in an app's log.
import net from "node:net";
import type { Logger } from "../logger.ts";
import { ACCESS_TAG } from "./haproxy-config.ts";
import { workerPid } from "./haproxy-process.ts";

/** One handled request, as emitted by HaproxyRouter's "access" event. */
export interface AccessLine {
  app?: string;
  host: string;
  method: string;
  /** Path without the query string (queries often carry tokens; they stay out of our logs). */
  path: string;
  status: number;
  durationMs: number;
  bytes: number;
  upstream?: string;
  requestId?: string;
  /** ISO 8601 time HAProxy finished the request. */
  at: string;
}

/** Lowercase host without port ("A.test:8080" → "a.test", "[::1]:80" → "::1"). */
export function bareHost(hostport: string): string {
  const h = hostport.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.lastIndexOf(":");
  return colon >= 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

const MAX_LINE = 64 * 1024;
const RECONNECT_MS = 500;

/**
 * One access line in our log-format ("berth1 TS ID STATUS CLEN BYTES TA APP UPSTREAM METHOD PATH HOST"; HOST last
 * since it is the only field a client can fill with spaces), or undefined for anything else.
 */
export function parseHaproxyAccess(line: string): AccessLine | undefined {
  const f = line.split(" ");
  if (f[0] !== ACCESS_TAG || f.length < 12) return undefined;
  const [, ts, id, st, clen, bytes, ta, app, upstream, method, pathOnly] = f as string[];
  const status = Number(st);
  if (!Number.isInteger(status)) return undefined;
  const duration = Math.max(0, Number(ta) || 0);
  const declared = /^[0-9]{1,15}$/.test(clen ?? "") ? Number(clen) : undefined;
  const started = Number(ts) * 1000;
  const out: AccessLine = {
    host: bareHost(f.slice(11).join(" ")),
    method: method ?? "",
    path: pathOnly ?? "",
    status,
    durationMs: duration,
    // Content-Length when the response had one (the body size); else bytes sent including headers.
    bytes: declared ?? Math.max(0, Number(bytes) || 0),
    at: new Date(Number.isFinite(started) ? started + duration : Date.now()).toISOString(),
  };
  if (app && app !== "-") out.app = app;
  if (upstream && upstream !== "-:-" && /^[0-9.]+:[0-9]+$/.test(upstream)) out.upstream = upstream;
  if (id && id !== "-") out.requestId = id;
  return out;
}

/**
 * Follows the access ring of the running worker and reconnects when the connection ends (reload, restart). A worker
 * seen for the first time is read from the start of its ring (a reload's new worker logged before we got there);
 * the worker we were already following, and the one found at start (lines from before this control plane started
 * were for the previous one, which is gone), only from now on.
 */
export class AccessStream {
  private conn: net.Socket | undefined;
  private stopped = true;
  private lastPid: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: string,
    private readonly onLine: (line: string) => void,
    private readonly log: Logger,
  ) {}

  /** Starts following; `replay` reads the current worker's whole ring (a worker we launched ourselves). */
  async start(replay: boolean): Promise<void> {
    this.stopped = false;
    if (!replay) this.lastPid = await workerPid(this.socket);
    this.connect();
  }

  /**
   * Follows the current worker again. Called after a reload: our `show events -w` session would otherwise keep the
   * old worker alive (and us reading its ring) instead of letting it finish.
   */
  reconnect(): void {
    this.conn?.destroy();
  }

  /** Stops following (HAProxy keeps logging into its ring). */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.conn?.destroy();
    this.conn = undefined;
  }

  private connect(): void {
    if (this.stopped) return;
    void workerPid(this.socket).then((pid) => {
      if (this.stopped) return;
      if (pid === undefined) return this.retry();
      const onlyNew = pid === this.lastPid;
      this.lastPid = pid;
      const conn = net.connect(this.socket);
      this.conn = conn;
      let buf = "";
      conn.setEncoding("utf8");
      conn.on("data", (chunk: string) => {
        buf += chunk;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) this.onLine(line);
        }
        if (buf.length > MAX_LINE) buf = "";
      });
      conn.on("error", (err) => this.log.debug({ err: err.message }, "access ring connection failed"));
      conn.on("close", () => {
        if (this.conn === conn) this.conn = undefined;
        this.retry();
      });
      conn.write(`show events access -w${onlyNew ? " -n" : ""}\n`);
    });
  }

  private retry(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), RECONNECT_MS);
    this.timer.unref();
  }
}
