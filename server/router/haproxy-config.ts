// Pure pieces of the HAProxy data plane: where each app and instance lives in a pool of pre-allocated backends and
// server slots (planRoutes), the Runtime API commands that turn one such state into the next (runtimeCommands), and
// the full configuration text that a (re)started HAProxy reads (renderHaproxyConfig, renderHostMap).
//
// Why slots: HAProxy 2.6 changes a server's address and admin state and a map's entries over its Runtime API without
// a reload, but adding a backend needs a new configuration. So the configuration declares `pool.backends` backends
// with `pool.slots` servers each (unused slots in maintenance), a host -> "backend/app" map picks the backend, and a
// route change is a handful of `set server` / `set map` commands. Only a pool too small for the routes needs a
// (seamless) reload, and the pool then grows with headroom so that this stays rare.
import { assertApp, assertHost, assertUpstream, type RouteEntry } from "./routes.ts";

/** How many backends and server slots per backend the configuration declares. */
export interface PoolSize {
  backends: number;
  slots: number;
}

/** What HAProxy is told: which app owns which backend, which upstream sits in which slot, and the host map. */
export interface RuntimeState {
  pool: PoolSize;
  /** App owning backend i (undefined = free). */
  owners: (string | undefined)[];
  /** Upstream ("ip:port") in slot [backend][slot] (undefined = slot in maintenance). */
  slots: (string | undefined)[][];
  /** Host -> map value ("b3/shop", "maint/shop/b3", "down/shop/b3"): the backend to use, the app, its backend. */
  hosts: Map<string, string>;
}

/** Paths and limits the rendered configuration needs; validated by the caller (haproxy-process.ts). */
export interface HaproxyConfigInput {
  listen: { host: string; port: number };
  /** Runtime API socket (mode 0600 inside the router's private directory). */
  adminSocket: string;
  /** The host map file (its path is also the map's name in Runtime API commands). */
  mapFile: string;
  maxBodyBytes: number;
  /** HTTPS (haproxy-tls.ts): a second bind with the certificates of a crt-list, redirects, ACME HTTP-01 answers. */
  tls?: TlsConfigInput;
}

/** The TLS side of the configuration; the three files are kept by haproxy-tls.ts and changed at run time. */
export interface TlsConfigInput {
  port: number;
  /** crt-list file: one "CERT.pem HOST" line per certificate HAProxy holds. */
  crtList: string;
  /** Map of the hosts that have a certificate ("host 1"): their plain-HTTP requests are redirected. */
  certMap: string;
  /** Map of pending ACME HTTP-01 answers ("token keyAuthorization"). */
  acmeMap: string;
}

/** The smallest pool: new apps and instances fit without a reload until these fill up. */
export const MIN_POOL: PoolSize = { backends: 64, slots: 8 };
/** Connection attempts to an instance give up after this long; a refused connect is retried on another instance. */
export const CONNECT_TIMEOUT_MS = 500;
/** Extra connection attempts per request (each on another instance: `option redispatch 1`). */
export const RETRIES = 2;
/** Access lines start with this tag, so other ring messages (server state changes) are told apart. */
export const ACCESS_TAG = "berth1";
/** First line of every config Berth writes (a file without it at our path is not ours to start). */
export const CONFIG_SIGNATURE = "# Written by Berth";

const EMPTY_ADDR = "0.0.0.0:1";

/** Backend name of pool index i. */
export function backendName(i: number): string {
  return `b${i}`;
}

function slotName(j: number): string {
  return `s${j}`;
}

/** "localhost:P" -> "127.0.0.1:P": HAProxy's Runtime API sets addresses, not names. */
export function upstreamAddress(upstream: string): string {
  return upstream.startsWith("localhost:") ? `127.0.0.1:${upstream.slice("localhost:".length)}` : upstream;
}

