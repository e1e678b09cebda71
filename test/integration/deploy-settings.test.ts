// Deploy settings (rollout batch, web health check path): read and change through the API and the CLI, validation,
// authorization like the formation, audit/activity, no release; then with a real scheduler and an in-process agent:
// new web instances are probed over HTTP at the configured path, running ones are not recreated when it changes,
// a rollout with batch 1 starts one new instance at a time without dropping below the formation, and an instance
// being stopped leaves the router before its node stops it.
import { once } from "node:events";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { HealthCheck } from "../../runtime-agent/protocol/index.ts";
import type { ContainerConfigInput, ContainerInfo } from "../../runtime-agent/runtime/backend.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import type { Scheduler } from "../../server/scheduler/scheduler.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { type FakeNode, startFakeNode } from "../helpers/fake-node.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { until } from "../helpers/until.ts";

const APP = "ds-app";
const PATH = `/api/v1/apps/${APP}/deploy-settings`;

let srv: TestServer;
let sched: Scheduler;
let owner: ApiClient;
let member: ApiClient;
let viewer: ApiClient;
let outsider: ApiClient;
let memberToken = "";
let viewerToken = "";
let home = "";
let appId = "";
const db = () => srv.cp.services.db;

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true });
  sched = srv.cp.services.scheduler;
  sched.opts.drainMs = 100;
  owner = new ApiClient(srv.url);
  member = new ApiClient(srv.url);
  viewer = new ApiClient(srv.url);
  outsider = new ApiClient(srv.url);
  await owner.signUp("ds-owner@example.com");
  await member.signUp("ds-member@example.com");
  await viewer.signUp("ds-viewer@example.com");
  await outsider.signUp("ds-outsider@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "dsteam" })).status).toBe(201);
  for (const [email, role] of [
    ["ds-member@example.com", "member"],
    ["ds-viewer@example.com", "viewer"],
  ]) {
    expect((await owner.req("POST", "/api/v1/teams/dsteam/members", { email, role })).status).toBe(201);
  }
  expect((await owner.req("POST", "/api/v1/apps", { name: APP, team: "dsteam" })).status).toBe(201);
  appId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).id;
  memberToken = (await member.tokenClient()).token;
  viewerToken = (await viewer.tokenClient()).token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-ds-cli-"));
});

