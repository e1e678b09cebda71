// Minimal reproduction of the connection resets seen in bench/zero-downtime.ts: no containers, no control plane.
// A bare Caddy 2.6 gets the config Berth generates (buildCaddyConfig, access lines to a socket in this process);
// this process POSTs /load in a loop with a changing upstream list (as rollouts do) while an open-loop client sends
// a constant rate of requests, and every failed request is counted with what the client saw. Each variant (a change
// to the generated config, or a kernel setting) runs on a fresh Caddy, one after another, repeated `reps` times.
// Kernel counters (RSTs sent, accept-queue drops, migrated requests) are read from /proc/net around each run.
//
// As root the whole benchmark re-runs itself in a new, empty network namespace (`unshare --net`, loopback only) so
// the `net.ipv4.tcp_migrate_req` variant can set that sysctl without touching the host; without root that variant
// is skipped. Needs /usr/bin/caddy.
// Run: npx tsx bench/router-reload.ts [seconds=20] [rate=400] [load-interval-ms=100] [reps=3] [variant-filter]
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freeLoopbackPort } from "../server/lib/free-port.ts";
import { buildCaddyConfig, type CaddyConfig, type RouteEntry } from "../server/router/caddy-config.ts";
import { LogSink } from "../server/router/log-sink.ts";
import { killAll, median, sleep, startBareCaddy, startNodeUpstream } from "./lib/caddy.ts";
import { startLoad, type LoadResult } from "./lib/loadgen.ts";

const SECONDS = Number(process.argv[2] ?? 20);
const RATE = Number(process.argv[3] ?? 400);
const INTERVAL = Number(process.argv[4] ?? 100);
const REPS = Number(process.argv[5] ?? 3);
/** Only variants whose name contains this (optional). */
const FILTER = process.argv[6] ?? "";
const HOST = "bench.test";
const NETNS_ENV = "BERTH_BENCH_IN_NETNS";

interface Variant {
  name: string;
  /** Client connection handling. */
  mode: "new" | "keepalive";
  edit?: (config: CaddyConfig) => void;
  /** net.ipv4.tcp_migrate_req for this run (only inside our own network namespace). */
  migrateReq?: boolean;
}

type Json = Record<string, unknown>;
const httpApp = (c: CaddyConfig) => (c.apps as Json).http as Json;
const server = (c: CaddyConfig) => (httpApp(c).servers as Json).berth as Json;

const inNetns = process.env[NETNS_ENV] === "1";
const VARIANTS: Variant[] = (
  [
    { name: "generated config (as Berth loads it), new connection per request", mode: "new" },
    {
      name: 'apps.http.grace_period "10s", new connection per request',
      mode: "new",
      edit: (c: CaddyConfig) => void (httpApp(c).grace_period = "10s"),
    },
    {
      name: 'apps.http.shutdown_delay "2s", new connection per request',
      mode: "new",
      edit: (c: CaddyConfig) => void (httpApp(c).shutdown_delay = "2s"),
    },
    ...(inNetns
      ? [
          {
            name: "sysctl net.ipv4.tcp_migrate_req=1, new connection per request",
            mode: "new",
            migrateReq: true,
          } as const,
        ]
      : []),
    { name: "generated config, keep-alive client", mode: "keepalive" },
    {
      name: 'servers.berth.idle_timeout "30s", keep-alive client',
      mode: "keepalive",
      edit: (c: CaddyConfig) => void (server(c).idle_timeout = "30s"),
    },
    ...(inNetns
      ? [{ name: "sysctl net.ipv4.tcp_migrate_req=1, keep-alive client", mode: "keepalive" as const, migrateReq: true }]
      : []),
  ] as Variant[]
).filter((v) => v.name.includes(FILTER));

