// Batched instance events store exactly what storing them one by one does (ownership, adoption, unknown instances).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, inject, it } from "vitest";
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import { createDb, type Db } from "../db/client.ts";
import { EVENT_BATCH_MAX, recordInstanceEvent, recordInstanceEvents } from "./observed-instances.ts";

const dirs: string[] = [];
const dbs: Db[] = [];

/** A fresh copy of the migrated template database with two teams' apps, a shared node and a team node. */
async function seeded(): Promise<Db> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-instances-"));
  dirs.push(dir);
  fs.copyFileSync(inject("templateDb"), path.join(dir, "berth.db"));
  const db = createDb(`file:${path.join(dir, "berth.db")}`);
  dbs.push(db);
  await db.team.create({ data: { id: "team-a", name: "a" } });
  await db.team.create({ data: { id: "team-b", name: "b" } });
  await db.app.create({ data: { id: "app-a", name: "web-a", teamId: "team-a" } });
  await db.app.create({ data: { id: "app-b", name: "web-b", teamId: "team-b" } });
  await db.release.create({ data: { id: "rel-a1", appId: "app-a", version: 1, imageRef: "x" } });
  await db.release.create({ data: { id: "rel-b1", appId: "app-b", version: 1, imageRef: "x" } });
  await db.node.create({ data: { id: "shared", name: "shared" } });
  await db.node.create({ data: { id: "other", name: "other" } });
  await db.node.create({ data: { id: "team-node", name: "team-node", teamId: "team-a" } });
  const rows = [
    { id: "a-1", nodeId: "shared" },
    { id: "a-2", nodeId: "shared" },
    { id: "a-3", nodeId: null },
    { id: "a-4", nodeId: "other" },
  ];
  await db.instance.createMany({
    data: rows.map((r) => ({ ...r, appId: "app-a", releaseId: "rel-a1", processType: "web" })),
  });
  return db;
}

const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
function ev(instanceId: string, state: InstanceEvent["state"], extra: Partial<InstanceEvent> = {}): InstanceEvent {
  return { instanceId, app: "web-a", release: "rel-a1", processType: "web", state, at: at(1), restarts: 0, ...extra };
}

const snapshot = async (db: Db) =>
  (await db.instance.findMany({ orderBy: { id: "asc" } })).map(({ updatedAt: _u, createdAt: _c, ...r }) => r);

