// Benchmark: one small upstream reached directly, through Berth's router (HAProxy, driven by HaproxyRouter as the
// control plane drives it; access lines followed and parsed in this process) and through a plain nginx reverse proxy,
// with wrk, on loopback only. Sections (all by default):
//   throughput  wrk -t2 -cN for S seconds per path: requests/s, p50/p99, and CPU time per request of each proxy
//   latency     a fixed ~1,000 requests/s (wrk with a delay() script, 20 connections): p50/p99 and delta vs nginx
//   routes      the router with 1 route vs 1,000 other apps' routes loaded (ours last, as sorted by name)
//   churn       20 keep-alive clients while the app is scaled 3 -> 1 -> 3 -> ... every 250 ms: failed requests and
//               client connections closed by the router (route changes go through the Runtime API, no reload)
// Every path is measured once per round and rounds are repeated (reps); tables show medians.
// Needs /usr/sbin/haproxy, /usr/sbin/nginx, /usr/bin/wrk (apt-get install -y haproxy nginx wrk); no root needed.
// Run: npx tsx bench/router.ts [seconds=10] [connections=50] [reps=3] [sections=throughput,latency,routes,churn]
import { execFileSync, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger } from "../server/logger.ts";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import type { RouteEntry } from "../server/router/routes.ts";
import { HaproxyRouter } from "../server/router/haproxy-router.ts";
import { haproxyPaths, ourHaproxyPids } from "../server/router/haproxy-process.ts";
import { killAll, median, sleep, startNodeUpstream, stopChild, track, upstreamConnections } from "./lib/procs.ts";
import { childPids, cpuMs, wrk, writeFixedRateScript, type WrkResult } from "./lib/wrk.ts";

const SECONDS = Number(process.argv[2] ?? 10);
const CONNECTIONS = Number(process.argv[3] ?? 50);
const REPS = Number(process.argv[4] ?? 3);
const SECTIONS = new Set((process.argv[5] ?? "throughput,latency,routes,churn").split(","));
const HOST = "bench.test";
const RATE = 1000;
const RATE_CONNECTIONS = 20;
const OTHER_APPS = 1000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-router-"));
const out = (s: string) => process.stdout.write(s);
const log = (s: string) => process.stderr.write(`${s}\n`);
const routers: HaproxyRouter[] = [];

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

async function startNginx(
  port: number,
  upstreamPort: number,
  opts: { workers?: string; cpus?: string; detached?: boolean } = {},
) {
  const prefix = `nginx-${port}`;
  const conf = path.join(dir, `${prefix}.conf`);
  fs.writeFileSync(conf, nginxConf(port, upstreamPort, opts.workers ?? "auto", prefix));
  const errorLog = path.join(dir, `${prefix}-error.log`);
  const child = track("/usr/sbin/nginx", ["-p", dir, "-c", conf, "-e", errorLog], {
    cpus: opts.cpus,
    detached: opts.detached,
  });
  child.stdout?.resume();
  child.stderr?.pipe(process.stderr);
  for (let i = 0; i < 100; i++) {
    if (fs.existsSync(path.join(dir, `${prefix}-pid`)) && childPids(child.pid ?? 0).length > 0) return child;
    await sleep(50);
  }
  throw new Error("nginx did not start");
}

/** Berth's HAProxy router with one app on `upstreamPort`; CPU is counted over its master and workers. */
async function startHaproxyRouter(name: string, upstreamPort: number, threads?: number) {
  const dataDir = path.join(dir, name);
  const router = new HaproxyRouter({
    listenHost: "127.0.0.1",
    listenPort: 0,
    dataDir,
    log: createLogger("warn"),
    threads,
  });
  routers.push(router);
  const counter = { lines: 0 };
  router.on("access", () => counter.lines++);
  await router.start();
  await router.apply([benchRoute(upstreamPort)]);
  const pids = () => ourHaproxyPids(haproxyPaths(dataDir).config);
  return { router, counter, pids };
}

