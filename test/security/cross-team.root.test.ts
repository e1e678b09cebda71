// Cross-team and viewer refusals of the root tier in one place (they also stay beside their features in test/root/):
// on a real platform (registry, router, a real agent, a deployed app), a viewer may not open `berth run` or exec
// sessions (403) and another team's user gets 404 for the app's run and exec sockets, its volumes, its add-ons and their backups (viewers may not capture either),
// through the API, the sockets and the CLI; nothing is created or changed by any of them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot, isRoot } from "../helpers/root.ts";
import { bootRootStack, type RootStack } from "../helpers/root-stack.ts";
import { busyboxWebApp } from "../helpers/busybox-app.ts";
import { runBerth } from "../helpers/cli.ts";
import { openAppSocket } from "../helpers/app-socket.ts";
import { addTeamUsers, type Who } from "../helpers/team-users.ts";
import { ApiClient } from "../helpers/client.ts";
import { until } from "../helpers/until.ts";

const APP = "xteam";

let stack: RootStack;
let tokens: Record<Who, string>;
let home = "";
let addon = "";

const berth = (who: Who, args: string[], stdin?: string) =>
  runBerth(args, { url: stack.srv.url, token: tokens[who], home, stdin });
const socket = (kind: "exec" | "run", who: Who, query: string) =>
  openAppSocket(stack.srv.url, kind, APP, tokens[who], query);
/** One-off instances the control plane knows (any state, any app). */
const oneOffs = () => stack.srv.cp.services.db.instance.findMany({ where: { desired: "oneoff" } });
/** A client of the stranger (another team). */
const apiAs = (who: Who) => {
  const c = new ApiClient(stack.srv.url);
  c.token = tokens[who];
  return c;
};
const strangerApi = () => apiAs("stranger");

