// `--wait` on ps:scale, config:set, ps:restart and rollback through the real binary, against a real control plane
// and scheduler with an in-process agent on the FakeBackend: each follows the rollout and exits 0 once it is done;
// when the image disappears from the node, a rollback's rollout and a scale-up abort and the CLI exits 1 with the
// scheduler's reason. Also GET /apps/{app}/rollout itself.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { pullRef } from "../../server/scheduler/instance-spec.ts";
import type { Scheduler } from "../../server/scheduler/scheduler.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";
import { type FakeNode, startFakeNode } from "../helpers/fake-node.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { until } from "../helpers/until.ts";

const APP = "wait-app";
const DIGEST = `sha256:${"a".repeat(64)}`;

let srv: TestServer;
let sched: Scheduler;
let owner: ApiClient;
let node: FakeNode;
let teamNode: FakeNode | undefined;
let home = "";
let token = "";
let appId = "";
/** The images the fake node can run; emptied to make new instances fail to start. */
const images: string[] = [];
const db = () => srv.cp.services.db;
const berth = (...args: string[]) => runBerth(args, { url: srv.url, token, home });
const releaseStatus = async (version: number) =>
  (await db().release.findUniqueOrThrow({ where: { appId_version: { appId, version } } })).status;
const liveWeb = () => db().instance.findMany({ where: { appId, processType: "web", desired: { not: "stopped" } } });

beforeAll(async () => {
  // The agent pulls images through the control plane's /v2/, which needs the registry running.
  srv = await startTestServer({}, { registry: true });
  sched = srv.cp.services.scheduler;
  sched.opts.drainMs = 100;
  sched.opts.plan.startTimeoutMs = 10_000;
  owner = new ApiClient(srv.url);
  await owner.signUp("wait-owner@example.com");
  token = (await owner.tokenClient()).token;
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-wait-"));
  expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  appId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).id;
  images.push(pullRef({ imageRef: APP, imageDigest: DIGEST }, new URL(srv.url).host));
  // The fake node publishes on loopback, which the control plane routes only for a local-kind join token.
  const joinToken = await localJoinToken(srv, "wait");
  node = await startFakeNode(srv, { name: "wait-node", joinToken, backend: new FakeBackend({ images }) });
  await db().release.create({
    data: { appId, version: 1, imageRef: APP, imageDigest: DIGEST, processTypes: JSON.stringify({ web: "" }) },
  });
  sched.kick();
  await until("v1 deployed", async () => (await releaseStatus(1)) === "deployed", 20_000, 50);
});

afterAll(async () => {
  await teamNode?.stop();
  await node?.stop();
  await srv?.close();
  if (home) fs.rmSync(home, { recursive: true, force: true });
});

describe("GET /apps/{app}/rollout", () => {
  it("reports the deployed release settled, per process type, and is another team's 404", async () => {
    await until(
      "settled",
      async () => (await owner.req("GET", `/api/v1/apps/${APP}/rollout`)).body.settled,
      20_000,
      50,
    );
    const r = await owner.req("GET", `/api/v1/apps/${APP}/rollout`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      release: { version: 1, status: "deployed", failReason: null },
      deployed: 1,
      processes: [{ type: "web", quantity: 1, running: 1, starting: 0, replacing: 0 }],
      old: 0,
      failing: [],
      nodeReady: true,
      settled: true,
    });
    expect((await owner.req("GET", `/api/v1/apps/${APP}/rollout?release=9`)).status).toBe(404);
    expect((await owner.req("GET", `/api/v1/apps/${APP}/rollout?release=v1`)).status).toBe(422);
    const outsider = new ApiClient(srv.url);
    await outsider.signUp("wait-outsider@example.com");
    expect((await outsider.req("GET", `/api/v1/apps/${APP}/rollout`)).status).toBe(404);
  });
});

describe("berth --wait", () => {
  it("ps:scale --wait returns once the new instances run", async () => {
    const r = await berth("ps:scale", "web=2", "-a", APP, "--wait");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain("v1 deployed: web 2/2 running");
    expect(r.stdout).toContain(`${APP} is running: web 2/2.`);
    const web = await liveWeb();
    expect(web.filter((i) => i.state === "running")).toHaveLength(2);
  });

  it("config:set --wait --json prints the change, then follows the new release until it is deployed", async () => {
    const r = await berth("config:set", "GREETING=hi", "-a", APP, "--wait", "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ release: 2 });
    expect(r.stderr).toMatch(/v2 (pending|deploying): web/);
    expect(r.stderr).toContain("v2 deployed: web 2/2 running");
    expect(await releaseStatus(2)).toBe("deployed");
  });

  it("ps:restart --wait returns once every instance is replaced", async () => {
    const before = (await liveWeb()).map((i) => i.id);
    const r = await berth("ps:restart", "-a", APP, "--wait");
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/to replace/);
    expect(r.stdout).toContain(`${APP} is running: web 2/2.`);
    const after = (await liveWeb()).filter((i) => i.desired === "running" && i.state === "running");
    expect(after).toHaveLength(2);
    expect(after.some((i) => before.includes(i.id))).toBe(false);
  });

  it("rollback --wait exits 1 with the reason when the rollout aborts; the deployed release keeps running", async () => {
    images.length = 0;
    const r = await berth("rollback", "v1", "-a", APP, "--wait");
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("Rollback to v1: released v3; rolling it out");
    expect(r.stderr).toMatch(/^berth: v3 failed: web instance \S+ (failed to start|keeps crashing)/m);
    expect(await releaseStatus(3)).toBe("failed");
    expect(await releaseStatus(2)).toBe("deployed");
  });

  it("ps:scale --wait exits 1 when a new instance cannot start, not for the ones that already ran", async () => {
    const r = await berth("ps:scale", "web=3", "-a", APP, "--wait");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^berth: web instance \S+ (failed to start|keeps crashing)/m);
    expect((await liveWeb()).filter((i) => i.state === "running")).toHaveLength(2);
  });

  it("fails at once when no node the app may use is ready; another team's node does not count", async () => {
    expect((await owner.req("POST", "/api/v1/teams", { name: "wait-team" })).status).toBe(201);
    expect((await owner.req("POST", "/api/v1/apps", { name: "wait-team-app", team: "wait-team" })).status).toBe(201);
    const joinToken = await localJoinToken(srv, "wait-team", "wait-team");
    teamNode = await startFakeNode(srv, { name: "wait-team-node", joinToken });
    expect((await owner.req("POST", `/api/v1/nodes/${node.id}/cordon`)).status).toBe(200);
    try {
      expect((await owner.req("GET", `/api/v1/apps/${APP}/rollout`)).body.nodeReady).toBe(false);
      expect((await owner.req("GET", "/api/v1/apps/wait-team-app/rollout")).body.nodeReady).toBe(true);
      const r = await berth("ps:scale", "web=3", "-a", APP, "--wait");
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^berth: no node is ready to run instances; the change applies when one joins$/m);
    } finally {
      expect((await owner.req("POST", `/api/v1/nodes/${node.id}/uncordon`)).status).toBe(200);
    }
  });

  it("without --wait nothing is followed", async () => {
    const r = await berth("ps:scale", "web=2", "-a", APP);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
  });
});
