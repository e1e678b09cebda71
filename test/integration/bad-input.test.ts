// Hostile and malformed input: every case gets a clear 4xx error (never a 500) and changes nothing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let user: ApiClient;
let team = "";

beforeAll(async () => {
  srv = await startTestServer();
  user = new ApiClient(srv.url);
  expect((await user.signUp("hostile@example.com")).status).toBe(201);
  team = (await user.req("GET", "/api/v1/teams")).body[0].name;
  expect((await user.req("POST", "/api/v1/apps", { name: "existing" })).status).toBe(201);
});
afterAll(async () => srv.close());

/** Everything that a failed request must not have changed. */
async function snapshot() {
  const db = srv.cp.services.db;
  return {
    apps: await db.app.findMany({ select: { name: true, maintenance: true, teamId: true }, orderBy: { name: "asc" } }),
    teams: await db.team.count(),
    memberships: await db.membership.count(),
    tokens: await db.apiToken.count(),
    invitations: await db.invitation.count(),
    users: await db.user.count(),
  };
}

function expectError(r: { status: number; body: any }, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.body?.error?.code).toBe(code);
  expect(typeof r.body.error.message).toBe("string");
  expect(r.body.error.message.length).toBeGreaterThan(0);
}

describe("hostile app names", () => {
  const names: [string, string][] = [
    ["shell separator", "a;id"],
    ["command substitution", "$(id)"],
    ["path traversal", "../x"],
    ["option injection", "-rf"],
    ["newline", "a\nb"],
    ["NUL byte", "a\u0000b"],
    ["300 characters", "a".repeat(300)],
    ["empty", ""],
    ["reserved", "api"],
    ["trailing dash", "app-"],
    ["upper case", "App"],
  ];

  it.each(names)("%s: 422 validation_failed naming the field, no app created", async (_label, name) => {
    const before = await snapshot();
    const r = await user.req("POST", "/api/v1/apps", { name });
    expectError(r, 422, "validation_failed");
    expect(r.body.error.message).toMatch(/^name: /);
    expect(r.body.error.message).toMatch(/lowercase letter|reserved|dash/);
    expect(await snapshot()).toEqual(before);
  });

  it.each(names)("%s as a team name: 422, no team created", async (_label, name) => {
    const before = await snapshot();
    const r = await user.req("POST", "/api/v1/teams", { name });
    expectError(r, 422, "validation_failed");
    expect(await snapshot()).toEqual(before);
  });

  it("does not echo the hostile value back in a way that could break a terminal", async () => {
    const r = await user.req("POST", "/api/v1/apps", { name: "a\u001b[31mred" });
    expectError(r, 422, "validation_failed");
    expect(r.body.error.message).not.toContain("\u001b");
  });

  it.each([1, null, true, ["a"], { x: 1 }])("a non-string name (%j) is 422", async (name) => {
    expectError(await user.req("POST", "/api/v1/apps", { name }), 422, "validation_failed");
  });
});

