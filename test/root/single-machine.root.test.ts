// Single-machine mode: server/main.ts (what `npm start` runs) starts a supervised local node agent with a join
// token it creates itself, the registry and the router; the node registers as ready; a git push runs on it and
// answers through the router; SIGTERM stops agent, registry, router and control plane.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { localAgentEnv, localAgentPids } from "../../server/nodes/local-agent.ts";
import { git, makeRepo, remoteUrl } from "../helpers/git.ts";
import { cleanupBuilder } from "../helpers/builder-cleanup.ts";
import { hostportChainsExist, removeHostportChains } from "../../runtime-agent/test-support/iptables-cleanup.ts";
import { httpFrom } from "../../runtime-agent/test-support/container-net.ts";
import { networkPolicyLines, removeNetworkPolicy } from "../../runtime-agent/runtime/network-policy-applier.ts";

let dataDir = "";

function count(pattern: string): number {
  try {
    return execFileSync("pgrep", ["-f", pattern], { encoding: "utf8" }).trim().split("\n").filter(Boolean).length;
  } catch {
    return 0;
  }
}
// Only this run's agent (its state dir in the environment): another test run on the machine has agents of its own.
const agentCount = () => localAgentPids(dataDir).length;

/** GET through the router with a Host header. */
async function viaRouter(port: number, host: string): Promise<{ status: number; body: string }> {
  const http = await import("node:http");
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port, path: "/", headers: { host }, agent: false, timeout: 5000 },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", (err) => resolve({ status: 0, body: err.message }));
    req.end();
  });
}

let chainsExisted = true;

