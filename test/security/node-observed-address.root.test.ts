// Issue 12, finding 3 (b): the router sends a node's traffic to the address the control plane saw the agent connect
// from, never to the one the agent claims. A node of a tenant's team runs in its own network namespace on a bridge
// this test creates (helpers/sim-hosts.ts), claims 127.0.0.1, and publishes on a port where this host's loopback has a
// service of its own. The real router (HAProxy) must reach the node's real address; the claim is shown, not used.
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ApiClient } from "../helpers/client.ts";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { createSimLan, type SimLan } from "../helpers/sim-hosts.ts";
import { until } from "../helpers/until.ts";

const root = path.resolve(import.meta.dirname, "../..");
const APP = "obs-app";

let lan: SimLan;
let srv: TestServer;
let owner: ApiClient;
let agent: ChildProcess | undefined;
let loopback: http.Server | undefined;
let loopbackHits = 0;
let hostPort = 0;

/** GET through the router on the LAN address; never rejects (status 0 = no answer). */
function viaRouter(): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    const req = http.request(
      {
        host: lan.gateway,
        port: srv.cp.services.config.routerPort,
        path: "/",
        headers: { host: `${APP}.${srv.cp.services.config.domain}` },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.setTimeout(5_000, () => req.destroy());
    req.on("error", () => resolve({ status: 0, body: "" }));
    req.end();
  });
}

/** A service on this host's loopback at a free port in 40000-49999: the port the node will publish on. */
async function loopbackService(): Promise<void> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = 40_000 + Math.floor(Math.random() * 10_000);
    const server = http.createServer((_req, res) => {
      loopbackHits++;
      res.end("router-host-loopback");
    });
    const ok = await new Promise<boolean>((resolve) => {
      server.once("error", () => resolve(false));
      server.listen(port, "127.0.0.1", () => resolve(true));
    });
    if (ok) {
      loopback = server;
      hostPort = port;
      return;
    }
  }
  throw new Error("no free loopback port");
}

describeRoot("a node's claimed address is ignored in favour of the observed one", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    lan = await createSimLan(1);
    srv = await startTestServer({ HOST: lan.gateway }, { registry: true, router: true });
    owner = new ApiClient(srv.url);
    await owner.signUp("obs-admin@example.com"); // the instance admin; the tenant below is not
    await loopbackService();
  }, 120_000);

  afterAll(async () => {
    if (!isRoot) return;
    if (agent && agent.exitCode === null && agent.signalCode === null) {
      const exited = new Promise((r) => agent?.once("exit", r));
      agent.kill("SIGTERM");
      await exited;
    }
    await new Promise<void>((resolve) => (loopback ? loopback.close(() => resolve()) : resolve()));
    await srv?.close();
    const problems = lan ? await lan.destroy() : [];
    expect(problems).toEqual([]);
  });

  it("routes to the agent connection's address and shows the claim only as information", async () => {
    const tenant = new ApiClient(srv.url);
    expect((await tenant.signUp("obs-tenant@example.com")).status).toBe(201);
    expect((await tenant.req("POST", "/api/v1/teams", { name: "obs-team" })).status).toBe(201);
    expect((await tenant.req("POST", "/api/v1/apps", { name: APP, team: "obs-team" })).status).toBe(201);
    const t = await tenant.req("POST", "/api/v1/nodes/join-tokens", { name: "obs", team: "obs-team" });
    expect(t.status).toBe(201);
    const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: APP } });
    await srv.cp.services.db.release.create({
      data: {
        appId: app.id,
        version: 1,
        imageRef: APP,
        imageDigest: `sha256:${"b".repeat(64)}`,
        processTypes: '{"web":""}',
      },
    });
    const scaled = await tenant.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "web", quantity: 1 }],
    });
    expect(scaled.status).toBe(200);

    const host = lan.hosts[0]!;
    const child = spawn(
      "/usr/bin/nsenter",
      [`--net=/run/netns/${host.netns}`, "--", process.execPath, "--import", "tsx", "test/helpers/netns-fake-agent.ts"],
      {
        cwd: root,
        stdio: ["ignore", "ignore", "pipe"],
        env: {
          PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
          BERTH_CONTROL_PLANE_URL: srv.url,
          BERTH_JOIN_TOKEN: t.body.token,
          NODE_NAME: "obs-node",
          CLAIMED_ADDRESS: "127.0.0.1",
          HOST_PORT: String(hostPort),
          MARKER: "from-the-node",
          NODE_ENV: "test",
        },
      },
    );
    agent = child;
    child.stderr?.on("data", (d: Buffer) => {
      if (process.env.BERTH_TEST_LOG_LEVEL) process.stderr.write(`[obs-node] ${d.toString()}`);
    });

    const node = await until(
      "obs-node registered",
      async () => {
        const list = (await tenant.req<{ name: string; state: string; [k: string]: unknown }[]>("GET", "/api/v1/nodes"))
          .body;
        return list.find((n) => n.name === "obs-node" && n.state === "ready");
      },
      60_000,
    );

    const sched = srv.cp.services.scheduler;
    sched.kick();
    const answer = await until(
      "the router answers for the app from a node",
      async () => {
        const r = await viaRouter();
        return r.status === 200 && r.body;
      },
      60_000,
    );
    expect(answer).toBe("from-the-node");
    expect(loopbackHits).toBe(0);
    // The API says where the node is routed (the connection's address) and keeps the claim as information only.
    expect(node).toMatchObject({ address: host.address, reportedAddress: "127.0.0.1", unroutable: null });
    const upstream = (await srv.cp.services.db.instance.findFirstOrThrow({ where: { appId: app.id } })).hostPort;
    expect(upstream).toBe(hostPort);
  });
});