/** Throws on anything that must not reach HAProxy: invalid names, hosts or upstreams, one host for two apps. */
export function validateRoutes(routes: RouteEntry[]): void {
  const owner = new Map<string, string>();
  const apps = new Set<string>();
  for (const entry of routes) {
    assertApp(entry.app);
    if (apps.has(entry.app)) throw new Error(`router: app ${entry.app} listed twice`);
    apps.add(entry.app);
    entry.upstreams.forEach(assertUpstream);
    for (const host of entry.hosts) {
      assertHost(host);
      const other = owner.get(host);
      if (other !== undefined && other !== entry.app)
        throw new Error(`router: host ${host} is claimed by both ${other} and ${entry.app}`);
      owner.set(host, entry.app);
    }
  }
}

function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** The pool `routes` need: the current one when they fit, else one with room to spare (a reload then follows). */
export function poolFor(routes: RouteEntry[], current: PoolSize): PoolSize {
  const apps = routes.length;
  const widest = Math.max(0, ...routes.map((r) => new Set(r.upstreams.map(upstreamAddress)).size));
  if (apps <= current.backends && widest <= current.slots) return current;
  return {
    backends: Math.max(current.backends, nextPow2(Math.ceil(apps * 1.5))),
    slots: Math.max(current.slots, nextPow2(widest)),
  };
}

/** An empty state of the given pool (every slot in maintenance, no hosts). */
export function emptyState(pool: PoolSize): RuntimeState {
  return {
    pool,
    owners: Array.from({ length: pool.backends }, () => undefined),
    slots: Array.from({ length: pool.backends }, () => Array.from({ length: pool.slots }, () => undefined)),
    hosts: new Map(),
  };
}

/**
 * The state that serves `routes`, changing as little of `prev` as possible: an app keeps its backend and an instance
 * keeps its slot (its open connections and leastconn counts stay where they are); new ones take free places. `pool`
 * must fit the routes (poolFor). Routes must be valid (validateRoutes).
 */
export function planRoutes(prev: RuntimeState, routes: RouteEntry[], pool: PoolSize): RuntimeState {
  const next = emptyState(pool);
  const byApp = new Map(routes.map((r) => [r.app, r]));
  // Keep the backends of apps that stay (prev indices are below prev.pool.backends <= pool.backends).
  prev.owners.forEach((app, i) => {
    if (app !== undefined && byApp.has(app) && i < pool.backends) next.owners[i] = app;
  });
  const placed = new Map<string, number>();
  next.owners.forEach((app, i) => app !== undefined && placed.set(app, i));
  // A backend freed by this change may still drain connections of the app that left: new apps take backends that
  // were free in prev first.
  const idle = [...next.owners.keys()].sort(
    (x, y) => Number(prev.owners[x] !== undefined) - Number(prev.owners[y] !== undefined),
  );
  for (const r of routes) {
    if (placed.has(r.app)) continue;
    const free = idle.find((i) => next.owners[i] === undefined);
    if (free === undefined) throw new Error("router: backend pool too small (poolFor was not applied)");
    next.owners[free] = r.app;
    placed.set(r.app, free);
  }
  for (const r of routes) {
    const b = placed.get(r.app)!;
    const wanted = [...new Set(r.upstreams.map(upstreamAddress))];
    const before = prev.owners[b] === r.app ? (prev.slots[b] ?? []) : [];
    const row = next.slots[b]!;
    const keep = new Set(wanted);
    before.forEach((u, j) => {
      if (u !== undefined && keep.has(u) && j < pool.slots) {
        row[j] = u;
        keep.delete(u);
      }
    });
    // New instances go to slots that were empty in prev first, so a slot just emptied keeps draining undisturbed.
    const order = [...row.keys()].sort((x, y) => Number(before[x] !== undefined) - Number(before[y] !== undefined));
    for (const u of keep) {
      const j = order.find((k) => row[k] === undefined);
      if (j === undefined) throw new Error("router: slot pool too small (poolFor was not applied)");
      row[j] = u;
    }
    // Pages name the backend the app keeps, so an adopting control plane can tell which backend is whose.
    const value = r.maintenance
      ? `maint/${r.app}/${backendName(b)}`
      : wanted.length === 0
        ? `down/${r.app}/${backendName(b)}`
        : `${backendName(b)}/${r.app}`;
    for (const h of r.hosts) next.hosts.set(h, value);
  }
  return next;
}

