// Nodes: join tokens, the agent WebSocket (real server + in-process agent on the FakeBackend), desired state,
// instance events, node down on disconnect, and authorization (another team's node is a 404).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import WebSocket from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { PROTOCOL_VERSION, type InstanceSpecInput } from "../../runtime-agent/protocol/index.ts";

let srv: TestServer;
let admin: ApiClient;
let blueAdmin: ApiClient;
let outsider: ApiClient;
const agents: Agent[] = [];
const dirs: string[] = [];

async function until<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  ms = 15_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function agentWith(token: string, name: string, backend = new FakeBackend()) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-agent-"));
  dirs.push(stateDir);
  const agent = await startAgent({
    controlPlane: srv.url,
    joinToken: token,
    stateDir,
    backend,
    log: silentLogger(),
    tickMs: 200,
    register: async () => ({
      protocolVersion: PROTOCOL_VERSION,
      hostname: name,
      address: "127.0.0.1",
      cpus: 2,
      memoryBytes: 4 * 1024 ** 3,
      diskBytes: 50 * 1024 ** 3,
      kernel: "6.1.0-test",
      cgroupVersion: 1,
      userNamespaces: true,
      agentVersion: "0.1.0",
    }),
  });
  agents.push(agent);
  return { agent, backend };
}

async function nodeNamed(client: ApiClient, name: string) {
  const r = await client.req("GET", "/api/v1/nodes");
  expect(r.status).toBe(200);
  return (r.body as { id: string; name: string; state: string }[]).find((n) => n.name === name);
}

const inst = (id: string): InstanceSpecInput => ({
  id,
  team: "team-nodes",
  app: "nodes-app",
  release: "v1",
  processType: "web",
  image: "localhost/busybox:latest",
  command: ["/bin/sh", "-c", "sleep 1000"],
  limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
});

beforeAll(async () => {
  srv = await startTestServer({ BERTH_SCHEDULER: "off" });
  admin = new ApiClient(srv.url);
  blueAdmin = new ApiClient(srv.url);
  outsider = new ApiClient(srv.url);
  expect((await admin.signUp("nodes-root@example.com")).body.user.isAdmin).toBe(true);
  expect((await blueAdmin.signUp("nodes-blue@example.com")).status).toBe(201);
  expect((await outsider.signUp("nodes-outsider@example.com")).status).toBe(201);
  expect((await blueAdmin.req("POST", "/api/v1/teams", { name: "blue-nodes" })).status).toBe(201);
  expect((await admin.req("POST", "/api/v1/apps", { name: "nodes-app" })).status).toBe(201);
  const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: "nodes-app" } });
  await srv.cp.services.db.release.create({
    data: { appId: app.id, version: 1, imageRef: "localhost/busybox:latest" },
  });
});
afterAll(async () => {
  for (const a of agents) await a.stop();
  await srv.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("join tokens", () => {
  it("lets the instance admin create shared tokens, shown once and stored hashed", async () => {
    const r = await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "shared" });
    expect(r.status).toBe(201);
    expect(r.body.token).toMatch(/^bn_[A-Za-z0-9_-]{43}$/);
    const list = await admin.req("GET", "/api/v1/nodes/join-tokens");
    expect(list.body.find((t: { id: string }) => t.id === r.body.id)).not.toHaveProperty("token");
    const row = await srv.cp.services.db.nodeJoinToken.findUniqueOrThrow({ where: { id: r.body.id } });
    expect(row.tokenHash).not.toContain(r.body.token);
  });

  it("refuses non-admins: no shared tokens, none for another team", async () => {
    expect((await blueAdmin.req("POST", "/api/v1/nodes/join-tokens", { name: "x" })).status).toBe(403);
    expect((await blueAdmin.req("GET", "/api/v1/nodes/join-tokens")).status).toBe(403);
    expect((await outsider.req("POST", "/api/v1/nodes/join-tokens", { name: "x", team: "blue-nodes" })).status).toBe(
      404,
    );
    expect((await outsider.req("GET", "/api/v1/nodes/join-tokens?team=blue-nodes")).status).toBe(404);
    expect((await new ApiClient(srv.url).req("GET", "/api/v1/nodes/join-tokens")).status).toBe(401);
  });

  it("revokes: a revoked token is refused at the handshake", async () => {
    const t = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "revoke-me" })).body;
    expect((await outsider.req("DELETE", `/api/v1/nodes/join-tokens/${t.id}`)).status).toBe(404);
    expect((await admin.req("DELETE", `/api/v1/nodes/join-tokens/${t.id}`)).body.revokedAt).not.toBeNull();
    expect(await handshakeStatus(t.token)).toBe(401);
  });
});