function benchRoute(upstreamPort: number): RouteEntry {
  // "zz-" sorts after every other app, as the scheduler sorts routes by app name.
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

async function main() {
  for (const bin of ["/usr/sbin/haproxy", "/usr/sbin/nginx", "/usr/bin/wrk"]) {
    if (!fs.existsSync(bin)) throw new Error(`${bin} missing: apt-get install -y haproxy nginx wrk`);
  }
  fixedRateScript = writeFixedRateScript(dir);
  const haproxyVersion = execFileSync("/usr/sbin/haproxy", ["-v"]).toString().split("\n")[0]!.trim();
  const nginxVersion = spawnSync("/usr/sbin/nginx", ["-v"], { encoding: "utf8" }).stderr.trim();
  const cpu = os.cpus()[0]?.model ?? "?";
  out(
    `router bench ${new Date().toISOString()}: ${os.cpus().length} cores (${cpu}), kernel ${os.release()}, ` +
      `${haproxyVersion} (the router's default nbthread 1, and a second router with 2), ${nginxVersion} (worker_processes auto), ` +
      `load average ${os.loadavg().map(f1).join(" ")} at start\n` +
      `wrk -t2 -c${CONNECTIONS} -d${SECONDS}s per measurement, ${REPS} rounds, medians (all rounds' req/s after)\n\n`,
  );

  const upstreamPort = await freeLoopbackPort();
  await startNodeUpstream(upstreamPort);
  const direct: Path = { name: "direct (node upstream)", port: upstreamPort, pids: () => [] };
  let nginx: ChildProcess | undefined;
  const nginxPort = await freeLoopbackPort();
  // Both proxies run as daemons do, each in its own session (HaproxyRouter launches HAProxy with -D); a second nginx
  // in the benchmark's session shows what that difference alone is worth on this machine (autogroup scheduling).
  nginx = await startNginx(nginxPort, upstreamPort, { detached: true });
  const nginxPath: Path = {
    name: "nginx reverse proxy (own session)",
    port: nginxPort,
    pids: () => childPids(nginx?.pid ?? 0),
  };
  const nginxSamePort = await freeLoopbackPort();
  const nginxSame = await startNginx(nginxSamePort, upstreamPort);
  const nginxSamePath: Path = {
    name: "nginx reverse proxy (benchmark's session)",
    port: nginxSamePort,
    pids: () => childPids(nginxSame.pid ?? 0),
  };
  const hap = await startHaproxyRouter("haproxy", upstreamPort, 1);
  const hapPath: Path = {
    name: "Berth router, nbthread 1 (access lines parsed)",
    port: hap.router.port,
    pids: hap.pids,
    parses: true,
  };
  // The same router with nbthread 2, as many threads as nginx has workers (HAProxy's default here: one per core).
  const hap2 = await startHaproxyRouter("haproxy2", upstreamPort, 2);
  const hap2Path: Path = {
    name: "Berth router, nbthread 2 (access lines parsed)",
    port: hap2.router.port,
    pids: hap2.pids,
    parses: true,
  };
  await warm([upstreamPort, hap.router.port, hap2.router.port, nginxPort, nginxSamePort]);

  if (SECTIONS.has("throughput")) {
    log("throughput");
    const hapLinesBefore = hap.counter.lines;
    const connsBefore = await upstreamConnections(upstreamPort);
    const res = await rounds([direct, hapPath, nginxPath, nginxSamePath, hap2Path]);
    await sleep(1000);
    const rows = [...res].map(([p, s]) => [p, med(s)] as const);
    const d = rows[0]![1].rps;
    const n = rows[2]![1].rps;
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
    const hs = res.get(hapPath)!;
    const ns = res.get(nginxPath)!;
    out(
      `\nrouter / nginx (own session) requests/s per round: ${hs.map((h, i) => f2(h.rps / ns[i]!.rps)).join(" / ")}; ` +
        `CPU per request: ${hs.map((h, i) => f2(h.cpuUs / ns[i]!.cpuUs)).join(" / ")}\n`,
    );
    out(
      `\naccess lines parsed during the throughput section: ${hap.counter.lines - hapLinesBefore}; ` +
        `new upstream connections (all paths): ${(await upstreamConnections(upstreamPort)) - connsBefore - 1}\n\n`,
    );
  }

  if (SECTIONS.has("latency")) {
    log("latency at a fixed rate");
    const res = await rounds([direct, hapPath, nginxPath, nginxSamePath, hap2Path], { rate: true });
    const rows = [...res].map(([p, s]) => [p, med(s)] as const);
    const ng = rows[2]![1];
    out(
      `### latency at a fixed ~${RATE} requests/s (wrk -t2 -c${RATE_CONNECTIONS} -d${SECONDS}s, random 0-` +
        `${2 * ((RATE_CONNECTIONS * 1000) / RATE - 1)} ms pause per connection between requests)\n\n` +
        "| path | achieved req/s | p50 ms | p99 ms | p50 vs nginx | p99 vs nginx | proxy CPU µs/request |\n" +
        "|---|---|---|---|---|---|---|\n",
    );
    for (const [p, m] of rows) {
      out(
        `| ${p.name} | ${m.rps.toFixed(0)} | ${f2(m.p50)} | ${f2(m.p99)} | ${signed(m.p50 - ng.p50)} ms | ` +
          `${signed(m.p99 - ng.p99)} ms | ${p.pids().length ? `${f1(m.cpuUs)}${p.parses ? ` (of which this process ${f1(m.parseUs)})` : ""}` : "-"} |\n`,
      );
    }
    out("\n");
  }

  if (SECTIONS.has("routes")) {
    log("1 route vs 1,000 other apps' routes");
    const one = [benchRoute(upstreamPort)];
    const many = [...otherRoutes(upstreamPort), benchRoute(upstreamPort)];
    const hapSamples = { one: [] as Sample[], many: [] as Sample[], oneRate: [] as Sample[], manyRate: [] as Sample[] };
    const hapApplyMs: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      for (const which of ["one", "many"] as const) {
        const t = performance.now();
        await hap.router.apply(which === "one" ? one : many);
        if (which === "many") hapApplyMs.push(performance.now() - t);
        await warm([hap.router.port]);
        hapSamples[which].push(await measure(hapPath));
        hapSamples[`${which}Rate`].push(await measure(hapPath, { rate: true }));
        log(`  round ${rep + 1} ${which}: ${hapSamples[which].at(-1)!.rps.toFixed(0)} req/s`);
      }
    }
    await hap.router.apply(one);
    const row = (label: string, t: Sample[], r: Sample[], base: number) => {
      const [a, b] = [med(t), med(r)];
      return (
        `| ${label} | ${a.rps.toFixed(0)} | ${f2(a.p50)} | ${f2(a.p99)} | ${f2(a.rps / base)} | ` +
        `${f2(b.p50)} / ${f2(b.p99)} | ${f1(a.cpuUs)} |\n`
      );
    };
    const base = med(hapSamples.one).rps;
    out(
      `### cost of ${OTHER_APPS} routes (${OTHER_APPS} other apps with 2 hosts each; ours last, as sorted by name)\n\n` +
        `| routes loaded | requests/s | p50 ms | p99 ms | ratio | p50 / p99 ms at ~${RATE} req/s | proxy CPU µs/request |\n` +
        "|---|---|---|---|---|---|---|\n" +
        row("router, 1 app", hapSamples.one, hapSamples.oneRate, base) +
        row(`router, ${OTHER_APPS + 1} apps`, hapSamples.many, hapSamples.manyRate, base) +
        `\napply() from 1 to ${OTHER_APPS + 1} apps (Runtime API; the first one also grows the pool with a reload) ` +
        `median ${median(hapApplyMs).toFixed(0)} ms, ${hap.router.reloads} reloads in total.\n\n`,
    );
  }

  if (SECTIONS.has("churn")) {
    log("route changes under keep-alive load");
    const extra = [await freeLoopbackPort(), await freeLoopbackPort()];
    for (const p of extra) await startNodeUpstream(p);
    const three = [upstreamPort, ...extra].map((p) => `127.0.0.1:${p}`);
    const reloadsBefore = hap.router.reloads;
    const res = await churn(hap.router.port, (i) =>
      hap.router.apply([{ ...benchRoute(upstreamPort), upstreams: i % 2 === 0 ? three.slice(0, 1) : three }]),
    );
    out(
      `### route changes under load (20 keep-alive clients, requests back to back, ${SECONDS}s; the app scaled ` +
        "3 -> 1 -> 3 -> ... every 250 ms)\n\n| router | requests | failed requests | client connections closed by the router | " +
        "route changes | reloads |\n|---|---|---|---|---|---|\n" +
        `| HAProxy router (Runtime API per change) | ${res.requests} | ${res.failed} | ${res.closed} | ${res.changes} | ` +
        `${hap.router.reloads - reloadsBefore} |\n\n`,
    );
    await hap.router.apply([benchRoute(upstreamPort)]);
  }

  await stopChild(nginx);
  await stopChild(nginxSame);
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
