// Root tier: the agent process (runtime-agent/main.ts) on the real OCI backend against a real control plane:
// desired state -> containers running and healthy; kill -9 the agent -> containers keep running; restart ->
// re-adopted (same pid, no restart) and an exit that happened while it was down is reported and restarted.
import { type ChildProcess, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import type { InstanceEvent, InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { describeRoot } from "../helpers/root.ts";
import { agentFlagsFor, spawnAgent, stopAgent } from "../../runtime-agent/test-support/agent-process.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { backendConfigFor } from "../../runtime-agent/agent/backend-config.ts";
import { loadAgentConfig } from "../../runtime-agent/agent/config.ts";

const MiB = 1024 * 1024;
const root = path.resolve(import.meta.dirname, "../..");

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  ms = 60_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** True if `host:port` accepts a connection (the published address: the bridge gateway, see agentFlagsFor). */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(2000, () => (s.destroy(), resolve(false)));
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });
}

describeRoot("agent process (root)", () => {
  let env: RootEnv;
  let srv: TestServer;
  let flags: string[];
  let inspector: OciBackend;
  let child: ChildProcess | undefined;
  const events: InstanceEvent[] = [];
  const portBase = 30_000 + Math.floor(Math.random() * 200) * 100;

  const startProcess = () => {
    child = spawnAgent(flags);
    return child;
  };
  const killHard = () => stopAgent(child, "SIGKILL");

  beforeAll(async () => {
    env = await createRootEnv();
    srv = await startTestServer({ BERTH_SCHEDULER: "off" });
    const admin = new ApiClient(srv.url);
    await admin.signUp("agent-root@example.com");
    const token = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "root-node" })).body.token as string;
    flags = agentFlagsFor(env, { controlPlane: srv.url, joinToken: token, nodeName: "root-node", portBase });
    inspector = await OciBackend.open(backendConfigFor(loadAgentConfig(flags, { NODE_ENV: "test" })), silentLogger());
    srv.cp.services.agents.on("event", (_node: string, e: InstanceEvent) => events.push(e));
  });

  afterAll(async () => {
    await killHard();
    const problems: string[] = [];
    for (const c of (await inspector?.list()) ?? [])
      await inspector.delete(c.id).catch((err: unknown) => problems.push(`${c.id}: ${String(err)}`));
    await srv?.close();
    problems.push(...((await env?.destroy()) ?? []));
    expect(problems).toEqual([]);
  });

  it("refuses to start without root, with one line saying so", () => {
    const r = spawnSync(process.execPath, ["--import", "tsx", "runtime-agent/main.ts"], {
      cwd: root,
      uid: 65534,
      gid: 65534,
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/tmp", NODE_ENV: "test" },
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^berth-agent: needs root .*run it as root/);
  });

  it("re-adopts running containers after kill -9 and reports an exit that happened while it was down", async () => {
    const hub = srv.cp.services.agents;
    startProcess();
    const nodeId = await until("registration", async () => {
      const n = await srv.cp.services.db.node.findUnique({ where: { name: "root-node" } });
      return n && hub.isConnected(n.id) && n.id;
    });
    const base = {
      team: "team-rt",
      app: "rt-app",
      release: "v1",
      processType: "web",
      image: env.image,
      limits: { memoryBytes: 64 * MiB, cpuMillis: 500, pids: 64 },
    } satisfies Partial<InstanceSpecInput>;
    const web: InstanceSpecInput = {
      ...base,
      id: "rt-web",
      command: ["/bin/httpd", "-f", "-p", "8080", "-h", "/"],
      port: 8080,
      healthCheck: { type: "tcp", intervalMs: 200 },
    };
    const worker: InstanceSpecInput = {
      ...base,
      id: "rt-worker",
      processType: "worker",
      command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"],
    };
    expect(await hub.setDesiredState(nodeId, [web, worker])).toMatchObject({ delivered: true, changed: true });
    await until("both running", () =>
      ["rt-web", "rt-worker"].every((id) => events.some((e) => e.instanceId === id && e.state === "running")),
    );
    const hostPort = events.find((e) => e.instanceId === "rt-web" && e.hostPort)?.hostPort as number;
    expect(await connects(env.gateway, hostPort)).toBe(true);
    const webPid = (await inspector.state("rt-web"))?.pid;
    expect(webPid).toBeGreaterThan(0);

    await killHard();
    // The agent is gone; its containers are not. Make the worker exit while nobody watches.
    expect((await inspector.state("rt-web"))?.status).toBe("running");
    expect(await connects(env.gateway, hostPort)).toBe(true);
    await inspector.kill("rt-worker", "SIGKILL");
    await until("worker exit recorded", async () => (await inspector.state("rt-worker"))?.status === "stopped");
    events.length = 0;

    startProcess();
    const crash = await until("exit while down reported", () =>
      events.find((e) => e.instanceId === "rt-worker" && e.state === "crashed"),
    );
    expect(crash).toMatchObject({ exitCode: 137, restarts: 1 });
    await until("worker restarted", () =>
      events.some((e) => e.instanceId === "rt-worker" && e.state === "running" && e.restarts === 1),
    );
    // Re-adopted: same container process, never restarted, still serving on the same port.
    expect((await inspector.state("rt-web"))?.pid).toBe(webPid);
    expect(events.filter((e) => e.instanceId === "rt-web" && e.state !== "running")).toEqual([]);
    expect(await connects(env.gateway, hostPort)).toBe(true);
    const observed = await hub.observedState(nodeId);
    expect(observed.find((o) => o.id === "rt-web")).toMatchObject({ state: "running", restarts: 0, hostPort });

    // An empty desired state stops everything the agent runs.
    await hub.setDesiredState(nodeId, []);
    await until("all stopped", async () => (await inspector.list()).length === 0, 30_000);
    expect(fs.existsSync(path.join(env.tmp, "agent", "agent-state.json"))).toBe(true);
  });
});