describe("malformed requests", () => {
  it("oversized JSON body (2 MiB): 413, nothing created, and the client can carry on", async () => {
    const before = await snapshot();
    const big = JSON.stringify({ name: "big", padding: "x".repeat(2 * 1024 * 1024) });
    const r = await user.req("POST", "/api/v1/apps", big);
    expectError(r, 413, "payload_too_large");
    expect(await snapshot()).toEqual(before);
    // The rest of the body was never read: the connection must not be reused for the next request.
    for (let i = 0; i < 3; i++) expect((await user.req("GET", "/api/v1/apps")).status).toBe(200);
  });

  it("oversized chunked body without Content-Length: 413", async () => {
    const before = await snapshot();
    const chunk = new TextEncoder().encode("x".repeat(256 * 1024));
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(ctl) {
        if (sent === 0) ctl.enqueue(new TextEncoder().encode('{"name":"chunky","pad":"'));
        if (sent++ < 8) ctl.enqueue(chunk);
        else {
          ctl.enqueue(new TextEncoder().encode('"}'));
          ctl.close();
        }
      },
    });
    const r = await fetch(`${srv.url}/api/v1/apps`, {
      method: "POST",
      headers: { cookie: user.cookie, "x-csrf-token": user.csrf, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(r.status).toBe(413);
    expect(((await r.json()) as any).error.code).toBe("payload_too_large");
    expect(await snapshot()).toEqual(before);
  });

  it("a body just under the limit is parsed normally (and then validated)", async () => {
    const r = await user.req("POST", "/api/v1/apps", JSON.stringify({ name: "ok-size", pad: "x".repeat(1000 * 1024) }));
    expectError(r, 422, "validation_failed"); // unknown field `pad`, not 413
    expect(r.body.error.message).toMatch(/pad/);
  });

  it.each([
    ["truncated", '{"name": "abc"'],
    ["not JSON at all", "name=abc"],
    ["single quotes", "{'name': 'abc'}"],
    ["trailing comma", '{"name": "abc",}'],
    ["empty body", ""],
  ])("malformed JSON (%s): 400 bad_request, nothing created", async (_label, raw) => {
    const before = await snapshot();
    expectError(await user.req("POST", "/api/v1/apps", raw), 400, "bad_request");
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ["text/plain", '{"name":"plain-app"}'],
    ["application/x-www-form-urlencoded", "name=form-app"],
    ["multipart/form-data; boundary=x", '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\nmulti-app\r\n--x--'],
    ["application/xml", "<name>xml-app</name>"],
  ])("non-JSON Content-Type %s: 400, nothing created", async (type, raw) => {
    const before = await snapshot();
    const r = await user.req("POST", "/api/v1/apps", raw, { "content-type": type });
    expectError(r, 400, "bad_request");
    expect(r.body.error.message).toMatch(/JSON/);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ["POST /apps", "POST", "/api/v1/apps", { name: "fine-name", admin: true }],
    ["PATCH /apps/{app}", "PATCH", "/api/v1/apps/existing", { maintenance: true, teamId: "x" }],
    ["POST /teams", "POST", "/api/v1/teams", { name: "fine-team", personal: true }],
    ["POST /tokens", "POST", "/api/v1/tokens", { name: "t", userId: "someone-else" }],
    ["POST /auth/login", "POST", "/api/v1/auth/login", { email: "hostile@example.com", password: "x", remember: true }],
  ])("unknown fields in %s: 422 naming the field, nothing changed", async (_label, method, path, body) => {
    const before = await snapshot();
    const r = await user.req(method, path, body);
    expectError(r, 422, "validation_failed");
    expect(r.body.error.message).toMatch(/Unrecognized key/);
    expect(await snapshot()).toEqual(before);
  });

  it.each([
    ["an array", "[]"],
    ["null", "null"],
    ["a string", '"existing"'],
  ])("a JSON body that is %s: 422", async (_label, raw) => {
    expectError(await user.req("POST", "/api/v1/apps", raw), 422, "validation_failed");
  });
});

describe("bad path and query parameters never cause a 500", () => {
  const paths = [
    "/api/v1/apps/..%2Fx",
    "/api/v1/apps/..%2F..%2Fetc%2Fpasswd",
    "/api/v1/apps/a%3Bid",
    "/api/v1/apps/%24(id)",
    "/api/v1/apps/a%00b",
    "/api/v1/apps/a%0Ab",
    "/api/v1/apps/%E0%A4%A", // broken percent-encoding
    "/api/v1/apps/%",
    `/api/v1/apps/${"a".repeat(5000)}`,
    "/api/v1/apps/-rf",
    "/api/v1/teams/..%2F..%2F",
    "/api/v1/teams/API/members",
    "/api/v1/teams/x%0Ay/audit",
    "/api/v1/apps?team=a%3Bid",
    "/api/v1/apps?team=a&team=b",
    "/api/v1/teams/TEAM/audit?limit=abc",
    "/api/v1/teams/TEAM/audit?limit=100000",
    "/api/v1/teams/TEAM/audit?before=yesterday",
    "/api/v1/teams/TEAM/audit?action=%24(id)",
  ];
  it.each(paths)("GET %s -> 422 or 404", async (raw) => {
    const r = await user.req("GET", raw.replace("TEAM", team));
    expect([404, 422]).toContain(r.status);
    expect(["validation_failed", "not_found"]).toContain(r.body.error.code);
  });

  it.each([
    ["DELETE", "/api/v1/apps/..%2Fexisting"],
    ["PATCH", "/api/v1/apps/%2E%2E"],
    ["DELETE", "/api/v1/teams/TEAM/members/a%00b"],
    ["PATCH", "/api/v1/teams/TEAM/members/%27%20OR%201%3D1"],
    ["DELETE", "/api/v1/teams/TEAM/invitations/..%2F..%2F"],
    ["DELETE", "/api/v1/tokens/%00"],
  ])("%s %s -> 422 or 404, nothing changed", async (method, raw) => {
    const before = await snapshot();
    const r = await user.req(
      method,
      raw.replace("TEAM", team),
      method === "PATCH" ? { role: "viewer", maintenance: true } : undefined,
    );
    expect([404, 422]).toContain(r.status);
    expect(await snapshot()).toEqual(before);
  });

  it("a path that only looks like another app's name does not reach it", async () => {
    const r = await user.req("GET", "/api/v1/apps/existing%2F..");
    expect(r.status).toBe(422);
  });
});
