// Benchmark: one small upstream reached directly, through Berth's Router (Caddy 2.6, access lines parsed in this
// process), through Berth's HAProxy router (BERTH_ROUTER=haproxy, access lines parsed in this process too) and
// through a plain nginx reverse proxy, with wrk, on loopback only. Sections (all by default):
//   throughput  wrk -t2 -cN for S seconds per path: requests/s, p50/p99, and CPU time per request of each proxy
//   latency     a fixed ~1,000 requests/s (wrk with a delay() script, 20 connections): p50/p99 and delta vs nginx
//   routes      Berth's Router with 1 route vs 1,000 other apps' routes loaded (ours last, as sorted by name)
//   variants    bare Caddy with the generated config changed one option at a time (logging, handlers, load
//               balancing, upstream keep-alive, GOMAXPROCS) and the same upstream, with nginx in every round
//   churn       20 keep-alive clients while the app is scaled 3 -> 1 -> 3 -> ... every 250 ms: failed requests and
//               client connections closed by the router, Caddy router vs HAProxy router
//   pinned      CPU-fair run: wrk (-t1) and the upstream on core 0, the proxy alone on core 1 (nginx with 1 worker,
//               Caddy with GOMAXPROCS=1, Berth's access-line parsing in this process also on core 1)
// Every path is measured once per round and rounds are repeated (reps); tables show medians.
// Needs /usr/bin/caddy, /usr/sbin/nginx, /usr/bin/wrk (apt-get install -y caddy nginx wrk); no root needed.
// Run: npx tsx bench/router.ts [seconds=10] [connections=50] [reps=3] [sections=throughput,latency,routes,churn,variants,pinned]
import { execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../server/logger.ts";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { AccessLogParser } from "../server/router/access-log.ts";
import {
  buildCaddyConfig,
  DEFAULT_MAX_BODY_BYTES,
  type CaddyConfig,
  type RouteEntry,
} from "../server/router/caddy-config.ts";
import { LogSink } from "../server/router/log-sink.ts";
import { Router } from "../server/router/router.ts";
import { HaproxyRouter } from "../server/router/haproxy-router.ts";
import { haproxyPaths, ourHaproxyPids } from "../server/router/haproxy-process.ts";
import {
  killAll,
  median,
  sleep,
  startBareCaddy,
  startNodeUpstream,
  stopChild,
  track,
  upstreamConnections,
} from "./lib/caddy.ts";
import { childPids, cpuMs, wrk, writeFixedRateScript, type WrkResult } from "./lib/wrk.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 50);
const REPS = Number(process.argv[4] ?? 3);
const SECTIONS = new Set((process.argv[5] ?? "throughput,latency,routes,churn,variants,pinned").split(","));
const HOST = "bench.test";
const RATE = 1000;
const RATE_CONNECTIONS = 20;
const OTHER_APPS = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-router-"));
const out = (s: string) => process.stdout.write(s);
const log = (s: string) => process.stderr.write(`${s}\n`);
const routers: (Router | HaproxyRouter)[] = [];

// ---------------------------------------------------------------------------------------------------------------
// Proxies

function nginxConf(port: number, upstreamPort: number, workers: string, prefix: string): string {
  const tmp = (name: string) => path.join(dir, `${prefix}-${name}`);
  return `daemon off;
worker_processes ${workers};
pid ${tmp("pid")};
error_log ${tmp("error.log")} warn;
events { worker_connections 1024; }
http {
  access_log ${tmp("access.log")};
  client_body_temp_path ${tmp("body")};
  proxy_temp_path ${tmp("proxy")};
  fastcgi_temp_path ${tmp("fastcgi")};
  uwsgi_temp_path ${tmp("uwsgi")};
  scgi_temp_path ${tmp("scgi")};
  upstream app { least_conn; server 127.0.0.1:${upstreamPort} max_fails=1 fail_timeout=5s; keepalive 64; }
  server {
    listen 127.0.0.1:${port};
    server_name ${HOST};
    client_max_body_size 100m;
    location / {
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Request-Id $request_id;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Host $host;
      add_header X-Request-Id $request_id always;
      proxy_pass http://app;
    }
  }
  server { listen 127.0.0.1:${port} default_server; return 404; }
}
`;
}

async function startNginx(port: number, upstreamPort: number, opts: { workers?: string; cpus?: string } = {}) {
  const prefix = `nginx-${port}`;
  const conf = path.join(dir, `${prefix}.conf`);
  fs.writeFileSync(conf, nginxConf(port, upstreamPort, opts.workers ?? "auto", prefix));
  const errorLog = path.join(dir, `${prefix}-error.log`);
  const child = track("/usr/sbin/nginx", ["-p", dir, "-c", conf, "-e", errorLog], { cpus: opts.cpus });
  child.stdout?.resume();
  child.stderr?.pipe(process.stderr);
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(path.join(dir, `${prefix}-pid`)) && childPids(child.pid ?? 0).length > 0) return child;
    await sleep(50);
  }
  throw new Error("nginx did not start");
}

