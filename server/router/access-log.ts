// Turns Caddy's JSON log lines into typed access lines. Caddy 2.6 access lines do not name the upstream, but the
// reverse proxy's "upstream roundtrip" debug line (written just before, on the same stream) carries it together
// with the X-Request-Id we set; the parser joins the two by that id.
import { ACCESS_LOGGER, PROXY_LOGGER } from "./caddy-config.ts";

/** One handled request, as emitted by Router's "access" event. */
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
  /** ISO 8601 time Caddy finished the request. */
  at: string;
}

/** A log line that is neither an access line nor a roundtrip line (Caddy warnings and errors, for our logger). */
export interface OtherLine {
  level: string;
  logger?: string;
  msg: string;
  raw: Record<string, unknown>;
}

const MAX_PENDING = 10_000;

type Json = Record<string, unknown>;

function obj(v: unknown): Json | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Json) : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function firstHeader(headers: unknown, name: string): string | undefined {
  const values = obj(headers)?.[name];
  return Array.isArray(values) ? str(values[0]) : undefined;
}

/** Lowercase host without port ("A.test:8080" → "a.test", "[::1]:80" → "::1"). */
export function bareHost(hostport: string): string {
  const h = hostport.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(1, h.indexOf("]") > 0 ? h.indexOf("]") : undefined);
  const colon = h.lastIndexOf(":");
  return colon >= 0 && h.indexOf(":") === colon ? h.slice(0, colon) : h;
}

/** Stateful parser: feed it lines in order; it returns access lines and remembers upstreams by request id. */
export class AccessLogParser {
  private readonly upstreamById = new Map<string, string>();
  private appByHost = new Map<string, string>();

  /** Replaces the host → app map used to label access lines (call after each successful config load). */
  setHosts(appByHost: Map<string, string>): void {
    this.appByHost = appByHost;
  }

  /** Parses one line: an access line, some other Caddy line, or undefined (roundtrip lines, noise, bad JSON). */
  parse(line: string): { access: AccessLine } | { other: OtherLine } | undefined {
    let raw: Json | undefined;
    try {
      raw = obj(JSON.parse(line));
    } catch {
      return undefined;
    }
    if (!raw) return undefined;
    const logger = str(raw.logger);
    const msg = str(raw.msg) ?? "";
    if (logger === PROXY_LOGGER && msg === "upstream roundtrip") {
      this.rememberUpstream(raw);
      return undefined;
    }
    if (logger === ACCESS_LOGGER) {
      const access = this.toAccess(raw);
      return access ? { access } : undefined;
    }
    // The access writer runs at DEBUG for the roundtrip lines; the proxy's other debug chatter is dropped.
    if (raw.level === "debug") return undefined;
    return { other: { level: str(raw.level) ?? "info", logger, msg, raw } };
  }

  private rememberUpstream(raw: Json): void {
    const id = firstHeader(obj(raw.request)?.headers, "X-Request-Id");
    const upstream = str(raw.upstream);
    if (!id || !upstream) return;
    // Access lines normally follow at once; the cap only matters if some never come (e.g. hijacked connections).
    if (this.upstreamById.size >= MAX_PENDING) {
      const oldest = this.upstreamById.keys().next().value;
      if (oldest !== undefined) this.upstreamById.delete(oldest);
    }
    this.upstreamById.delete(id);
    this.upstreamById.set(id, upstream);
  }

  private toAccess(raw: Json): AccessLine | undefined {
    const req = obj(raw.request);
    const status = num(raw.status);
    if (!req || status === undefined) return undefined;
    const host = bareHost(str(req.host) ?? "");
    const uri = str(req.uri) ?? "";
    const q = uri.indexOf("?");
    const requestId = firstHeader(raw.resp_headers, "X-Request-Id");
    const upstream = requestId ? this.upstreamById.get(requestId) : undefined;
    if (requestId) this.upstreamById.delete(requestId);
    const ts = num(raw.ts);
    const line: AccessLine = {
      host,
      method: str(req.method) ?? "",
      path: q >= 0 ? uri.slice(0, q) : uri,
      status,
      durationMs: Math.round((num(raw.duration) ?? 0) * 1e6) / 1e3,
      bytes: num(raw.size) ?? 0,
      at: new Date(ts !== undefined ? ts * 1000 : Date.now()).toISOString(),
    };
    const app = this.appByHost.get(host);
    if (app !== undefined) line.app = app;
    if (upstream !== undefined) line.upstream = upstream;
    if (requestId !== undefined) line.requestId = requestId;
    return line;
  }
}