afterAll(async () => {
  await srv?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

const settingsRow = async () => {
  const a = await db().app.findUniqueOrThrow({ where: { id: appId } });
  return { rolloutBatch: a.rolloutBatch, healthCheckPath: a.healthCheckPath };
};

describe("deploy settings API", () => {
  it("defaults to the whole formation at once and a TCP check; every member of the team may read them", async () => {
    for (const c of [viewer, member, owner]) {
      const r = await c.req("GET", PATH);
      expect(r.status).toBe(200);
      expect(r.body).toEqual({ rolloutBatch: 0, healthCheckPath: null });
    }
  });

  it("a member changes them (like scaling): no release, one audit event with before and after", async () => {
    const releases = await db().release.count({ where: { appId } });
    const r = await member.req("PATCH", PATH, { rolloutBatch: 2, healthCheckPath: "/healthz" });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ rolloutBatch: 2, healthCheckPath: "/healthz" });
    expect(await settingsRow()).toEqual({ rolloutBatch: 2, healthCheckPath: "/healthz" });
    expect(await db().release.count({ where: { appId } })).toBe(releases);

    const events = await db().auditEvent.findMany({ where: { appName: APP, action: "deploy-settings.change" } });
    expect(events).toHaveLength(1);
    expect(events[0]?.actorEmail).toBe("ds-member@example.com");
    expect(JSON.parse(events[0]?.data ?? "{}")).toEqual({
      before: { rolloutBatch: 0, healthCheckPath: null },
      after: { rolloutBatch: 2, healthCheckPath: "/healthz" },
    });
    const activity = await viewer.req("GET", `/api/v1/apps/${APP}/activity`);
    expect(activity.body.map((a: { action: string }) => a.action)).toContain("deploy-settings.change");

    // One field at a time; the other stays. null turns the HTTP check off.
    expect((await owner.req("PATCH", PATH, { healthCheckPath: null })).body).toEqual({
      rolloutBatch: 2,
      healthCheckPath: null,
    });
    expect((await owner.req("PATCH", PATH, { rolloutBatch: 0 })).body).toEqual({
      rolloutBatch: 0,
      healthCheckPath: null,
    });
    // Setting what is already set records nothing.
    expect((await owner.req("PATCH", PATH, { rolloutBatch: 0 })).status).toBe(200);
    expect(await db().auditEvent.count({ where: { appName: APP, action: "deploy-settings.change" } })).toBe(3);
  });

  it("refuses bad input with a clear message and changes nothing", async () => {
    await owner.req("PATCH", PATH, { rolloutBatch: 1, healthCheckPath: "/ok" });
    const cases: [unknown, RegExp][] = [
      [{}, /give at least one of rolloutBatch, healthCheckPath/],
      [{ rolloutBatch: -1 }, /rolloutBatch must be a whole number from 0 to 100/],
      [{ rolloutBatch: 101 }, /rolloutBatch must be a whole number from 0 to 100/],
      [{ rolloutBatch: 1.5 }, /rolloutBatch must be a whole number/],
      [{ rolloutBatch: "2" }, /rolloutBatch must be a whole number/],
      [{ healthCheckPath: "healthz" }, /healthCheckPath must start with "\/"/],
      [{ healthCheckPath: "" }, /healthCheckPath must start with "\/"/],
      [{ healthCheckPath: "/a b" }, /healthCheckPath/],
      [{ healthCheckPath: "/<script>" }, /healthCheckPath/],
      [{ healthCheckPath: "/x\r\nHost: evil" }, /healthCheckPath/],
      [{ healthCheckPath: "/a#frag" }, /healthCheckPath/],
      [{ healthCheckPath: "/%zz" }, /healthCheckPath/],
      [{ healthCheckPath: `/${"a".repeat(200)}` }, /at most 200 characters/],
      [{ healthCheckPath: 5 }, /healthCheckPath/],
      [{ rolloutBatch: 1, extra: true }, /extra|unrecognized/i],
    ];
    for (const [body, message] of cases) {
      const r = await owner.req("PATCH", PATH, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
      expect(r.body.error.message, JSON.stringify(body)).toMatch(message);
    }
    const notJson = await owner.req("PATCH", PATH, "rolloutBatch=1", { "content-type": "text/plain" });
    expect(notJson.status).toBe(400);
    // Accepted: the longest path, query strings, escapes.
    for (const ok of [`/${"a".repeat(199)}`, "/health/ready?full=1&x=y", "/~user/%7Estatus.json", "/"]) {
      expect((await owner.req("PATCH", PATH, { healthCheckPath: ok })).status, ok).toBe(200);
    }
    await owner.req("PATCH", PATH, { rolloutBatch: 1, healthCheckPath: "/ok" });
    expect(await settingsRow()).toEqual({ rolloutBatch: 1, healthCheckPath: "/ok" });
  });

  it("authorizes like the formation: viewers read but cannot change, other teams see no app, anonymous 401", async () => {
    const before = await settingsRow();
    const byViewer = await viewer.req("PATCH", PATH, { rolloutBatch: 5 });
    expect(byViewer.status).toBe(403);
    expect(byViewer.body.error.message).toMatch(/viewer.*does not allow app:scale/);
    const formation = await viewer.req("PATCH", `/api/v1/apps/${APP}/formation`, {
      updates: [{ type: "web", quantity: 1 }],
    });
    expect(formation.status).toBe(byViewer.status);

    const missing = await outsider.req("GET", "/api/v1/apps/no-such-app/deploy-settings");
    for (const [method, body] of [
      ["GET", undefined],
      ["PATCH", { rolloutBatch: 5 }],
    ] as const) {
      const r = await outsider.req(method, PATH, body);
      expect(r.status).toBe(404);
      expect(r.body.error.message.replace(APP, "X")).toBe(missing.body.error.message.replace("no-such-app", "X"));
    }
    expect((await new ApiClient(srv.url).req("GET", PATH)).status).toBe(401);
    expect(await settingsRow()).toEqual(before);
  });

  it("is in the OpenAPI document", async () => {
    const doc = await owner.req("GET", "/api/v1/openapi.json");
    expect(Object.keys(doc.body.paths[`/api/v1/apps/{app}/deploy-settings`] ?? {}).sort()).toEqual(["get", "patch"]);
  });
});

describe("berth deploy:settings", () => {
  const berth = (token: string, ...args: string[]) => runBerth(args, { url: srv.url, token, home });

  it("shows and changes the settings", async () => {
    const set = await berth(memberToken, "deploy:settings:set", "-a", APP, "--batch", "3", "--health-path", "/ready");
    expect(set.stderr).toBe("");
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/^Deploy settings of ds-app changed \(no new release\):/);
    expect(set.stdout).toMatch(/Rollout batch: +3 \(at most 3 new instance\(s\) per process type starting at a time\)/);
    expect(set.stdout).toMatch(/Health check: +HTTP GET \/ready/);
    expect(set.stdout).toMatch(/applies to web instances started from now on/);

    const json = await berth(viewerToken, "deploy:settings", "-a", APP, "--json");
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ rolloutBatch: 3, healthCheckPath: "/ready" });

    const off = await berth(memberToken, "deploy:settings:set", "-a", APP, "--no-health-path", "--json");
    expect(JSON.parse(off.stdout)).toEqual({ rolloutBatch: 3, healthCheckPath: null });
    const shown = await berth(viewerToken, "deploy:settings", "-a", APP);
    expect(shown.stdout).toMatch(/Health check: +TCP/);
    expect(await settingsRow()).toEqual({ rolloutBatch: 3, healthCheckPath: null });
  });

  it("usage errors exit 2, refusals by the server exit 1, and nothing changes", async () => {
    const before = await settingsRow();
    const noOption = await berth(memberToken, "deploy:settings:set", "-a", APP);
    expect(noOption.code).toBe(2);
    expect(noOption.stderr).toMatch(/give --batch, --health-path or --no-health-path/);
    const badBatch = await berth(memberToken, "deploy:settings:set", "-a", APP, "--batch", "lots");
    expect(badBatch.code).toBe(2);
    expect(badBatch.stderr).toMatch(/invalid batch "lots"/);
    const badPath = await berth(memberToken, "deploy:settings:set", "-a", APP, "--health-path", "healthz");
    expect(badPath.code).toBe(1);
    expect(badPath.stderr).toMatch(/healthCheckPath must start with "\/"/);
    const tooBig = await berth(memberToken, "deploy:settings:set", "-a", APP, "--batch", "500");
    expect(tooBig.code).toBe(1);
    const asViewer = await berth(viewerToken, "deploy:settings:set", "-a", APP, "--batch", "1");
    expect(asViewer.code).toBe(1);
    expect(asViewer.stderr).toMatch(/does not allow/);
    expect(await settingsRow()).toEqual(before);
  });
});

