// Process formation: per-type quantity/memory/CPU, one atomic change, no release or build, audit with before/after.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let owner: ApiClient;
let member: ApiClient;
let viewer: ApiClient;
let outsider: ApiClient;

const path = "/api/v1/apps/fm-app/formation";
const db = () => srv.cp.services.db;

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  await owner.signUp("fm-owner@example.com");
  member = new ApiClient(srv.url);
  await member.signUp("fm-member@example.com");
  viewer = new ApiClient(srv.url);
  await viewer.signUp("fm-viewer@example.com");
  outsider = new ApiClient(srv.url);
  await outsider.signUp("fm-outsider@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "fmteam" })).status).toBe(201);
  expect(
    (await owner.req("POST", "/api/v1/teams/fmteam/members", { email: "fm-member@example.com", role: "member" }))
      .status,
  ).toBe(201);
  expect(
    (await owner.req("POST", "/api/v1/teams/fmteam/members", { email: "fm-viewer@example.com", role: "viewer" }))
      .status,
  ).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "fm-app", team: "fmteam" })).status).toBe(201);
  // A release with three process types, as a deploy leaves it (createRelease adds worker=0 and clock=0).
  const { createRelease } = await import("../../server/releases/releases.ts");
  const app = await db().app.findUniqueOrThrow({ where: { name: "fm-app" } });
  await createRelease(db(), null, {
    appId: app.id,
    teamId: app.teamId,
    appName: app.name,
    imageRef: "fm-app",
    imageDigest: `sha256:${"b".repeat(64)}`,
    processTypes: { web: "node server.js", worker: "node worker.js", clock: "node clock.js" },
    description: "Deploy",
  });
});
afterAll(async () => srv.close());

async function counts() {
  const app = await db().app.findUniqueOrThrow({ where: { name: "fm-app" } });
  return {
    releases: await db().release.count({ where: { appId: app.id } }),
    builds: await db().build.count({ where: { appId: app.id } }),
  };
}

/** The default disk and bandwidth limits every process type starts with. */
const D = { diskMb: 1024, bandwidthMbit: 100 };
/** A formation entry as the API shows it, with the default requests: memory = the limit, CPU 0.1 (or the limit). */
const R = <T extends { memoryMb: number; cpu: number }>(f: T) => ({
  ...f,
  memoryRequestMb: f.memoryMb,
  cpuRequest: Math.min(0.1, f.cpu),
});

