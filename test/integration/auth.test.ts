// Sign-up, sign-in, sessions and sign-out against a real server and database.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { hashToken } from "../../server/auth/secrets.ts";

const PASSWORD = "correct-horse-battery";

let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => srv.close());

/** Parses a Set-Cookie header into its value and lower-cased attributes. */
function parseSetCookie(header: string | null) {
  expect(header, "Set-Cookie header").toBeTruthy();
  const [pair = "", ...attrs] = (header ?? "").split(";").map((s) => s.trim());
  const [name, value] = [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)];
  const attributes = new Map(attrs.map((a) => [a.split("=")[0]?.toLowerCase() ?? "", a.split("=")[1] ?? ""]));
  return { name, value, attributes };
}

describe("sign-up", () => {
  let first: ApiClient;
  let second: ApiClient;

  beforeAll(async () => {
    first = new ApiClient(srv.url);
    second = new ApiClient(srv.url);
    expect((await first.signUp("first.user@example.com")).status).toBe(201);
    expect((await second.signUp("Second_User@Example.com")).status).toBe(201);
  });

  it("makes the first account the instance admin and signs it in", async () => {
    const me = await first.req("GET", "/api/v1/session");
    expect(me.status).toBe(200);
    expect(me.body.user).toMatchObject({ email: "first.user@example.com", isAdmin: true });
    expect(me.body.via).toBe("session");
  });

  it("does not make later accounts admins, and normalises their email", async () => {
    const me = await second.req("GET", "/api/v1/session");
    expect(me.body.user).toMatchObject({ email: "second_user@example.com", isAdmin: false });
  });

  it("gives every user a personal team they own, and only that team", async () => {
    const a = await first.req("GET", "/api/v1/teams");
    const b = await second.req("GET", "/api/v1/teams");
    expect(a.body).toHaveLength(1);
    expect(b.body).toHaveLength(1);
    expect(a.body[0]).toMatchObject({ name: "first-user", personal: true, role: "owner", members: 1, apps: 0 });
    expect(b.body[0]).toMatchObject({ name: "second-user", personal: true, role: "owner", members: 1 });
    // ...and cannot see each other's.
    expect((await first.req("GET", "/api/v1/teams/second-user")).status).toBe(404);
  });

  it("lets a new user create apps in the personal team without naming it", async () => {
    const r = await second.req("POST", "/api/v1/apps", { name: "second-app" });
    expect(r.status).toBe(201);
    expect(r.body.team).toBe("second-user");
  });

  it("returns the user without any password material", async () => {
    const c = new ApiClient(srv.url);
    const r = await c.signUp("shape@example.com");
    expect(Object.keys(r.body.user).sort()).toEqual(["createdAt", "email", "id", "isAdmin", "name"]);
    expect(JSON.stringify(r.body)).not.toMatch(/scrypt|passwordHash|correct-horse/);
  });

  it("refuses a duplicate email (any case) with 409 and keeps the original password", async () => {
    const c = new ApiClient(srv.url);
    const r = await c.req("POST", "/api/v1/auth/signup", {
      email: "FIRST.USER@example.com",
      password: "another-password-1",
    });
    expect(r.status).toBe(409);
    expect(r.body.error.code).toBe("conflict");
    expect(r.headers.get("set-cookie")).toBeNull();
    expect((await new ApiClient(srv.url).login("first.user@example.com", "another-password-1")).status).toBe(401);
    expect((await new ApiClient(srv.url).login("first.user@example.com")).status).toBe(200);
    expect(await srv.cp.services.db.user.count({ where: { email: "first.user@example.com" } })).toBe(1);
  });

  it.each([
    ["a short password", { email: "p@example.com", password: "short" }, /password/],
    ["a bad email", { email: "not-an-email", password: PASSWORD }, /email/],
    ["a self-granted admin flag", { email: "sneaky@example.com", password: PASSWORD, isAdmin: true }, /isAdmin/],
  ])("rejects %s with 422 and creates nothing", async (_label, body, message) => {
    const before = await srv.cp.services.db.user.count();
    const r = await new ApiClient(srv.url).req("POST", "/api/v1/auth/signup", body);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("validation_failed");
    expect(r.body.error.message).toMatch(message);
    expect(await srv.cp.services.db.user.count()).toBe(before);
  });
});

describe("sign-in", () => {
  beforeAll(async () => {
    expect((await new ApiClient(srv.url).signUp("login@example.com")).status).toBe(201);
  });

  it("signs in with the right password (email in any case) and returns the session's CSRF token", async () => {
    const c = new ApiClient(srv.url);
    const r = await c.login("Login@Example.com");
    expect(r.status).toBe(200);
    expect(r.body.user.email).toBe("login@example.com");
    expect(r.body.csrfToken).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    const me = await c.req("GET", "/api/v1/session");
    expect(me.status).toBe(200);
    expect(me.body.user.email).toBe("login@example.com");
    expect(me.body.csrfToken).toBe(r.body.csrfToken);
  });

  it("refuses a wrong password with 401 and no cookie", async () => {
    const r = await new ApiClient(srv.url).login("login@example.com", "wrong-password-123");
    expect(r.status).toBe(401);
    expect(r.body.error).toEqual({ code: "unauthorized", message: "invalid email or password" });
    expect(r.headers.get("set-cookie")).toBeNull();
  });

  it("answers an unknown email exactly like a wrong password", async () => {
    const r = await new ApiClient(srv.url).login("nobody@example.com");
    expect(r.status).toBe(401);
    expect(r.body.error).toEqual({ code: "unauthorized", message: "invalid email or password" });
  });

  it("gives each sign-in its own session and CSRF token", async () => {
    const a = new ApiClient(srv.url);
    const b = new ApiClient(srv.url);
    const ra = await a.login("login@example.com");
    const rb = await b.login("login@example.com");
    expect(a.cookie).not.toBe(b.cookie);
    expect(ra.body.csrfToken).not.toBe(rb.body.csrfToken);
  });

  it("records the sign-in in the audit log with the caller's IP", async () => {
    const ev = await srv.cp.services.db.auditEvent.findFirst({
      where: { action: "user.login", actorEmail: "login@example.com" },
      orderBy: { createdAt: "desc" },
    });
    expect(ev?.ip).toMatch(/127\.0\.0\.1/);
  });
});

