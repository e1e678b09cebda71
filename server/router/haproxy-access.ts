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
const ACCESS_TAG_SPACE = `${ACCESS_TAG} `;
const RECONNECT_MS = 500;

let isoSecond = NaN;
let isoPrefix = "";

/**
 * Epoch ms -> ISO 8601. `new Date().toISOString()` per line was most of the parsing cost (about 1-3 µs of 2-5); lines
 * come in bursts from the same second, so the "YYYY-MM-DDTHH:MM:SS." part is formatted once per second.
 */
export function isoFromMs(ms: number): string {
  const whole = Math.round(ms);
  const sec = Math.floor(whole / 1000);
  if (sec !== isoSecond) {
    const iso = new Date(sec * 1000).toISOString();
    // Years outside 0000-9999 have a longer spelling; format those whole (never cached).
    if (iso.length !== 24) return new Date(whole).toISOString();
    isoSecond = sec;
    isoPrefix = iso.slice(0, 20);
  }
  const m = whole - sec * 1000;
  return `${isoPrefix}${m < 10 ? "00" : m < 100 ? "0" : ""}${m}Z`;
}

function isDigits(s: string): boolean {
  if (s.length === 0 || s.length > 15) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/** "IPv4:port" as HAProxy logs %si:%sp ("-:-" or "<NOSRV>" style values when no server was used). */
function isUpstream(s: string): boolean {
  const colon = s.lastIndexOf(":");
  if (colon < 7 || !isDigits(s.slice(colon + 1))) return false;
  for (let i = 0; i < colon; i++) {
    const c = s.charCodeAt(i);
    if (c !== 46 && (c < 48 || c > 57)) return false;
  }
  return true;
}

/**
 * One access line in our log-format ("berth1 TS ID STATUS CLEN BYTES TA APP UPSTREAM METHOD PATH HOST"; HOST last
 * since it is the only field a client can fill with spaces), or undefined for anything else. Called for every request
 * the router serves, so it avoids regular expressions and per-line Date formatting.
 */
export function parseHaproxyAccess(line: string): AccessLine | undefined {
  if (!line.startsWith(ACCESS_TAG_SPACE)) return undefined;
  const f = line.split(" ", 12);
  if (f.length < 12) return undefined;
  const [, ts, id, st, clen, bytes, ta, app, upstream, method, pathOnly] = f as string[];
  const status = Number(st);
  if (!Number.isInteger(status)) return undefined;
  const duration = Math.max(0, Number(ta) || 0);
  const started = Number(ts) * 1000;
  // The host is everything after the 11th space (a Host with spaces in it spans several fields).
  let hostStart = 11;
  for (let i = 0; i < 11; i++) hostStart += f[i]!.length;
  const out: AccessLine = {
    host: bareHost(line.slice(hostStart)),
    method: method ?? "",
    path: pathOnly ?? "",
    status,
    durationMs: duration,
    // Content-Length when the response had one (the body size); else bytes sent including headers.
    bytes: isDigits(clen ?? "") ? Number(clen) : Math.max(0, Number(bytes) || 0),
    at: Number.isFinite(started) ? isoFromMs(started + duration) : new Date().toISOString(),
  };
  if (app && app !== "-") out.app = app;
  if (upstream && isUpstream(upstream)) out.upstream = upstream;
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
      // Raw buffers, split on newlines natively: a chunk holds a burst of lines (the ring reader writes as many as
      // fit), and only the partial last line is carried over.
      let rest: Buffer | undefined;
      conn.on("data", (chunk: Buffer) => {
        const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
        let start = 0;
        let nl: number;
        while ((nl = buf.indexOf(10, start)) >= 0) {
          if (nl > start) this.onLine(buf.toString("utf8", start, nl));
          start = nl + 1;
        }
        rest = start < buf.length && buf.length - start <= MAX_LINE ? buf.subarray(start) : undefined;
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
