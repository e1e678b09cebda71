// Apps keep serving through a control-plane restart: the whole platform (server/main.ts: control plane, registry,
// Caddy router, local agent) serves a busybox app with two instances while requests go through the router without
// pause; the platform is stopped with SIGTERM and started again on the same data dir and ports, then killed with -9
// and started again. Not one request may fail, and the same instances (ids, restart counts) serve afterwards: Caddy
// runs detached and is adopted with its routes, the first routes come from the database, the agent keeps its
// containers (a leftover local agent is stopped gracefully by the next start).
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
import { cleanupPlatformHost, drainAndStop, startPlatform, type PlatformProcess } from "../helpers/platform-process.ts";

const ADMIN = { email: "restart@example.com", password: "restart-password-1" };
const APP = "steady";
const HOST = `${APP}.localhost`;

let tmp = "";
let dataDir = "";
let chainsExisted = true;
let platform: PlatformProcess | undefined;
let repo = "";

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
function steadyLoad(port: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const failures: string[] = [];
  let sent = 0;
  let stopping = false;
  const one = () =>
    new Promise<void>((resolve) => {
      sent++;
      const req = http.request({ host: "127.0.0.1", port, path: "/index.html", headers: { host: HOST }, agent, timeout: 10_000 }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => {
          if (res.statusCode !== 200 || body !== "steady\n") failures.push(`${res.statusCode} ${body.slice(0, 100)}`);
          resolve();
        });
      });
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

const caddyPid = () => Number(fs.readFileSync(path.join(dataDir, "caddy", "caddy.pid"), "utf8").trim());

async function web(p: PlatformProcess): Promise<Row[]> {
  const rows = (await p.client.req<Row[]>("GET", `/api/v1/apps/${APP}/instances`)).body;
  return Array.isArray(rows) ? rows.filter((r) => r.processType === "web").sort((a, b) => a.id.localeCompare(b.id)) : [];
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
    if (platform) await drainAndStop(platform, dataDir, [APP]).catch(() => undefined);
    if (dataDir) {
      // Whatever a failed run left: a kept-running Caddy, an orphaned local agent (its containers then go with the
      // host cleanup's runc state), a registry.
      const caddy = fs.existsSync(path.join(dataDir, "caddy", "caddy.pid")) ? caddyPid() : 0;
      if (caddy > 1 && processAlive(caddy) && fs.readFileSync(`/proc/${caddy}/cmdline`, "utf8").includes("caddy"))
        process.kill(caddy, "SIGKILL");
      for (const pid of localAgentPids(dataDir)) process.kill(pid, "SIGKILL");
      for (const pid of findLeftovers({ argv: ["serve", path.join(dataDir, "registry", "config.yml")] }))
        process.kill(pid, "SIGKILL");
      await cleanupPlatformHost(dataDir);
    }
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
    repo = await makeRepo(busyboxWebApp({ "www/index.html": "steady\n" }));
    const push = await git(repo, ["push", remoteUrl(platform.url, APP, token), "main"]);
    expect(push.code, push.out + platform.output().slice(-3000)).toBe(0);
    await platform.client.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 2 }] });
    const p1 = platform;
    await until("2 web instances running", async () => {
      const w = await web(p1);
      return w.length === 2 && w.every((i) => i.state === "running");
    });
    const before = fingerprint(await web(platform));
    const caddy = caddyPid();

    // 1. Graceful: SIGTERM (the local agent stops, containers keep running, Caddy is left serving), then a new start.
    let load = steadyLoad(routerPort);
    await new Promise((r) => setTimeout(r, 1_000));
    expect(await platform.stop()).toBe(0);
    platform = undefined;
    expect(processAlive(caddy)).toBe(true);
    const servedWhileDown = load.sent;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(load.sent).toBeGreaterThan(servedWhileDown);
    platform = await startPlatform(dataDir, ADMIN, { ...outlives, ...ports });
    const p2 = platform;
    await until("the node back with both instances running", async () => {
      const nodes = (await p2.client.req<{ state: string }[]>("GET", "/api/v1/nodes")).body;
      const w = await web(p2);
      return nodes.some((n) => n.state === "ready") && w.length === 2 && w.every((i) => i.state === "running");
    });
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    expect(load.failures, p2.output().slice(-3000)).toEqual([]);
    expect(caddyPid()).toBe(caddy);
    expect(fingerprint(await web(p2))).toEqual(before);

    // 2. Crash: kill -9 (nothing of the shutdown runs; the local agent is orphaned and keeps its containers).
    load = steadyLoad(routerPort);
    await new Promise((r) => setTimeout(r, 1_000));
    const orphans = localAgentPids(dataDir);
    expect(orphans.length).toBe(1);
    await p2.kill();
    platform = undefined;
    await new Promise((r) => setTimeout(r, 1_000));
    expect(localAgentPids(dataDir)).toEqual(orphans);
    // The last start stops Caddy with the platform (the cleanup leaves nothing).
    platform = await startPlatform(dataDir, ADMIN, { BERTH_ROUTER_OUTLIVES: "off", ...ports });
    const p3 = platform;
    await until("a new local agent with both instances running", async () => {
      const agents = localAgentPids(dataDir);
      const w = await web(p3);
      return (
        agents.length === 1 &&
        agents[0] !== orphans[0] &&
        w.length === 2 &&
        w.every((i) => i.state === "running")
      );
    });
    // The agent registered again (its node reported ready after the new agent's connection).
    await new Promise((r) => setTimeout(r, 3_000));
    await load.stop();
    expect(load.failures, p3.output().slice(-3000)).toEqual([]);
    expect(caddyPid()).toBe(caddy);
    expect(processAlive(orphans[0]!)).toBe(false);
    expect(fingerprint(await web(p3))).toEqual(before);

    // The final stop takes Caddy with it.
    platform = undefined;
    expect(await drainAndStop(p3, dataDir, [APP])).toBe(0);
    expect(processAlive(caddy)).toBe(false);
    expect(localAgentPids(dataDir)).toEqual([]);
    const runc = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
    expect(fs.existsSync(runc) ? fs.readdirSync(runc) : []).toEqual([]);
  }, 600_000);
});
