// Config vars: set/unset in one change, masking for viewers, platform keys refused, a new release per change.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let owner: ApiClient;
let viewer: ApiClient;

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  await owner.signUp("cfg-owner@example.com");
  viewer = new ApiClient(srv.url);
  await viewer.signUp("cfg-viewer@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "cfgteam" })).status).toBe(201);
  expect(
    (await owner.req("POST", "/api/v1/teams/cfgteam/members", { email: "cfg-viewer@example.com", role: "viewer" }))
      .status,
  ).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "cfg-app", team: "cfgteam" })).status).toBe(201);
});
afterAll(async () => srv.close());

const path = "/api/v1/apps/cfg-app/config";

describe("config vars", () => {
  it("sets and unsets in one change; no release while the app has none", async () => {
    const r = await owner.req<any>("PATCH", path, {
      set: { DATABASE_URL: "postgres://u:p@db/x", COLOR: "blue", OLD: "1" },
    });
    expect(r.status).toBe(200);
    expect(r.body.release).toBeNull();
    const r2 = await owner.req<any>("PATCH", path, { set: { COLOR: "green" }, unset: ["OLD"] });
    expect(r2.body.config.map((v: any) => [v.key, v.value])).toEqual([
      ["COLOR", "green"],
      ["DATABASE_URL", "postgres://u:p@db/x"],
    ]);
  });

  it("masks secret-looking values for viewers only", async () => {
    const v = await viewer.req<any[]>("GET", path);
    expect(v.status).toBe(200);
    expect(v.body.find((x) => x.key === "DATABASE_URL")).toMatchObject({ masked: true });
    expect(JSON.stringify(v.body)).not.toContain("u:p@db");
    expect(v.body.find((x) => x.key === "COLOR")).toMatchObject({ value: "green", masked: false });
    const o = await owner.req<any[]>("GET", path);
    expect(o.body.find((x) => x.key === "DATABASE_URL").value).toBe("postgres://u:p@db/x");
  });

  it("refuses platform keys, bad names, NUL values and contradictions, changing nothing", async () => {
    const before = (await owner.req<any[]>("GET", path)).body;
    for (const body of [
      { set: { PORT: "80" } },
      { set: { "A-B": "x" } },
      { set: { "1A": "x" } },
      { set: { "A;id": "x" } },
      { set: { OK: "a\u0000b" } },
      { set: { X: "1" }, unset: ["X"] },
      { unknown: true },
      {},
    ]) {
      const r = await owner.req<any>("PATCH", path, body);
      expect(r.status, JSON.stringify(body)).toBe(422);
    }
    expect((await owner.req<any[]>("GET", path)).body).toEqual(before);
  });

  it("creates a release with the new config snapshot once the app has one", async () => {
    const app = await srv.cp.services.db.app.findUniqueOrThrow({ where: { name: "cfg-app" } });
    await srv.cp.services.db.release.create({
      data: {
        appId: app.id,
        version: 1,
        imageRef: "cfg-app",
        imageDigest: `sha256:${"a".repeat(64)}`,
        processTypes: '{"web":""}',
      },
    });
    const r = await owner.req<any>("PATCH", path, { set: { COLOR: "red" } });
    expect(r.body.release).toBe(2);
    const v2 = await owner.req<any>("GET", "/api/v1/apps/cfg-app/releases/v2");
    expect(v2.body).toMatchObject({
      description: "Config: set COLOR",
      processTypes: { web: "" },
      config: { COLOR: "red" },
    });
    expect(v2.body.image).toBe(`cfg-app@sha256:${"a".repeat(64)}`);
  });

  it("marks vars as build-time and records only key names in the audit log", async () => {
    const r = await owner.req<any>("PATCH", path, { set: { NPM_TOKEN: "s3cret-value" }, buildTime: ["NPM_TOKEN"] });
    expect(r.body.config.find((v: any) => v.key === "NPM_TOKEN").buildTime).toBe(true);
    const audit = await owner.req<any[]>("GET", "/api/v1/teams/cfgteam/audit?action=config");
    expect(audit.body.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit.body)).not.toContain("s3cret-value");
    expect(audit.body[0].data.set).toEqual(["NPM_TOKEN"]);
  });

  it("lets a viewer read but not change config", async () => {
    const r = await viewer.req<any>("PATCH", path, { set: { COLOR: "black" } });
    expect(r.status).toBe(403);
  });
});
