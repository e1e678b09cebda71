// Platform health with a real registry (docker-registry) and router (HAProxy):
// /healthz names each component without revealing paths, addresses or versions; the instance admin's
// GET /api/v1/admin/status adds details, restarts and last exits; everyone else is refused; `berth status` prints
// both forms. A killed registry is reported as restarting/down, then ok again; a low disk and a lost node degrade.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { startFakeNode } from "../helpers/fake-node.ts";
import { until } from "../helpers/until.ts";

interface Component {
  name: string;
  status: string;
  detail: string;
  since: string;
  restarts?: number | null;
  lastExit?: { at: string; code: number | null; signal: string | null } | null;
}
interface Health {
  status: string;
  components: Component[];
}

let srv: TestServer;
let admin: ApiClient;
let adminToken = "";
let home = "";
const clients: Record<"owner" | "member" | "viewer" | "outsider", ApiClient> = {} as never;

async function healthz(url = srv.url): Promise<{ code: number; text: string; body: Health }> {
  const r = await fetch(`${url}/healthz`);
  const text = await r.text();
  return { code: r.status, text, body: JSON.parse(text) as Health };
}
const statusOf = (h: Health, name: string) => h.components.find((c) => c.name === name)?.status;

/** Pid of the docker-registry this server supervises (started with its own config file). */
function registryPid(dataDir: string): number | undefined {
  const config = path.join(dataDir, "registry", "config.yml");
  for (const p of fs.readdirSync("/proc")) {
    if (!/^[0-9]+$/.test(p)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
      if (argv.includes(config) && argv.includes("serve")) return Number(p);
    } catch {
      // gone
    }
  }
  return undefined;
}

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true, router: true });
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-status-"));
  admin = new ApiClient(srv.url);
  expect((await admin.signUp("status-admin@example.com")).body.user.isAdmin).toBe(true);
  adminToken = (await admin.tokenClient()).token;
  for (const who of ["owner", "member", "viewer", "outsider"] as const) {
    clients[who] = new ApiClient(srv.url);
    await clients[who].signUp(`status-${who}@example.com`);
  }
  expect((await clients.owner.req("POST", "/api/v1/teams", { name: "statusteam" })).status).toBe(201);
  for (const role of ["member", "viewer"] as const) {
    const r = await clients.owner.req("POST", "/api/v1/teams/statusteam/members", {
      email: `status-${role}@example.com`,
      role,
    });
    expect(r.status).toBe(201);
  }
}, 60_000);

