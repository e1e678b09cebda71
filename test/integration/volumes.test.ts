// Volumes API: validation, roles (admin to change, viewer to read), another team's app is a 404 for every route,
// audit, a created volume marks the type's running instances for replacement, destroy is refused while an instance
// mounts it, and an app with volumes cannot be destroyed. The filesystem itself is in test/root/volumes.root.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { runBerth } from "../helpers/cli.ts";

let srv: TestServer;
let owner: ApiClient;
let member: ApiClient;
let viewer: ApiClient;
let other: ApiClient;

const base = "/api/v1/apps/vol-app/volumes";
const db = () => srv.cp.services.db;

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  await owner.signUp("vol-owner@example.com");
  member = new ApiClient(srv.url);
  await member.signUp("vol-member@example.com");
  viewer = new ApiClient(srv.url);
  await viewer.signUp("vol-viewer@example.com");
  other = new ApiClient(srv.url);
  await other.signUp("vol-other@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "volteam" })).status).toBe(201);
  for (const [c, role] of [
    ["vol-member@example.com", "member"],
    ["vol-viewer@example.com", "viewer"],
  ] as const) {
    expect((await owner.req("POST", "/api/v1/teams/volteam/members", { email: c, role })).status).toBe(201);
  }
  expect((await owner.req("POST", "/api/v1/apps", { name: "vol-app", team: "volteam" })).status).toBe(201);
  expect((await other.req("POST", "/api/v1/apps", { name: "vol-other" })).status).toBe(201);
});
afterAll(async () => {
  await srv.close();
});

