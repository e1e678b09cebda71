// Tenant isolation of nodes (issue 12, finding 3 and the agent part of finding 4), against a real control plane, the
// real router (HAProxy) it starts, the real registry, and agents speaking the real protocol over the agent WebSocket:
// (a) a tenant's node claiming 127.0.0.1 and the port of a loopback service on the router host gets no traffic;
// (d) only team owners and admins create join tokens for a team;
// (e) revoking a join token or removing a node closes the agent's socket at once;
// (f) a team's node is never routed for another team's app, even when it reports that app's instance as its own.
// The observed-address rule itself (a forged address ignored in favour of the connection's) needs an agent on another
// address: test/security/node-observed-address.root.test.ts.
import { once } from "node:events";
import fs from "node:fs";
import http from "node:http";
import type net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import type { Scheduler } from "../../server/scheduler/scheduler.ts";
import { ApiClient } from "../helpers/client.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { connectRawAgent, registerParams, type RawAgent } from "../helpers/raw-agent.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { until } from "../helpers/until.ts";

let srv: TestServer;
let sched: Scheduler;
const db = () => srv.cp.services.db;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
const digest = (c: string) => `sha256:${c.repeat(64)}`;

/** A loopback HTTP service that answers `body` and counts the requests it got. */
async function loopbackService(body: string): Promise<{ port: number; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((_req, res) => {
    hits++;
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { port: (server.address() as net.AddressInfo).port, hits: () => hits };
}

/** A request through the router for `app`'s default host; never rejects (status 0 = no answer). */
function viaRouter(app: string, urlPath = "/"): Promise<{ status: number; body: string }> {
  const { routerPort, domain } = srv.cp.services.config;
  return new Promise((resolve) => {
    const req = http.request(
      { host: "127.0.0.1", port: routerPort, path: urlPath, headers: { host: `${app}.${domain}` }, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.setTimeout(5_000, () => req.destroy());
    req.end();
  });
}

/** Signs a user up; returns the client and the name of their personal team. */
async function user(email: string): Promise<{ client: ApiClient; personal: string }> {
  const client = new ApiClient(srv.url);
  expect((await client.signUp(email)).status).toBe(201);
  const teams = (await client.req<{ name: string; personal: boolean }[]>("GET", "/api/v1/teams")).body;
  return { client, personal: teams.find((t) => t.personal)?.name ?? "" };
}

/** A release of `app` the scheduler rolls out (the image is never pulled: agents here run the FakeBackend). */
async function release(app: string) {
  const row = await db().app.findUniqueOrThrow({ where: { name: app } });
  await db().release.create({
    data: { appId: row.id, version: 1, imageRef: app, imageDigest: digest("a"), processTypes: '{"web":""}' },
  });
  return row;
}

/** Waits for two complete scheduler passes started after now (routes are applied within a pass). */
async function twoPasses(): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const pass = once(sched, "pass");
    sched.kick();
    await pass;
  }
}

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true, router: true });
  sched = srv.cp.services.scheduler;
  // The first account is the instance admin; the tenants below are ordinary users.
  await user("iso-root@example.com");
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await srv?.close();
});