/**
 * Runtime API commands that take a running HAProxy from `prev` to `next` (same pool). Order matters for requests in
 * flight: slots are filled before the map points at them, and emptied only after the map stopped pointing there.
 */
export function runtimeCommands(prev: RuntimeState, next: RuntimeState, mapFile: string): string[] {
  const fill: string[] = [];
  const empty: string[] = [];
  for (let b = 0; b < next.pool.backends; b++) {
    for (let j = 0; j < next.pool.slots; j++) {
      const was = prev.slots[b]?.[j];
      const now = next.slots[b]?.[j];
      if (was === now) continue;
      const server = `${backendName(b)}/${slotName(j)}`;
      if (now === undefined) {
        empty.push(`set server ${server} state maint`);
        continue;
      }
      const [ip, port] = now.split(":");
      // A slot that served another instance is put in maintenance first, so no new request goes to either while
      // the address changes; then it comes back with a fresh health state.
      if (was !== undefined) fill.push(`set server ${server} state maint`);
      fill.push(`set server ${server} addr ${ip} port ${port}`, `set server ${server} state ready`);
    }
  }
  const map: string[] = [];
  for (const [host, value] of next.hosts) {
    const was = prev.hosts.get(host);
    if (was === value) continue;
    map.push(was === undefined ? `add map ${mapFile} ${host} ${value}` : `set map ${mapFile} ${host} ${value}`);
  }
  for (const host of prev.hosts.keys()) if (!next.hosts.has(host)) map.push(`del map ${mapFile} ${host}`);
  return [...fill, ...map, ...empty];
}

/** True if a Runtime API answer to `command` reports success (HAProxy answers errors in plain words). */
export function commandSucceeded(command: string, answer: string): boolean {
  const text = answer.trim();
  if (text === "") return true;
  if (command.includes(" addr ")) return /^(IP changed|no need to change|port changed)/i.test(text);
  return false;
}

/** The host map file: one "host value" line per routed host, read by HAProxy at (re)start. */
export function renderHostMap(state: RuntimeState): string {
  return [...state.hosts].map(([h, v]) => `${h} ${v}\n`).join("");
}

function page(status: number, title: string, message: string): string {
  // lf-string: %[...] expands the app name taken from the map value (validated: [a-z0-9-] only).
  const body =
    `<!doctype html><html><head><meta charset=\\"utf-8\\"><title>${title}</title></head>` +
    `<body style=\\"font-family:sans-serif;margin:3rem\\"><h1>${message}</h1></body></html>\\n`;
  return (
    `  http-request return status ${status} content-type "text/html; charset=utf-8" ` +
    `hdr Cache-Control no-store lf-string "${body}"`
  );
}

function bindHost(host: string): string {
  return host === "" ? "" : host === "localhost" ? "127.0.0.1" : host;
}

/**
 * The TLS listener: certificates come only from the crt-list (loaded and changed over the Runtime API), and
 * `strict-sni` refuses a handshake for any name without one (unknown hosts, localhost names, no SNI) instead of
 * presenting some other host's certificate.
 */
function tlsBind(input: HaproxyConfigInput): string[] {
  if (!input.tls) return [];
  return [`  bind ${bindHost(input.listen.host)}:${input.tls.port} ssl crt-list ${input.tls.crtList} alpn h2,http/1.1 strict-sni`];
}

/** ACME HTTP-01 answers, before the host is looked up (they belong to no app, so no app's log shows them). */
function acmeRules(input: HaproxyConfigInput): string[] {
  const t = input.tls;
  if (!t) return [];
  return [
    // ACME HTTP-01: /.well-known/acme-challenge/TOKEN answers the key authorization while an order validates (over
    // plain HTTP, before the redirect, for any Host: the token itself is the secret part).
    `  http-request set-var(txn.acme) path,field(4,/),map(${t.acmeMap}) if { path_beg /.well-known/acme-challenge/ }`,
    '  http-request return status 200 content-type text/plain lf-string "%[var(txn.acme)]" if { var(txn.acme) -m found }',
  ];
}