function handshakeStatus(token: string): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${srv.url.replace("http", "ws")}/api/v1/agent`, {
      headers: { authorization: `Bearer ${token}` },
    });
    ws.on("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
    ws.on("open", () => {
      ws.close();
      resolve(101);
    });
    ws.on("error", () => undefined);
  });
}

describe("agent connection", () => {
  let token: string;
  let nodeId: string;
  let backend: FakeBackend;

  beforeAll(async () => {
    token = (await admin.req("POST", "/api/v1/nodes/join-tokens", { name: "node-a" })).body.token;
  });

  it("refuses a bad token", async () => {
    expect(await handshakeStatus("bn_not-a-real-token-000000000000000000000000000")).toBe(401);
    expect(await handshakeStatus("")).toBe(401);
  });

  it("registers: the node is listed as ready", async () => {
    ({ backend } = await agentWith(token, "node-a"));
    const node = await until("node-a ready", async () => {
      const n = await nodeNamed(admin, "node-a");
      return n?.state === "ready" && n;
    });
    nodeId = node.id;
    const detail = await admin.req("GET", `/api/v1/nodes/${nodeId}`);
    expect(detail.body).toMatchObject({
      name: "node-a",
      cpus: 2,
      memoryMb: 4096,
      cgroup: "v1",
      version: "0.1.0",
      team: null,
    });
  });

  it("applies a desired state of 2 instances; events are stored; the same state again does nothing", async () => {
    const hub = srv.cp.services.agents;
    const first = await hub.setDesiredState(nodeId, [inst("nodes-app-web-1"), inst("nodes-app-web-2")]);
    expect(first).toMatchObject({ delivered: true, changed: true });
    await until(
      "2 containers running",
      async () => (await backend.list()).filter((c) => c.status === "running").length === 2,
    );
    expect((await backend.list()).map((c) => [c.id, c.status])).toEqual([
      ["nodes-app-web-1", "running"],
      ["nodes-app-web-2", "running"],
    ]);
    const rows = await until("instances running", async () => {
      const r = await srv.cp.services.db.instance.findMany({ where: { nodeId }, orderBy: { id: "asc" } });
      return r.length === 2 && r.every((i) => i.state === "running") && r;
    });
    expect(rows.map((r) => r.id)).toEqual(["nodes-app-web-1", "nodes-app-web-2"]);
    const calls = backend.calls.length;
    const again = await hub.setDesiredState(nodeId, [inst("nodes-app-web-1"), inst("nodes-app-web-2")]);
    expect(again).toMatchObject({ delivered: true, changed: false });
    await new Promise((r) => setTimeout(r, 500));
    expect(backend.calls).toHaveLength(calls);
    const observed = await hub.observedState(nodeId);
    expect(observed.map((o) => o.state)).toEqual(["running", "running"]);
  });

  it("reports a crash and the restart as events", async () => {
    backend.simulateExit("nodes-app-web-1", 3);
    const row = await until("restart recorded", async () => {
      const r = await srv.cp.services.db.instance.findUnique({ where: { id: "nodes-app-web-1" } });
      return r?.restarts === 1 && r.state === "running" && r;
    });
    // The last exit stays visible after the restart (what `berth ps` shows as LAST EXIT).
    expect(row.exitCode).toBe(3);
    const detail = await admin.req("GET", `/api/v1/nodes/${nodeId}`);
    expect(detail.body.instances).toHaveLength(2);
  });

  it("marks the node down when the agent disconnects", async () => {
    await agents[0]!.stop();
    await until("node-a down", async () => (await nodeNamed(admin, "node-a"))?.state === "down");
  });
});

describe("authorization", () => {
  it("team admins see only their team's nodes; another team's node is a 404", async () => {
    const t = await blueAdmin.req("POST", "/api/v1/nodes/join-tokens", { name: "blue-1", team: "blue-nodes" });
    expect(t.status).toBe(201);
    expect((await blueAdmin.req("GET", "/api/v1/nodes/join-tokens?team=blue-nodes")).body).toHaveLength(1);
    await agentWith(t.body.token, "node-blue");
    const blue = await until("node-blue ready", async () => {
      const n = await nodeNamed(blueAdmin, "node-blue");
      return n?.state === "ready" && n;
    });
    const listed = (await blueAdmin.req("GET", "/api/v1/nodes")).body as { name: string }[];
    expect(listed.map((n) => n.name)).toEqual(["node-blue"]);
    const shared = await nodeNamed(admin, "node-a");
    expect((await blueAdmin.req("GET", `/api/v1/nodes/${shared!.id}`)).status).toBe(404);
    expect((await outsider.req("GET", `/api/v1/nodes/${blue.id}`)).status).toBe(404);
    expect((await outsider.req("GET", "/api/v1/nodes")).body).toEqual([]);
    expect((await admin.req("GET", `/api/v1/nodes/${blue.id}`)).body.team).toBe("blue-nodes");
  });

  it("gives team members below admin 403 on their team's nodes and tokens", async () => {
    const viewer = new ApiClient(srv.url);
    expect((await viewer.signUp("nodes-viewer@example.com")).status).toBe(201);
    const add = await blueAdmin.req("POST", "/api/v1/teams/blue-nodes/members", {
      email: "nodes-viewer@example.com",
      role: "viewer",
    });
    expect(add.status).toBe(201);
    const blue = await nodeNamed(blueAdmin, "node-blue");
    const token = (await blueAdmin.req("GET", "/api/v1/nodes/join-tokens?team=blue-nodes")).body[0] as { id: string };
    expect((await viewer.req("GET", `/api/v1/nodes/${blue!.id}`)).status).toBe(403);
    expect((await viewer.req("DELETE", `/api/v1/nodes/join-tokens/${token.id}`)).status).toBe(403);
    expect((await viewer.req("GET", "/api/v1/nodes/join-tokens?team=blue-nodes")).status).toBe(403);
    expect((await viewer.req("GET", "/api/v1/nodes")).body).toEqual([]);
  });

  it("does not let a team's node take over a shared node's name", async () => {
    const t = await blueAdmin.req("POST", "/api/v1/nodes/join-tokens", { name: "blue-2", team: "blue-nodes" });
    await agentWith(t.body.token, "node-a");
    await new Promise((r) => setTimeout(r, 500));
    expect((await nodeNamed(admin, "node-a"))?.state).toBe("down");
    expect((await blueAdmin.req("GET", "/api/v1/nodes")).body.map((n: { name: string }) => n.name)).toEqual([
      "node-blue",
    ]);
  });
});
