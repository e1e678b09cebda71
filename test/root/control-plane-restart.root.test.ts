// Apps keep serving through a control-plane restart: the whole platform (server/main.ts: control plane, registry,
// HAProxy router, local agent) serves a busybox app with two instances while requests go through the router without
// pause; the platform is stopped with SIGTERM and started again on the same data dir and ports, then killed with -9
// and started again. Not one request may fail, and the same instances (ids, restart counts) serve afterwards: HAProxy
// runs detached and is adopted with its routes, the first routes come from the database, the agent keeps its
// containers (a leftover local agent is stopped gracefully by the next start). A worker prints a numbered line every
// 0.2 s throughout: every line it printed while the control plane was away arrives in the app's log afterwards
// (each once, none missing), and a `berth logs -f` started before the restarts reconnects by itself and prints them.
import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { localAgentEnv, localAgentPids } from "../../server/nodes/local-agent.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { hostportChainsExist, removeHostportChains } from "../../runtime-agent/test-support/iptables-cleanup.ts";
import { findLeftovers, processAlive } from "../../server/process/leftovers.ts";
import { ourHaproxyPids } from "../../server/router/haproxy-process.ts";
import { cleanupPlatformHost, drainAndStop, startPlatform, type PlatformProcess } from "../helpers/platform-process.ts";
import { createDb } from "../../server/db/client.ts";
import { createLocalJoinToken } from "../../server/nodes/join-tokens.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";
import { silentLogger } from "../../runtime-agent/log.ts";

const ADMIN = { email: "restart@example.com", password: "restart-password-1" };
const APP = "steady";
const HOST = `${APP}.localhost`;
const PROCFILE = `web: httpd -f -p 5000 -h /www\nworker: i=0; while true; do i=$((i+1)); echo "tick $i"; sleep 0.2; done\n`;
const BERTH_CLI = path.resolve("bin/berth.mjs");

let tmp = "";
let dataDir = "";
let chainsExisted = true;
let platform: PlatformProcess | undefined;
let repo = "";
let follower: ChildProcess | undefined;
// The second case: a platform without a local agent and an agent process of its own (as on another machine).
let rootEnv: RootEnv | undefined;
let remoteDir = "";
let remote: PlatformProcess | undefined;
let remoteAgent: ChildProcess | undefined;
let inspector: OciBackend | undefined;

interface Row {
  id: string;
  processType: string;
  state: string;
  restarts: number;
}