/** The HTTP -> HTTPS redirect and the SNI/Host check, after the app is known (their lines go to its log). */
function tlsRules(input: HaproxyConfigInput): string[] {
  const t = input.tls;
  if (!t) return [];
  const port = t.port === 443 ? "" : `:${t.port}`;
  return [
    // Hosts with a certificate are served over HTTPS only (308 keeps the method and body); the challenge path is
    // never redirected, so a renewal's validation reaches the answer above whatever the client follows.
    `  http-request redirect location https://%[var(txn.host)]${port}%[capture.req.uri] code 308 if !{ ssl_fc } !{ path_beg /.well-known/acme-challenge/ } { var(txn.host),map(${t.certMap}) -m found }`,
    // One certificate must not reach another app: the Host of a TLS request must be the name the handshake was for.
    "  http-request set-var(txn.sni) ssl_fc_sni,lower if { ssl_fc }",
    '  http-request return status 421 content-type "text/plain; charset=utf-8" string "misdirected request\\n" if { ssl_fc } !{ var(txn.host),strcmp(txn.sni) eq 0 }',
  ];
}

/** The full HAProxy configuration for `state`; paths and numbers come validated from the caller. */
export function renderHaproxyConfig(input: HaproxyConfigInput, state: RuntimeState): string {
  const listen = `${bindHost(input.listen.host)}:${input.listen.port}`;
  const app = "%[var(txn.app)]";
  const lines = [
    `${CONFIG_SIGNATURE} (server/router/haproxy-config.ts) on every route change; HAProxy reads it only at (re)start.`,
    "global",
    "  master-worker",
    // expose-fd listeners: a reload hands the listening sockets to the new worker, so no connection is refused.
    `  stats socket ${input.adminSocket} mode 600 level admin expose-fd listeners`,
    "  stats timeout 1h",
    "  log ring@access local0 info",
    "  tune.ssl.default-dh-param 2048",
    "",
    // Access lines go to an in-memory ring that the control plane reads over the Runtime API socket
    // (`show events access -w`). A ring `server` pushing to a Unix socket of ours would be simpler, but HAProxy 2.6
    // redials a missing socket in a busy loop (a full core while the control plane restarts).
    "ring access",
    "  format raw",
    "  maxlen 8192",
    "  size 4194304",
    "",
    "defaults",
    "  mode http",
    "  log global",
    `  timeout connect ${CONNECT_TIMEOUT_MS}ms`,
    "  timeout client 60s",
    "  timeout server 300s",
    "  timeout tunnel 1h",
    "  timeout http-request 30s",
    "  timeout http-keep-alive 60s",
    "  option http-keep-alive",
    // A connection that fails is retried once per other instance; requests an instance has seen are never retried.
    `  retries ${RETRIES}`,
    "  retry-on conn-failure",
    "  option redispatch 1",
    "",
    "frontend berth",
    `  bind ${listen}`,
    ...tlsBind(input),
    "  unique-id-format %[uuid(4)]",
    `  log-format "${ACCESS_TAG} %Ts.%ms %ID %ST %[var(txn.clen)] %B %Ta %[var(txn.app)] %si:%sp %HM %HPO %[var(txn.host)]"`,
    "  http-request set-var(txn.host) req.hdr(host),field(1,:),lower",
    ...acmeRules(input),
    `  http-request set-var(txn.route) var(txn.host),map(${input.mapFile})`,
    "  http-request set-var(txn.app) var(txn.route),field(2,/)",
    ...tlsRules(input),
    // The request id overrides whatever the client sent; the same id is set on every response (ours too).
    "  http-request set-header X-Request-Id %[unique-id]",
    // No proxy in front of us is trusted: forwarded headers are always ours.
    "  http-request set-header X-Forwarded-For %[src]",
    ...(input.tls
      ? ["  http-request set-header X-Forwarded-Proto https if { ssl_fc }", "  http-request set-header X-Forwarded-Proto http if !{ ssl_fc }"]
      : ["  http-request set-header X-Forwarded-Proto http"]),
    "  http-request set-header X-Forwarded-Host %[req.hdr(host)]",
    "  http-after-response set-header X-Request-Id %[unique-id]",
    "  http-after-response set-var(txn.clen) res.hdr(content-length)",
    `  use_backend %[var(txn.route),field(1,/)] if { var(txn.route) -m found }`,
    "  default_backend notfound",
    "",
    "backend notfound",
    '  http-request return status 404 content-type "text/plain; charset=utf-8" hdr Cache-Control no-store string "no app at this address\\n"',
    "",
    "backend maint",
    page(503, `${app}: maintenance`, `${app} is down for maintenance`),
    "",
    "backend down",
    page(503, `${app}: unavailable`, `${app} has no running web instances`),
    "",
  ];
  const tooLarge =
    `  http-request return status 413 content-type "text/html; charset=utf-8" hdr Cache-Control no-store ` +
    `hdr Connection close string "<!doctype html><html><body><h1>request body too large</h1></body></html>\\n" ` +
    `if { req.hdr_val(content-length) gt ${input.maxBodyBytes} }`;
  for (let b = 0; b < state.pool.backends; b++) {
    lines.push(`backend ${backendName(b)}`, "  balance leastconn", tooLarge);
    // No health checks and no marking down (see "Passive health" in router.md): a failed connection is retried on
    // another instance (defaults: retries, redispatch), and an instance is never out of rotation because of it.
    for (let j = 0; j < state.pool.slots; j++) {
      const up = state.slots[b]?.[j];
      lines.push(`  server ${slotName(j)} ${up ?? EMPTY_ADDR}${up === undefined ? " disabled" : ""}`);
    }
    lines.push("");
  }
  return lines.join("\n");
}

