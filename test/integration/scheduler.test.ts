// The scheduler against a real control plane and three real agents on the FakeBackend: scale 0 -> 5 -> 2 spread
// over the nodes, node loss -> reschedule, drain, rollouts that succeed and one that aborts with the old release
// still running, rolling restart, rollback.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import type { ContainerConfigInput } from "../../runtime-agent/runtime/backend.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { PROTOCOL_VERSION } from "../../runtime-agent/protocol/index.ts";
import type { Scheduler } from "../../server/scheduler/scheduler.ts";
import { pullRef } from "../../server/scheduler/instance-spec.ts";
import { runBerth } from "../helpers/cli.ts";
import { localJoinToken } from "../helpers/local-token.ts";

const APP = "sched-app";
const digest = (c: string) => `sha256:${c.repeat(64)}`;

let srv: TestServer;
let admin: ApiClient;
let sched: Scheduler;
let appId = "";
let home = "";
let token = "";
const berth = (...args: string[]) => runBerth(args, { url: srv.url, token, home });
const dirs: string[] = [];
const nodes: { name: string; agent: Agent; backend: FakeBackend; id: string }[] = [];
/** Every container config the agents were asked to create, in order. */
const created: ContainerConfigInput[] = [];

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function startNode(name: string, token: string, images: string[]) {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sched-agent-"));
  dirs.push(stateDir);
  const backend = new FakeBackend({ images });
  const create = backend.create.bind(backend);
  backend.create = (config) => {
    created.push(config);
    return create(config);
  };
  const agent = await startAgent({
    controlPlane: srv.url,
    joinToken: token,
    stateDir,
    backend,
    log: silentLogger(),
    tickMs: 100,
    probe: async () => true,
    register: async () => ({
      protocolVersion: PROTOCOL_VERSION,
      hostname: name,
      address: "127.0.0.1",
      cpus: 4,
      memoryBytes: 8 * 1024 ** 3,
      diskBytes: 50 * 1024 ** 3,
      kernel: "6.1.0-test",
      cgroupVersion: 2,
      userNamespaces: true,
      agentVersion: "0.1.0",
    }),
  });
  const id = await until(`${name} registered`, async () => {
    const n = await srv.cp.services.db.node.findUnique({ where: { name } });
    return n?.state === "ready" && n.id;
  });
  nodes.push({ name, agent, backend, id });
}

const db = () => srv.cp.services.db;
const live = () =>
  db().instance.findMany({ where: { appId, desired: { not: "stopped" } }, include: { release: true } });
const running = async (backend: FakeBackend) => (await backend.list()).filter((c) => c.status === "running").length;

async function newRelease(version: number, image: string) {
  const r = await db().release.create({
    data: { appId, version, imageRef: APP, imageDigest: image, processTypes: '{"web":"","worker":"work"}' },
  });
  sched.kick();
  return r;
}

async function releaseStatus(version: number) {
  return (await db().release.findUniqueOrThrow({ where: { appId_version: { appId, version } } })).status;
}

/** Waits until `n` web instances are running (agents agree) and nothing else is left. */
async function converged(n: number, version: number) {
  await until(`${n} web instances of v${version} running`, async () => {
    const rows = await db().instance.findMany({ where: { appId }, include: { release: true } });
    const counts = await Promise.all(nodes.map((x) => running(x.backend)));
    return (
      rows.length === n &&
      rows.every((r) => r.state === "running" && r.desired === "running" && r.release.version === version) &&
      counts.reduce((a, b) => a + b, 0) === n
    );
  });
}

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true });
  sched = srv.cp.services.scheduler;
  sched.opts.nodeLostGraceMs = 1_000;
  sched.opts.drainMs = 100;
  sched.opts.plan.startTimeoutMs = 10_000;
  admin = new ApiClient(srv.url);
  await admin.signUp("sched-admin@example.com");
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-sched-cli-"));
  dirs.push(home);
  token = (await admin.tokenClient()).token as string;
  expect((await admin.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  appId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).id;
  // Local-agent tokens: these in-process nodes connect from and publish on 127.0.0.1, which the control plane routes
  // to only for its own local agent (a node with an API-made token there would be unroutable).
  const joinToken = await localJoinToken(srv, "sched");
  const registry = new URL(srv.url).host; // nodes pull through the control plane (pull-proxy.ts)
  // v3's image exists nowhere: its instances fail to start, and its rollout must abort.
  const images = ["a", "b", "d"].map((c) => pullRef({ imageRef: APP, imageDigest: digest(c) }, registry));
  for (const name of ["sched-n1", "sched-n2", "sched-n3"]) await startNode(name, joinToken, images);
});

