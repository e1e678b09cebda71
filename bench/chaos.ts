// Benchmark: faults under steady load with real everything on this machine (root): the whole platform as `npm start`
// runs it (server/main.ts in its own process: control plane, registry, HAProxy router, supervised local agent with
// runc, conmon, CNI), a busybox httpd app pushed with git and scaled to W web instances. A separate load-generator
// process sends a constant R requests/s through the router over keep-alive connections. Per fault it prints the
// failed requests, the time until the platform is fully healthy again, and whether any instance was restarted (a
// changed instance id, restart count or container pid).
// Faults:
//   agent kill -9        the local agent; its supervisor starts it again
//   cp SIGTERM+restart   the platform stopped gracefully and started again on the same data dir and ports
//   cp kill -9+restart   the platform killed (its agent and registry are orphaned) and started again 1 s later
//   router kill -9       HAProxy's master; the control plane's watcher starts it again with the latest routes
//   registry kill -9     docker-registry; its supervisor starts it again
// Run: sudo npx tsx bench/chaos.ts [rate=200] [web=2] [rounds=2] [only=substring of the fault names to run]
// Results go to stdout; copy them into docs/reliability.md.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { localAgentEnv, localAgentPids } from "../server/nodes/local-agent.ts";
import { findLeftovers, processAlive } from "../server/process/leftovers.ts";
import { ourHaproxyPids } from "../server/router/haproxy-process.ts";
import { git, makeRepo, remoteUrl } from "../test/helpers/git.ts";
import { busyboxWebApp } from "../test/helpers/busybox-app.ts";
import {
  cleanupPlatformHost,
  drainAndStop,
  startPlatform,
  viaRouter,
  type PlatformProcess,
} from "../test/helpers/platform-process.ts";
import { hostportChainsExist, removeHostportChains } from "../runtime-agent/test-support/iptables-cleanup.ts";
import { startLoad } from "./lib/loadgen.ts";

const execFileAsync = promisify(execFile);
const RATE = Number(process.argv[2] ?? 200);
const WEB = Number(process.argv[3] ?? 2);
const ROUNDS = Number(process.argv[4] ?? 2);
const ONLY = process.argv[5] ?? "";
const APP = "chaos";
const HOST = `${APP}.localhost`;
const ADMIN = { email: "chaos@example.com", password: "chaos-password-1" };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, fn: () => Promise<boolean>, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

let tmp = "";
let dataDir = "";
let repo = "";
let p: PlatformProcess | undefined;
let ports: Record<string, string> = {};
let chainsExisted = true;

interface Row {
  fault: string;
  sent: number;
  failed: number;
  healthyMs: number;
  restarted: string;
  p99: number;
  max: number;
  detail: string;
}

interface InstanceRow {
  id: string;
  processType: string;
  state: string;
  restarts: number;
}

/** The HAProxy master's pid, or 0 while its pid file is missing (the watcher is starting a new one). */
const haproxyPid = () => {
  try {
    return Number(fs.readFileSync(path.join(dataDir, "haproxy", "haproxy.pid"), "utf8").trim());
  } catch {
    return 0;
  }
};
const registryMatch = () => ({ argv: ["docker-registry", "serve", path.join(dataDir, "registry", "config.yml")] });
const platform = () => {
  if (!p) throw new Error("platform not running");
  return p;
};
const start = async () => {
  // Outlives on (production's default): the router keeps serving while the control plane is away.
  p = await startPlatform(dataDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "on", BERTH_LOG_LEVEL: "warn", ...ports });
  return p;
};

async function web(): Promise<InstanceRow[]> {
  const rows = (await platform().client.req<InstanceRow[]>("GET", `/api/v1/apps/${APP}/instances`)).body;
  return Array.isArray(rows) ? rows.filter((r) => r.processType === "web") : [];
}

