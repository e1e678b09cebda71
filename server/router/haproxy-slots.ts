// Where each app and instance lives in HAProxy's pool of pre-allocated backends and server slots (planRoutes), the
// Runtime API commands that turn one such state into the next (runtimeCommands), the host map file, and reading a
// running HAProxy's state back (parseRuntimeState). Pure functions; the configuration text is haproxy-config.ts.
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

/** The smallest pool: new apps and instances fit without a reload until these fill up. */
export const MIN_POOL: PoolSize = { backends: 64, slots: 8 };

/** Backend name of pool index i. */
export function backendName(i: number): string {
  return `b${i}`;
}

export function slotName(j: number): string {
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
