// CSRF protection for cookie-authenticated mutations: X-CSRF-Token header plus a same-origin check.
import crypto from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

let srv: TestServer;
let alice: ApiClient;
let bob: ApiClient;

beforeAll(async () => {
  srv = await startTestServer();
  alice = new ApiClient(srv.url);
  bob = new ApiClient(srv.url);
  expect((await alice.signUp("alice@example.com")).status).toBe(201);
  expect((await bob.signUp("bob@example.com")).status).toBe(201);
  expect((await alice.req("POST", "/api/v1/apps", { name: "alice-app" })).status).toBe(201);
});
afterAll(async () => srv.close());

/** Alice's session cookie with a chosen CSRF header (or none). */
function aliceWith(csrf: string): ApiClient {
  return Object.assign(new ApiClient(srv.url), { cookie: alice.cookie, csrf });
}

async function appNames(): Promise<string[]> {
  const r = await alice.req<{ name: string }[]>("GET", "/api/v1/apps");
  expect(r.status).toBe(200);
  return r.body.map((a) => a.name).sort();
}

describe("cookie sessions without a valid X-CSRF-Token", () => {
  const forgeries: [string, () => string][] = [
    ["no token", () => ""],
    ["a wrong token of the right length", () => crypto.randomBytes(24).toString("base64url")],
    ["a truncated token", () => alice.csrf.slice(0, -1)],
    ["another session's token", () => bob.csrf],
  ];

  it.each(forgeries)("refuse creating an app with %s (403 csrf_failed), nothing created", async (_label, token) => {
    const r = await aliceWith(token()).req("POST", "/api/v1/apps", { name: "forged-app" });
    expect(r.status).toBe(403);
    expect(r.body.error).toEqual({ code: "csrf_failed", message: "missing or invalid CSRF token" });
    expect(await appNames()).toEqual(["alice-app"]);
  });

  it("refuse updating an app; it stays unchanged", async () => {
    const r = await aliceWith("").req("PATCH", "/api/v1/apps/alice-app", { maintenance: true });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("csrf_failed");
    expect((await alice.req("GET", "/api/v1/apps/alice-app")).body.maintenance).toBe(false);
  });

  it("refuse deleting an app; it still exists", async () => {
    const r = await aliceWith("").req("DELETE", "/api/v1/apps/alice-app");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("csrf_failed");
    expect((await alice.req("GET", "/api/v1/apps/alice-app")).status).toBe(200);
  });

  it("refuse creating API tokens and teams", async () => {
    const t = await aliceWith("").req("POST", "/api/v1/tokens", { name: "stolen" });
    expect(t.status).toBe(403);
    expect(t.body.error.code).toBe("csrf_failed");
    expect((await alice.req("GET", "/api/v1/tokens")).body).toEqual([]);

    const team = await aliceWith("").req("POST", "/api/v1/teams", { name: "forged-team" });
    expect(team.status).toBe(403);
    expect((await alice.req("GET", "/api/v1/teams/forged-team")).status).toBe(404);
  });

  it("refuse signing out (the session stays valid)", async () => {
    const r = await aliceWith("").req("POST", "/api/v1/auth/logout");
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("csrf_failed");
    expect((await alice.req("GET", "/api/v1/session")).status).toBe(200);
  });

  it("still allow reads without the header", async () => {
    const r = await aliceWith("").req("GET", "/api/v1/apps/alice-app");
    expect(r.status).toBe(200);
  });
});

describe("the right CSRF token", () => {
  it("is the one GET /session returns, and lets mutations through", async () => {
    const s = await alice.req("GET", "/api/v1/session");
    expect(s.body.csrfToken).toBe(alice.csrf);
    const r = await aliceWith(s.body.csrfToken).req("POST", "/api/v1/apps", { name: "csrf-ok" });
    expect(r.status).toBe(201);
    expect(await appNames()).toEqual(["alice-app", "csrf-ok"]);
    expect((await alice.req("DELETE", "/api/v1/apps/csrf-ok")).status).toBe(204);
  });
});

describe("Origin check", () => {
  it.each(["https://evil.example", "http://127.0.0.1.evil.example", "null", "not a url"])(
    "refuses a cookie mutation from Origin %s even with the right CSRF token",
    async (origin) => {
      const r = await alice.req("POST", "/api/v1/apps", { name: "cross-site" }, { origin });
      expect(r.status).toBe(403);
      expect(r.body.error.code).toMatch(/^(forbidden|csrf_failed)$/);
      expect(await appNames()).toEqual(["alice-app"]);
    },
  );

  it("refuses a cross-site sign-in (login CSRF)", async () => {
    const c = new ApiClient(srv.url);
    const r = await c.req(
      "POST",
      "/api/v1/auth/login",
      { email: "alice@example.com", password: "correct-horse-battery" },
      { origin: "https://evil.example" },
    );
    expect(r.status).toBe(403);
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  it("accepts the server's own origin", async () => {
    const r = await alice.req("POST", "/api/v1/apps", { name: "same-origin" }, { origin: srv.url });
    expect(r.status).toBe(201);
    expect((await alice.req("DELETE", "/api/v1/apps/same-origin", undefined, { origin: srv.url })).status).toBe(204);
  });
});

describe("bearer tokens", () => {
  it("need no CSRF token for mutations", async () => {
    const t = await alice.tokenClient("ci");
    expect(t.csrf).toBe("");
    expect(t.cookie).toBe("");
    const created = await t.req("POST", "/api/v1/apps", { name: "token-app" });
    expect(created.status).toBe(201);
    expect((await t.req("PATCH", "/api/v1/apps/token-app", { maintenance: true })).body.maintenance).toBe(true);
    expect((await t.req("DELETE", "/api/v1/apps/token-app")).status).toBe(204);
    expect(await appNames()).toEqual(["alice-app"]);
  });
});
