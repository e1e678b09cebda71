// Requests and limits (issue 19): placement counts requests, not limits. One real control plane, one real agent on the
// FakeBackend that reports 2 cores; `berth limits`, `limits:set --memory-request/--cpu-request` through the real
// binary; the formation API refuses a request above its limit and changes nothing.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { startAgent, type Agent } from "../../runtime-agent/agent/agent.ts";
import { silentLogger } from "../../runtime-agent/log.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { PROTOCOL_VERSION } from "../../runtime-agent/protocol/index.ts";
import type { Scheduler } from "../../server/scheduler/scheduler.ts";
import { pullRef } from "../../server/scheduler/instance-spec.ts";
import { runBerth } from "../helpers/cli.ts";
import { localJoinToken } from "../helpers/local-token.ts";

const APP = "req-app";
const DIGEST = `sha256:${"e".repeat(64)}`;

let srv: TestServer;
let owner: ApiClient;
let sched: Scheduler;
let appId = "";
let home = "";
let token = "";
let agent: Agent | undefined;
let backend: FakeBackend;
const dirs: string[] = [];
const berth = (...args: string[]) => runBerth(args, { url: srv.url, token, home });
const db = () => srv.cp.services.db;
const path_ = `/api/v1/apps/${APP}/formation`;

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const webRows = () =>
  db().instance.findMany({ where: { appId, processType: "web", desired: { not: "stopped" } }, orderBy: { id: "asc" } });

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true });
  sched = srv.cp.services.scheduler;
  owner = new ApiClient(srv.url);
  await owner.signUp("req-owner@example.com");
  home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-req-cli-"));
  dirs.push(home);
  token = (await owner.tokenClient()).token as string;
  expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  appId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).id;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-req-agent-"));
  dirs.push(stateDir);
  backend = new FakeBackend({ images: [pullRef({ imageRef: APP, imageDigest: DIGEST }, new URL(srv.url).host)] });
  agent = await startAgent({
    controlPlane: srv.url,
    joinToken: await localJoinToken(srv, "req"),
    stateDir,
    backend,
    log: silentLogger(),
    tickMs: 100,
    probe: async () => true,
    register: async () => ({
      protocolVersion: PROTOCOL_VERSION,
      hostname: "req-node",
      address: "127.0.0.1",
      cpus: 2,
      memoryBytes: 8 * 1024 ** 3,
      diskBytes: 50 * 1024 ** 3,
      kernel: "6.1.0-test",
      cgroupVersion: 2,
      userNamespaces: true,
      agentVersion: "0.1.0",
    }),
  });
  await until(
    "node ready",
    async () => (await db().node.findUnique({ where: { name: "req-node" } }))?.state === "ready",
  );
  await db().formation.update({ where: { appId_type: { appId, type: "web" } }, data: { quantity: 0 } });
  await db().release.create({
    data: { appId, version: 1, imageRef: APP, imageDigest: DIGEST, processTypes: '{"web":""}' },
  });
  sched.kick();
  await until(
    "v1 deployed",
    async () => (await db().release.findFirst({ where: { appId, version: 1 } }))?.status === "deployed",
  );
});

