// Benchmark: zero-downtime redeploys with real everything on this machine (root): control plane with registry and
// router (HAProxy), a real agent process (runc, conmon, CNI) in an isolated root environment, a busybox httpd app
// pushed with git. N config changes in a row (each a new release and a rollout) while a separate load-generator
// process sends a constant R requests/s through the router; counts failed requests (non-200 or connection errors),
// latency p50/p99 (from each request's scheduled send time, so a stall is not hidden) and each rollout's duration.
// Run: sudo npx tsx bench/zero-downtime.ts [redeploys=10] [rate=200] [web=2] [tcp_migrate_req=keep|0|1] [new|keepalive]
// Results go to stdout; copy them into docs/benchmarks.md. The last argument sets the host's
// net.ipv4.tcp_migrate_req before the control plane starts (restored afterwards; it mattered for the removed Caddy
// router, which reopened its listeners on every config load). HAProxy changes routes through its Runtime API without
// touching its listeners; the value in force is still printed with the host's TCP counters.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "../server/config.ts";
import { createLogger } from "../server/logger.ts";
import { migrateDatabase } from "../server/db/migrate.ts";
import { createControlPlane, type ControlPlane } from "../server/control-plane.ts";
import type { RouteSink } from "../server/scheduler/scheduler.ts";
import { createLocalJoinToken } from "../server/nodes/join-tokens.ts";
import { createRootEnv, type RootEnv } from "../runtime-agent/test-support/root-env.ts";
import { OciBackend } from "../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../runtime-agent/agent/config.ts";
import { silentLogger } from "../runtime-agent/log.ts";
import { ApiClient } from "../test/helpers/client.ts";
import { agentFlagsFor, spawnAgent } from "../runtime-agent/test-support/agent-process.ts";
import { git, makeRepo, remoteUrl } from "../test/helpers/git.ts";
import { cleanupBuilder } from "../test/helpers/builder-cleanup.ts";

const REDEPLOYS = Number(process.argv[2] ?? 10);
const RATE = Number(process.argv[3] ?? 200);
const WEB = Number(process.argv[4] ?? 2);
const MIGRATE_REQ = process.argv[5] ?? "keep";
/** "new": a new connection per request; "keepalive": 50 keep-alive connections, reused (closed ones are counted). */
const CONNECTIONS = process.argv[6] ?? "new";
const MIGRATE_REQ_FILE = "/proc/sys/net/ipv4/tcp_migrate_req";
let migrateReqBefore: string | undefined;

/** Host-wide TCP counters (other processes count too; TCPMigrateReqSuccess moves only for SO_REUSEPORT handovers). */
function tcpCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ["/proc/net/netstat", "/proc/net/snmp"]) {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      for (let k = 1; k < names.length; k++) out[`${names[0]!.replace(":", "")}.${names[k]}`] = Number(values[k]);
    }
  }
  return out;
}
const APP = "zdt";
const dockerfile = `FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox","--install","-s","/bin"]
COPY www /www
RUN ["/bin/chmod","755","/www/cgi-bin/who"]
CMD ["httpd","-f","-p","5000","-h","/www"]
`;
const CGI = `#!/bin/sh
echo "Content-Type: text/plain"
echo ""
echo "instance=$(hostname) greeting=\${GREETING:-none}"
`;

// The load generator runs in its own process so that the control plane in this one does not delay its timers.
// Request k is due at start + k/rate; it is sent at that time on a new connection (like the root test), and its latency
// is measured from when it was due. "stop" on stdin ends it; it prints one JSON line with the results.
const LOADGEN = `
const http = require("node:http");
const [port, host, rate, mode] = [Number(process.argv[1]), process.argv[2], Number(process.argv[3]), process.argv[4]];
// Keep-alive mode: 50 connections reused; a connection that closes before the end (not by us) is counted. "fifo"
// uses them in turn: with Node's default (lifo) most sit idle after a burst until the router's keep-alive timeout
// (60 s) closes them, and a request sent at that moment fails ("socket hang up"), which is the client's idle-timeout
// race, not something a route change did.
const agent = mode === "keepalive" ? new http.Agent({ keepAlive: true, maxSockets: 50, scheduling: "fifo" }) : false;
let opened = 0, closed = 0;
const t0 = performance.now();
const lat = [];
const failures = [];
let sent = 0, done = 0, stopping = false;
function one(due) {
  sent++;
  const finish = (status, detail) => {
    done++;
    const ms = performance.now() - due;
    lat.push(ms);
    if (status !== 200) failures.push({ at: Math.round(performance.timeOrigin + due), status, detail });
    if (stopping && done === sent) report();
  };
  const req = http.request({ host: "127.0.0.1", port, path: "/index.html", headers: { host }, agent, timeout: 10000 }, (res) => {
    res.on("data", () => undefined);
    res.on("end", () => finish(res.statusCode, ""));
    res.on("error", (e) => finish(0, e.message));
  });
  req.on("timeout", () => req.destroy(new Error("timeout")));
  req.on("error", (e) => finish(0, (e.code ? e.code + " " : "") + e.message));
  if (agent) req.on("socket", (sock) => {
    if (sock.berthSeen) return;
    sock.berthSeen = true;
    opened++;
    sock.once("close", () => { if (!stopping) closed++; });
  });
  req.end();
}
const timer = setInterval(() => {
  const now = performance.now();
  const due = Math.floor(((now - t0) * rate) / 1000);
  while (sent < due) one(t0 + (sent * 1000) / rate);
}, 1);
function report() {
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? NaN;
  const seconds = (performance.now() - t0) / 1000;
  process.stdout.write(JSON.stringify({ sent, seconds, p50: q(0.5), p99: q(0.99), max: lat[lat.length - 1] ?? NaN, failures, opened, closed }) + "\\n");
  process.exit(0);
}
process.stdin.on("data", (d) => {
  if (!String(d).includes("stop")) return;
  clearInterval(timer);
  stopping = true;
  if (done === sent) report();
});
process.stdout.write("ready\\n");
`;