afterAll(async () => {
  await srv?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe("platform health", () => {
  it("names every component, all ok, and reveals no paths, addresses or versions", async () => {
    const h = await until(
      "all ok",
      async () => {
        const r = await healthz();
        return r.body.status === "ok" && r;
      },
      30_000,
    );
    expect(h.code).toBe(200);
    expect(h.body.components.map((c) => c.name)).toEqual(["database", "registry", "router", "nodes", "disk"]);
    for (const c of h.body.components) {
      expect(Object.keys(c).sort()).toEqual(["detail", "name", "since", "status"]);
      expect(Number.isNaN(Date.parse(c.since))).toBe(false);
    }
    expect(h.text).not.toContain(srv.dataDir);
    expect(h.text).not.toContain("127.0.0.1");
    expect(h.text).not.toMatch(/\/(?:tmp|var|usr|root)\//);
    expect(h.text).not.toMatch(/\bv?[0-9]+\.[0-9]+\.[0-9]+\b/);
    expect(h.text).not.toContain(String(srv.cp.registry().host.split(":")[1]));
  });

  it("gives the instance admin details, restarts and last exits; refuses everyone else", async () => {
    const r = await admin.req<any>("GET", "/api/v1/admin/status");
    expect(r.status).toBe(200);
    const registry = r.body.components.find((c: Component) => c.name === "registry");
    expect(registry).toMatchObject({ status: "ok", restarts: 0, lastExit: null });
    expect(r.body.components.find((c: Component) => c.name === "disk").detail).toMatch(
      /^[0-9]+ MB free in the data dir/,
    );
    for (const who of ["owner", "member", "viewer", "outsider"] as const) {
      const refused = await clients[who].req<any>("GET", "/api/v1/admin/status");
      expect(refused.status, who).toBe(403);
      expect(JSON.stringify(refused.body)).not.toContain("registry");
    }
    expect((await new ApiClient(srv.url).req("GET", "/api/v1/admin/status")).status).toBe(401);
  });

  it("reports a hung registry as not ok, and ok again within seconds once it is killed and restarted", async () => {
    const pid = registryPid(srv.dataDir);
    expect(pid).toBeDefined();
    // Frozen first: a kill -9 alone is repaired faster than a poll can see it (measured in the root test).
    process.kill(pid!, "SIGSTOP");
    try {
      const seen = await until(
        "registry not ok",
        async () => {
          const r = await healthz();
          return statusOf(r.body, "registry") !== "ok" && r;
        },
        15_000,
        100,
      );
      // "restarting" while it is young (GRACE_MS after its start), "down" after.
      expect(["down", "restarting"]).toContain(statusOf(seen.body, "registry"));
      // Not down as a whole: the control plane still serves, only the registry is named.
      expect(seen.code).toBe(200);
      expect(seen.body.status).toBe("degraded");
    } finally {
      process.kill(pid!, "SIGKILL");
    }
    const killedAt = Date.now();
    await until("registry ok again", async () => statusOf((await healthz()).body, "registry") === "ok", 20_000, 100);
    expect(registryPid(srv.dataDir)).not.toBe(pid);
    const detail = (await admin.req<any>("GET", "/api/v1/admin/status")).body.components.find(
      (c: Component) => c.name === "registry",
    );
    expect(detail.restarts).toBe(1);
    expect(detail.lastExit).toMatchObject({ signal: "SIGKILL", code: null });
    expect(Date.parse(detail.since)).toBeGreaterThan(killedAt - 1000);
  });

  it("degrades on a lost node and names it only to the admin", async () => {
    const token = (await admin.req<any>("POST", "/api/v1/nodes/join-tokens", { name: "status-node" })).body.token;
    const node = await startFakeNode(srv, { name: "status-lost-node", joinToken: token });
    await until(
      "node connected",
      async () => (await healthz()).body.components.find((c) => c.name === "nodes")?.detail === "all 1 connected",
      10_000,
      100,
    );
    await node.stop();
    const h = await until(
      "nodes degraded",
      async () => {
        const r = await healthz();
        return statusOf(r.body, "nodes") === "degraded" && r;
      },
      10_000,
      100,
    );
    expect(h.code).toBe(200);
    expect(h.body.status).toBe("degraded");
    expect(h.text).not.toContain("status-lost-node");
    const nodes = (await admin.req<any>("GET", "/api/v1/admin/status")).body.components.find(
      (c: Component) => c.name === "nodes",
    );
    expect(nodes.detail).toContain("status-lost-node");
    await srv.cp.services.db.node.delete({ where: { id: node.id } });
  });

  it("berth status prints a table and --json; a member is refused with one sentence", async () => {
    await until("all ok", async () => (await healthz()).body.status === "ok", 10_000, 100);
    const table = await runBerth(["status"], { url: srv.url, token: adminToken, home });
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/^Platform: ok/m);
    expect(table.stdout).toMatch(/^COMPONENT\s+STATUS\s+SINCE\s+RESTARTS\s+DETAIL/m);
    expect(table.stdout).toMatch(/^registry\s+ok\s+/m);
    const json = await runBerth(["status", "--json"], { url: srv.url, token: adminToken, home });
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({
      status: "ok",
      components: expect.arrayContaining([expect.objectContaining({ name: "router", status: "ok" })]),
    });
    const memberToken = (await clients.member.tokenClient()).token;
    const refused = await runBerth(["status"], { url: srv.url, token: memberToken, home });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("only the instance admin sees the platform status");
  });
});

describe("platform health on a low disk", () => {
  let low: TestServer;
  beforeAll(async () => {
    // A minimum far above any real free space: the disk is "almost full" for this server.
    low = await startTestServer({ BERTH_MIN_FREE_MB: String(1024 * 1024 * 1024) });
  });
  afterAll(async () => low?.close());

  it("is degraded with HTTP 200 and says pushes and builds are refused", async () => {
    const h = await healthz(low.url);
    expect(h.code).toBe(200);
    expect(h.body.status).toBe("degraded");
    expect(h.body.components.find((c) => c.name === "disk")).toMatchObject({
      status: "degraded",
      detail: "almost full: pushes and builds are refused",
    });
  });
});