/** A FakeBackend that keeps the config of every container it created (env, image, port). */
class RecordingBackend extends FakeBackend {
  readonly created = new Map<string, ContainerConfigInput>();
  override async create(input: ContainerConfigInput): Promise<ContainerInfo> {
    const info = await super.create(input);
    this.created.set(info.id, input);
    return info;
  }
}

describe("with the scheduler and a node", () => {
  let node: FakeNode;
  let backend: RecordingBackend;
  /**
   * The last health check the agent ran, by the probe's target port: a web instance is probed where the router
   * connects (the node's address and the instance's host port), so the host port tells instances apart.
   */
  const checks = new Map<number, HealthCheck>();

  const webInstances = () =>
    db().instance.findMany({
      where: { appId, processType: "web", desired: { not: "stopped" } },
      include: { release: true },
    });
  const checkOf = async (instanceId: string) => {
    const hostPort = (await backend.list()).find((c) => c.id === instanceId)?.hostPort;
    return hostPort !== undefined ? checks.get(hostPort) : undefined;
  };
  const releaseStatus = async (version: number) =>
    (await db().release.findUniqueOrThrow({ where: { appId_version: { appId, version } } })).status;
  async function newRelease(version: number) {
    await db().release.create({
      data: {
        appId,
        version,
        imageRef: APP,
        imageDigest: `sha256:${String(version).repeat(64)}`,
        config: JSON.stringify({ GREETING: "hi" }),
        processTypes: JSON.stringify({ web: "node server.js" }),
      },
    });
    sched.kick();
  }
  /** Waits until the web instances are exactly `n` healthy ones of `version`. */
  const converged = (n: number, version: number) =>
    until(`${n} web instances of v${version}`, async () => {
      const rows = await db().instance.findMany({ where: { appId }, include: { release: true } });
      const running = (await backend.list()).filter((c) => c.status === "running");
      return (
        rows.length === n &&
        running.length === n &&
        rows.every((r) => r.desired === "running" && r.state === "running" && r.release.version === version)
      );
    });

  beforeAll(async () => {
    backend = new RecordingBackend();
    // A local-agent token of the team: this in-process node publishes on 127.0.0.1 (routed only for local agents).
    const joinToken = await localJoinToken(srv, "ds", "dsteam");
    node = await startFakeNode(srv, {
      name: "ds-node",
      joinToken,
      backend,
      probe: async (target, check) => {
        checks.set(target.port, check);
        return true;
      },
    });
  });
  afterAll(async () => node?.stop());

  it("new web instances are checked over HTTP at the app's path and get the platform env", async () => {
    expect((await member.req("PATCH", PATH, { rolloutBatch: 0, healthCheckPath: "/healthz" })).status).toBe(200);
    await newRelease(1);
    await until("v1 deployed", async () => (await releaseStatus(1)) === "deployed");
    const [web] = await webInstances();
    expect(web?.healthCheckPath).toBe("/healthz");
    expect(await until("probed", () => checkOf(web?.id ?? ""))).toMatchObject({ type: "http", path: "/healthz" });
    expect(backend.created.get(web?.id ?? "")?.env).toMatchObject({
      GREETING: "hi",
      PORT: "5000",
      BERTH_APP: APP,
      BERTH_RELEASE: "v1",
      BERTH_PROCESS_TYPE: "web",
      BERTH_INSTANCE: web?.id,
    });
  });

  it("changing the path leaves running instances alone; instances started afterwards get the new check", async () => {
    const [old] = await webInstances();
    const passes = once(sched, "pass");
    expect((await member.req("PATCH", PATH, { healthCheckPath: null })).status).toBe(200);
    await passes;
    await once(sched, "pass");
    // Same container, same spec: the agent did not recreate it.
    expect(backend.calls.filter((c) => c === `create:${old?.id}`)).toHaveLength(1);
    expect((await backend.list()).find((c) => c.id === old?.id)?.status).toBe("running");
    expect((await webInstances()).map((i) => i.id)).toEqual([old?.id]);

    expect((await member.req("POST", `/api/v1/apps/${APP}/restart`, {})).status).toBe(202);
    const fresh = await until("replacement running", async () => {
      const rows = await webInstances();
      return rows.length === 1 && rows[0]?.id !== old?.id && rows[0]?.state === "running" && rows[0];
    });
    expect(fresh.healthCheckPath).toBeNull();
    expect(await until("probed", () => checkOf(fresh.id))).toMatchObject({ type: "tcp" });
    await converged(1, 1);
  });

  it("rolls out with batch 1: one new instance at a time, never fewer healthy than the formation", async () => {
    expect(
      (await member.req("PATCH", `/api/v1/apps/${APP}/formation`, { updates: [{ type: "web", quantity: 3 }] })).status,
    ).toBe(200);
    await converged(3, 1);
    expect((await member.req("PATCH", PATH, { rolloutBatch: 1 })).status).toBe(200);

    const starts: string[] = [];
    const onDecision = (app: string, text: string) => {
      if (app === APP && text.startsWith("starting ") && text.includes("(v2)")) starts.push(text);
    };
    const lowest: number[] = [];
    const onPass = () => {
      void webInstances().then((rows) => lowest.push(rows.filter((r) => r.state === "running").length));
    };
    sched.on("decision", onDecision);
    sched.on("pass", onPass);
    try {
      await newRelease(2);
      await until("v2 deployed", async () => (await releaseStatus(2)) === "deployed");
      await converged(3, 2);
    } finally {
      sched.off("decision", onDecision);
      sched.off("pass", onPass);
    }
    // Three starts of one instance each (the decision lists the ids it placed).
    expect(starts).toHaveLength(3);
    for (const s of starts) expect(s).toMatch(/^starting [a-z0-9-]+ \(v2\) on ds-node$/);
    expect(lowest.length).toBeGreaterThan(0);
    expect(Math.min(...lowest)).toBeGreaterThanOrEqual(3);
  });
  it("an old instance leaves the router before it stops; while router updates fail it is held", async () => {
    const applied: { calls: number; upstreams: string[] }[] = [];
    let failing = false;
    sched.setRouter({
      apply: async (routes) => {
        if (failing) throw new Error("router down");
        applied.push({ calls: backend.calls.length, upstreams: routes.find((r) => r.app === APP)?.upstreams ?? [] });
      },
    });
    try {
      await until("routes with three upstreams", () => applied.at(-1)?.upstreams.length === 3);
      failing = true;
      const scaled = await member.req("PATCH", `/api/v1/apps/${APP}/formation`, {
        updates: [{ type: "web", quantity: 2 }],
      });
      expect(scaled.status).toBe(200);
      const stopped = await until(
        "an instance stopping",
        async () => (await db().instance.findFirst({ where: { appId, desired: "stopped" } })) ?? undefined,
      );
      const upstream = `127.0.0.1:${stopped.hostPort}`;
      expect(applied.at(-1)?.upstreams).toContain(upstream);
      // Several passes, each longer than the drain period: the router never confirmed, so it keeps running.
      for (let k = 0; k < 3; k++) {
        const pass = once(sched, "pass");
        sched.kick();
        await pass;
        await new Promise((r) => setTimeout(r, sched.opts.drainMs + 50));
      }
      expect(backend.calls).not.toContain(`stop:${stopped.id}`);
      expect((await backend.list()).find((c) => c.id === stopped.id)?.status).toBe("running");

      failing = false;
      sched.kick();
      await until("stopped on the node", () => backend.calls.includes(`stop:${stopped.id}`));
      const stopAt = backend.calls.indexOf(`stop:${stopped.id}`);
      const lastBefore = applied.filter((a) => a.calls <= stopAt).at(-1);
      expect(lastBefore?.upstreams).toHaveLength(2);
      expect(lastBefore?.upstreams).not.toContain(upstream);
      await converged(2, 2);
    } finally {
      sched.setRouter(undefined);
    }
  });
});
