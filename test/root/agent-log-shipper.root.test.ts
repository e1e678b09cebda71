// Root tier: real containers (conmon k8s-file logs, 64 KiB rotation) -> in-process agent -> control plane log store.
// A fast writer's lines survive several conmon rotations and its deletion; a slow writer's lines survive a dropped
// connection and an agent restart; in both cases every line arrives exactly once and in order.
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot } from "../helpers/root.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import type { InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";
import { PROTOCOL_VERSION } from "../../runtime-agent/protocol/index.ts";
import { OciBackend } from "../../runtime-agent/runtime/oci-backend.ts";
import { createRootEnv, type RootEnv } from "../../runtime-agent/test-support/root-env.ts";
import { type Agent, startAgent } from "../../runtime-agent/agent/agent.ts";

const MiB = 1024 * 1024;
const PAD = "x".repeat(200);

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

describeRoot("log shipping (root)", () => {
  let env: RootEnv;
  let srv: TestServer;
  let admin: ApiClient;
  let backend: OciBackend;
  let token = "";
  const agents: Agent[] = [];

  /** The numbers of `<prefix> N` lines of a process type, in store order. */
  const numbers = async (processType: string, prefix: string): Promise<number[]> => {
    const r = await admin.req("GET", `/api/v1/apps/rt-logs/logs?lines=10000&processType=${processType}`);
    expect(r.status).toBe(200);
    return (r.body.entries as { text: string }[])
      .filter((e) => e.text.startsWith(`${prefix} `))
      .map((e) => Number(e.text.split(" ")[1]));
  };
  const contiguous = (ns: number[]) => ns.length > 0 && ns.every((n, i) => n === i + 1);

  const start = async () => {
    const a = await startAgent({
      controlPlane: srv.url,
      joinToken: token,
      stateDir: path.join(env.tmp, "agent-logs"),
      backend,
      log: silentLogger(),
      tickMs: 250,
      register: async () => ({
        protocolVersion: PROTOCOL_VERSION,
        hostname: "rt-logs-node",
        address: "127.0.0.1",
        cpus: 2,
        memoryBytes: 4 * 1024 ** 3,
        diskBytes: 50 * 1024 ** 3,
        kernel: "6.1.0",
        cgroupVersion: 1,
        userNamespaces: true,
        agentVersion: "0.1.0",
      }),
    });
    agents.push(a);
    return a;
  };

  beforeAll(async () => {
    env = await createRootEnv();
    // A roomy log cap: this test counts every line from 1, so none may be trimmed by the store on a slow run.
    srv = await startTestServer({ BERTH_SCHEDULER: "off", BERTH_APP_LOG_MB: "256" });
    admin = new ApiClient(srv.url);
    await admin.signUp("logs-root@example.com");
    expect((await admin.req("POST", "/api/v1/apps", { name: "rt-logs" })).status).toBe(201);
    token = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "rt-logs-node" })).body.token as string;
    // Same host resources as the environment's backend, but conmon rotates the log at 64 KiB.
    backend = await OciBackend.open({ ...env.backend.config, logSizeMaxBytes: 64 * 1024 }, silentLogger());
  });

  afterAll(async () => {
    for (const a of agents) await a.stop().catch(() => undefined);
    await srv?.close();
    const problems = (await env?.destroy()) ?? [];
    expect(problems).toEqual([]);
  });

  it("ships every line once: across rotations, a deleted container, a dropped connection and an agent restart", async () => {
    let agent = await start();
    const hub = srv.cp.services.agents;
    const nodeId = await until("registration", async () => {
      const n = await srv.cp.services.db.node.findUnique({ where: { name: "rt-logs-node" } });
      return n && hub.isConnected(n.id) && n.id;
    });
    const base = {
      team: "team-rt",
      app: "rt-logs",
      release: "v1",
      image: env.image,
      limits: { memoryBytes: 64 * MiB, cpuMillis: 500, pids: 64 },
    } satisfies Partial<InstanceSpecInput>;
    const slow: InstanceSpecInput = {
      ...base,
      id: "rt-logs-slow",
      processType: "slow",
      command: ["/bin/sh", "-c", 'i=0; while :; do i=$((i+1)); echo "slow $i"; sleep 0.1; done'],
    };
    const fast: InstanceSpecInput = {
      ...base,
      id: "rt-logs-fast",
      processType: "fast",
      command: ["/bin/sh", "-c", `i=0; while :; do i=$((i+1)); echo "fast $i ${PAD}" >&2; sleep 0.005; done`],
    };
    await hub.setDesiredState(nodeId, [slow, fast]);

    // ~230 bytes a line: 1,000 lines are several 64 KiB rotations.
    await until("fast lines across rotations", async () => (await numbers("fast", "fast")).length >= 1000, 120_000);

    // Drop the connection from the server side (as a network failure would); the agent reconnects by itself.
    const sessions = (hub as unknown as { sessions: Map<string, { ws: { terminate(): void } }> }).sessions;
    sessions.get(nodeId)?.ws.terminate();
    await new Promise((r) => setTimeout(r, 1500));
    await until("reconnected", () => hub.isConnected(nodeId));

    // Remove the fast writer: its last lines still arrive from the deleted container's file.
    await hub.setDesiredState(nodeId, [slow]);
    await until("fast container deleted", async () => (await backend.state("rt-logs-fast")) === null);
    let last = -1;
    const fastLines = await until("fast lines settled", async () => {
      const ns = await numbers("fast", "fast");
      if (ns.length === last) return ns;
      last = ns.length;
      await new Promise((r) => setTimeout(r, 1000));
      return undefined;
    });
    expect(contiguous(fastLines)).toBe(true);
    expect(fastLines.length * 200).toBeGreaterThan(3 * 64 * 1024);

    // Agent down: the container keeps printing; the restarted agent sends those lines from its saved offset.
    await agent.stop();
    const before = (await numbers("slow", "slow")).length;
    await new Promise((r) => setTimeout(r, 3000));
    agent = await start();
    await until("slow backlog", async () => (await numbers("slow", "slow")).length > before + 40);
    const slowLines = await numbers("slow", "slow");
    expect(contiguous(slowLines)).toBe(true);

    const entries = (await admin.req("GET", "/api/v1/apps/rt-logs/logs?lines=1&processType=fast")).body.entries;
    expect(entries[0]).toMatchObject({ stream: "stderr", source: "app", instance: "rt-logs-fast", release: "v1" });

    await hub.setDesiredState(nodeId, []);
    await until("all stopped", async () => (await backend.list()).length === 0, 30_000);
  });
});