async function until(what: string, fn: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Requests through the router one after another on keep-alive connections, until stop(); collects what failed. */
function steadyLoad(port: number, host = HOST) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const failures: string[] = [];
  let sent = 0;
  let stopping = false;
  const one = () =>
    new Promise<void>((resolve) => {
      sent++;
      const req = http.request(
        { host: "127.0.0.1", port, path: "/index.html", headers: { host }, agent, timeout: 10_000 },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () => {
            if (res.statusCode !== 200 || body !== "steady\n") failures.push(`${res.statusCode} ${body.slice(0, 100)}`);
            resolve();
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", (err) => {
        failures.push(`error ${err.message}${req.reusedSocket ? " (reused socket)" : ""}`);
        resolve();
      });
      req.end();
    });
  const loop = (async () => {
    while (!stopping) {
      await one();
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  return {
    failures,
    get sent() {
      return sent;
    },
    async stop() {
      stopping = true;
      await loop;
      agent.destroy();
    },
  };
}

const readPid = (file: string) => (fs.existsSync(file) ? Number(fs.readFileSync(file, "utf8").trim()) : 0);
/** The HAProxy master of a data dir (its pid file; the router is "the same" when this pid stays). */
const haproxyPid = (dir = dataDir) => readPid(path.join(dir, "haproxy", "haproxy.pid"));
/** Kills every HAProxy process of a data dir a failed run left (matched by its config file in the command line). */
function killHaproxy(dir: string): void {
  for (const pid of ourHaproxyPids(path.join(dir, "haproxy", "haproxy.cfg"))) process.kill(pid, "SIGKILL");
}

/** Every instance of the app (2 web, 1 worker), by id. */
async function instances(p: PlatformProcess): Promise<Row[]> {
  const rows = (await p.client.req<Row[]>("GET", `/api/v1/apps/${APP}/instances`)).body;
  return Array.isArray(rows) ? rows.sort((a, b) => a.id.localeCompare(b.id)) : [];
}

async function allRunning(p: PlatformProcess): Promise<boolean> {
  const rows = await instances(p);
  const count = (t: string) => rows.filter((r) => r.processType === t && r.state === "running").length;
  return rows.length === 3 && count("web") === 2 && count("worker") === 1;
}

/** The numbers of the worker's `tick N` lines, in order of appearance. */
const ticks = (text: string) => [...text.matchAll(/^.*tick ([0-9]+)$/gm)].map((m) => Number(m[1]));

/** The worker's tick numbers in the app's stored log. */
async function storedTicks(p: PlatformProcess): Promise<number[]> {
  const r = await p.client.req<{ entries: { text: string }[] }>(
    "GET",
    `/api/v1/apps/${APP}/logs?lines=10000&processType=worker`,
  );
  return ticks(r.body.entries.map((e) => e.text).join("\n"));
}

/** Asserts `nums` is first..last with each number once (nothing lost or repeated in between). */
function expectContiguous(nums: number[], what: string): void {
  const first = nums[0] ?? 0;
  expect(nums, what).toEqual(nums.map((_, k) => first + k));
}

const fingerprint = (rows: Row[]) => rows.map((r) => `${r.id}/${r.state}/${r.restarts}`);

describeRoot("control-plane restart", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cp-restart-"));
    dataDir = path.join(tmp, "data");
    chainsExisted = await hostportChainsExist();
  });
  afterAll(async () => {
    follower?.kill("SIGKILL");
    // A run that failed while the platform was down left the app's containers running (they outlive the platform by
    // design): a platform started again removes them (and stops HAProxy at its stop).
    const runc = dataDir ? localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT! : "";
    if (!platform && runc && fs.existsSync(runc) && fs.readdirSync(runc).length > 0)
      platform = await startPlatform(dataDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "off" }).catch(() => undefined);
    if (platform) await drainAndStop(platform, dataDir, [APP]).catch(() => undefined);
    if (dataDir) {
      // Whatever a failed run left: a kept-running HAProxy, an orphaned local agent (its containers then go with the
      // host cleanup's runc state), a registry.
      killHaproxy(dataDir);
      for (const pid of localAgentPids(dataDir)) process.kill(pid, "SIGKILL");
      for (const pid of findLeftovers({ argv: ["serve", path.join(dataDir, "registry", "config.yml")] }))
        process.kill(pid, "SIGKILL");
      await cleanupPlatformHost(dataDir);
    }
    await remote?.stop();
    if (remoteDir) {
      killHaproxy(remoteDir);
      for (const pid of findLeftovers({ argv: ["serve", path.join(remoteDir, "registry", "config.yml")] }))
        process.kill(pid, "SIGKILL");
      await cleanupPlatformHost(remoteDir).catch(() => undefined);
    }
    // The agent first (it would restart what is deleted), then every container it ran, then its environment.
    await stopAgent(remoteAgent);
    for (const c of (await inspector?.list().catch(() => [])) ?? [])
      await inspector?.delete(c.id).catch(() => undefined);
    for (const problem of (await rootEnv?.destroy()) ?? []) process.stderr.write(`cleanup: ${problem}\n`);
    if (!chainsExisted) await removeHostportChains();
    if (repo) fs.rmSync(repo, { recursive: true, force: true });
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it("serves every request through a SIGTERM restart and a kill -9 restart, with the same instances", async () => {
    const outlives = { BERTH_ROUTER_OUTLIVES: "on" };
    platform = await startPlatform(dataDir, ADMIN, outlives);
    const ports = { PORT: new URL(platform.url).port, BERTH_ROUTER_PORT: String(platform.routerPort) };
    const routerPort = platform.routerPort;
    expect((await platform.client.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
    const token = (await platform.client.tokenClient()).token;
    repo = await makeRepo(busyboxWebApp({ "www/index.html": "steady\n", Procfile: PROCFILE }));
    const push = await git(repo, ["push", remoteUrl(platform.url, APP, token), "main"]);
    expect(push.code, push.out + platform.output().slice(-3000)).toBe(0);
    await platform.client.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [
        { type: "web", quantity: 2 },
        { type: "worker", quantity: 1 },
      ],
    });
    const p1 = platform;
    await until("2 web instances and a worker running", () => allRunning(p1));
    await until("the worker's lines in the log", async () => (await storedTicks(p1)).length > 3);
    const before = fingerprint(await instances(platform));
    const haproxy = haproxyPid();
    expect(haproxy).toBeGreaterThan(1);
    // `berth logs -f` of the worker, left running through both restarts.
    const home = path.join(tmp, "home");
    fs.mkdirSync(home);
    let followed = "";
    follower = spawn(process.execPath, [BERTH_CLI, "logs", "-f", "-a", APP, "--type", "worker", "-n", "1"], {
      env: {
        ...process.env,
        BERTH_URL: platform.url,
        BERTH_TOKEN: token,
        HOME: home,
        XDG_CONFIG_HOME: path.join(home, "config"),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    follower.stdout?.on("data", (d: Buffer) => (followed += d.toString()));
    follower.stderr?.on("data", (d: Buffer) => (followed += d.toString()));
    await until("berth logs -f prints the worker's lines", async () => ticks(followed).length > 2);

    // 1. Graceful: SIGTERM (the local agent stops, containers keep running, HAProxy is left serving), then a new start.
    const restartsBegan = Date.now();
    const tickAtFirstRestart = (await storedTicks(platform)).at(-1)!;
    let load = steadyLoad(routerPort);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await platform.stop()).toBe(0);
    platform = undefined;
    expect(processAlive(haproxy)).toBe(true);
    const servedWhileDown = load.sent;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(load.sent).toBeGreaterThan(servedWhileDown);
    platform = await startPlatform(dataDir, ADMIN, { ...outlives, ...ports });
    const p2 = platform;
    await until("the node back with every instance running", async () => {
      const nodes = (await p2.client.req<{ state: string }[]>("GET", "/api/v1/nodes")).body;
      return nodes.some((n) => n.state === "ready") && (await allRunning(p2));
    });
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    expect(load.failures, p2.output().slice(-3000)).toEqual([]);
    expect(haproxyPid()).toBe(haproxy);
    expect(fingerprint(await instances(p2))).toEqual(before);

    // 2. Crash: kill -9 (nothing of the shutdown runs; the local agent is orphaned and keeps its containers).
    load = steadyLoad(routerPort);
    await new Promise((r) => setTimeout(r, 1_000));
    const orphans = localAgentPids(dataDir);
    expect(orphans.length).toBe(1);
    await p2.kill();
    platform = undefined;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(localAgentPids(dataDir)).toEqual(orphans);
    // The last start stops HAProxy with the platform (the cleanup leaves nothing).
    platform = await startPlatform(dataDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "off", ...ports });
    const p3 = platform;
    await until("a new local agent with every instance running", async () => {
      const agents = localAgentPids(dataDir);
      return agents.length === 1 && agents[0] !== orphans[0] && (await allRunning(p3));
    });
    // The agent registered again (its node reported ready after the new agent's connection).
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    expect(load.failures, p3.output().slice(-3000)).toEqual([]);
    expect(haproxyPid()).toBe(haproxy);
    expect(processAlive(orphans[0]!)).toBe(false);
    // The orphaned registry was replaced too: one registry serves the store.
    expect(findLeftovers({ argv: ["serve", path.join(dataDir, "registry", "config.yml")] })).toHaveLength(1);
    expect(fingerprint(await instances(p3))).toEqual(before);

    // The worker printed every 0.2 s throughout (~one line per 0.2 s since the first restart began): all of it is in
    // the app's log, in order, once, and `berth logs -f` printed it too, through both reconnects.
    const printedSince = Math.floor((Date.now() - restartsBegan) / 200);
    const stored = await storedTicks(p3);
    expectContiguous(stored, "stored worker lines");
    expect(stored.at(-1)! - tickAtFirstRestart).toBeGreaterThan(printedSince * 0.5);
    await until("berth logs -f caught up", async () => (ticks(followed).at(-1) ?? 0) >= stored.at(-1)!);
    expectContiguous(ticks(followed), "lines printed by berth logs -f");
    expect(follower.exitCode).toBeNull();
    follower.kill("SIGTERM");

    // The final stop takes HAProxy with it.
    platform = undefined;
    expect(await drainAndStop(p3, dataDir, [APP])).toBe(0);
    expect(processAlive(haproxy)).toBe(false);
    expect(ourHaproxyPids(path.join(dataDir, "haproxy", "haproxy.cfg"))).toEqual([]);
    expect(localAgentPids(dataDir)).toEqual([]);
    const runc = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
    expect(fs.existsSync(runc) ? fs.readdirSync(runc) : []).toEqual([]);
  }, 600_000);

  it("an agent of its own keeps its containers through a control-plane kill -9 and reconnects by itself", async () => {
    rootEnv = await createRootEnv();
    remoteDir = path.join(tmp, "remote");
    remote = await startPlatform(remoteDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "on", BERTH_NO_AGENT: "1" });
    const ports = { PORT: new URL(remote.url).port, BERTH_ROUTER_PORT: String(remote.routerPort) };
    // The node joins like the local agent would (its address is this machine's bridge, routable for local tokens).
    const db = createDb(`file:${path.join(remoteDir, "berth.db")}`);
    const join = (await createLocalJoinToken(db, { name: "remote" })).token;
    await db.$disconnect();
    const portBase = 31_000 + Math.floor(Math.random() * 200) * 100;
    const flags = agentFlagsFor(rootEnv, {
      controlPlane: remote.url,
      joinToken: join,
      nodeName: "remote-node",
      portBase,
    });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    remoteAgent = spawnAgent(flags);
    const r1 = remote;
    const nodeBackSince = async (p: PlatformProcess, t: number) => {
      const nodes = (await p.client.req<{ state: string; lastSeenAt: string | null }[]>("GET", "/api/v1/nodes")).body;
      return Array.isArray(nodes) && nodes.some((n) => n.state === "ready" && Date.parse(n.lastSeenAt ?? "") >= t);
    };
    await until("the node ready", () => nodeBackSince(r1, 0));
    const app = "remote";
    expect((await remote.client.req("POST", "/api/v1/apps", { name: app })).status).toBe(201);
    const token = (await remote.client.tokenClient()).token;
    const push = await git(repo, ["push", remoteUrl(remote.url, app, token), "main"]);
    expect(push.code, push.out + remote.output().slice(-3000)).toBe(0);
    await remote.client.req("PATCH", `/api/v1/apps/${app}/formation`, { updates: [{ type: "worker", quantity: 0 }] });
    const rows = async (p: PlatformProcess) =>
      ((await p.client.req<Row[]>("GET", `/api/v1/apps/${app}/instances`)).body as Row[]).sort((a, b) =>
        a.id.localeCompare(b.id),
      );
    await until("the web instance running", async () => {
      const w = await rows(r1);
      return w.length === 1 && w[0]!.processType === "web" && w[0]!.state === "running";
    });
    const before = fingerprint(await rows(remote));
    const agentPid = remoteAgent.pid;

    const load = steadyLoad(remote.routerPort, `${app}.localhost`);
    await new Promise((r) => setTimeout(r, 1_000));
    const t0 = Date.now();
    await remote.kill();
    remote = undefined;
    // The agent keeps running (and its container serving) while it retries with backoff.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(remoteAgent.exitCode).toBeNull();
    remote = await startPlatform(remoteDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "off", BERTH_NO_AGENT: "1", ...ports });
    const r2 = remote;
    await until("the agent reconnected by itself", () => nodeBackSince(r2, t0));
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    expect(load.failures, r2.output().slice(-3000)).toEqual([]);
    expect(remoteAgent.pid).toBe(agentPid);
    expect(remoteAgent.exitCode).toBeNull();
    expect(fingerprint(await rows(r2))).toEqual(before);

    // Cleanup through the platform: the app's container goes, then the platform (and its HAProxy) stops.
    await r2.client.req("DELETE", `/api/v1/apps/${app}`);
    await until("the container removed", async () => (await inspector!.list()).length === 0);
    remote = undefined;
    expect(await r2.stop()).toBe(0);
    expect(ourHaproxyPids(path.join(remoteDir, "haproxy", "haproxy.cfg"))).toEqual([]);
  }, 600_000);
});