describeRoot("cross-team and viewer refusals: berth run, exec, volumes, add-ons (real platform)", () => {
  beforeAll(async () => {
    if (!isRoot) return;
    stack = await bootRootStack(APP, busyboxWebApp(), { email: "xteam-owner@example.com", node: "xteam-node" });
    home = fs.mkdtempSync(path.join(os.tmpdir(), "berth-xteam-"));
    ({ tokens } = await addTeamUsers(stack.srv.url, stack.owner, "xteam"));
    const push = await stack.push();
    expect(push.code, push.out).toBe(0);
    await stack.running("web", 1);
    // A volume no running process mounts (nothing to drain at the end) and an add-on whose image never comes (building
    // the real one takes minutes and is what test/root/addons.root.test.ts does): both exist, which is all a refusal
    // needs.
    const vol = await stack.owner.req("POST", `/api/v1/apps/${APP}/volumes`, {
      name: "data",
      mountPath: "/data",
      sizeMb: 64,
      processType: "worker",
    });
    expect(vol.status, JSON.stringify(vol.body)).toBe(201);
    stack.srv.cp.services.addonImages.replaceSource(async () => {
      throw new Error("no add-on image in this test");
    });
    const a = await stack.owner.req<{ name: string }>("POST", `/api/v1/apps/${APP}/addons`, { kind: "postgres" });
    expect(a.status, JSON.stringify(a.body)).toBeLessThan(300);
    addon = a.body.name;
    await until("the add-on's provisioning to end", async () => {
      const r = await stack.owner.req<{ state: string }>("GET", `/api/v1/apps/${APP}/addons/${addon}`);
      return r.body.state !== "provisioning";
    });
  }, 300_000);

  afterAll(async () => {
    if (!stack) return;
    if (addon) await stack.owner.req("DELETE", `/api/v1/apps/${APP}/addons/${addon}`).catch(() => undefined);
    await stack.owner.req("DELETE", `/api/v1/apps/${APP}/volumes/data`).catch(() => undefined);
    const problems = await stack.close();
    if (home) fs.rmSync(home, { recursive: true, force: true });
    expect(problems).toEqual([]);
  }, 180_000);

  it("berth run: refuses a viewer (403) and another team (404) before any container is created", async () => {
    const v = socket("run", "viewer", "tty=0&cmd=id");
    expect(await v.closed).toBe(4403);
    expect(v.frames).toEqual([
      { type: "error", error: { code: "forbidden", message: expect.stringContaining("app:exec") } },
    ]);
    const o = socket("run", "stranger", "tty=0&cmd=id");
    expect(await o.closed).toBe(4404);
    expect(o.frames[0]).toMatchObject({ type: "error", error: { code: "not_found" } });
    const cli = await berth("viewer", ["run", "-a", APP, "--", "id"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("does not allow app:exec");
    const other = await berth("stranger", ["run", "-a", APP, "--", "id"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("not found");
    expect(await oneOffs()).toEqual([]);
  }, 60_000);

  it("exec: refuses a viewer (403) and another team (404), on the socket and through the CLI", async () => {
    const v = socket("exec", "viewer", "tty=0&cmd=id");
    expect(await v.closed).toBe(4403);
    expect(v.frames).toEqual([
      { type: "error", error: { code: "forbidden", message: expect.stringContaining("app:exec") } },
    ]);
    const o = socket("exec", "stranger", "tty=0&cmd=id");
    expect(await o.closed).toBe(4404);
    expect(o.frames[0]).toMatchObject({ type: "error", error: { code: "not_found" } });
    const cli = await berth("viewer", ["ps:exec", "-a", APP, "--", "id"]);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain("does not allow app:exec");
    expect((await berth("stranger", ["ps:exec", "-a", APP, "--", "id"])).stderr).toContain("not found");
    // Someone else's instance id under your own app name is not found either.
    expect((await berth("member", ["ps:exec", "-a", APP, "nope-1", "--", "id"])).stderr).toContain("not found");
  }, 60_000);

  it("volumes: another team gets 404 for the app's volumes and changes nothing", async () => {
    const other = strangerApi();
    const before = await stack.inspector.volumes.list();
    for (const [method, p] of [
      ["GET", `/api/v1/apps/${APP}/volumes`],
      ["GET", `/api/v1/apps/${APP}/volumes/data`],
      ["DELETE", `/api/v1/apps/${APP}/volumes/data`],
    ] as const) {
      expect((await other.req(method, p)).status, `${method} ${p}`).toBe(404);
    }
    expect(
      (await other.req("POST", `/api/v1/apps/${APP}/volumes`, { name: "x", mountPath: "/x", sizeMb: 64 })).status,
    ).toBe(404);
    expect(await stack.inspector.volumes.list()).toEqual(before);
    expect((await stack.owner.req<any[]>("GET", `/api/v1/apps/${APP}/volumes`)).body.map((v) => v.name)).toEqual([
      "data",
    ]);
  });

  it("add-ons: another team gets 404 and changes nothing; viewers and other teams get no client session", async () => {
    const other = strangerApi();
    const state = async () =>
      (await stack.owner.req<{ state: string }>("GET", `/api/v1/apps/${APP}/addons/${addon}`)).body.state;
    const was = await state();
    for (const [method, p] of [
      ["GET", `/api/v1/apps/${APP}/addons`],
      ["GET", `/api/v1/apps/${APP}/addons/${addon}`],
      ["DELETE", `/api/v1/apps/${APP}/addons/${addon}`],
      ["GET", `/api/v1/apps/${addon}`],
      ["GET", `/api/v1/apps/${addon}/config`],
    ] as const) {
      expect((await other.req(method, p)).status, `${method} ${p}`).toBe(404);
    }
    expect((await other.req("POST", `/api/v1/apps/${APP}/addons`, { kind: "postgres" })).status).toBe(404);
    expect(await state()).toBe(was);
    const denied = await berth("viewer", ["addons:psql", "-a", APP], "select 1;\n");
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain("does not allow app:exec");
    const outsider = await berth("stranger", ["addons:psql", addon, "-a", APP], "select 1;\n");
    expect(outsider.code).toBe(1);
    expect(outsider.stderr).toContain("not found");
    expect(await oneOffs()).toEqual([]);
  }, 120_000);

  it("backups: another team gets 404 on every add-on and volume backup route; a viewer cannot capture or restore", async () => {
    const other = apiAs("stranger");
    const viewer = apiAs("viewer");
    const made = async () =>
      (await stack.srv.cp.services.db.addonBackup.count()) + (await stack.srv.cp.services.db.volumeBackup.count());
    const before = await made();
    // Ids of the right shape that exist nowhere, and the resources that do exist: neither may tell a stranger anything.
    for (const [method, p, body] of [
      ["GET", `/api/v1/apps/${APP}/addons/${addon}/backups`, undefined],
      ["POST", `/api/v1/apps/${APP}/addons/${addon}/backups`, undefined],
      ["GET", `/api/v1/apps/${APP}/addon-backups/bk-0123456789abcdef`, undefined],
      ["GET", `/api/v1/apps/${APP}/addon-backups/bk-0123456789abcdef/download`, undefined],
      ["POST", `/api/v1/apps/${APP}/addon-backups/bk-0123456789abcdef/restore`, { confirm: APP }],
      ["GET", `/api/v1/apps/${APP}/volumes/data/backups`, undefined],
      ["POST", `/api/v1/apps/${APP}/volumes/data/backups`, undefined],
      ["GET", `/api/v1/apps/${APP}/volume-backups/vb-0123456789abcdef`, undefined],
      ["GET", `/api/v1/apps/${APP}/volume-backups/vb-0123456789abcdef/download`, undefined],
      ["POST", `/api/v1/apps/${APP}/volume-backups/vb-0123456789abcdef/restore`, { confirm: APP }],
    ] as const) {
      expect((await other.req(method, p, body)).status, `${method} ${p}`).toBe(404);
    }
    expect((await viewer.req("POST", `/api/v1/apps/${APP}/addons/${addon}/backups`)).status).toBe(403);
    expect((await viewer.req("POST", `/api/v1/apps/${APP}/volumes/data/backups`)).status).toBe(403);
    expect(await made()).toBe(before);
  });
});