afterAll(async () => {
  for (const db of dbs) await db.$disconnect();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe("recordInstanceEvents", () => {
  it("stores the same rows as recording the events one by one", async () => {
    const events: InstanceEvent[] = [
      ev("a-1", "starting", { hostPort: 20001 }),
      ev("a-2", "starting", { hostPort: 20002 }),
      ev("a-1", "running", { hostPort: 20001, at: at(2) }),
      // An exit: code and reason stay through the restart's events, which do not carry them.
      ev("a-2", "crashed", { hostPort: 20002, exitCode: 137, reason: "oom-killed", restarts: 1 }),
      ev("a-2", "starting", { hostPort: 20002, restarts: 1, reason: "restarting" }),
      ev("a-2", "running", { hostPort: 20002, restarts: 1, at: at(3) }),
      // Adopted: no node yet.
      ev("a-3", "running", { hostPort: 20003, at: at(4) }),
      // Another node's instance: ignored.
      ev("a-4", "stopped", { reason: "not-desired" }),
      // Unknown to the scheduler: created wanted stopped, then updated by its next event in the same batch.
      ev("a-9", "running", { hostPort: 20009, at: at(5) }),
      ev("a-9", "stopping", { hostPort: 20009 }),
      // Unknown app or release: ignored.
      { ...ev("x-1", "running"), app: "nope" },
      { ...ev("x-2", "running"), release: "v7" },
    ];
    const one = await seeded();
    for (const e of events) await recordInstanceEvent(one, { id: "shared", teamId: null }, e);
    const batched = await seeded();
    const before = Date.now();
    await recordInstanceEvents(
      batched,
      events.map((event) => ({ node: { id: "shared", teamId: null }, event })),
    );
    // updatedAt moves with every write (stopped instances are forgotten by it).
    const a1 = await batched.instance.findUniqueOrThrow({ where: { id: "a-1" } });
    expect(a1.updatedAt.getTime()).toBeGreaterThanOrEqual(before);

    const rows = await snapshot(batched);
    expect(rows).toEqual(await snapshot(one));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get("a-2")).toMatchObject({ state: "running", exitCode: 137, reason: "restarting", restarts: 1 });
    expect(byId.get("a-3")).toMatchObject({ nodeId: "shared", state: "running", hostPort: 20003 });
    expect(byId.get("a-4")).toMatchObject({ nodeId: "other", state: "pending" });
    expect(byId.get("a-9")).toMatchObject({ nodeId: "shared", desired: "stopped", state: "stopping" });
    expect(byId.has("x-1") || byId.has("x-2")).toBe(false);
  });

  it("lets a team's node write only its team's apps", async () => {
    const events = [ev("a-3", "running", { hostPort: 1 }), { ...ev("b-1", "running"), app: "web-b", release: "v1" }];
    const one = await seeded();
    for (const e of events) await recordInstanceEvent(one, { id: "team-node", teamId: "team-a" }, e);
    const batched = await seeded();
    await recordInstanceEvents(
      batched,
      events.map((event) => ({ node: { id: "team-node", teamId: "team-a" }, event })),
    );
    const rows = await snapshot(batched);
    expect(rows).toEqual(await snapshot(one));
    expect(rows.map((r) => r.id)).not.toContain("b-1");
    expect(rows.find((r) => r.id === "a-3")?.nodeId).toBe("team-node");
  });

  it("does not let a team's node adopt another team's instance (a shared node may)", async () => {
    const events = [{ ...ev("b-9", "running", { hostPort: 20009 }), app: "web-b", release: "rel-b1" }];
    const one = await seeded();
    const batched = await seeded();
    for (const db of [one, batched]) {
      await db.instance.create({ data: { id: "b-9", appId: "app-b", releaseId: "rel-b1", processType: "web" } });
    }
    for (const e of events) await recordInstanceEvent(one, { id: "team-node", teamId: "team-a" }, e);
    await recordInstanceEvents(
      batched,
      events.map((event) => ({ node: { id: "team-node", teamId: "team-a" }, event })),
    );
    expect(await snapshot(batched)).toEqual(await snapshot(one));
    expect((await batched.instance.findUniqueOrThrow({ where: { id: "b-9" } })).nodeId).toBeNull();
    await recordInstanceEvents(batched, [{ node: { id: "shared", teamId: null }, event: events[0]! }]);
    expect(await batched.instance.findUniqueOrThrow({ where: { id: "b-9" } })).toMatchObject({
      nodeId: "shared",
      state: "running",
    });
  });

  it("keeps each node to its own instances when a batch has several nodes' events", async () => {
    const shared = { id: "shared", teamId: null };
    const other = { id: "other", teamId: null };
    const items = [
      // a-3 has no node: the first node to report it takes it; the other's events about it are ignored.
      { node: other, event: ev("a-3", "starting", { hostPort: 1 }) },
      { node: shared, event: ev("a-3", "running", { hostPort: 2 }) },
      { node: other, event: ev("a-3", "running", { hostPort: 1, at: at(9) }) },
      { node: shared, event: ev("a-1", "running", { hostPort: 3 }) },
      { node: other, event: ev("a-1", "stopped") },
      { node: other, event: ev("a-4", "running", { hostPort: 4 }) },
      // Unknown instance created by one node, then reported by the other.
      { node: shared, event: ev("a-8", "running", { hostPort: 5 }) },
      { node: other, event: ev("a-8", "stopped") },
    ];
    const one = await seeded();
    for (const x of items) await recordInstanceEvent(one, x.node, x.event);
    const batched = await seeded();
    await recordInstanceEvents(batched, items);
    const rows = await snapshot(batched);
    expect(rows).toEqual(await snapshot(one));
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(byId.get("a-3")).toMatchObject({ nodeId: "other", state: "running", hostPort: 1 });
    expect(byId.get("a-1")).toMatchObject({ nodeId: "shared", state: "running" });
    expect(byId.get("a-4")).toMatchObject({ nodeId: "other", state: "running" });
    expect(byId.get("a-8")).toMatchObject({ nodeId: "shared", state: "running" });
  });

  it("takes batches larger than one statement's bound values", async () => {
    const db = await seeded();
    const n = EVENT_BATCH_MAX * 2 + 7;
    await db.instance.createMany({
      data: Array.from({ length: n }, (_, i) => ({
        id: `m-${i}`,
        appId: "app-a",
        releaseId: "rel-a1",
        processType: "web",
        nodeId: "shared",
      })),
    });
    const events = Array.from({ length: n }, (_, i) => ev(`m-${i}`, "running", { hostPort: 20000 + (i % 9000) }));
    await recordInstanceEvents(
      db,
      events.map((event) => ({ node: { id: "shared", teamId: null }, event })),
    );
    expect(await db.instance.count({ where: { id: { startsWith: "m-" }, state: "running" } })).toBe(n);
  });
});