/** Instance id/restarts from the API and container id/pid from runc: what "no instance restarted" compares. */
async function fingerprint(): Promise<Set<string>> {
  const out = new Set<string>();
  for (const i of await web()) out.add(`${i.id}/${i.restarts}`);
  const root = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
  const { stdout } = await execFileAsync("runc", ["--root", root, "list", "--format", "json"]);
  for (const c of (JSON.parse(stdout || "[]") as { id: string; pid: number; status: string }[]) ?? [])
    if (c.status === "running") out.add(`${c.id}:${c.pid}`);
  return out;
}

/** Fully healthy: the node's agent registered after `t0`, every web instance runs, and the app answers. */
async function healthy(t0: number): Promise<boolean> {
  try {
    const nodes = (await platform().client.req<{ state: string; lastSeenAt: string | null }[]>("GET", "/api/v1/nodes"))
      .body;
    if (!Array.isArray(nodes) || !nodes.some((n) => n.state === "ready" && Date.parse(n.lastSeenAt ?? "") > t0))
      return false;
    const w = await web();
    if (w.length !== WEB || !w.every((i) => i.state === "running")) return false;
    return (await viaRouter(platform().routerPort, HOST)).status === 200;
  } catch {
    return false;
  }
}

type Fault = { name: string; inject(): Promise<void>; recovered(t0: number): Promise<boolean> };

function faults(): Fault[] {
  let oldAgents: number[] = [];
  let oldPid = 0;
  const newAgent = () => {
    const now = localAgentPids(dataDir);
    return now.length === 1 && !oldAgents.includes(now[0]!);
  };
  return [
    {
      name: "agent kill -9",
      inject: async () => {
        oldAgents = localAgentPids(dataDir);
        for (const pid of oldAgents) process.kill(pid, "SIGKILL");
      },
      recovered: async (t0) => newAgent() && (await healthy(t0)),
    },
    {
      name: "control plane SIGTERM + restart",
      inject: async () => {
        oldAgents = localAgentPids(dataDir);
        await platform().stop();
        p = undefined;
        await start();
      },
      recovered: async (t0) => newAgent() && (await healthy(t0)),
    },
    {
      name: "control plane kill -9 + restart",
      inject: async () => {
        oldAgents = localAgentPids(dataDir);
        await platform().kill();
        p = undefined;
        await sleep(1_000);
        await start();
      },
      recovered: async (t0) => newAgent() && (await healthy(t0)),
    },
    {
      name: "router (HAProxy master) kill -9",
      inject: async () => {
        oldPid = haproxyPid();
        process.kill(oldPid, "SIGKILL");
      },
      recovered: async (t0) => {
        const pid = haproxyPid();
        return pid > 1 && pid !== oldPid && processAlive(pid) && (await healthy(t0 - 60_000));
      },
    },
    {
      name: "registry kill -9",
      inject: async () => {
        [oldPid = 0] = findLeftovers(registryMatch());
        process.kill(oldPid, "SIGKILL");
      },
      recovered: async (t0) => {
        const now = findLeftovers(registryMatch());
        if (now.length !== 1 || now[0] === oldPid) return false;
        const addr = /addr: "?([0-9.:]+)"?/.exec(fs.readFileSync(registryMatch().argv[2]!, "utf8"))?.[1];
        const status = await fetch(`http://${addr}/v2/`).then(
          (r) => r.status,
          () => 0,
        );
        return status === 401 && (await healthy(t0 - 60_000));
      },
    },
  ];
}