afterAll(async () => {
  await agent?.stop();
  await srv?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("placement by requests", () => {
  it("places 12 instances of 1 CPU (limits 6x the node's 2 cores) and 256 MB on one node", async () => {
    const r = await owner.req("PATCH", path_, { updates: [{ type: "web", quantity: 12, memoryMb: 256, cpu: 1 }] });
    expect(r.status).toBe(200);
    await until("12 running", async () => {
      const rows = await webRows();
      return rows.length === 12 && rows.every((i) => i.state === "running");
    });
    const rows = await webRows();
    // Each instance keeps the requests it was placed with: the defaults, memory = limit and CPU 0.1.
    expect(rows.every((i) => i.memoryRequestMb === 256 && i.cpuRequest === 0.1 && i.cpu === 1)).toBe(true);
    expect(sched.placementIssue(appId)).toBeUndefined();
  });

  it("berth limits shows limits beside requests", async () => {
    const t = await berth("limits", "-a", APP);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout.split("\n")[0]).toMatch(/^TYPE\s+MEMORY\s+MEMORY REQUEST\s+CPU\s+CPU REQUEST\s+DISK\s+BANDWIDTH$/);
    expect(t.stdout).toMatch(/web\s+256M\s+256M\s+1\s+0\.1\s+1024M\s+100Mbit\/s/);
  });

  it("limits:set --cpu-request changes what placement counts, without replacing running instances", async () => {
    const before = (await webRows()).map((i) => i.id);
    const r = await berth("limits:set", "web", "--cpu-request", "0.5", "--memory-request", "128M", "-a", APP, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([
      expect.objectContaining({ type: "web", memoryMb: 256, cpu: 1, memoryRequestMb: 128, cpuRequest: 0.5 }),
    ]);
    // 12 x 0.1 = 1.2 of 2 cores used: one more of 0.5 fits (1.7), a second does not (2.2).
    const up = await owner.req("PATCH", path_, { updates: [{ type: "web", quantity: 14 }] });
    expect(up.status).toBe(200);
    await until("13 placed, the 14th refused for its CPU request", async () => {
      const rows = await webRows();
      return rows.length === 13 && sched.placementIssue(appId);
    });
    expect(sched.placementIssue(appId)).toBe("no node has 128 MB memory and 0.5 CPU free (requests)");
    const rows = await webRows();
    expect(rows.filter((i) => before.includes(i.id))).toHaveLength(12);
    expect(rows.find((i) => !before.includes(i.id))).toMatchObject({ memoryRequestMb: 128, cpuRequest: 0.5 });
  });

  it("back to the default request frees room: the 14th is placed", async () => {
    const r = await berth("limits:set", "web", "--cpu-request", "default", "-a", APP, "--json");
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)[0]).toMatchObject({ cpuRequest: 0.1, memoryRequestMb: 128 });
    await until("14 placed", async () => (await webRows()).length === 14);
    expect((await db().formation.findFirstOrThrow({ where: { appId, type: "web" } })).cpuRequest).toBeNull();
  });

  it("refuses a request above its limit, or a limit lowered under its request, changing nothing", async () => {
    const before = await db().formation.findFirstOrThrow({ where: { appId, type: "web" } });
    const high = await owner.req<any>("PATCH", path_, { updates: [{ type: "web", memoryRequestMb: 512 }] });
    expect(high.status).toBe(422);
    expect(high.body.error.message).toContain("memory request 512 MB is above the memory limit 256 MB");
    const lowered = await berth("limits:set", "web", "--memory", "64M", "-a", APP);
    expect(lowered.code).toBe(1);
    expect(lowered.stderr).toContain("memory request 128 MB is above the memory limit 64 MB");
    const cpu = await berth("limits:set", "web", "--cpu-request", "1.5", "-a", APP);
    expect(cpu.code).toBe(1);
    expect(cpu.stderr).toContain("cpu request 1.5 is above the cpu limit 1");
    for (const bad of [{ cpuRequest: -1 }, { cpuRequest: 0.123 }, { memoryRequestMb: 16 }, { memoryRequestMb: 1.5 }]) {
      const r = await owner.req("PATCH", path_, { updates: [{ type: "web", ...bad }] });
      expect(r.status, JSON.stringify(bad)).toBe(422);
    }
    expect((await berth("limits:set", "web", "--cpu-request", "lots", "-a", APP)).code).toBe(2);
    expect(await db().formation.findFirstOrThrow({ where: { appId, type: "web" } })).toEqual(before);
  });

  it("the audit log says which requests changed", async () => {
    const r = await owner.req<any>("GET", `/api/v1/apps/${APP}/activity`);
    expect(r.status).toBe(200);
    expect(JSON.stringify(r.body)).toContain("request 0.5 CPU");
  });
});
