// Finding 7 of issue 12 (the parts reachable over the real API; the login redirect and the dashboard's headers are in
// dashboard-browser.int.test.ts): an invitation outliving its inviter's authority, trivial passwords, config keys
// that collide with Object.prototype, and API/git responses without nosniff/framing headers.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { loadConfig } from "../../server/config.ts";

let srv: TestServer;
const PASSWORD = "correct-horse-battery";

async function user(email: string): Promise<ApiClient> {
  const c = new ApiClient(srv.url);
  const r = await c.signUp(email, PASSWORD);
  if (r.status !== 201) throw new Error(`sign-up of ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  return c;
}

beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => srv.close());

describe("an invitation is checked against its inviter's authority when it is accepted", () => {
  let owner: ApiClient;
  let adam: ApiClient;
  beforeAll(async () => {
    owner = await user("inv-owner@example.com");
    adam = await user("inv-adam@example.com");
    expect((await owner.req("POST", "/api/v1/teams", { name: "invcrew" })).status).toBe(201);
    expect(
      (await owner.req("POST", "/api/v1/teams/invcrew/members", { email: "inv-adam@example.com", role: "admin" }))
        .status,
    ).toBe(201);
  });

  async function invite(by: ApiClient, email: string, role: string): Promise<string> {
    const r = await by.req("POST", "/api/v1/teams/invcrew/invitations", { email, role });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.token as string;
  }
  const roleOf = async (email: string) =>
    (await owner.req<any[]>("GET", "/api/v1/teams/invcrew/members")).body.find((m) => m.email === email)?.role;

  it("refuses an admin invitation once its inviter was demoted to member, and grants nothing", async () => {
    const token = await invite(adam, "inv-mallory@example.com", "admin");
    expect(
      (await owner.req("PATCH", "/api/v1/teams/invcrew/members/inv-adam@example.com", { role: "member" })).status,
    ).toBe(200);
    const mallory = await user("inv-mallory@example.com");
    const lookup = await new ApiClient(srv.url).req("POST", "/api/v1/invitations/lookup", { token });
    expect(lookup.status).toBe(403);
    const r = await mallory.req("POST", "/api/v1/invitations/accept", { token });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden");
    expect(r.body.error.message).toMatch(/no longer valid.*can no longer grant the admin role in 'invcrew'/);
    expect(await roleOf("inv-mallory@example.com")).toBeUndefined();
    // Restored to admin, the same invitation (still unused) works again: the check is of authority now.
    expect(
      (await owner.req("PATCH", "/api/v1/teams/invcrew/members/inv-adam@example.com", { role: "admin" })).status,
    ).toBe(200);
    expect((await mallory.req("POST", "/api/v1/invitations/accept", { token })).status).toBe(200);
    expect(await roleOf("inv-mallory@example.com")).toBe("admin");
  });

  it("refuses an invitation whose inviter left the team", async () => {
    const sam = await user("inv-sam@example.com");
    expect(
      (await owner.req("POST", "/api/v1/teams/invcrew/members", { email: "inv-sam@example.com", role: "admin" }))
        .status,
    ).toBe(201);
    const token = await invite(sam, "inv-late@example.com", "member");
    expect((await sam.req("DELETE", "/api/v1/teams/invcrew/members/inv-sam@example.com")).status).toBe(204);
    const late = await user("inv-late@example.com");
    const r = await late.req("POST", "/api/v1/invitations/accept", { token });
    expect(r.status).toBe(403);
    expect(await roleOf("inv-late@example.com")).toBeUndefined();
  });

  it("refuses an owner invitation once its inviter is no longer an owner", async () => {
    const olga = await user("inv-olga@example.com");
    expect(
      (await owner.req("POST", "/api/v1/teams/invcrew/members", { email: "inv-olga@example.com", role: "owner" }))
        .status,
    ).toBe(201);
    const token = await invite(olga, "inv-heir@example.com", "owner");
    expect(
      (await owner.req("PATCH", "/api/v1/teams/invcrew/members/inv-olga@example.com", { role: "admin" })).status,
    ).toBe(200);
    const heir = await user("inv-heir@example.com");
    const r = await heir.req("POST", "/api/v1/invitations/accept", { token });
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/owner role/);
    expect(await roleOf("inv-heir@example.com")).toBeUndefined();
  });

  it("still accepts an invitation whose inviter keeps the authority", async () => {
    const token = await invite(owner, "inv-fine@example.com", "owner");
    const fine = await user("inv-fine@example.com");
    expect((await fine.req("POST", "/api/v1/invitations/accept", { token })).status).toBe(200);
    expect(await roleOf("inv-fine@example.com")).toBe("owner");
  });
});

describe("passwords that are only whitespace, a trivial pattern or a common password are refused", () => {
  it.each([
    ["ten spaces", "          "],
    ["tabs and spaces", "\t \t \t \t \t \t"],
    ["1234567890", "1234567890"],
    ["a keyboard row", "qwertyuiop"],
    ["a common password in another case", "PassWord123"],
    ["one character repeated", "aaaaaaaaaaaa"],
    ["a descending run", "9876543210"],
  ])("sign-up refuses %s with 422 and creates nothing", async (_label, password) => {
    const email = `pw-${Math.random().toString(36).slice(2)}@example.com`;
    const r = await new ApiClient(srv.url).req("POST", "/api/v1/auth/signup", { email, password });
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body.error.code).toBe("validation_failed");
    expect(r.body.error.message).toMatch(
      /password (must not be only spaces|is on a list of common passwords|is a repeated or sequential pattern)/,
    );
    expect(await srv.cp.services.db.user.count({ where: { email } })).toBe(0);
  });

  it("still accepts a passphrase", async () => {
    expect((await new ApiClient(srv.url).signUp("pw-ok@example.com", "  tide pool lantern  ")).status).toBe(201);
  });

  it("refuses such a password for the bootstrap admin at start", () => {
    for (const password of ["          ", "1234567890"]) {
      expect(() => loadConfig({ BERTH_ADMIN_EMAIL: "root@example.com", BERTH_ADMIN_PASSWORD: password })).toThrow(
        /BERTH_ADMIN_PASSWORD: password/,
      );
    }
  });
});

describe("config keys named like Object.prototype members", () => {
  let c: ApiClient;
  beforeAll(async () => {
    c = await user("cfg-proto@example.com");
    expect((await c.req("POST", "/api/v1/apps", { name: "proto-app" })).status).toBe(201);
  });
  const keys = async () => (await c.req<any[]>("GET", "/api/v1/apps/proto-app/config")).body.map((v) => v.key);

  it("sets and unsets constructor, toString and hasOwnProperty like any other key", async () => {
    const set = await c.req("PATCH", "/api/v1/apps/proto-app/config", {
      set: { constructor: "a", toString: "b", hasOwnProperty: "c", PLAIN: "d" },
    });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(await keys()).toEqual(["PLAIN", "constructor", "hasOwnProperty", "toString"]);
    const unset = await c.req("PATCH", "/api/v1/apps/proto-app/config", { unset: ["constructor", "toString"] });
    expect(unset.status, JSON.stringify(unset.body)).toBe(200);
    expect(await keys()).toEqual(["PLAIN", "hasOwnProperty"]);
    const flag = await c.req("PATCH", "/api/v1/apps/proto-app/config", { buildTime: ["hasOwnProperty"] });
    expect(flag.status, JSON.stringify(flag.body)).toBe(200);
    expect(
      (await c.req<any[]>("GET", "/api/v1/apps/proto-app/config")).body.find((v) => v.key === "hasOwnProperty")
        ?.buildTime,
    ).toBe(true);
  });

  it("refuses __proto__ with a clear error instead of silently dropping it", async () => {
    const before = await keys();
    const r = await c.req("PATCH", "/api/v1/apps/proto-app/config", '{"set":{"__proto__":"x","OTHER":"y"}}');
    expect(r.status, JSON.stringify(r.body)).toBe(422);
    expect(r.body.error.message).toMatch(/__proto__ cannot be used as a config var name/);
    const u = await c.req("PATCH", "/api/v1/apps/proto-app/config", { unset: ["__proto__"] });
    expect(u.status).toBe(422);
    expect(await keys()).toEqual(before);
  });
});

describe("responses outside the dashboard carry nosniff and framing headers", () => {
  it("on API, git and health responses; no HSTS over a plain-HTTP public URL", async () => {
    for (const p of [
      "/api/v1/session",
      "/api/v1/openapi.json",
      "/git/nope.git/info/refs?service=git-upload-pack",
      "/healthz",
    ]) {
      const r = await fetch(srv.url + p);
      await r.arrayBuffer();
      expect(r.headers.get("x-content-type-options"), p).toBe("nosniff");
      expect(r.headers.get("x-frame-options"), p).toBe("DENY");
      expect(r.headers.get("content-security-policy"), p).toMatch(/frame-ancestors 'none'/);
      expect(r.headers.get("referrer-policy"), p).toBe("same-origin");
      expect(r.headers.get("strict-transport-security"), p).toBeNull();
    }
  });

  it("adds HSTS when the public URL is https", async () => {
    const tls = await startTestServer({ BERTH_PUBLIC_URL: "https://berth.example.test" });
    try {
      const r = await fetch(`${tls.url}/api/v1/session`);
      await r.arrayBuffer();
      expect(r.headers.get("strict-transport-security")).toMatch(/^max-age=\d{7,}/);
    } finally {
      await tls.close();
    }
  });
});