async function main() {
  if (process.getuid?.() !== 0) throw new Error("run as root (runc, buildah, CNI)");
  chainsExisted = await hostportChainsExist();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-bench-chaos-"));
  dataDir = path.join(tmp, "data");
  await start();
  ports = { PORT: new URL(platform().url).port, BERTH_ROUTER_PORT: String(platform().routerPort) };
  const client = platform().client;
  if ((await client.req("POST", "/api/v1/apps", { name: APP })).status !== 201) throw new Error("app create failed");
  const token = (await client.tokenClient("bench")).token;
  repo = await makeRepo(busyboxWebApp({ "www/index.html": "<h1>chaos</h1>\n" }));
  const push = await git(repo, ["push", remoteUrl(platform().url, APP, token), "main"]);
  if (push.code !== 0) throw new Error(`git push failed:\n${push.out}`);
  await client.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: WEB }] });
  await until(`${WEB} web instances running`, async () => {
    const w = await web();
    return w.length === WEB && w.every((i) => i.state === "running");
  });

  const rows: Row[] = [];
  for (const fault of faults().filter((f) => f.name.includes(ONLY))) {
    for (let round = 1; round <= ROUNDS; round++) {
      const before = await fingerprint();
      const load = await startLoad({
        port: platform().routerPort,
        host: HOST,
        rate: RATE,
        mode: "keepalive",
        path: "/index.html",
      });
      await sleep(3_000);
      const t0 = Date.now();
      await fault.inject();
      await until(`recovery from ${fault.name}`, () => fault.recovered(t0));
      const healthyMs = Date.now() - t0;
      await sleep(3_000);
      const result = await load.stop();
      const after = await fingerprint();
      const changed = [...before].filter((x) => !after.has(x)).length;
      const kinds = new Map<string, number>();
      for (const f of result.failures) {
        const k = `${f.status} ${f.detail.replace(/[0-9]+/g, "N")}`.trim();
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      rows.push({
        fault: `${fault.name} (#${round})`,
        sent: result.sent,
        failed: result.failures.length,
        healthyMs,
        restarted: changed === 0 ? "no" : `yes (${changed} changed)`,
        p99: result.p99,
        max: result.max,
        detail: [...kinds].map(([k, n]) => `${n}x ${k}`).join("; "),
      });
      process.stderr.write(
        `${fault.name} #${round}: ${result.failures.length} of ${result.sent} failed, healthy after ${healthyMs} ms\n`,
      );
      await sleep(2_000);
    }
  }

  const la = os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(" ");
  process.stdout.write(
    `\nbench/chaos.ts: ${RATE} req/s keep-alive through the router, web=${WEB}, ${os.cpus().length} CPUs, load average ${la}\n\n`,
  );
  process.stdout.write(
    "| Fault | Requests | Failed | Time to fully healthy | Instance restarted | p99 | max | Failures |\n",
  );
  process.stdout.write("|---|---:|---:|---:|---|---:|---:|---|\n");
  for (const r of rows)
    process.stdout.write(
      `| ${r.fault} | ${r.sent} | ${r.failed} | ${(r.healthyMs / 1000).toFixed(2)} s | ${r.restarted} | ${r.p99.toFixed(0)} ms | ${r.max.toFixed(0)} ms | ${r.detail || "-"} |\n`,
    );
}

async function cleanup() {
  if (p) await drainAndStop(p, dataDir, [APP]).catch(() => undefined);
  if (dataDir) {
    // HAProxy outlives the platform by design (BERTH_ROUTER_OUTLIVES=on): the bench stops it, and anything orphaned.
    const haproxy = ourHaproxyPids(path.join(dataDir, "haproxy", "haproxy.cfg"));
    for (const pid of haproxy) process.kill(pid, "SIGTERM");
    for (let i = 0; i < 50 && haproxy.some(processAlive); i++) await sleep(100);
    for (const pid of [...localAgentPids(dataDir), ...findLeftovers(registryMatch())]) process.kill(pid, "SIGKILL");
    await cleanupPlatformHost(dataDir).catch((err: unknown) => process.stderr.write(`cleanup: ${String(err)}\n`));
  }
  if (!chainsExisted) await removeHostportChains();
  if (repo) fs.rmSync(repo, { recursive: true, force: true });
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

main()
  .catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  })
  .finally(() => void cleanup());