describe("session cookie", () => {
  it("is HttpOnly, SameSite=Lax, path /, 30 days, and not Secure over plain HTTP", async () => {
    const c = new ApiClient(srv.url);
    const r = await c.signUp("cookie@example.com");
    const { name, value, attributes } = parseSetCookie(r.headers.get("set-cookie"));
    expect(name).toBe("berth_session");
    expect(value).toMatch(/^bs_[A-Za-z0-9_-]{43}$/);
    expect(attributes.has("httponly")).toBe(true);
    expect(attributes.get("samesite")).toBe("Lax");
    expect(attributes.get("path")).toBe("/");
    expect(Number(attributes.get("max-age"))).toBe(30 * 24 * 3600);
    expect(attributes.has("secure")).toBe(false);
  });

  it("is stored only as a hash", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("hashed-session@example.com");
    const token = c.cookie.split("=")[1] ?? "";
    const row = await srv.cp.services.db.session.findFirst({
      where: { user: { email: "hashed-session@example.com" } },
    });
    expect(row?.tokenHash).toBe(hashToken(token));
    expect(JSON.stringify(row)).not.toContain(token);
  });

  it("is not accepted when forged or tampered with", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("tamper@example.com");
    const flipped = `${c.cookie.slice(0, -1)}${c.cookie.endsWith("A") ? "B" : "A"}`;
    for (const cookie of [
      `${c.cookie}x`,
      flipped,
      "berth_session=bs_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
      "berth_session=",
    ]) {
      const forged = Object.assign(new ApiClient(srv.url), { cookie });
      const r = await forged.req("GET", "/api/v1/session");
      expect(r.status, cookie).toBe(401);
    }
  });

  it("expires server-side", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("expiry@example.com");
    expect((await c.req("GET", "/api/v1/session")).status).toBe(200);
    await srv.cp.services.db.session.updateMany({
      where: { user: { email: "expiry@example.com" } },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await c.req("GET", "/api/v1/session")).status).toBe(401);
  });
});

describe("GET /api/v1/session", () => {
  it("is 401 without credentials", async () => {
    const r = await new ApiClient(srv.url).req("GET", "/api/v1/session");
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });

  it("reports a token caller without a CSRF token", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("session-token@example.com");
    const t = await c.tokenClient();
    const r = await t.req("GET", "/api/v1/session");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ via: "token", csrfToken: null, user: { email: "session-token@example.com" } });
  });
});

describe("sign-out", () => {
  it("ends the session: the old cookie is refused afterwards, other sessions live on", async () => {
    const c = new ApiClient(srv.url);
    await c.signUp("logout@example.com");
    const other = new ApiClient(srv.url);
    await other.login("logout@example.com");
    const oldCookie = c.cookie;

    const r = await c.req("POST", "/api/v1/auth/logout");
    expect(r.status).toBe(204);
    const cleared = parseSetCookie(r.headers.get("set-cookie"));
    expect(cleared.name).toBe("berth_session");
    expect(cleared.value).toBe("");
    expect(Number(cleared.attributes.get("max-age"))).toBe(0);

    const replay = Object.assign(new ApiClient(srv.url), { cookie: oldCookie });
    expect((await replay.req("GET", "/api/v1/session")).status).toBe(401);
    expect((await other.req("GET", "/api/v1/session")).status).toBe(200);
  });

  it("is harmless without a session", async () => {
    expect((await new ApiClient(srv.url).req("POST", "/api/v1/auth/logout")).status).toBe(204);
  });
});

describe("bootstrap admin, closed sign-up, HTTPS", () => {
  let locked: TestServer;
  beforeAll(async () => {
    locked = await startTestServer({
      BERTH_ADMIN_EMAIL: "Root@Example.com",
      BERTH_ADMIN_PASSWORD: "root-password-123",
      BERTH_SIGNUP: "closed",
      BERTH_PUBLIC_URL: "https://berth.example.com",
    });
  });
  afterAll(async () => locked.close());

  it("creates the configured admin with a personal team at start", async () => {
    const c = new ApiClient(locked.url);
    const r = await c.login("root@example.com", "root-password-123");
    expect(r.status).toBe(200);
    expect(r.body.user.isAdmin).toBe(true);
    const teams = await c.req("GET", "/api/v1/teams");
    // "root" is a reserved name, so the personal team steps aside to the next free valid one.
    expect(teams.body).toEqual([expect.objectContaining({ name: "root-2", personal: true, role: "owner" })]);
  });

  it("marks the cookie Secure when the public URL is HTTPS", async () => {
    const r = await new ApiClient(locked.url).login("root@example.com", "root-password-123");
    expect(parseSetCookie(r.headers.get("set-cookie")).attributes.has("secure")).toBe(true);
  });

  it("refuses sign-up when closed, and creates nothing", async () => {
    const r = await new ApiClient(locked.url).req("POST", "/api/v1/auth/signup", {
      email: "late@example.com",
      password: PASSWORD,
    });
    expect(r.status).toBe(403);
    expect(r.body.error.code).toBe("forbidden");
    expect(await locked.cp.services.db.user.count()).toBe(1);
  });
});
