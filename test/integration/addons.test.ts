// Add-ons API with a fake node: validation (allowlisted kinds and plans, strict bodies), roles (member to create and
// destroy, viewer to read), another team's app is a 404 for every route, audit, the hidden service app (never listed,
// 404 through every app route, not routed), DATABASE_URL set in one release once the service runs and removed in one
// release by destroy, which also deletes the service app and its volume on the node. Real containers:
// test/root/addons.root.test.ts.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ContainerConfigInput, ContainerInfo } from "../../runtime-agent/runtime/backend.ts";
import { FakeBackend } from "../../runtime-agent/runtime/fake-backend.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { startFakeNode, type FakeNode } from "../helpers/fake-node.ts";
import { localJoinToken } from "../helpers/local-token.ts";
import { until } from "../helpers/until.ts";
import { runBerth } from "../helpers/cli.ts";
import { syncAddonUrls } from "../../server/addons/sync.ts";
import { createRelease } from "../../server/releases/releases.ts";
import { kickScheduler } from "../../server/scheduler/kick.ts";

let srv: TestServer;
let owner: ApiClient;
let member: ApiClient;
let viewer: ApiClient;
let other: ApiClient;
let node: FakeNode;
let backend: RecordingBackend;

/** Keeps what each container was created with (its command, env and volumes). */
class RecordingBackend extends FakeBackend {
  readonly created = new Map<string, ContainerConfigInput>();
  override async create(input: ContainerConfigInput): Promise<ContainerInfo> {
    const info = await super.create(input);
    this.created.set(info.id, input);
    return info;
  }
}

const APP = "addon-app";
const base = `/api/v1/apps/${APP}/addons`;
const db = () => srv.cp.services.db;
const DIGEST = `sha256:${"a".repeat(64)}`;

async function configKeys(): Promise<string[]> {
  const r = await owner.req<{ key: string }[]>("GET", `/api/v1/apps/${APP}/config`);
  return r.body.map((v) => v.key);
}