describeRoot("single-machine mode", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-single-"));
    chainsExisted = await hostportChainsExist();
  });
  afterAll(async () => {
    if (!dataDir) return;
    await cleanupBuilder(dataDir);
    const bridge = localAgentEnv(dataDir, "http://x", "x").BERTH_CNI_BRIDGE!;
    try {
      execFileSync("ip", ["link", "delete", bridge], { stdio: "ignore" });
    } catch {
      // never created, or already gone
    }
    if (!chainsExisted) await removeHostportChains();
    // The node's network policy stays while containers may run; with the platform gone, it is removed explicitly.
    await removeNetworkPolicy(bridge);
    expect(await networkPolicyLines(bridge)).toEqual([]);
    // What the agent may have created for this data dir: runtime dirs on /run and its cgroup parents.
    const env = localAgentEnv(dataDir, "http://x", "x");
    fs.rmSync(path.dirname(env.BERTH_RUNC_ROOT!), { recursive: true, force: true });
    for (const ctl of fs.existsSync("/sys/fs/cgroup") ? fs.readdirSync("/sys/fs/cgroup") : []) {
      const dir = path.join("/sys/fs/cgroup", ctl, env.BERTH_CGROUP_PARENT!);
      if (fs.existsSync(dir)) fs.rmdirSync(dir);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("runs a local agent, registry and router: a pushed app answers through the router; SIGTERM stops it all", async () => {
    const before = agentCount();
    const haproxyBefore = count(`${dataDir}/haproxy/haproxy.cfg`);
    const port = await freeLoopbackPort();
    const routerPort = await freeLoopbackPort();
    const child = spawn(process.execPath, ["--import", "tsx", "server/main.ts"], {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        BERTH_DATA_DIR: dataDir,
        BERTH_NO_DASHBOARD: "1",
        BERTH_ROUTER_PORT: String(routerPort),
        // "Stops it all": the router too (by default HAProxy outlives the control plane).
        BERTH_ROUTER_OUTLIVES: "off",
        BERTH_ADMIN_EMAIL: "single@example.com",
        BERTH_ADMIN_PASSWORD: "single-password-1",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const url = `http://127.0.0.1:${port}`;
      const c = new ApiClient(url);
      const deadline = Date.now() + 90_000;
      let nodes: any[] = [];
      while (Date.now() < deadline) {
        if (!c.csrf) await c.login("single@example.com", "single-password-1").catch(() => undefined);
        if (c.csrf) {
          nodes = (await c.req<any[]>("GET", "/api/v1/nodes")).body;
          if (nodes.some((n) => n.state === "ready")) break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(nodes, out.slice(-3000)).toHaveLength(1);
      expect(nodes[0]).toMatchObject({ state: "ready", team: null });
      expect(nodes[0].cpus).toBeGreaterThan(0);
      expect(agentCount()).toBe(before + 1);
      const tokens = await c.req<any[]>("GET", "/api/v1/nodes/join-tokens");
      expect(tokens.body.filter((t) => t.name === "local agent" && !t.revokedAt)).toHaveLength(1);

      // The whole platform on this one machine: push, build, registry pull by the local agent, router. Two apps of
      // two teams (the admin owns both), so the node's network policy is in the path.
      expect((await c.req("POST", "/api/v1/teams", { name: "crew" })).status).toBe(201);
      expect((await c.req("POST", "/api/v1/apps", { name: "solo" })).status).toBe(201);
      expect((await c.req("POST", "/api/v1/apps", { name: "duo", team: "crew" })).status).toBe(201);
      const token = (await c.tokenClient()).token as string;
      for (const app of ["solo", "duo"]) {
        const repo = await makeRepo({
          Dockerfile: `FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox","--install","-s","/bin"]\nCOPY www /www\nCMD ["httpd","-f","-p","5000","-h","/www"]\n`,
          busybox: fs.readFileSync("/bin/busybox"),
          "www/index.html": `${app} on one machine\n`,
        });
        try {
          const push = await git(repo, ["push", remoteUrl(url, app, token), "main"]);
          expect(push.code, push.out + out.slice(-3000)).toBe(0);
          expect(push.out).toContain("remote: -----> v1 is running");
          expect(push.out).toContain(`http://${app}.localhost:${routerPort}/`);
        } finally {
          fs.rmSync(repo, { recursive: true, force: true });
        }
      }
      // The router (on this machine) reaches both through their ports published on the bridge gateway.
      expect(await viaRouter(routerPort, "solo.localhost")).toEqual({ status: 200, body: "solo on one machine\n" });
      expect(await viaRouter(routerPort, "duo.localhost")).toEqual({ status: 200, body: "duo on one machine\n" });
      expect((await viaRouter(routerPort, "other.localhost")).status).toBe(404);
      // Between the two teams' instances nothing passes, directly or through the published port.
      const agentEnv = localAgentEnv(dataDir, "http://x", "x");
      const instance = async (app: string) => {
        const list = (await c.req<any[]>("GET", `/api/v1/apps/${app}/instances`)).body;
        const i = list.find((x) => x.processType === "web");
        const meta = path.join(dataDir, "agent", "runtime", "instances", i.id, "meta.json");
        return { id: i.id as string, hostPort: i.hostPort as number, ip: JSON.parse(fs.readFileSync(meta, "utf8")).ip };
      };
      const [solo, duo] = [await instance("solo"), await instance("duo")];
      const probe = (from: string, host: string, port: number) =>
        httpFrom(agentEnv.BERTH_RUNC_ROOT!, from, { host, port, path: "/" });
      expect(await probe(solo.id, solo.ip, 5000)).toBe("solo on one machine");
      expect(await probe(solo.id, duo.ip, 5000)).toBeNull();
      expect(await probe(duo.id, solo.ip, 5000)).toBeNull();
      expect(await probe(solo.id, agentEnv.BERTH_NODE_ADDRESS!, duo.hostPort)).toBeNull();
      expect((await c.req("DELETE", "/api/v1/apps/duo")).status).toBe(204);
      // Destroying the app stops its instance on the node before we shut down (containers outlive the agent).
      expect((await c.req("DELETE", "/api/v1/apps/solo")).status).toBe(204);
      const gone = Date.now() + 60_000;
      while ((await viaRouter(routerPort, "solo.localhost")).status !== 404 && Date.now() < gone) {
        await new Promise((res) => setTimeout(res, 250));
      }
      const runcRoot = localAgentEnv(dataDir, "http://x", "x").BERTH_RUNC_ROOT!;
      while (fs.existsSync(runcRoot) && fs.readdirSync(runcRoot).length > 0 && Date.now() < gone) {
        await new Promise((res) => setTimeout(res, 250));
      }
      expect(fs.existsSync(runcRoot) ? fs.readdirSync(runcRoot) : []).toEqual([]);
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(agentCount()).toBe(before);
    expect(count(`${dataDir}/haproxy/haproxy.cfg`)).toBe(haproxyBefore);
  });
});
