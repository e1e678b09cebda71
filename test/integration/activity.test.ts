// The app activity timeline: readable by every member (viewer included), hidden from other teams, newest first
// with a cursor, short summaries per action, and never a config value (config changes record key names only).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let owner: ApiClient;
let viewer: ApiClient;
let outsider: ApiClient;

const SECRET = "s3cr3t-value-that-must-not-leak";
const path = "/api/v1/apps/act-app/activity";
const db = () => srv.cp.services.db;

interface Item {
  id: string;
  action: string;
  target: string;
  actor: string;
  at: string;
  summary: string;
}

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  await owner.signUp("act-owner@example.com");
  viewer = new ApiClient(srv.url);
  await viewer.signUp("act-viewer@example.com");
  outsider = new ApiClient(srv.url);
  await outsider.signUp("act-outsider@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "actteam" })).status).toBe(201);
  const add = await owner.req("POST", "/api/v1/teams/actteam/members", {
    email: "act-viewer@example.com",
    role: "viewer",
  });
  expect(add.status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "act-app", team: "actteam" })).status).toBe(201);
  // A release (as a deploy leaves it), so the config change below makes the next one.
  const { createRelease } = await import("../../server/releases/releases.ts");
  const app = await db().app.findUniqueOrThrow({ where: { name: "act-app" } });
  await createRelease(db(), null, {
    appId: app.id,
    teamId: app.teamId,
    appName: app.name,
    imageRef: "act-app",
    imageDigest: `sha256:${"c".repeat(64)}`,
    processTypes: { web: "node server.js", worker: "node worker.js" },
    description: "Deploy abc1234",
  });
  const cfg = await owner.req("PATCH", "/api/v1/apps/act-app/config", { set: { API_TOKEN: SECRET, COLOR: SECRET } });
  expect(cfg.status).toBe(200);
  expect(cfg.body.release).toBe(2);
  const unset = await owner.req("PATCH", "/api/v1/apps/act-app/config", { unset: ["COLOR"] });
  expect(unset.status).toBe(200);
  const scale = await owner.req("PATCH", "/api/v1/apps/act-app/formation", { updates: [{ type: "web", quantity: 3 }] });
  expect(scale.status).toBe(200);
  const deploy = { rolloutBatch: 2, healthCheckPath: "/healthz" };
  expect((await owner.req("PATCH", "/api/v1/apps/act-app/deploy-settings", deploy)).status).toBe(200);
  expect((await owner.req("PATCH", "/api/v1/apps/act-app", { maintenance: true })).status).toBe(200);
});
afterAll(async () => srv.close());

describe("app activity", () => {
  it("lets a viewer read the timeline, newest first, with who and a summary", async () => {
    const r = await viewer.req<Item[]>("GET", path);
    expect(r.status).toBe(200);
    const actions = r.body.map((e) => e.action);
    expect(actions).toEqual([
      "app.update",
      "deploy-settings.change",
      "formation.change",
      "release.create",
      "config.change",
      "release.create",
      "config.change",
      "release.create",
      "app.create",
    ]);
    const at = r.body.map((e) => Date.parse(e.at));
    expect([...at].sort((a, b) => b - a)).toEqual(at);
    expect(r.body[0]).toMatchObject({ actor: "act-owner@example.com", summary: "Turned maintenance mode on" });
    expect(r.body[1]?.summary).toBe("Deploy settings: rollouts start 2 at a time; web health check GET /healthz");
    expect(r.body[2]?.summary).toBe("Scaled web 1 → 3");
    expect(r.body.find((e) => e.action === "config.change")?.summary).toBe("Config vars: removed COLOR");
    expect(r.body.filter((e) => e.action === "config.change")[1]?.summary).toBe("Config vars: set API_TOKEN and COLOR");
    // The first release was made by the system (no actor).
    expect(r.body[7]).toMatchObject({ actor: "system", target: "v1", summary: "Released v1: Deploy abc1234" });
    expect(r.body[8]?.summary).toBe("Created the app");
    for (const e of r.body) expect(Object.keys(e).sort()).toEqual(["action", "actor", "at", "id", "summary", "target"]);
  });

  it("never shows a config value, to any role", async () => {
    for (const c of [owner, viewer]) {
      const r = await c.req("GET", `${path}?limit=200`);
      expect(r.status).toBe(200);
      expect(JSON.stringify(r.body)).not.toContain(SECRET);
    }
  });

  it("answers 404 to another team's user and 401 to anonymous callers, like a missing app", async () => {
    const hidden = await outsider.req<any>("GET", path);
    const missing = await outsider.req<any>("GET", "/api/v1/apps/no-such-app/activity");
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.body.error.message.replace("act-app", "X")).toBe(
      missing.body.error.message.replace("no-such-app", "X"),
    );
    expect((await new ApiClient(srv.url).req("GET", path)).status).toBe(401);
  });

  it("pages with limit and before, without gaps or repeats", async () => {
    const all = (await owner.req<Item[]>("GET", path)).body;
    const seen: Item[] = [];
    let before = "";
    for (;;) {
      const r = await owner.req<Item[]>("GET", `${path}?limit=3${before ? `&before=${before}` : ""}`);
      expect(r.status).toBe(200);
      seen.push(...r.body);
      if (r.body.length < 3) break;
      before = r.body[r.body.length - 1]?.id ?? "";
    }
    expect(seen.map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect((await owner.req("GET", `${path}?limit=0`)).status).toBe(422);
    expect((await owner.req("GET", `${path}?before=not-an-id`)).status).toBe(422);
  });

  it("does not show the history of an earlier app with the same name", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "act-reuse", team: "actteam" })).status).toBe(201);
    expect((await owner.req("PATCH", "/api/v1/apps/act-reuse/config", { set: { OLD_KEY: "x" } })).status).toBe(200);
    expect((await owner.req("DELETE", "/api/v1/apps/act-reuse")).status).toBe(204);
    // The outsider now creates an app under the freed name: they must not see the earlier app's events.
    expect((await outsider.req("POST", "/api/v1/apps", { name: "act-reuse" })).status).toBe(201);
    const r = await outsider.req<Item[]>("GET", "/api/v1/apps/act-reuse/activity");
    expect(r.status).toBe(200);
    expect(r.body.map((e) => e.action)).toEqual(["app.create"]);
  });
});