beforeAll(async () => {
  srv = await startTestServer({}, { registry: true });
  srv.cp.services.addonImages.replaceSource(async (serviceApp) => ({
    imageRef: serviceApp,
    imageDigest: DIGEST,
    stack: "test",
  }));
  owner = new ApiClient(srv.url);
  await owner.signUp("addon-owner@example.com");
  member = new ApiClient(srv.url);
  await member.signUp("addon-member@example.com");
  viewer = new ApiClient(srv.url);
  await viewer.signUp("addon-viewer@example.com");
  other = new ApiClient(srv.url);
  await other.signUp("addon-other@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "addonteam" })).status).toBe(201);
  for (const [c, role] of [
    ["addon-member@example.com", "member"],
    ["addon-viewer@example.com", "viewer"],
  ] as const) {
    expect((await owner.req("POST", "/api/v1/teams/addonteam/members", { email: c, role })).status).toBe(201);
  }
  expect((await owner.req("POST", "/api/v1/apps", { name: APP, team: "addonteam" })).status).toBe(201);
  expect((await other.req("POST", "/api/v1/apps", { name: "addon-other" })).status).toBe(201);
  // The app is deployed (v1), so the add-on's var comes with a release.
  const app = await db().app.findUniqueOrThrow({ where: { name: APP } });
  await createRelease(db(), null, {
    appId: app.id,
    teamId: app.teamId,
    appName: APP,
    imageRef: APP,
    imageDigest: `sha256:${"b".repeat(64)}`,
    processTypes: { web: "" },
    description: "test",
  });
  backend = new RecordingBackend();
  node = await startFakeNode(srv, { name: "addon-node", joinToken: await localJoinToken(srv, "addon-node"), backend });
  kickScheduler(srv.cp.services);
});
afterAll(async () => {
  await node?.stop();
  await srv.close();
});

describe("add-ons API", () => {
  it("refuses unknown kinds, plans and fields with 422 and creates nothing", async () => {
    for (const body of [
      { kind: "mysql" },
      { kind: "postgres", plan: "huge" },
      { kind: "postgres", plan: "constructor" },
      { kind: "postgres", image: "evil/postgres" },
      { kind: "" },
      {},
    ]) {
      const r = await owner.req<{ error: { code: string; message: string } }>("POST", base, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
    }
    const r = await owner.req<{ error: { message: string } }>("POST", base, { kind: "mysql" });
    expect(r.body.error.message).toContain("postgres");
    expect(await db().addon.count()).toBe(0);
    expect(await db().app.count()).toBe(2);
  });

  it("another team gets 404 for every route, viewers may not create", async () => {
    for (const [c, method, p, body] of [
      [other, "GET", base, undefined],
      [other, "POST", base, { kind: "postgres" }],
      [other, "GET", `${base}/postgres-00000000`, undefined],
      [other, "DELETE", `${base}/postgres-00000000`, undefined],
    ] as const) {
      expect((await c.req(method, p, body)).status, `${method} ${p}`).toBe(404);
    }
    expect((await viewer.req("POST", base, { kind: "postgres" })).status).toBe(403);
    expect((await viewer.req("GET", base)).body).toEqual([]);
    expect(await db().addon.count()).toBe(0);
  });

  it("members create: provisioning at once, then available with DATABASE_URL in one new release", async () => {
    const created = await member.req<{ name: string; state: string; plan: string; version: string }>("POST", base, {
      kind: "postgres",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ state: "provisioning", plan: "small", version: "15", kind: "postgres" });
    const name = created.body.name;
    await until("available", async () => {
      const i = await viewer.req<{ state: string; failReason: string | null }>("GET", `${base}/${name}`);
      if (i.body.state === "failed") throw new Error(String(i.body.failReason));
      return i.body.state === "available";
    });
    const info = await viewer.req<Record<string, unknown>>("GET", `${base}/${name}`);
    expect(info.body).toMatchObject({ node: "addon-node", running: true, sizeMb: 1024, memoryMb: 512 });
    expect(JSON.stringify(info.body)).not.toContain("postgres://");
    expect(await configKeys()).toContain("DATABASE_URL");
    const app = await db().app.findUniqueOrThrow({ where: { name: APP } });
    const releases = await db().release.findMany({ where: { appId: app.id }, orderBy: { version: "asc" } });
    expect(releases).toHaveLength(2);
    const url = (JSON.parse(releases[1]!.config) as Record<string, string>).DATABASE_URL ?? "";
    expect(url).toMatch(/^postgres:\/\/u[a-f0-9]{16}:[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+\/d[a-f0-9]{16}$/);
    // Viewers see the var masked, like every secret-looking var.
    const masked = await viewer.req<{ key: string; masked: boolean }[]>("GET", `/api/v1/apps/${APP}/config`);
    expect(masked.body.find((v) => v.key === "DATABASE_URL")?.masked).toBe(true);

    // The service app: same team, never listed, 404 through app routes, its instance a fixed command with a volume.
    const addon = await db().addon.findFirstOrThrow({ where: { name }, include: { serviceApp: true } });
    expect(addon.serviceApp.teamId).toBe(app.teamId);
    expect((await owner.req<{ name: string }[]>("GET", "/api/v1/apps")).body.map((a) => a.name)).toEqual([APP]);
    for (const p of [`/api/v1/apps/${name}`, `/api/v1/apps/${name}/config`, `/api/v1/apps/${name}/volumes`])
      expect((await owner.req("GET", p)).status, p).toBe(404);
    expect((await owner.req("DELETE", `/api/v1/apps/${name}`)).status).toBe(404);
    const [inst] = await db().instance.findMany({ where: { appId: addon.serviceAppId } });
    const spec = backend.created.get(inst!.id);
    expect(spec?.volumes?.[0]).toMatchObject({ path: "/var/lib/berth-addon" });
    expect(spec?.command?.join(" ")).toContain("B=/usr/lib/postgresql/15/bin");
    // The password reaches the service only through its env, never its command line.
    expect(spec?.command?.join(" ")).not.toContain(url.split(":")[2]!.split("@")[0]!);

    const audit = await db().auditEvent.findMany({ where: { action: "addon.create" } });
    expect(audit).toHaveLength(1);
    expect(audit[0]?.data).not.toContain("postgres://");
    // Where the service runs is checked periodically: a URL that no longer matches is rewritten in one release.
    expect(await syncAddonUrls(srv.cp.services)).toBe(0);
    await db().configVar.update({
      where: { appId_key: { appId: app.id, key: "DATABASE_URL" } },
      data: { value: url.replace(/:\d+\//, ":1/") },
    });
    expect(await syncAddonUrls(srv.cp.services)).toBe(1);
    const fixed = await db().configVar.findUniqueOrThrow({
      where: { appId_key: { appId: app.id, key: "DATABASE_URL" } },
    });
    expect(fixed.value).toBe(url);
    expect(await db().release.count({ where: { appId: app.id } })).toBe(3);
    // One add-on per var; an app that sets the var itself is refused too.
    expect((await member.req("POST", base, { kind: "postgres" })).status).toBe(409);
  });

  it("attaches to another app of the team under its own var, never across teams; detach removes it", async () => {
    const [a] = (await viewer.req<{ name: string }[]>("GET", base)).body;
    const name = a!.name;
    expect((await owner.req("POST", "/api/v1/apps", { name: "addon-app2", team: "addonteam" })).status).toBe(201);
    const app2 = await db().app.findUniqueOrThrow({ where: { name: "addon-app2" } });
    await createRelease(db(), null, {
      appId: app2.id,
      teamId: app2.teamId,
      appName: "addon-app2",
      imageRef: "addon-app2",
      imageDigest: `sha256:${"c".repeat(64)}`,
      processTypes: { web: "" },
      description: "test",
    });
    const at = "/api/v1/apps/addon-app2/attachments";
    // Another team: its own app cannot name this add-on (404), nor reach this team's app.
    expect((await other.req("POST", "/api/v1/apps/addon-other/attachments", { addon: name })).status).toBe(404);
    expect((await other.req("POST", at, { addon: name })).status).toBe(404);
    expect((await viewer.req("POST", at, { addon: name })).status).toBe(403);
    for (const as of ["lower", "BERTH_DB", "PORT", "A-B"])
      expect((await member.req("POST", at, { addon: name, as })).status, as).toBe(422);
    expect((await member.req("POST", base.replace("/addons", "/attachments"), { addon: name })).status).toBe(409);
    expect(await db().addonAttachment.count()).toBe(0);

    const before = await db().release.count({ where: { appId: app2.id } });
    const r = await member.req<{ configVar: string; owner: string }>("POST", at, { addon: name, as: "MAIN_DB" });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body).toMatchObject({ configVar: "MAIN_DB", owner: APP });
    expect((await member.req("POST", at, { addon: name })).status).toBe(409);
    const ownerVar = await db().configVar.findFirstOrThrow({ where: { app: { name: APP }, key: "DATABASE_URL" } });
    const v = await db().configVar.findUniqueOrThrow({ where: { appId_key: { appId: app2.id, key: "MAIN_DB" } } });
    expect(v.value).toBe(ownerVar.value);
    expect(await db().release.count({ where: { appId: app2.id } })).toBe(before + 1);
    expect((await viewer.req<{ addon: string }[]>("GET", at)).body.map((x) => x.addon)).toEqual([name]);
    // The owner's list (the dashboard's Resources tab) names the apps it is attached to.
    expect((await viewer.req<{ attachedTo: string[] }[]>("GET", base)).body[0]?.attachedTo).toEqual(["addon-app2"]);
    expect((await other.req("GET", at)).status).toBe(404);
    expect((await owner.req("DELETE", "/api/v1/apps/addon-app2")).status).toBe(409);

    expect((await viewer.req("DELETE", `${at}/${name}`)).status).toBe(403);
    expect((await member.req("DELETE", `${at}/${name}`)).status).toBe(204);
    expect(await db().configVar.count({ where: { appId: app2.id, key: "MAIN_DB" } })).toBe(0);
    expect(await db().release.count({ where: { appId: app2.id } })).toBe(before + 2);
    expect((await viewer.req<{ attachedTo: string[] }[]>("GET", base)).body[0]?.attachedTo).toEqual([]);
    expect((await member.req("DELETE", `${at}/${name}`)).status).toBe(404);
    // Attached again under the default name: destroying the add-on removes it there too (next test).
    expect((await member.req("POST", at, { addon: name })).status).toBe(201);
    expect(await db().auditEvent.count({ where: { action: "addon.attach" } })).toBe(2);
  });

  it("the app cannot be destroyed while it has add-ons", async () => {
    const r = await owner.req<{ error: { message: string } }>("DELETE", `/api/v1/apps/${APP}`);
    expect(r.status).toBe(409);
    expect(r.body.error.message).toContain("addons:destroy");
  });

  it("lists with the CLI, viewers may not destroy; members destroy: var unset in one release, service and volume gone", async () => {
    const [a] = (await viewer.req<{ name: string }[]>("GET", base)).body;
    const name = a!.name;
    const home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-cli-addons-"));
    const env = { url: srv.url, token: (await owner.tokenClient()).token, home };
    const cli = await runBerth(["addons", "-a", APP], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toContain(name);
    expect(cli.stdout).not.toContain("postgres://");
    const noConfirm = await runBerth(["addons:destroy", name, "-a", APP], env);
    fs.rmSync(home, { recursive: true, force: true });
    expect(noConfirm.code).not.toBe(0);
    expect(noConfirm.stderr).toContain("--confirm");

    expect((await viewer.req("DELETE", `${base}/${name}`)).status).toBe(403);
    const addon = await db().addon.findFirstOrThrow({ where: { name } });
    const volume = await db().volume.findFirstOrThrow({ where: { appId: addon.serviceAppId } });
    const before = await db().release.count({ where: { app: { name: APP } } });
    const r = await member.req("DELETE", `${base}/${name}`);
    expect(r.status, JSON.stringify(r.body)).toBe(204);
    expect(await configKeys()).not.toContain("DATABASE_URL");
    expect(await db().release.count({ where: { app: { name: APP } } })).toBe(before + 1);
    expect(await db().configVar.count({ where: { app: { name: "addon-app2" }, key: "DATABASE_URL" } })).toBe(0);
    expect(await db().addonAttachment.count()).toBe(0);
    expect(await db().app.findUnique({ where: { name } })).toBeNull();
    expect(await db().volume.count({ where: { id: volume.id } })).toBe(0);
    expect(backend.calls).toContain(`volume.destroy:${volume.id}`);
    expect(await db().instance.count({ where: { appId: addon.serviceAppId } })).toBe(0);
    expect((await owner.req("GET", base)).body).toEqual([]);
    expect(await db().auditEvent.count({ where: { action: "addon.destroy" } })).toBe(1);
    expect((await member.req("DELETE", `${base}/${name}`)).status).toBe(404);
  });

  it("redis the same way: REDIS_URL with the generated password, its own volume, gone again on destroy", async () => {
    const created = await member.req<{ name: string; version: string; configVar: string }>("POST", base, {
      kind: "redis",
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    expect(created.body).toMatchObject({ version: "7", configVar: "REDIS_URL" });
    const name = created.body.name;
    expect(name).toMatch(/^redis-[a-f0-9]{8}$/);
    await until("redis available", async () => {
      const i = await viewer.req<{ state: string; failReason: string | null }>("GET", `${base}/${name}`);
      if (i.body.state === "failed") throw new Error(String(i.body.failReason));
      return i.body.state === "available";
    });
    const app = await db().app.findUniqueOrThrow({ where: { name: APP } });
    const v = await db().configVar.findUniqueOrThrow({ where: { appId_key: { appId: app.id, key: "REDIS_URL" } } });
    expect(v.value).toMatch(/^redis:\/\/:[A-Za-z0-9_-]{43}@127\.0\.0\.1:\d+$/);
    const addon = await db().addon.findFirstOrThrow({ where: { name } });
    const [inst] = await db().instance.findMany({ where: { appId: addon.serviceAppId } });
    const spec = backend.created.get(inst!.id);
    expect(spec?.command?.join(" ")).toContain("/usr/bin/redis-server");
    expect(spec?.command?.join(" ")).not.toContain(v.value.slice(9, 52));
    expect(spec?.volumes?.[0]).toMatchObject({ path: "/var/lib/berth-addon", sizeBytes: 512 * 1024 * 1024 });
    expect((await member.req("DELETE", `${base}/${name}`)).status).toBe(204);
    expect(await configKeys()).not.toContain("REDIS_URL");
    expect(await db().app.findUnique({ where: { name } })).toBeNull();
  });
});