interface LoadResult {
  sent: number;
  seconds: number;
  p50: number;
  p99: number;
  max: number;
  failures: { at: number; status: number; detail: string }[];
  /** Keep-alive mode: connections opened, and closed before the end of the load (not by the client). */
  opened: number;
  closed: number;
}

let env: RootEnv | undefined;
let cp: ControlPlane | undefined;
let dataDir = "";
let repo = "";
let agent: ChildProcess | undefined;
let loadgen: ChildProcess | undefined;
let inspector: OciBackend | undefined;
let owner: ApiClient | undefined;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined | null | false>, ms = 120_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function get(port: number, host: string, urlPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: urlPath, headers: { host }, timeout: 10_000, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", () => resolve({ status: 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

function startLoad(port: number, host: string): Promise<{ stop(): Promise<LoadResult> }> {
  const child = spawn(process.execPath, ["-e", LOADGEN, String(port), host, String(RATE), CONNECTIONS], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  loadgen = child;
  let out = "";
  child.stdout?.setEncoding("utf8");
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`load generator exited with ${code}`)));
    child.stdout?.on("data", (d: string) => {
      out += d;
      if (out.startsWith("ready\n")) {
        resolve({
          stop: () =>
            new Promise<LoadResult>((done) => {
              child.stdout?.on("end", () => done(JSON.parse(out.slice("ready\n".length).trim()) as LoadResult));
              child.stdin?.write("stop\n");
            }),
        });
      }
    });
  });
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (runc, buildah, CNI)");
  if (MIGRATE_REQ !== "keep") {
    if (MIGRATE_REQ !== "0" && MIGRATE_REQ !== "1") throw new Error("tcp_migrate_req must be keep, 0 or 1");
    migrateReqBefore = fs.readFileSync(MIGRATE_REQ_FILE, "utf8").trim();
    fs.writeFileSync(MIGRATE_REQ_FILE, MIGRATE_REQ);
  }
  env = await createRootEnv();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-zdt-"));
  const config = loadConfig({
    BERTH_DATA_DIR: dataDir,
    PORT: "0",
    HOST: "127.0.0.1",
    BERTH_LOG_LEVEL: "error",
    BERTH_ROUTER_PORT: "0",
  });
  await migrateDatabase(config.databaseUrl);
  cp = await createControlPlane({ config, log: createLogger("error"), dashboard: false, registry: true, router: true });
  const port = await cp.listen();
  const url = `http://127.0.0.1:${port}`;
  const routerPort = cp.services.config.routerPort;
  const admin = new ApiClient(url);
  await admin.signUp("zdt@example.com");
  owner = await admin.tokenClient("bench");
  const api = owner;
  // The agent publishes on 127.0.0.1: a local-agent token, the only kind the control plane routes on loopback.
  const join = (await createLocalJoinToken(cp.services.db, { name: "zdt-node" })).token;
  // The agent's flags as the root tests use them (agentFlagsFor): instances publish on the bridge gateway, which the
  // router on this machine reaches without route_localnet. (Publishing on 127.0.0.1, as this bench did before, needs
  // route_localnet since the agent's CNI config stopped using portmap's SNAT mode, so the first instance never passed
  // its health check: "not healthy after 90 s".) The agent pulls through the control plane's /v2/ with its join token.
  const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
  const flags = agentFlagsFor(env, { controlPlane: url, joinToken: join, nodeName: "zdt-node", portBase });
  inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
  agent = spawnAgent(flags);
  const db = cp.services.db;
  await until("node ready", async () => (await db.node.findUnique({ where: { name: "zdt-node" } }))?.state === "ready");
  if ((await api.req("POST", "/api/v1/apps", { name: APP })).status !== 201) throw new Error("app create failed");
  repo = await makeRepo({
    Dockerfile: dockerfile,
    busybox: fs.readFileSync("/bin/busybox"),
    "www/index.html": "<h1>zero downtime</h1>\n",
    "www/cgi-bin/who": CGI,
  });
  const push = await git(repo, ["push", remoteUrl(url, APP, owner.token), "main"]);
  if (push.code !== 0) throw new Error(`git push failed:\n${push.out}`);
  const instances = async () =>
    (await api.req<{ state: string; release: number; processType: string }[]>("GET", `/api/v1/apps/${APP}/instances`))
      .body;
  const runningWeb = (n: number, version: number) =>
    until(`${n} running web instances of v${version}`, async () => {
      const web = (await instances()).filter((i) => i.processType === "web");
      return web.length === n && web.every((i) => i.state === "running" && i.release === version);
    });
  if (WEB !== 1) await api.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: WEB }] });
  await runningWeb(WEB, 1);
  const host = `${APP}.localhost`;
  await until("app served", async () => (await get(routerPort, host, "/index.html")).status === 200);

  // Router updates (Runtime API batches; a reload only when the slot pool grows), timed, to line failed requests up with them.
  const routerLoads: { start: number; end: number }[] = [];
  const sched = cp.services.scheduler as unknown as { router: RouteSink | undefined };
  const sink = sched.router;
  if (sink) {
    const apply = sink.apply.bind(sink);
    sink.apply = async (routes) => {
      const start = Date.now();
      try {
        await apply(routes);
      } finally {
        routerLoads.push({ start, end: Date.now() });
      }
    };
  }
  // Read after the control plane started (printed with the results; the HAProxy router does not depend on it).
  const migrateReq = fs.readFileSync(MIGRATE_REQ_FILE, "utf8").trim();
  const countersBefore = tcpCounters();
  const load = await startLoad(routerPort, host);
  const loadStart = Date.now();
  await sleep(2_000);
  const rollouts: { version: number; deployedMs: number; convergedMs: number }[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= REDEPLOYS; i++) {
    const version = i + 1;
    const t = performance.now();
    const r = await api.req("PATCH", `/api/v1/apps/${APP}/config`, { set: { GREETING: `hello-${i}` } });
    if (r.status !== 200) throw new Error(`config change failed: ${r.status} ${JSON.stringify(r.body)}`);
    await until(`v${version} deployed`, async () => {
      const rel = await api.req<{ version: number; status: string; failReason?: string }[]>(
        "GET",
        `/api/v1/apps/${APP}/releases`,
      );
      const mine = rel.body.find((x) => x.version === version);
      if (mine?.status === "failed") throw new Error(`v${version} failed: ${mine.failReason ?? ""}`);
      return mine?.status === "deployed";
    });
    const deployedMs = performance.now() - t;
    await runningWeb(WEB, version);
    rollouts.push({ version, deployedMs, convergedMs: performance.now() - t });
    process.stderr.write(
      `v${version}: deployed after ${(deployedMs / 1000).toFixed(2)} s, old instances gone after ${((performance.now() - t) / 1000).toFixed(2)} s\n`,
    );
  }
  const redeployMs = performance.now() - t0;
  await sleep(2_000);
  const result = await load.stop();
  loadgen = undefined;
  const countersAfter = tcpCounters();
  const delta = (k: string) => (countersAfter[k] ?? 0) - (countersBefore[k] ?? 0);
  const last = await get(routerPort, host, "/cgi-bin/who");

  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
  const la = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  process.stdout.write(
    `\nzero-downtime: ${REDEPLOYS} config changes in a row (new release + rollout each), web=${WEB}, ` +
      `${RATE} req/s constant rate through the router (${CONNECTIONS === "keepalive" ? "50 keep-alive connections" : "new connection per request"}), ${os.cpus().length} cores, ` +
      `load average ${la}, net.ipv4.tcp_migrate_req=${migrateReq}\n\n`,
  );
  process.stdout.write(
    "| requests | duration (s) | achieved req/s | failed | p50 (ms) | p99 (ms) | max (ms) | target |\n|---|---|---|---|---|---|---|---|\n",
  );
  process.stdout.write(
    `| ${result.sent} | ${result.seconds.toFixed(1)} | ${(result.sent / result.seconds).toFixed(0)} | ${result.failures.length} | ` +
      `${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${result.max.toFixed(0)} | 0 failed: ${result.failures.length === 0 ? "met" : "MISSED"} |\n`,
  );
  process.stdout.write(
    (CONNECTIONS === "keepalive"
      ? `\nkeep-alive connections opened ${result.opened}, closed before the end (by the router or the network) ${result.closed}\n`
      : "") +
      `\nrollouts (config change -> release deployed / -> old instances gone): median ${(med(rollouts.map((r) => r.deployedMs)) / 1000).toFixed(2)} s / ` +
      `${(med(rollouts.map((r) => r.convergedMs)) / 1000).toFixed(2)} s; all ${REDEPLOYS} took ${(redeployMs / 1000).toFixed(1)} s\n`,
  );
  process.stdout.write(
    `per rollout (s): ${rollouts.map((r) => `v${r.version} ${(r.deployedMs / 1000).toFixed(2)}/${(r.convergedMs / 1000).toFixed(2)}`).join(", ")}\n`,
  );
  const loadsDuring = routerLoads.filter((l) => l.start >= loadStart);
  const loadMs = loadsDuring.map((l) => l.end - l.start);
  process.stdout.write(
    `router updates (Runtime API) during the load: ${loadsDuring.length}, duration median ${med(loadMs).toFixed(0)} ms, max ${Math.max(0, ...loadMs)} ms\n`,
  );
  process.stdout.write(
    `host TCP counters during the load (whole machine): RSTs sent ${delta("Tcp.OutRsts")}, ` +
      `requests migrated from a closing listener (TCPMigrateReqSuccess) ${delta("TcpExt.TCPMigrateReqSuccess")}, ` +
      `failed migrations ${delta("TcpExt.TCPMigrateReqFailure")}\n`,
  );
  for (const f of result.failures.slice(0, 20)) {
    const near = loadsDuring.reduce<{ start: number; end: number } | undefined>(
      (best, l) => (!best || Math.abs(l.start - f.at) < Math.abs(best.start - f.at) ? l : best),
      undefined,
    );
    const where = near
      ? `; nearest router update started ${f.at - near.start} ms before it and took ${near.end - near.start} ms`
      : "";
    process.stdout.write(`failed request due at +${f.at - loadStart} ms: ${f.status} ${f.detail}${where}\n`);
  }
  if (result.failures.length > 20) process.stdout.write(`(${result.failures.length - 20} more)\n`);
  // All failures, as windows of consecutive failed requests (gaps under 100 ms) with what the client saw.
  const windows: { from: number; to: number; n: number; kinds: Map<string, number> }[] = [];
  for (const f of [...result.failures].sort((a, b) => a.at - b.at)) {
    let w = windows[windows.length - 1];
    if (!w || f.at - w.to > 100) windows.push((w = { from: f.at, to: f.at, n: 0, kinds: new Map() }));
    const kind = f.status ? `HTTP ${f.status}` : f.detail;
    w.to = f.at;
    w.n++;
    w.kinds.set(kind, (w.kinds.get(kind) ?? 0) + 1);
  }
  for (const w of windows) {
    const kinds = [...w.kinds].map(([k, n]) => `${n}x ${k}`).join(", ");
    process.stdout.write(`failure window +${w.from - loadStart}..+${w.to - loadStart} ms: ${w.n} failed (${kinds})\n`);
  }
  process.stdout.write(`last response: ${last.status} ${last.body.trim()}\n`);
}

