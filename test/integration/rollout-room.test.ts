// Rollouts on a nearly full node (issue 19): when the new instances do not fit beside the old ones, the rollout goes
// on in batches that fit and says so, instead of waiting for room for the whole new formation. One real control plane
// and one real agent on the FakeBackend that reports 1 GiB of memory.
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
import { localJoinToken } from "../helpers/local-token.ts";

const APP = "room-app";
const DIGEST = `sha256:${"e".repeat(64)}`;
const DIGEST2 = `sha256:${"f".repeat(64)}`;

let srv: TestServer;
let owner: ApiClient;
let sched: Scheduler;
let appId = "";
let agent: Agent | undefined;
let backend: FakeBackend;
const dirs: string[] = [];
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
  await owner.signUp("room-owner@example.com");
  expect((await owner.req("POST", "/api/v1/apps", { name: APP })).status).toBe(201);
  appId = (await db().app.findUniqueOrThrow({ where: { name: APP } })).id;
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-room-agent-"));
  dirs.push(stateDir);
  backend = new FakeBackend({
    images: [DIGEST, DIGEST2].map((d) => pullRef({ imageRef: APP, imageDigest: d }, new URL(srv.url).host)),
  });
  agent = await startAgent({
    controlPlane: srv.url,
    joinToken: await localJoinToken(srv, "room"),
    stateDir,
    backend,
    log: silentLogger(),
    tickMs: 100,
    probe: async () => true,
    register: async () => ({
      protocolVersion: PROTOCOL_VERSION,
      hostname: "room-node",
      address: "127.0.0.1",
      cpus: 2,
      memoryBytes: 1024 * 1024 ** 2,
      diskBytes: 50 * 1024 ** 3,
      kernel: "6.1.0-test",
      cgroupVersion: 2,
      userNamespaces: true,
      agentVersion: "0.1.0",
    }),
  });
  await until(
    "node ready",
    async () => (await db().node.findUnique({ where: { name: "room-node" } }))?.state === "ready",
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

/** Creates release `version` (alternating images so every release is a new spec) and follows its rollout. */
async function rollOut(version: number) {
  const notes: string[] = [];
  const onNote = (app: string, text: string) => {
    if (app === APP) notes.push(text);
  };
  sched.on("rollout-note", onNote);
  let fewest = Infinity;
  try {
    await db().release.create({
      data: {
        appId,
        version,
        imageRef: APP,
        imageDigest: version % 2 ? DIGEST : DIGEST2,
        processTypes: '{"web":""}',
      },
    });
    sched.kick();
    await until(
      `v${version} deployed`,
      async () => {
        const rows = await db().instance.findMany({ where: { appId, desired: { not: "stopped" } } });
        fewest = Math.min(fewest, rows.filter((i) => i.state === "running").length);
        const r = await db().release.findFirstOrThrow({ where: { appId, version } });
        if (r.status === "failed") throw new Error(`v${version} failed: ${r.failReason}`);
        return r.status === "deployed";
      },
      60_000,
    );
  } finally {
    sched.off("rollout-note", onNote);
  }
  await until("only the new release runs", async () => {
    const rows = await webRows();
    const r = await db().release.findFirstOrThrow({ where: { appId, version } });
    return rows.every((i) => i.releaseId === r.id && i.state === "running") && rows;
  });
  return { notes, fewest, rows: await webRows() };
}

describe("rollouts on a nearly full node", () => {
  it("web=3 of 256 MB on 1 GiB (room for one more): rolls out one by one, never below 3 running", async () => {
    const r = await owner.req("PATCH", path_, { updates: [{ type: "web", quantity: 3, memoryMb: 256 }] });
    expect(r.status).toBe(200);
    await until("3 running", async () => {
      const rows = await webRows();
      return rows.length === 3 && rows.every((i) => i.state === "running");
    });
    const v2 = await rollOut(2);
    expect(v2.rows).toHaveLength(3);
    expect(v2.fewest).toBeGreaterThanOrEqual(3);
    expect(v2.notes).toContain(
      "room for 1 of 3 new web instance(s) beside the old ones: v2 rolls out in batches that fit (one old instance stops per new healthy one)",
    );
    expect(v2.notes.some((n) => n.includes("first to make room"))).toBe(false);
  });

  it("web=4 filling the node: one old instance makes room at a time, never below 3 running", async () => {
    const r = await owner.req("PATCH", path_, { updates: [{ type: "web", quantity: 4 }] });
    expect(r.status).toBe(200);
    await until("4 running", async () => {
      const rows = await webRows();
      return rows.length === 4 && rows.every((i) => i.state === "running");
    });
    const v3 = await rollOut(3);
    expect(v3.rows).toHaveLength(4);
    expect(v3.fewest).toBeGreaterThanOrEqual(3);
    expect(v3.notes[0]).toBe(
      "room for 0 of 4 new web instance(s) beside the old ones: v3 rolls out in batches that fit (one old instance stops per new healthy one)",
    );
    expect(
      v3.notes.filter((n) => /^no new web instance fits beside the old ones: stopping \S+ first to make room$/.test(n))
        .length,
    ).toBeGreaterThanOrEqual(1);
  });
});