/** Berth's Router with one app on `upstreamPort`; `caddyBin` may be a wrapper (pinning, GOMAXPROCS). */
async function startRouter(name: string, upstreamPort: number, caddyBin?: string) {
  const dataDir = path.join(dir, name);
  const router = new Router({ listenHost: "127.0.0.1", listenPort: 0, dataDir, log: createLogger("warn"), caddyBin });
  routers.push(router);
  const counter = { lines: 0 };
  router.on("access", () => counter.lines++);
  await router.start();
  await router.apply([benchRoute(upstreamPort)]);
  const pid = () => Number(fs.readFileSync(path.join(dataDir, "caddy", "caddy.pid"), "utf8").trim());
  return { router, counter, pid };
}

/** Berth's HAProxy router with one app on `upstreamPort`; CPU is counted over its master and workers. */
async function startHaproxyRouter(name: string, upstreamPort: number) {
  const dataDir = path.join(dir, name);
  const router = new HaproxyRouter({ listenHost: "127.0.0.1", listenPort: 0, dataDir, log: createLogger("warn") });
  routers.push(router);
  const counter = { lines: 0 };
  router.on("access", () => counter.lines++);
  await router.start();
  await router.apply([benchRoute(upstreamPort)]);
  const pids = () => ourHaproxyPids(haproxyPaths(dataDir).config);
  return { router, counter, pids };
}

function benchRoute(upstreamPort: number): RouteEntry {
  // "zz-" sorts after every other app, i.e. last in Caddy's route list, as the scheduler sorts routes by app name.
  return { app: "zz-bench", hosts: [HOST], maintenance: false, upstreams: [`127.0.0.1:${upstreamPort}`] };
}