describe("formation", () => {
  it("lists process types with Heroku-like defaults: web=1, others 0", async () => {
    const r = await viewer.req<any[]>("GET", path);
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      R({ type: "clock", quantity: 0, memoryMb: 512, cpu: 1, ...D }),
      R({ type: "web", quantity: 1, memoryMb: 512, cpu: 1, ...D }),
      R({ type: "worker", quantity: 0, memoryMb: 512, cpu: 1, ...D }),
    ]);
  });

  it("scales and resizes several types in one change without a release or build", async () => {
    const before = await counts();
    const r = await member.req<any[]>("PATCH", path, {
      updates: [
        { type: "web", quantity: 3, memoryMb: 256, cpu: 0.5 },
        { type: "worker", quantity: 2 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body).toEqual([
      R({ type: "clock", quantity: 0, memoryMb: 512, cpu: 1, ...D }),
      R({ type: "web", quantity: 3, memoryMb: 256, cpu: 0.5, ...D }),
      R({ type: "worker", quantity: 2, memoryMb: 512, cpu: 1, ...D }),
    ]);
    expect(await counts()).toEqual(before);
    // Omitted fields stay as they were.
    const r2 = await owner.req<any[]>("PATCH", path, { updates: [{ type: "web", cpu: 2 }] });
    expect(r2.body.find((f) => f.type === "web")).toEqual(R({ type: "web", quantity: 3, memoryMb: 256, cpu: 2, ...D }));
    expect(
      (await owner.req<any>("GET", "/api/v1/apps/fm-app")).body.formation.find((f: any) => f.type === "web").cpu,
    ).toBe(2);
  });

  it("accepts the limits' edges", async () => {
    const r = await owner.req<any[]>("PATCH", path, {
      updates: [
        { type: "clock", quantity: 100, memoryMb: 65536, cpu: 64 },
        { type: "worker", quantity: 0, memoryMb: 32, cpu: 0.05 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.find((f) => f.type === "clock")).toEqual(
      R({
        type: "clock",
        quantity: 100,
        memoryMb: 65536,
        cpu: 64,
        ...D,
      }),
    );
    expect(r.body.find((f) => f.type === "worker")).toEqual(
      R({
        type: "worker",
        quantity: 0,
        memoryMb: 32,
        cpu: 0.05,
        ...D,
      }),
    );
    await owner.req("PATCH", path, { updates: [{ type: "clock", quantity: 0, memoryMb: 512, cpu: 1 }] });
  });

  it("sets disk and bandwidth limits per type, with their edges; other fields stay", async () => {
    const r = await owner.req<any[]>("PATCH", path, {
      updates: [
        { type: "clock", diskMb: 64, bandwidthMbit: 1 },
        { type: "worker", diskMb: 1048576, bandwidthMbit: 100000 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.body.find((f) => f.type === "clock")).toEqual(
      R({
        type: "clock",
        quantity: 0,
        memoryMb: 512,
        cpu: 1,
        diskMb: 64,
        bandwidthMbit: 1,
      }),
    );
    expect(r.body.find((f) => f.type === "worker")).toMatchObject({ diskMb: 1048576, bandwidthMbit: 100000 });
    const app = await owner.req<any>("GET", "/api/v1/apps/fm-app");
    expect(app.body.formation.find((f: any) => f.type === "clock")).toMatchObject({ diskMb: 64, bandwidthMbit: 1 });
    await owner.req("PATCH", path, {
      updates: [
        { type: "clock", ...D },
        { type: "worker", ...D },
      ],
    });
  });

  it("records formation.change with before and after", async () => {
    await owner.req("PATCH", path, { updates: [{ type: "worker", quantity: 1 }] });
    const audit = await owner.req<any[]>("GET", "/api/v1/teams/fmteam/audit?action=formation.change");
    expect(audit.status).toBe(200);
    expect(audit.body[0]).toMatchObject({
      action: "formation.change",
      app: "fm-app",
      actor: "fm-owner@example.com",
      data: {
        before: { worker: { quantity: 0, memoryMb: 32, cpu: 0.05 } },
        after: { worker: { quantity: 1, memoryMb: 32, cpu: 0.05 } },
      },
    });
  });

  it("refuses every bad input with 422 and changes nothing, not even the valid part", async () => {
    const before = (await owner.req<any[]>("GET", path)).body;
    const auditBefore = await db().auditEvent.count({ where: { action: "formation.change" } });
    const release = await counts();
    for (const body of [
      {},
      { updates: [] },
      { updates: {} },
      { updates: [{}] },
      { updates: [{ type: "web" }] },
      { updates: [{ type: "web", quantity: -1 }] },
      { updates: [{ type: "web", quantity: 101 }] },
      { updates: [{ type: "web", quantity: 1.5 }] },
      { updates: [{ type: "web", quantity: "3" }] },
      { updates: [{ type: "web", quantity: null }] },
      { updates: [{ type: "web", memoryMb: 31 }] },
      { updates: [{ type: "web", memoryMb: 65537 }] },
      { updates: [{ type: "web", memoryMb: 256.5 }] },
      { updates: [{ type: "web", cpu: 0.04 }] },
      { updates: [{ type: "web", cpu: 0 }] },
      { updates: [{ type: "web", cpu: -1 }] },
      { updates: [{ type: "web", cpu: 64.01 }] },
      { updates: [{ type: "web", cpu: 0.333 }] },
      { updates: [{ type: "web", diskMb: 63 }] },
      { updates: [{ type: "web", diskMb: 1048577 }] },
      { updates: [{ type: "web", diskMb: 100.5 }] },
      { updates: [{ type: "web", bandwidthMbit: 0 }] },
      { updates: [{ type: "web", bandwidthMbit: 100001 }] },
      { updates: [{ type: "web", bandwidthMbit: 1.5 }] },
      { updates: [{ type: "web", bandwidthMbit: "50M" }] },
      { updates: [{ type: "web", quantity: 1, extra: true }] },
      { updates: [{ type: "Web", quantity: 1 }] },
      { updates: [{ type: "web;rm", quantity: 1 }] },
      { updates: [{ type: "", quantity: 1 }] },
      {
        updates: [
          { type: "web", quantity: 5 },
          { type: "web", quantity: 6 },
        ],
      },
      {
        updates: [
          { type: "web", quantity: 5 },
          { type: "worker", quantity: 101 },
        ],
      },
      { updates: [{ type: "web", quantity: 5 }], extra: 1 },
      { updates: Array.from({ length: 101 }, (_, i) => ({ type: `t${i}`, quantity: 1 })) },
    ]) {
      const r = await owner.req<any>("PATCH", path, body);
      expect(r.status, JSON.stringify(body).slice(0, 120)).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
    }
    expect((await owner.req<any[]>("GET", path)).body).toEqual(before);
    expect(await db().auditEvent.count({ where: { action: "formation.change" } })).toBe(auditBefore);
    expect(await counts()).toEqual(release);
  });

  it("refuses an unknown process type with the known types listed, atomically", async () => {
    const before = (await owner.req<any[]>("GET", path)).body;
    const r = await owner.req<any>("PATCH", path, {
      updates: [
        { type: "web", quantity: 7 },
        { type: "mailer", quantity: 1 },
      ],
    });
    expect(r.status).toBe(422);
    expect(r.body.error.message).toBe("fm-app has no process type mailer; its types are clock, web, worker");
    expect((await owner.req<any[]>("GET", path)).body).toEqual(before);
  });

  it("rejects malformed JSON and non-JSON bodies", async () => {
    expect((await owner.req("PATCH", path, "{not json")).status).toBe(400);
    expect((await owner.req("PATCH", path, "updates=1", { "content-type": "text/plain" })).status).toBe(400);
  });

  it("lets viewers read but not scale (403), and hides the app from outsiders (404)", async () => {
    const before = (await owner.req<any[]>("GET", path)).body;
    const v = await viewer.req<any>("PATCH", path, { updates: [{ type: "web", quantity: 9 }] });
    expect(v.status).toBe(403);
    expect(v.body.error.code).toBe("forbidden");
    const o = await outsider.req<any>("PATCH", path, { updates: [{ type: "web", quantity: 9 }] });
    expect(o.status).toBe(404);
    expect(o.body.error.message).toBe("app 'fm-app' not found");
    expect((await outsider.req<any>("GET", path)).status).toBe(404);
    expect((await owner.req<any[]>("GET", path)).body).toEqual(before);
  });

  it("answers 404 for an app that does not exist", async () => {
    expect((await owner.req("GET", "/api/v1/apps/no-such-app/formation")).status).toBe(404);
    expect(
      (await owner.req("PATCH", "/api/v1/apps/no-such-app/formation", { updates: [{ type: "web", quantity: 1 }] }))
        .status,
    ).toBe(404);
  });

  it("keeps a changed formation when a later release comes (releases never reset it)", async () => {
    const { createRelease } = await import("../../server/releases/releases.ts");
    await owner.req("PATCH", path, { updates: [{ type: "web", quantity: 4 }] });
    const app = await db().app.findUniqueOrThrow({ where: { name: "fm-app" } });
    await createRelease(db(), null, {
      appId: app.id,
      teamId: app.teamId,
      appName: app.name,
      imageRef: "fm-app",
      imageDigest: `sha256:${"c".repeat(64)}`,
      processTypes: { web: "node server.js", worker: "node worker.js", mailer: "node mail.js" },
      description: "Deploy",
    });
    const r = await owner.req<any[]>("GET", path);
    expect(r.body.find((f) => f.type === "web").quantity).toBe(4);
    expect(r.body.find((f) => f.type === "mailer")).toEqual(
      R({
        type: "mailer",
        quantity: 0,
        memoryMb: 512,
        cpu: 1,
        ...D,
      }),
    );
  });
});