/** TcpExt / Tcp counters of this network namespace. */
function netCounters(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const file of ["/proc/net/netstat", "/proc/net/snmp"]) {
    const lines = fs.readFileSync(file, "utf8").trim().split("\n");
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      const prefix = names[0]!.replace(":", "");
      for (let k = 1; k < names.length; k++) out[`${prefix}.${names[k]}`] = Number(values[k]);
    }
  }
  return out;
}
const COUNTERS = [
  "Tcp.OutRsts",
  "TcpExt.ListenDrops",
  "TcpExt.ListenOverflows",
  "TcpExt.TCPMigrateReqSuccess",
  "TcpExt.TCPMigrateReqFailure",
];

function setMigrateReq(on: boolean): void {
  if (inNetns) fs.writeFileSync("/proc/sys/net/ipv4/tcp_migrate_req", on ? "1" : "0");
}

interface RunResult {
  load: LoadResult;
  loads: { start: number; end: number }[];
  counters: Record<string, number>;
  accessLines: number;
}

async function runVariant(dir: string, v: Variant, upstreams: string[]): Promise<RunResult> {
  setMigrateReq(v.migrateReq ?? false);
  let accessLines = 0;
  const sink = new LogSink(() => accessLines++);
  const accessAddress = await sink.start(path.join(dir, `sink-${Date.now()}`));
  const listenPort = await freeLoopbackPort();
  const caddy = await startBareCaddy(path.join(dir, `caddy-${Date.now()}`));
  const config = (ups: string[]) => {
    const routes: RouteEntry[] = [{ app: "bench", hosts: [HOST], maintenance: false, upstreams: ups }];
    const c = buildCaddyConfig({
      listen: { host: "127.0.0.1", port: listenPort },
      adminAddress: `127.0.0.1:${caddy.adminPort}`,
      routes,
      accessLog: { address: accessAddress },
    });
    v.edit?.(c);
    return c;
  };
  // Upstream sets a rollout goes through: old only, old + new, new only, ... (every load changes the config).
  const sets = [[upstreams[0]!], [upstreams[0]!, upstreams[1]!], [upstreams[1]!], [upstreams[1]!, upstreams[2]!]];
  await caddy.load(config(sets[0]!));
  const before = netCounters();
  const load = await startLoad({ port: listenPort, host: HOST, rate: RATE, mode: v.mode });
  const loads: { start: number; end: number }[] = [];
  const until = Date.now() + SECONDS * 1000;
  await sleep(500);
  for (let i = 1; Date.now() < until - 500; i++) {
    const start = Date.now();
    await caddy.load(config(sets[i % sets.length]!));
    loads.push({ start, end: Date.now() });
    await sleep(INTERVAL);
  }
  await sleep(500);
  const result = await load.stop();
  const after = netCounters();
  await caddy.stop();
  await sink.stop();
  const counters: Record<string, number> = {};
  for (const k of COUNTERS) counters[k] = (after[k] ?? 0) - (before[k] ?? 0);
  return { load: result, loads, counters, accessLines };
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "?");

function describeFailures(r: RunResult): string {
  const kinds = new Map<string, number>();
  for (const f of r.load.failures) {
    const k = f.status ? `HTTP ${f.status}` : f.detail.replace(/ [0-9.]+:[0-9]+/, "").trim();
    kinds.set(k, (kinds.get(k) ?? 0) + 1);
  }
  return [...kinds].map(([k, n]) => `${n}x ${k}`).join("; ") || "-";
}

/** ms between each failure's due time and the start of the closest config load (negative: before the load). */
function offsets(r: RunResult): number[] {
  return r.load.failures.map((f) => {
    let best = Infinity;
    for (const l of r.loads) if (Math.abs(f.at - l.start) < Math.abs(best)) best = f.at - l.start;
    return Math.round(best);
  });
}