function otherRoutes(upstreamPort: number): RouteEntry[] {
  return Array.from({ length: OTHER_APPS }, (_, i) => {
    const app = `app${String(i).padStart(4, "0")}`;
    return {
      app,
      hosts: [`${app}.apps.test`, `www.${app}.example`],
      maintenance: false,
      upstreams: [`127.0.0.1:${upstreamPort}`],
    };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Measurement

interface Path {
  name: string;
  port: number;
  /** Processes whose CPU time is the proxy's (empty for direct). */
  pids: () => number[];
  /** Whether this process's own CPU (access-line parsing) belongs to this path. */
  parses?: boolean;
  wrkCpus?: string;
  wrkThreads?: number;
}

interface Sample extends WrkResult {
  /** Proxy CPU per request (µs): proxy processes, plus this process when it parses access lines. */
  cpuUs: number;
  /** The share of cpuUs spent in this process (access-line parsing). */
  parseUs: number;
}

async function measure(p: Path, opts: { rate?: boolean } = {}): Promise<Sample> {
  const pids = p.pids();
  const before = cpuMs(pids);
  const self = process.cpuUsage();
  const r = await wrk({
    port: p.port,
    host: HOST,
    seconds: SECONDS,
    connections: opts.rate ? RATE_CONNECTIONS : CONNECTIONS,
    threads: p.wrkThreads ?? 2,
    cpus: p.wrkCpus,
    ...(opts.rate ? { script: fixedRateScript, scriptArgs: [String((RATE_CONNECTIONS * 1000) / RATE - 1)] } : {}),
  });
  const proxyMs = cpuMs(pids) - before;
  const selfUsage = process.cpuUsage(self);
  const parseMs = p.parses ? (selfUsage.user + selfUsage.system) / 1000 : 0;
  const n = r.requests || 1;
  return { ...r, cpuUs: ((proxyMs + parseMs) * 1000) / n, parseUs: (parseMs * 1000) / n };
}

function med(samples: Sample[]) {
  const m = (f: (s: Sample) => number) => median(samples.map(f));
  return {
    rps: m((s) => s.rps),
    p50: m((s) => s.p50),
    p99: m((s) => s.p99),
    cpuUs: m((s) => s.cpuUs),
    parseUs: m((s) => s.parseUs),
    errors: samples.map((s) => s.errors).find((e) => e !== "0") ?? "0",
    all: samples.map((s) => Math.round(s.rps)).join(" / "),
  };
}

/** Runs every path once per round, REPS rounds, and returns each path's samples. */
async function rounds(paths: Path[], opts: { rate?: boolean } = {}): Promise<Map<Path, Sample[]>> {
  const res = new Map<Path, Sample[]>(paths.map((p) => [p, []]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const p of paths) {
      const s = await measure(p, opts);
      res.get(p)!.push(s);
      log(`  round ${rep + 1} ${p.name}: ${s.rps.toFixed(0)} req/s, p50 ${s.p50} ms, p99 ${s.p99} ms, ${s.errors}`);
    }
  }
  return res;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "?");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "?");
const signed = (n: number) => (n >= 0 ? "+" : "") + n.toFixed(2);
let fixedRateScript = "";

async function warm(ports: number[]) {
  for (const port of ports) await wrk({ port, host: HOST, seconds: 1, connections: 4, threads: 1 });
}

// ---------------------------------------------------------------------------------------------------------------
// Variants of the generated config (bare Caddy, configured by this process)

type Json = Record<string, unknown>;
function walk(v: unknown, fn: (o: Json) => void): void {
  if (Array.isArray(v)) v.forEach((x) => walk(x, fn));
  else if (typeof v === "object" && v !== null) {
    fn(v as Json);
    Object.values(v).forEach((x) => walk(x, fn));
  }
}
const server = (c: CaddyConfig) => (((c.apps as Json).http as Json).servers as Json).berth as Json;
const proxies = (c: CaddyConfig) => {
  const found: Json[] = [];
  walk(c, (o) => o.handler === "reverse_proxy" && found.push(o));
  return found;
};
const edits = {
  noRequestBody(c: CaddyConfig) {
    walk(c, (o) => {
      if (Array.isArray(o.handle)) o.handle = (o.handle as Json[]).filter((h) => h.handler !== "request_body");
    });
  },
  no413(c: CaddyConfig) {
    walk(c, (o) => {
      if (o.handler === "subroute") o.routes = (o.routes as Json[]).filter((r) => !r.match);
    });
  },
  noRequestId(c: CaddyConfig) {
    const s = server(c);
    s.routes = (s.routes as Json[]).filter((r) => !(r.handle as Json[]).some((h) => h.handler === "headers"));
    for (const p of proxies(c)) delete p.headers;
  },
  policy: (policy: string) => (c: CaddyConfig) => {
    for (const p of proxies(c)) (p.load_balancing as Json).selection_policy = { policy };
  },
  /** The Content-Length > limit check as a header_regexp matcher instead of a CEL expression. */
  regex413(c: CaddyConfig) {
    walk(c, (o) => {
      if (o.handler !== "subroute") return;
      for (const r of o.routes as Json[]) {
        if (r.match)
          r.match = [{ header_regexp: { "Content-Length": { pattern: greaterThanRegex(DEFAULT_MAX_BODY_BYTES) } } }];
      }
    });
  },
  /** X-Request-Id only on the upstream request: no deferred response-header handler in front of every request. */
  requestIdUpstreamOnly(c: CaddyConfig) {
    const s = server(c);
    s.routes = (s.routes as Json[]).filter((r) => !(r.handle as Json[]).some((h) => h.handler === "headers"));
  },
  noPassiveHealth(c: CaddyConfig) {
    for (const p of proxies(c)) delete p.health_checks;
  },
  keepAlive: (perHost: number) => (c: CaddyConfig) => {
    for (const p of proxies(c)) p.transport = { protocol: "http", keep_alive: { max_idle_conns_per_host: perHost } };
  },
  logWriter: (writer: Json) => (c: CaddyConfig) => {
    ((c.logging as Json).logs as Json).berth_access = {
      ...(((c.logging as Json).logs as Json).berth_access as Json),
      writer,
    };
  },
  noAccessLog(c: CaddyConfig) {
    delete server(c).logs;
    delete ((c.logging as Json).logs as Json).berth_access;
  },
};

/** An RE2 pattern matching decimal integers greater than n (leading zeros allowed). */
export function greaterThanRegex(n: number): string {
  const d = String(n);
  const alts = [`[1-9][0-9]{${d.length},}`];
  for (let i = 0; i < d.length; i++) {
    const digit = Number(d[i]);
    if (digit === 9) continue;
    const rest = d.length - i - 1;
    alts.push(`${d.slice(0, i)}[${digit + 1}-9]${rest ? `[0-9]{${rest}}` : ""}`);
  }
  return `^0*(?:${alts.join("|")})$`;
}

/**
 * Undoes the router's grouping of app routes (caddy-config.ts, APPS_PER_ROUTE_GROUP): one route per app again, as
 * before grouping, so both are measured side by side. A group route is a host route whose subroute holds only host
 * routes (an app route's subroute holds the 413 check and the proxy, which match no host).
 */
function ungroupAppRoutes(c: CaddyConfig) {
  const s = server(c);
  s.routes = (s.routes as Json[]).flatMap((r) => {
    const inner = ((r.handle as Json[] | undefined)?.[0]?.routes as Json[] | undefined) ?? [];
    const isGroup =
      Array.isArray(r.match) && inner.length > 0 && inner.every((x) => Array.isArray((x.match as Json[])?.[0]?.host));
    return isGroup ? inner : [r];
  });
}

interface Variant {
  name: string;
  edit?: (c: CaddyConfig, ctx: { dir: string }) => void;
  env?: Record<string, string>;
  /** What this process does with the access lines Caddy sends: parse (as Router does) or only count them. */
  sink?: "parse" | "count";
  /** A from-scratch config instead of the generated one. */
  bare?: boolean;
}

const VARIANTS: Variant[] = [
  { name: "generated config, access lines parsed here (= Berth Router)", sink: "parse" },
  { name: "generated, access lines only counted (no JSON parsing in Node)", sink: "count" },
  {
    name: "generated, access log to a file writer",
    edit: (c, ctx) => edits.logWriter({ output: "file", filename: path.join(ctx.dir, "access.log") })(c),
  },
  { name: "generated, access log to the discard writer", edit: edits.logWriter({ output: "discard" }) },
  { name: "generated, no access log at all", edit: edits.noAccessLog },
  { name: "generated without request_body (body limit)", sink: "parse", edit: edits.noRequestBody },
  { name: "generated without the Content-Length 413 route (CEL)", sink: "parse", edit: edits.no413 },
  { name: "generated without X-Request-Id (request + deferred response)", sink: "parse", edit: edits.noRequestId },
  {
    name: "generated, X-Request-Id on the upstream request only (no deferred response header)",
    sink: "parse",
    edit: edits.requestIdUpstreamOnly,
  },
  { name: "generated, 413 check as header_regexp instead of CEL", sink: "parse", edit: edits.regex413 },
  { name: "generated, round_robin instead of least_conn", sink: "parse", edit: edits.policy("round_robin") },
  { name: "generated, random instead of least_conn", sink: "parse", edit: edits.policy("random") },
  { name: "generated without passive health checks", sink: "parse", edit: edits.noPassiveHealth },
  { name: "generated + keep_alive max_idle_conns_per_host 128", sink: "parse", edit: edits.keepAlive(128) },
  { name: "generated + GOMAXPROCS=1", sink: "parse", env: { GOMAXPROCS: "1" } },
  { name: "generated + GOMAXPROCS=4", sink: "parse", env: { GOMAXPROCS: "4" } },
  {
    name: "generated + max_idle_conns_per_host 128 + 413 as header_regexp (features kept)",
    sink: "parse",
    edit: (c) => {
      edits.keepAlive(128)(c);
      edits.regex413(c);
    },
  },
  {
    name: "same + access log to a file instead of the socket (no parsing here)",
    edit: (c, ctx) => {
      edits.keepAlive(128)(c);
      edits.regex413(c);
      edits.logWriter({ output: "file", filename: path.join(ctx.dir, "access.log") })(c);
    },
  },
  { name: "bare Caddy: one route, reverse_proxy only, no logs", bare: true },
];

function bareConfig(adminPort: number, port: number, upstreamPort: number): CaddyConfig {
  return {
    admin: { listen: `127.0.0.1:${adminPort}`, config: { persist: false } },
    apps: {
      http: {
        servers: {
          berth: {
            listen: [`127.0.0.1:${port}`],
            automatic_https: { disable: true },
            routes: [
              {
                match: [{ host: [HOST] }],
                handle: [{ handler: "reverse_proxy", upstreams: [{ dial: `127.0.0.1:${upstreamPort}` }] }],
              },
            ],
          },
        },
      },
    },
  };
}

async function startVariant(v: Variant, upstreamPort: number, n: number, routes?: RouteEntry[]) {
  const vdir = path.join(dir, `variant-${n}`);
  fs.mkdirSync(vdir, { recursive: true });
  const parser = new AccessLogParser();
  parser.setHosts(new Map([[HOST, "zz-bench"]]));
  const counter = { lines: 0 };
  const sink = new LogSink((line) => {
    counter.lines++;
    if (v.sink === "parse") parser.parse(line);
  });
  const accessAddress = await sink.start(path.join(vdir, "sink"));
  const port = await freeLoopbackPort();
  const caddy = await startBareCaddy(vdir, v.env);
  const config = v.bare
    ? bareConfig(caddy.adminPort, port, upstreamPort)
    : buildCaddyConfig({
        listen: { host: "127.0.0.1", port },
        adminAddress: `127.0.0.1:${caddy.adminPort}`,
        routes: routes ?? [benchRoute(upstreamPort)],
        accessLog: { address: accessAddress },
      });
  v.edit?.(config, { dir: vdir });
  const t = performance.now();
  await caddy.load(config);
  const loadMs = performance.now() - t;
  return {
    loadMs,
    port,
    pid: caddy.pid,
    counter,
    async stop() {
      await caddy.stop();
      await sink.stop();
      fs.rmSync(vdir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------

async function main() {
  for (const bin of ["/usr/bin/caddy", "/usr/sbin/nginx", "/usr/bin/wrk"]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} missing: apt-get install -y caddy nginx wrk`);
  }
  fixedRateScript = writeFixedRateScript(dir);
  const caddyVersion = execFileSync("/usr/bin/caddy", ["version"]).toString().trim();
  const nginxVersion = spawnSync("/usr/sbin/nginx", ["-v"], { encoding: "utf8" }).stderr.trim();
  const cpu = os.cpus()[0]?.model ?? "?";
  out(
    `router bench ${new Date().toISOString()}: ${os.cpus().length} cores (${cpu}), kernel ${os.release()}, ` +
      `caddy ${caddyVersion}, ${nginxVersion}, load average ${os.loadavg().map(f1).join(" ")} at start\n` +
      `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s per measurement, ${REPS} rounds, medians (all rounds' req/s after)\n\n`,
  );

  const upstreamPort = await freeLoopbackPort();
  await startNodeUpstream(upstreamPort);
  const direct: Path = { name: "direct (node upstream)", port: upstreamPort, pids: () => [] };
  let nginx: ChildProcess | undefined;
  const nginxPort = await freeLoopbackPort();
  nginx = await startNginx(nginxPort, upstreamPort);
  const nginxPath: Path = { name: "nginx reverse proxy", port: nginxPort, pids: () => childPids(nginx?.pid ?? 0) };
  const berth = await startRouter("router", upstreamPort);
  const berthPath: Path = {
    name: "Berth Router (Caddy 2.6)",
    port: berth.router.port,
    pids: () => [berth.pid()],
    parses: true,
  };
  const hap = await startHaproxyRouter("haproxy", upstreamPort);
  const hapPath: Path = {
    name: "Berth router (HAProxy 2.6)",
    port: hap.router.port,
    pids: hap.pids,
    parses: true,
  };
  await warm([upstreamPort, berth.router.port, hap.router.port, nginxPort]);

  if (SECTIONS.has("throughput")) {
    log("throughput");
    const linesBefore = berth.counter.lines;
    const hapLinesBefore = hap.counter.lines;
    const connsBefore = await upstreamConnections(upstreamPort);
    const res = await rounds([direct, berthPath, hapPath, nginxPath]);
    await sleep(1000);
    const rows = [...res].map(([p, s]) => [p, med(s)] as const);
    const d = rows[0]![1].rps;
    const n = rows[3]![1].rps;
    out(
      `### throughput (wrk -t2 -c${CONNECTIONS} -d${SECONDS}s)\n\n` +
        "| path | requests/s | p50 ms | p99 ms | errors | vs direct | vs nginx | proxy CPU µs/request | req/s per round |\n" +
        "|---|---|---|---|---|---|---|---|---|\n",
    );
    for (const [p, m] of rows) {
      const cpuCell = p.pids().length
        ? `${f1(m.cpuUs)}${p.parses ? ` (of which access-line parsing ${f1(m.parseUs)})` : ""}`
        : "-";
      out(
        `| ${p.name} | ${m.rps.toFixed(0)} | ${f2(m.p50)} | ${f2(m.p99)} | ${m.errors} | ${f2(m.rps / d)} | ` +
          `${f2(m.rps / n)} | ${cpuCell} | ${m.all} |\n`,
      );
    }
    out(
      `\naccess lines parsed during the throughput section: Caddy ${berth.counter.lines - linesBefore}, ` +
        `HAProxy ${hap.counter.lines - hapLinesBefore}; ` +
        `new upstream connections (all paths): ${(await upstreamConnections(upstreamPort)) - connsBefore - 1}\n\n`,
    );
  }

  if (SECTIONS.has("latency")) {
    log("latency at a fixed rate");
    const res = await rounds([direct, berthPath, hapPath, nginxPath], { rate: true });
    const rows = [...res].map(([p, s]) => [p, med(s)] as const);
    const ng = rows[3]![1];
    out(
      `### latency at a fixed ~${RATE} requests/s (wrk -t2 -c${RATE_CONNECTIONS} -d${SECONDS}s, random 0-` +
        `${2 * ((RATE_CONNECTIONS * 1000) / RATE - 1)} ms pause per connection between requests)\n\n` +
        "| path | achieved req/s | p50 ms | p99 ms | p50 vs nginx | p99 vs nginx | proxy CPU µs/request |\n" +
        "|---|---|---|---|---|---|---|\n",
    );
    for (const [p, m] of rows) {
      out(
        `| ${p.name} | ${m.rps.toFixed(0)} | ${f2(m.p50)} | ${f2(m.p99)} | ${signed(m.p50 - ng.p50)} ms | ` +
          `${signed(m.p99 - ng.p99)} ms | ${p.pids().length ? f1(m.cpuUs) : "-"} |\n`,
      );
    }
    out("\n");
  }

  if (SECTIONS.has("routes")) {
    log("1 route vs 1,000 other apps' routes");
    const one = [benchRoute(upstreamPort)];
    const many = [...otherRoutes(upstreamPort), benchRoute(upstreamPort)];
    const applyMs: number[] = [];
    const configBytes = JSON.stringify(
      buildCaddyConfig({
        listen: { host: "127.0.0.1", port: berth.router.port },
        adminAddress: "127.0.0.1:1",
        routes: many,
        accessLog: { address: "tcp/127.0.0.1:1" },
      }),
    ).length;
    const samples = {
      one: [] as Sample[],
      many: [] as Sample[],
      flat: [] as Sample[],
      oneRate: [] as Sample[],
      manyRate: [] as Sample[],
      flatRate: [] as Sample[],
    };
    const flatLoadMs: number[] = [];
    const hapSamples = { one: [] as Sample[], many: [] as Sample[], oneRate: [] as Sample[], manyRate: [] as Sample[] };
    const hapApplyMs: number[] = [];
    const flat: Variant = {
      name: `${OTHER_APPS + 1} apps, one route per app (no grouping)`,
      sink: "parse",
      edit: ungroupAppRoutes,
    };
    for (let rep = 0; rep < REPS; rep++) {
      for (const which of ["one", "many", "flat"] as const) {
        let port = berth.router.port;
        let pids = () => [berth.pid()];
        let stop = async (): Promise<void> => undefined;
        if (which === "flat") {
          // Bare Caddy (same config and access-line parsing as the Router, see the variants section), ungrouped.
          const h = await startVariant(flat, upstreamPort, 1000 + rep, many);
          flatLoadMs.push(h.loadMs);
          [port, pids, stop] = [h.port, () => [h.pid], h.stop];
        } else {
          const t = performance.now();
          await berth.router.apply(which === "one" ? one : many);
          if (which === "many") applyMs.push(performance.now() - t);
        }
        try {
          const p: Path = { ...berthPath, port, pids };
          await warm([port]);
          const s = await measure(p);
          samples[which].push(s);
          const r = await measure(p, { rate: true });
          samples[`${which}Rate`].push(r);
          log(`  round ${rep + 1} ${which}: ${s.rps.toFixed(0)} req/s; at ${RATE}/s p50 ${r.p50} ms p99 ${r.p99} ms`);
        } finally {
          await stop();
        }
      }
    }
    for (let rep = 0; rep < REPS; rep++) {
      for (const which of ["one", "many"] as const) {
        const t = performance.now();
        await hap.router.apply(which === "one" ? one : many);
        if (which === "many") hapApplyMs.push(performance.now() - t);
        await warm([hap.router.port]);
        hapSamples[which].push(await measure(hapPath));
        hapSamples[`${which}Rate`].push(await measure(hapPath, { rate: true }));
        log(`  round ${rep + 1} haproxy ${which}: ${hapSamples[which].at(-1)!.rps.toFixed(0)} req/s`);
      }
    }
    await hap.router.apply(one);
    await berth.router.apply(one);
    const row = (label: string, t: Sample[], r: Sample[], base: number) => {
      const [a, b] = [med(t), med(r)];
      return (
        `| ${label} | ${a.rps.toFixed(0)} | ${f2(a.p50)} | ${f2(a.p99)} | ${f2(a.rps / base)} | ` +
        `${f2(b.p50)} / ${f2(b.p99)} | ${f1(a.cpuUs)} |\n`
      );
    };
    const base = med(samples.one).rps;
    out(
      `### cost of ${OTHER_APPS} routes (${OTHER_APPS} other apps with 2 hosts each; ours last, as sorted by name)\n\n` +
        `| routes loaded | requests/s | p50 ms | p99 ms | ratio | p50 / p99 ms at ~${RATE} req/s | proxy CPU µs/request |\n` +
        "|---|---|---|---|---|---|---|\n" +
        row("Berth Router, 1 app", samples.one, samples.oneRate, base) +
        row(`Berth Router, ${OTHER_APPS + 1} apps`, samples.many, samples.manyRate, base) +
        row(
          `same config with one route per app, as before grouping (bare Caddy)`,
          samples.flat,
          samples.flatRate,
          base,
        ) +
        row("HAProxy router, 1 app", hapSamples.one, hapSamples.oneRate, med(hapSamples.one).rps) +
        row(`HAProxy router, ${OTHER_APPS + 1} apps`, hapSamples.many, hapSamples.manyRate, med(hapSamples.one).rps) +
        `\nHAProxy: apply() from 1 to ${OTHER_APPS + 1} apps (Runtime API; the first one also grows the pool with a reload) ` +
        `median ${median(hapApplyMs).toFixed(0)} ms, ${hap.router.reloads} reloads in total. ` +
        `config with ${OTHER_APPS + 1} apps: ${(configBytes / 1024).toFixed(0)} KiB of JSON; Router.apply() ` +
        `(build + POST /load) median ${median(applyMs).toFixed(0)} ms; ungrouped config POST /load median ` +
        `${median(flatLoadMs).toFixed(0)} ms\n\n`,
    );
  }

  if (SECTIONS.has("churn")) {
    log("route changes under keep-alive load");
    const extra = [await freeLoopbackPort(), await freeLoopbackPort()];
    for (const p of extra) await startNodeUpstream(p);
    const three = [upstreamPort, ...extra].map((p) => `127.0.0.1:${p}`);
    out(
      `### route changes under load (20 keep-alive clients, requests back to back, ${SECONDS}s; the app scaled ` +
        "3 -> 1 -> 3 -> ... every 250 ms)\n\n| router | requests | failed requests | client connections closed by the router | " +
        "route changes | reloads |\n|---|---|---|---|---|---|\n",
    );
    for (const [name, r, port] of [
      ["Caddy router (config load per change)", berth.router, berth.router.port],
      ["HAProxy router (Runtime API per change)", hap.router, hap.router.port],
    ] as const) {
      const res = await churn(port, (i) =>
        r.apply([{ ...benchRoute(upstreamPort), upstreams: i % 2 === 0 ? three.slice(0, 1) : three }]),
      );
      const reloads = r instanceof HaproxyRouter ? String(r.reloads) : "every change";
      out(`| ${name} | ${res.requests} | ${res.failed} | ${res.closed} | ${res.changes} | ${reloads} |\n`);
      await r.apply([benchRoute(upstreamPort)]);
    }
    out("\n");
  }

  if (SECTIONS.has("variants")) {
    log("variants of the generated config (bare Caddy)");
    const res = new Map<Variant | "nginx", Sample[]>([["nginx", []]]);
    for (const v of VARIANTS) res.set(v, []);
    const conns = new Map<Variant, number[]>();
    let n = 0;
    for (let rep = 0; rep < REPS; rep++) {
      res.get("nginx")!.push(await measure(nginxPath));
      for (const v of VARIANTS) {
        const h = await startVariant(v, upstreamPort, n++);
        try {
          await warm([h.port]);
          const c0 = await upstreamConnections(upstreamPort);
          const s = await measure({ name: v.name, port: h.port, pids: () => [h.pid], parses: v.sink !== undefined });
          const c1 = await upstreamConnections(upstreamPort);
          res.get(v)!.push(s);
          conns.set(v, [...(conns.get(v) ?? []), c1 - c0 - 1]);
          log(`  round ${rep + 1} ${v.name}: ${s.rps.toFixed(0)} req/s, ${c1 - c0 - 1} new upstream connections`);
        } finally {
          await h.stop();
        }
      }
    }
    const ng = med(res.get("nginx")!);
    const base = med(res.get(VARIANTS[0]!)!);
    out(
      `### Caddy config variants (bare caddy run, same wrk and upstream; nginx measured in every round: ` +
        `${ng.rps.toFixed(0)} req/s, ${f1(ng.cpuUs)} µs CPU/request)\n\n` +
        "| variant | requests/s | vs generated | vs nginx | p50 ms | p99 ms | CPU µs/request (Caddy + access-line handling here) | " +
        "new upstream conns per run | req/s per round |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for (const v of VARIANTS) {
      const m = med(res.get(v)!);
      out(
        `| ${v.name} | ${m.rps.toFixed(0)} | ${f2(m.rps / base.rps)} | ${f2(m.rps / ng.rps)} | ${f2(m.p50)} | ` +
          `${f2(m.p99)} | ${f1(m.cpuUs)} | ${median(conns.get(v) ?? [])} | ${m.all} |\n`,
      );
    }
    out("\n");
  }

  if (SECTIONS.has("pinned")) {
    log("pinned (CPU-fair) run");
    const pinnedUpstreamPort = await freeLoopbackPort();
    await startNodeUpstream(pinnedUpstreamPort, "0");
    const pNginxPort = await freeLoopbackPort();
    const pNginx = await startNginx(pNginxPort, pinnedUpstreamPort, { workers: "1", cpus: "1" });
    const wrapper = path.join(dir, "caddy-pinned.sh");
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/taskset -c 1 /usr/bin/env GOMAXPROCS=1 /usr/bin/caddy "$@"\n`, {
      mode: 0o755,
    });
    const pBerth = await startRouter("router-pinned", pinnedUpstreamPort, wrapper);
    // This process parses Berth's access lines: it belongs to the proxy side, so it shares core 1 with the proxy.
    execFileSync("/usr/bin/taskset", ["-a", "-p", "-c", "1", String(process.pid)], { stdio: "ignore" });
    const common = { wrkCpus: "0", wrkThreads: 1 };
    const paths: Path[] = [
      { name: "direct (node upstream on core 0)", port: pinnedUpstreamPort, pids: () => [], ...common },
      {
        name: "Berth Router (Caddy GOMAXPROCS=1 + parsing, core 1)",
        port: pBerth.router.port,
        pids: () => [pBerth.pid()],
        parses: true,
        ...common,
      },
      { name: "nginx, 1 worker on core 1", port: pNginxPort, pids: () => childPids(pNginx.pid ?? 0), ...common },
    ];
    try {
      await warm(paths.map((p) => p.port));
      const res = await rounds(paths);
      const rows = [...res].map(([p, s]) => [p, med(s)] as const);
      const ng = rows[2]![1];
      out(
        `### CPU-fair: wrk -t1 -c${CONNECTIONS} and the upstream pinned to core 0, the proxy alone on core 1\n\n` +
          "| path | requests/s | p50 ms | p99 ms | vs nginx | proxy CPU µs/request | req/s per round |\n" +
          "|---|---|---|---|---|---|---|\n",
      );
      for (const [p, m] of rows) {
        out(
          `| ${p.name} | ${m.rps.toFixed(0)} | ${f2(m.p50)} | ${f2(m.p99)} | ${f2(m.rps / ng.rps)} | ` +
            `${p.pids().length ? f1(m.cpuUs) : "-"} | ${m.all} |\n`,
        );
      }
      out("\n");
    } finally {
      execFileSync("/usr/bin/taskset", ["-a", "-p", "-c", `0-${os.cpus().length - 1}`, String(process.pid)], {
        stdio: "ignore",
      });
      await stopChild(pNginx);
    }
  }
  await stopChild(nginx);
  nginx = undefined;
  out(`load average at end: ${os.loadavg().map(f1).join(" ")}\n`);
}

/** 20 keep-alive clients requesting back to back while `change(i)` runs every 250 ms for SECONDS. */
async function churn(port: number, change: (i: number) => Promise<void>) {
  const { default: http } = await import("node:http");
  const stats = { requests: 0, failed: 0, closed: 0, changes: 0 };
  const end = Date.now() + SECONDS * 1000;
  let stopped = false;
  const client = async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const seen = new WeakSet<object>();
    while (!stopped) {
      await new Promise<void>((resolve) => {
        const req = http.request({ host: "127.0.0.1", port, path: "/", headers: { host: HOST }, agent }, (res) => {
          res.resume();
          res.on("end", () => {
            stats.requests++;
            if (res.statusCode !== 200) stats.failed++;
            resolve();
          });
        });
        req.on("socket", (sock) => {
          if (seen.has(sock)) return;
          seen.add(sock);
          // A connection the router closes while we still use it (not our own agent.destroy() at the end).
          sock.once("close", () => !stopped && stats.closed++);
        });
        req.on("error", () => {
          stats.requests++;
          stats.failed++;
          resolve();
        });
        req.end();
      });
    }
    agent.destroy();
  };
  const clients = Array.from({ length: 20 }, () => client());
  for (let i = 0; Date.now() < end; i++) {
    await change(i);
    stats.changes++;
    await sleep(250);
  }
  stopped = true;
  await Promise.all(clients);
  return stats;
}

async function cleanup() {
  for (const r of routers) await r.stop().catch(() => undefined);
  await killAll();
  fs.rmSync(dir, { recursive: true, force: true });
}

process.once("SIGINT", () => void cleanup().then(() => process.exit(130)));
main()
  .then(cleanup)
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    await cleanup();
    process.exitCode = 1;
  });