describe("volumes API", () => {
  it("validates name, path, size and type, and changes nothing on bad input", async () => {
    for (const body of [
      { name: "Data", mountPath: "/data", sizeMb: 64 },
      { name: "data", mountPath: "/proc/self", sizeMb: 64 },
      { name: "data", mountPath: "/etc", sizeMb: 64 },
      { name: "data", mountPath: "../x", sizeMb: 64 },
      { name: "data", mountPath: "/data", sizeMb: 8 },
      { name: "data", mountPath: "/data", sizeMb: 64, processType: "Web!" },
      { name: "data", mountPath: "/data", sizeMb: 64, hostPath: "/etc" },
    ]) {
      const r = await owner.req<any>("POST", base, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
    }
    expect(await db().volume.count()).toBe(0);
  });

  it("admins create, viewers list and read, members may not change; names and paths are unique", async () => {
    expect((await member.req("POST", base, { name: "data", mountPath: "/data", sizeMb: 64 })).status).toBe(403);
    const r = await owner.req<any>("POST", base, { name: "data", mountPath: "/data", sizeMb: 1024 });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ name: "data", processType: "web", mountPath: "/data", sizeMb: 1024, node: null });
    expect((await owner.req("POST", base, { name: "data", mountPath: "/other", sizeMb: 64 })).status).toBe(409);
    expect((await owner.req("POST", base, { name: "two", mountPath: "/data", sizeMb: 64 })).status).toBe(409);
    const list = await viewer.req<any[]>("GET", base);
    expect(list.status).toBe(200);
    expect(list.body.map((v) => v.name)).toEqual(["data"]);
    const info = await viewer.req<any>("GET", `${base}/data`);
    expect(info.body).toMatchObject({ name: "data", usedBytes: null, instances: [] });
    expect((await viewer.req("DELETE", `${base}/data`)).status).toBe(403);
    const row = await db().volume.findFirstOrThrow({ where: { name: "data" } });
    expect(row.id).toMatch(/^vol-[a-f0-9]{24}$/);
    const audit = await db().auditEvent.findMany({ where: { action: "volume.create" } });
    expect(audit).toHaveLength(1);
  });

  it("another team's app is a 404 on every route, and nothing changes", async () => {
    for (const [method, p, body] of [
      ["GET", base, undefined],
      ["GET", `${base}/data`, undefined],
      ["DELETE", `${base}/data`, undefined],
      ["POST", base, { name: "mine", mountPath: "/mine", sizeMb: 64 }],
    ] as const) {
      const r = await other.req<any>(method, p, body);
      expect(r.status, `${method} ${p}`).toBe(404);
      expect(JSON.stringify(r.body)).not.toContain("/data");
    }
    expect((await owner.req("GET", "/api/v1/apps/vol-other/volumes")).status).toBe(404);
    expect(await db().volume.count()).toBe(1);
  });

  it("an unknown volume is a 404; an app with volumes is not destroyed", async () => {
    expect((await owner.req("GET", `${base}/nope`)).status).toBe(404);
    expect((await owner.req("DELETE", `${base}/nope`)).status).toBe(404);
    const r = await owner.req<any>("DELETE", "/api/v1/apps/vol-app");
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("destroy them first");
    expect(await db().app.count({ where: { name: "vol-app" } })).toBe(1);
  });

  it("destroy is refused while an instance mounts it; a volume never placed goes at once", async () => {
    const app = await db().app.findUniqueOrThrow({ where: { name: "vol-app" } });
    const vol = await db().volume.findFirstOrThrow({ where: { appId: app.id, name: "data" } });
    const release = await db().release.create({
      data: {
        appId: app.id,
        version: 1,
        imageRef: "x/y",
        imageDigest: "",
        config: "{}",
        processTypes: "{}",
        status: "failed",
      },
    });
    await db().instance.create({
      data: {
        id: "vol-app-web-0000aaaa",
        appId: app.id,
        releaseId: release.id,
        processType: "web",
        state: "running",
        volumes: JSON.stringify([{ id: vol.id, path: "/data", sizeBytes: 1 << 30 }]),
      },
    });
    const refused = await owner.req<any>("DELETE", `${base}/data`);
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toContain("scale web to 0 first");
    await db().instance.delete({ where: { id: "vol-app-web-0000aaaa" } });
    expect((await owner.req("DELETE", `${base}/data`)).status).toBe(204);
    expect(await db().volume.count()).toBe(0);
    expect(await db().auditEvent.count({ where: { action: "volume.destroy" } })).toBe(1);
  });

  it("creating a volume replaces the type's running instances", async () => {
    // Without the scheduler, which would act on these hand-made rows (their release failed, they have no node).
    const sched = srv.cp.services.scheduler;
    sched?.stop();
    const app = await db().app.findUniqueOrThrow({ where: { name: "vol-app" } });
    const release = await db().release.findFirstOrThrow({ where: { appId: app.id } });
    for (const [id, type] of [
      ["vol-app-web-0000bbbb", "web"],
      ["vol-app-worker-0000cccc", "worker"],
    ] as const) {
      await db().instance.create({
        data: { id, appId: app.id, releaseId: release.id, processType: type, state: "running" },
      });
    }
    expect(
      (await owner.req("POST", base, { name: "cache", mountPath: "/cache", sizeMb: 64, processType: "worker" })).status,
    ).toBe(201);
    const rows = await db().instance.findMany({ where: { appId: app.id }, orderBy: { id: "asc" } });
    expect(rows.map((r) => [r.processType, r.desired])).toEqual([
      ["web", "running"],
      ["worker", "replace"],
    ]);
    await db().instance.deleteMany({ where: { appId: app.id } });
    sched?.start();
  });

  it("the CLI creates, lists, shows and destroys (with --confirm)", async () => {
    const tok = (await owner.tokenClient()).token;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-vol-"));
    const env = { url: srv.url, token: tok, home };
    const created = await runBerth(
      ["volumes:create", "files", "--size", "2G", "--mount", "/srv/files", "-a", "vol-app"],
      env,
    );
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("Created volume files (2G) at /srv/files");
    const list = await runBerth(["volumes", "-a", "vol-app"], env);
    expect(list.stdout).toMatch(/files\s+web\s+\/srv\/files\s+2G/);
    const info = await runBerth(["volumes:info", "files", "-a", "vol-app", "--json"], env);
    expect(JSON.parse(info.stdout)).toMatchObject({ name: "files", sizeMb: 2048, instances: [] });
    const noConfirm = await runBerth(["volumes:destroy", "files", "-a", "vol-app"], env);
    expect(noConfirm.code).not.toBe(0);
    expect(noConfirm.stderr).toContain("--confirm files");
    expect(await db().volume.count({ where: { name: "files" } })).toBe(1);
    const gone = await runBerth(["volumes:destroy", "files", "--confirm", "files", "-a", "vol-app"], env);
    expect(gone.code, gone.stderr).toBe(0);
    expect(await db().volume.count({ where: { name: "files" } })).toBe(0);
    fs.rmSync(home, { recursive: true, force: true });
  });
});