async function main() {
  if (process.getuid?.() === 0 && !inNetns) {
    // Re-run in a private network namespace: nothing but our own loopback, and sysctls stay local to it.
    const script = fileURLToPath(import.meta.url);
    const child = spawn(
      "/usr/bin/unshare",
      ["--net", "--", process.execPath, ...process.execArgv, script, ...process.argv.slice(2)],
      { stdio: "inherit", env: { ...process.env, [NETNS_ENV]: "1" } },
    );
    const forward = () => child.kill("SIGINT");
    process.once("SIGINT", forward);
    process.exitCode = await new Promise<number>((r) => child.once("exit", (code) => r(code ?? 1)));
    return;
  }
  if (inNetns) execFileSync("/usr/sbin/ip", ["link", "set", "lo", "up"]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-reload-"));
  const migrateBefore = inNetns ? fs.readFileSync("/proc/sys/net/ipv4/tcp_migrate_req", "utf8").trim() : "";
  try {
    const ports = await Promise.all([0, 1, 2].map(() => freeLoopbackPort()));
    await Promise.all(ports.map((p) => startNodeUpstream(p)));
    const upstreams = ports.map((p) => `127.0.0.1:${p}`);
    process.stdout.write(
      `router reload: ${RATE} req/s open loop for ${SECONDS} s per run while POST /load changes the upstream list ` +
        `every ${INTERVAL} ms (after the previous load returned); ${REPS} runs per variant, interleaved; ` +
        `caddy ${execFileSync("/usr/bin/caddy", ["version"]).toString().trim()}, kernel ${os.release()}, ` +
        `${os.cpus().length} cores, load average ${os.loadavg()[0]?.toFixed(1)}; ` +
        `${inNetns ? "in a private network namespace" : "host network namespace (not root: sysctl variant skipped)"}\n\n`,
    );
    const results = new Map<Variant, RunResult[]>(VARIANTS.map((v) => [v, []]));
    for (let rep = 0; rep < REPS; rep++) {
      for (const v of VARIANTS) {
        const r = await runVariant(dir, v, upstreams);
        results.get(v)!.push(r);
        process.stderr.write(
          `rep ${rep + 1} ${v.name}: ${r.load.failures.length} failed of ${r.load.sent}, ${r.loads.length} loads; ` +
            `${describeFailures(r)}; offsets to nearest load start (ms) ${offsets(r).slice(0, 12).join(" ")}; ` +
            `${COUNTERS.map((k) => `${k.split(".")[1]} ${r.counters[k]}`).join(", ")}\n`,
        );
      }
    }
    process.stdout.write(
      "| variant | requests (per run) | config loads (per run) | load ms (median) | failed per run (median; all runs) | failed per 100 loads | what the client saw | " +
        "RSTs sent (median) | TCPMigrateReqSuccess (median) | p50 / p99 ms (median) |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (const [v, rs] of results) {
      const failed = rs.map((r) => r.load.failures.length);
      const all = rs.flatMap((r) => r.load.failures);
      const kinds = describeFailures({ ...rs[0]!, load: { ...rs[0]!.load, failures: all } });
      const m = (k: string) => median(rs.map((r) => r.counters[k] ?? 0));
      const per100 = (100 * all.length) / rs.reduce((n, r) => n + r.loads.length, 0);
      process.stdout.write(
        `| ${v.name} | ${median(rs.map((r) => r.load.sent))} | ${median(rs.map((r) => r.loads.length))} | ` +
          `${median(rs.flatMap((r) => r.loads.map((l) => l.end - l.start))).toFixed(0)} | ` +
          `${median(failed)} (${failed.join(", ")}) | ${f1(per100)} | ${kinds} | ${m("Tcp.OutRsts")} | ` +
          `${m("TcpExt.TCPMigrateReqSuccess")} | ${median(rs.map((r) => r.load.p50)).toFixed(1)} / ` +
          `${median(rs.map((r) => r.load.p99)).toFixed(1)} |\n`,
      );
    }
    const allOffsets = [...results.values()].flat().flatMap(offsets);
    if (allOffsets.length) {
      process.stdout.write(
        `\nfailed request due time minus nearest load start (ms), all runs: min ${Math.min(...allOffsets)}, ` +
          `median ${median(allOffsets)}, max ${Math.max(...allOffsets)}\n`,
      );
    }
  } finally {
    await killAll();
    if (inNetns) fs.writeFileSync("/proc/sys/net/ipv4/tcp_migrate_req", migrateBefore);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch(async (err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  await killAll();
  process.exitCode = 1;
});