/**
 * The state a running HAProxy holds, read back from `show servers state` and `show map` answers (adoption after a
 * control-plane restart). Only our own backends (bN) and slots (sN) are read.
 */
export function parseRuntimeState(serversState: string, mapDump: string): RuntimeState {
  let backends = 0;
  let slots = 0;
  const rows: { b: number; j: number; addr: string; port: string; admin: number }[] = [];
  for (const line of serversState.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length < 19 || !/^[0-9]+$/.test(f[0] ?? "")) continue;
    const bm = /^b([0-9]+)$/.exec(f[1] ?? "");
    const sm = /^s([0-9]+)$/.exec(f[3] ?? "");
    if (!bm || !sm) continue;
    const b = Number(bm[1]);
    const j = Number(sm[1]);
    backends = Math.max(backends, b + 1);
    slots = Math.max(slots, j + 1);
    rows.push({ b, j, addr: f[4] ?? "", port: f[18] ?? "", admin: Number(f[6]) });
  }
  const state = emptyState({ backends, slots });
  for (const r of rows) {
    // Admin state bit 0x01 is "forced maintenance" (set server state maint); 0x04 "disabled" from the config.
    const inMaint = (r.admin & 0x01) !== 0 || ((r.admin & 0x04) !== 0 && r.addr === "0.0.0.0");
    if (!inMaint) state.slots[r.b]![r.j] = `${r.addr}:${r.port}`;
  }
  for (const line of mapDump.split("\n")) {
    const f = line.trim().split(/\s+/);
    if (f.length !== 3) continue;
    const [, host, value] = f as [string, string, string];
    state.hosts.set(host, value);
    const m = /^(?:b([0-9]+)|maint|down)\/([a-z][a-z0-9-]*)(?:\/b([0-9]+))?$/.exec(value);
    const b = Number(m?.[1] ?? m?.[3] ?? NaN);
    if (m && Number.isInteger(b) && b < backends) state.owners[b] = m[2];
  }
  return state;
}