async function cleanup(): Promise<string[]> {
  const problems: string[] = [];
  loadgen?.kill("SIGKILL");
  if (migrateReqBefore !== undefined) fs.writeFileSync(MIGRATE_REQ_FILE, migrateReqBefore);
  if (cp && agent && owner) {
    await owner.req("DELETE", `/api/v1/apps/${APP}`).catch(() => undefined);
    await until("containers gone", async () => (await inspector?.list())?.length === 0, 60_000).catch((e: unknown) =>
      problems.push(String(e)),
    );
  }
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent?.once("exit", r));
    agent.kill("SIGTERM");
    await exited;
  }
  for (const c of (await inspector?.list()) ?? [])
    await inspector?.delete(c.id).catch((e: unknown) => problems.push(String(e)));
  await cp?.close().catch((e: unknown) => problems.push(String(e)));
  if (dataDir) {
    await cleanupBuilder(dataDir);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
  problems.push(...((await env?.destroy()) ?? []));
  if (repo) fs.rmSync(repo, { recursive: true, force: true });
  return problems;
}

main()
  .then(cleanup)
  .then((problems) => {
    if (problems.length) process.stderr.write(`cleanup problems:\n${problems.join("\n")}\n`);
  })
  .catch(async (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    const problems = await cleanup().catch((e: unknown) => [String(e)]);
    if (problems.length) process.stderr.write(`cleanup problems:\n${problems.join("\n")}\n`);
    process.exitCode = 1;
  });