afterAll(async () => {
  for (const n of nodes) await n.agent.stop();
  await srv?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("scheduler with three fake nodes", () => {
  it("deploys a release with web=0 at once, then scales 0 -> 5 -> 2 spread across nodes", async () => {
    await db().formation.upsert({
      where: { appId_type: { appId, type: "web" } },
      create: { appId, type: "web", quantity: 0 },
      update: { quantity: 0 },
    });
    await newRelease(1, digest("a"));
    await until("v1 deployed", async () => (await releaseStatus(1)) === "deployed");
    expect(await db().instance.count({ where: { appId } })).toBe(0);

    const up = await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 5 }] });
    expect(up.status).toBe(200);
    await converged(5, 1);
    const perNode = await Promise.all(nodes.map((n) => running(n.backend)));
    expect(perNode.sort()).toEqual([1, 2, 2]);
    // Worker has quantity 0 (Heroku's default for non-web types): none runs.
    expect((await live()).filter((i) => i.processType === "worker")).toEqual([]);

    const ps = await admin.req("GET", `/api/v1/apps/${APP}/instances`);
    expect(ps.status).toBe(200);
    expect(ps.body).toHaveLength(5);
    expect(ps.body[0]).toMatchObject({ processType: "web", state: "running", release: 1, restarts: 0 });

    const cli = await berth("ps", "-a", APP);
    expect(cli.code).toBe(0);
    expect(cli.stdout.split("\n")[0]).toMatch(
      /INSTANCE\s+TYPE\s+STATE\s+RELEASE\s+NODE\s+UPTIME\s+RESTARTS\s+LAST EXIT/,
    );
    expect(cli.stdout.match(/ web +running +v1 +sched-n\d/g)).toHaveLength(5);

    await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 2 }] });
    await converged(2, 1);
  });

  it("reschedules the instances of a lost node on the others", async () => {
    const rows = await live();
    const victim = nodes.find((n) => rows.some((r) => r.nodeId === n.id)) as (typeof nodes)[number];
    await victim.agent.stop();
    await until("instances moved off the lost node", async () => {
      const now = await live();
      return now.length === 2 && now.every((r) => r.nodeId !== victim.id && r.state === "running");
    });
    // Bring it back (its fake containers are gone with it; the scheduler already replaced them).
    nodes.splice(nodes.indexOf(victim), 1);
    const joinToken = await localJoinToken(srv, "sched-back");
    const registry = new URL(srv.url).host; // nodes pull through the control plane (pull-proxy.ts)
    const images = ["a", "b", "d"].map((c) => pullRef({ imageRef: APP, imageDigest: digest(c) }, registry));
    await startNode(victim.name, joinToken, images);
    await converged(2, 1);
  });

  it("drain moves instances away and cordon keeps new ones off", async () => {
    const rows = await live();
    const busy = nodes.find((n) => rows.some((r) => r.nodeId === n.id)) as (typeof nodes)[number];
    const r = await berth("nodes:drain", busy.name);
    expect(r.stderr).toBe("");
    expect(r.stdout).toMatch(new RegExp(`^Draining ${busy.name}: \\d instance\\(s\\) move to other nodes`));
    await until("drained", async () => {
      const now = await live();
      return (
        now.length === 2 &&
        now.every((i) => i.nodeId !== busy.id && i.state === "running") &&
        (await running(busy.backend)) === 0
      );
    });
    await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 4 }] });
    await converged(4, 1);
    expect((await live()).some((i) => i.nodeId === busy.id)).toBe(false);
    const nodeView = await admin.req("GET", `/api/v1/nodes/${busy.id}`);
    expect(nodeView.body).toMatchObject({ cordoned: true });
    expect((await admin.req("POST", `/api/v1/nodes/${busy.id}/uncordon`)).status).toBe(200);
    await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 2 }] });
    await converged(2, 1);
  });

  it("rolls out a new release: new instances first, then the old ones stop", async () => {
    await newRelease(2, digest("b"));
    await until("v2 deployed", async () => (await releaseStatus(2)) === "deployed");
    await converged(2, 2);
    expect(await releaseStatus(1)).toBe("superseded");
  });

  it("aborts a rollout whose instances cannot start; the old release keeps running", async () => {
    await newRelease(3, digest("c"));
    await until("v3 failed", async () => (await releaseStatus(3)) === "failed");
    const v3 = await db().release.findUniqueOrThrow({ where: { appId_version: { appId, version: 3 } } });
    expect(v3.failReason).toMatch(/web instance .* (keeps crashing|failed to start|was not healthy)/);
    await converged(2, 2);
    expect(await releaseStatus(2)).toBe("deployed");
    const list = await admin.req("GET", `/api/v1/apps/${APP}/releases`);
    expect(list.body.find((r: { version: number }) => r.version === 3)).toMatchObject({ status: "failed" });
  });

  it("rolling restart replaces every instance", async () => {
    const before = (await live()).map((i) => i.id).sort();
    const r = await berth("ps:restart", "web", "-a", APP);
    expect(r.stdout.trim()).toBe(`Restarting 2 instances of ${APP} (web)`);
    await until("replaced", async () => {
      const rows = await db().instance.findMany({ where: { appId } });
      return rows.length === 2 && rows.every((i) => !before.includes(i.id) && i.state === "running");
    });
    await converged(2, 2);
  });

  it("limits:set replaces instances rolling (new ids, never below the formation), not in place", async () => {
    const before = (await live()).map((i) => i.id).sort();
    const r = await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", memoryMb: 256 }] });
    expect(r.status).toBe(200);
    let fewest = Infinity;
    await until("replaced with the new limits", async () => {
      const rows = await db().instance.findMany({ where: { appId } });
      const serving = rows.filter((i) => i.state === "running" && i.desired !== "stopped").length;
      fewest = Math.min(fewest, serving);
      return (
        rows.length === 2 && rows.every((i) => !before.includes(i.id) && i.state === "running" && i.memoryMb === 256)
      );
    });
    expect(fewest).toBeGreaterThanOrEqual(2);
    await converged(2, 2);
  });

  it("limits:set of disk and bandwidth reaches the agents with the app's team, rolling", async () => {
    const before = (await live()).map((i) => i.id).sort();
    const r = await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "web", diskMb: 2048, bandwidthMbit: 20 }],
    });
    expect(r.status).toBe(200);
    await until("replaced with the new disk and bandwidth", async () => {
      const rows = await db().instance.findMany({ where: { appId } });
      return (
        rows.length === 2 &&
        rows.every(
          (i) => !before.includes(i.id) && i.state === "running" && i.diskMb === 2048 && i.bandwidthMbit === 20,
        )
      );
    });
    await converged(2, 2);
    const teamId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).teamId;
    const ids = (await live()).map((i) => i.id);
    const configs = created.filter((c) => ids.includes(c.id));
    expect(configs).toHaveLength(2);
    for (const c of configs) {
      expect(c.team).toBe(teamId);
      expect(c.limits).toMatchObject({
        memoryBytes: 256 * 1024 * 1024,
        diskBytes: 2048 * 1024 * 1024,
        bandwidthBitsPerSec: 20_000_000,
      });
    }
  });

  it("rollback makes a new release from an earlier one and rolls it out", async () => {
    const r = await berth("rollback", "v1", "-a", APP, "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ version: 4, description: "Rollback to v1" });
    expect((await berth("rollback", "vx", "-a", APP)).code).toBe(2);
    await until("v4 deployed", async () => (await releaseStatus(4)) === "deployed");
    await converged(2, 4);
    const rows = await live();
    expect(rows.every((i) => i.release.imageDigest === digest("a"))).toBe(true);
  });

  it("scaling to zero stops everything; destroying the app leaves nothing on the nodes", async () => {
    await admin.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 1 }] });
    await converged(1, 4);
    expect((await admin.req("DELETE", `/api/v1/apps/${APP}`)).status).toBeLessThan(300);
    await until("nodes empty", async () =>
      (await Promise.all(nodes.map((n) => n.backend.list()))).every((l) => l.length === 0),
    );
  });
});