describe("(a) a tenant's node cannot point the router at the router host's loopback", () => {
  it("registers a node of a personal team claiming 127.0.0.1 and a loopback service's port: no request reaches it", async () => {
    const secret = await loopbackService("loopback-secret");
    const mallory = await user("mallory@example.com");
    // Any user may create a join token for their personal team (they own it).
    const t = await mallory.client.req("POST", "/api/v1/nodes/join-tokens", { name: "m", team: mallory.personal });
    expect(t.status).toBe(201);
    const decisions: string[] = [];
    const onDecision = (app: string, text: string) => app === "mallory-app" && decisions.push(text);
    sched.on("decision", onDecision);
    cleanups.push(() => sched.off("decision", onDecision));
    expect((await mallory.client.req("POST", "/api/v1/apps", { name: "mallory-app" })).status).toBe(201);
    await release("mallory-app");
    const scaled = await mallory.client.req("PATCH", "/api/v1/apps/mallory-app/formation", {
      updates: [{ type: "web", quantity: 1 }],
    });
    expect(scaled.status).toBe(200);

    // The node publishes its web instance on exactly the secret service's port and claims loopback as its address.
    const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sec-node-"));
    const agent: Agent = await startAgent({
      controlPlane: srv.url,
      joinToken: t.body.token,
      stateDir,
      backend: new FakeBackend(),
      log: silentLogger(),
      tickMs: 100,
      hostPorts: { min: secret.port, max: secret.port },
      probe: async () => true,
      register: async () => registerParams("mallory-node", "127.0.0.1"),
    });
    cleanups.push(async () => {
      await agent.stop();
      fs.rmSync(stateDir, { recursive: true, force: true });
    });
    const node = await until("mallory-node registered", () =>
      db().node.findFirst({ where: { name: "mallory-node", state: "ready" } }),
    );

    // Settled either way: the scheduler gave up placing (fixed) or an instance of the app runs (before the fix).
    await until(
      "the scheduler placed the app or gave up",
      async () =>
        decisions.some((d) => d.startsWith("cannot place")) ||
        (await db().instance.count({ where: { nodeId: node.id, state: "running" } })) > 0,
      30_000,
    );
    await twoPasses();
    for (let i = 0; i < 5; i++) {
      const r = await viaRouter("mallory-app");
      expect(r.body).not.toContain("loopback-secret");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(secret.hits()).toBe(0);
    // The node is there, but unroutable, and says why; nothing was placed on it.
    const listed = (
      await mallory.client.req<{ name: string; unroutable: string | null; reportedAddress: string }[]>(
        "GET",
        "/api/v1/nodes",
      )
    ).body.find((n) => n.name === "mallory-node");
    expect(listed?.unroutable).toContain("loopback");
    expect(listed?.reportedAddress).toBe("127.0.0.1");
    expect(await db().instance.count({ where: { nodeId: node.id } })).toBe(0);
    expect(decisions.some((d) => d.includes("cannot place 1 web instance(s): no ready node"))).toBe(true);
  });
});

describe("(d) creating a team's join token needs owner or admin", () => {
  it("refuses members and viewers; owners and admins get a token", async () => {
    const owner = await user("tok-owner@example.com");
    expect((await owner.client.req("POST", "/api/v1/teams", { name: "tok-team" })).status).toBe(201);
    const roles = ["viewer", "member", "admin"] as const;
    const clients = new Map<string, ApiClient>();
    for (const role of roles) {
      const u = await user(`tok-${role}@example.com`);
      const add = await owner.client.req("POST", "/api/v1/teams/tok-team/members", {
        email: `tok-${role}@example.com`,
        role,
      });
      expect(add.status).toBe(201);
      clients.set(role, u.client);
    }
    for (const role of ["viewer", "member"]) {
      const r = await clients
        .get(role)!
        .req("POST", "/api/v1/nodes/join-tokens", { name: `by-${role}`, team: "tok-team" });
      expect(r.status, role).toBe(403);
      expect(r.body).not.toHaveProperty("token");
      expect(await db().nodeJoinToken.count({ where: { name: `by-${role}` } })).toBe(0);
    }
    for (const [who, client] of [
      ["admin", clients.get("admin")!],
      ["owner", owner.client],
    ] as const) {
      const r = await client.req("POST", "/api/v1/nodes/join-tokens", { name: `by-${who}`, team: "tok-team" });
      expect(r.status, who).toBe(201);
      expect(r.body.token).toMatch(/^bn_/);
    }
  });
});

/** Resolves true when `agent`'s socket closes within `ms` (far below the 20 s a silent agent gets). */
function closesWithin(agent: RawAgent, ms: number): Promise<boolean> {
  return Promise.race([
    agent.closed.then(() => true),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);
}

describe("(e) the agent's socket closes at once when its join token is revoked or its node removed", () => {
  let owner: { client: ApiClient; personal: string };
  beforeAll(async () => {
    owner = await user("sock-owner@example.com");
    expect((await owner.client.req("POST", "/api/v1/teams", { name: "sock-team" })).status).toBe(201);
    expect((await owner.client.req("POST", "/api/v1/apps", { name: "sock-app", team: "sock-team" })).status).toBe(201);
    await release("sock-app");
  });

  it("revoking the join token disconnects the agent now; it cannot come back with it", async () => {
    const t = await owner.client.req("POST", "/api/v1/nodes/join-tokens", { name: "sock-1", team: "sock-team" });
    const agent = await connectRawAgent(srv.url, t.body.token, registerParams("sock-node-1"));
    cleanups.push(() => agent.close());
    expect((await owner.client.req("DELETE", `/api/v1/nodes/join-tokens/${t.body.id}`)).status).toBe(200);
    expect(await closesWithin(agent, 3_000)).toBe(true);
    await until(
      "node down",
      async () => (await db().node.findUnique({ where: { id: agent.nodeId } }))?.state === "down",
      10_000,
    );
    await expect(connectRawAgent(srv.url, t.body.token, registerParams("sock-node-1"))).rejects.toThrow(/401/);
  });

  it("removing the node disconnects its agent now and deletes its instances; another team gets 404", async () => {
    const t = await owner.client.req("POST", "/api/v1/nodes/join-tokens", { name: "sock-2", team: "sock-team" });
    const agent = await connectRawAgent(srv.url, t.body.token, registerParams("sock-node-2"));
    cleanups.push(() => agent.close());
    // An instance the node reports (unknown to the scheduler: recorded as its own, wanted stopped).
    agent.event({
      instanceId: "sock-app-web-x1",
      app: "sock-app",
      release: "v1",
      processType: "web",
      state: "running",
      hostPort: 20_001,
      at: new Date().toISOString(),
      restarts: 0,
    });
    await until(
      "instance recorded",
      () => db().instance.findFirst({ where: { id: "sock-app-web-x1", nodeId: agent.nodeId } }),
      10_000,
    );

    const stranger = await user("sock-stranger@example.com");
    expect((await stranger.client.req("DELETE", `/api/v1/nodes/${agent.nodeId}`)).status).toBe(404);
    expect(agent.isOpen()).toBe(true);

    const r = await owner.client.req("DELETE", `/api/v1/nodes/${agent.nodeId}`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ name: "sock-node-2", instances: 1, disconnected: true });
    expect(await closesWithin(agent, 3_000)).toBe(true);
    expect(await db().node.findUnique({ where: { id: agent.nodeId } })).toBeNull();
    expect(await db().instance.count({ where: { id: "sock-app-web-x1" } })).toBe(0);
    const audit = await db().auditEvent.findFirst({ where: { action: "node.remove", target: "sock-node-2" } });
    expect(audit).not.toBeNull();

    // The token is still valid: the host may join again (as a new node) until the token is revoked too.
    const again = await connectRawAgent(srv.url, t.body.token, registerParams("sock-node-2"));
    cleanups.push(() => again.close());
    expect(again.nodeId).not.toBe(agent.nodeId);
    expect((await owner.client.req("DELETE", `/api/v1/nodes/join-tokens/${t.body.id}`)).status).toBe(200);
    expect(await closesWithin(again, 3_000)).toBe(true);
  });
});

describe("(f) a team's node is never routed for another team's app", () => {
  it("ignores a foreign instance the node claims, and the router skips a foreign node whatever the rows say", async () => {
    const victim = await user("vic-owner@example.com");
    expect((await victim.client.req("POST", "/api/v1/teams", { name: "vic-team" })).status).toBe(201);
    expect((await victim.client.req("POST", "/api/v1/apps", { name: "vic-app", team: "vic-team" })).status).toBe(201);
    const vic = await release("vic-app");
    const rel = await db().release.findFirstOrThrow({ where: { appId: vic.id } });
    const attacker = await user("att-owner@example.com");
    expect((await attacker.client.req("POST", "/api/v1/teams", { name: "att-team" })).status).toBe(201);
    const lure = await loopbackService("attacker-content");

    // The attacker's node is routable (here: a team token of the local kind, so loopback is its address), so only
    // the team rule stands between it and the victim's traffic.
    const token = await localJoinToken(srv, "att-node", "att-team");
    const agent = await connectRawAgent(srv.url, token, registerParams("att-node"));
    cleanups.push(() => agent.close());
    await until(
      "vic-app routed (no instance yet)",
      async () => {
        const r = await viaRouter("vic-app");
        return r.body.includes("vic-app has no running web instances");
      },
      30_000,
    );

    // 1. An instance of vic-app waiting for a node (no node yet): the attacker reports it as running on its node.
    await db().instance.create({
      data: { id: "vic-app-web-adopt", appId: vic.id, releaseId: rel.id, processType: "web", desired: "running" },
    });
    agent.event({
      instanceId: "vic-app-web-adopt",
      app: "vic-app",
      release: "v1",
      processType: "web",
      state: "running",
      hostPort: lure.port,
      at: new Date().toISOString(),
      restarts: 0,
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await twoPasses();
    expect((await viaRouter("vic-app")).body).not.toContain("attacker-content");
    const row = await db().instance.findUniqueOrThrow({ where: { id: "vic-app-web-adopt" } });
    expect(row.nodeId).toBeNull();

    // 2. Even a row that puts vic-app's instance on the attacker's node (however it got there) is not routed.
    await db().instance.update({
      where: { id: "vic-app-web-adopt" },
      data: { nodeId: agent.nodeId, state: "running", hostPort: lure.port },
    });
    await twoPasses();
    const r = await viaRouter("vic-app");
    expect(r.body).not.toContain("attacker-content");
    expect(r.body).toContain("vic-app has no running web instances");
    expect(lure.hits()).toBe(0);
  });
});
