// API tokens: shown once, stored hashed, used as Bearer, revocable with immediate effect, expiring.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { hashToken } from "../../server/auth/secrets.ts";

let srv: TestServer;
let owner: ApiClient;
let other: ApiClient;

beforeAll(async () => {
  srv = await startTestServer();
  owner = new ApiClient(srv.url);
  other = new ApiClient(srv.url);
  expect((await owner.signUp("token-owner@example.com")).status).toBe(201);
  expect((await other.signUp("token-other@example.com")).status).toBe(201);
});
afterAll(async () => srv.close());

function bearer(token: string): ApiClient {
  return Object.assign(new ApiClient(srv.url), { token });
}

async function create(client: ApiClient, body: Record<string, unknown>) {
  const r = await client.req("POST", "/api/v1/tokens", body);
  expect(r.status).toBe(201);
  return r.body as {
    id: string;
    token: string;
    name: string;
    prefix: string;
    expiresAt: string | null;
    revokedAt: string | null;
  };
}

describe("creating and listing", () => {
  it("shows the secret once; the list never shows it", async () => {
    const t = await create(owner, { name: "laptop cli" });
    expect(t.token).toMatch(/^berth_[A-Za-z0-9_-]{43}$/);
    expect(t).toMatchObject({ name: "laptop cli", prefix: t.token.slice(0, 12), expiresAt: null, revokedAt: null });

    const list = await owner.req("GET", "/api/v1/tokens");
    expect(list.status).toBe(200);
    const listed = list.body.find((x: { id: string }) => x.id === t.id);
    expect(listed).toBeDefined();
    expect(Object.keys(listed).sort()).toEqual([
      "createdAt",
      "expiresAt",
      "id",
      "lastUsedAt",
      "name",
      "prefix",
      "revokedAt",
    ]);
    const text = JSON.stringify(list.body);
    expect(text).not.toContain(t.token);
    expect(text).not.toContain(t.token.slice(12));
  });

  it("stores only the SHA-256 of the secret", async () => {
    const t = await create(owner, { name: "hashed" });
    const row = await srv.cp.services.db.apiToken.findUnique({ where: { id: t.id } });
    expect(row?.tokenHash).toBe(hashToken(t.token));
    expect(JSON.stringify(row)).not.toContain(t.token.slice(12));
  });

  it("lists only the caller's own tokens", async () => {
    const mine = await create(owner, { name: "mine" });
    const list = await other.req("GET", "/api/v1/tokens");
    expect(list.body.map((x: { id: string }) => x.id)).not.toContain(mine.id);
  });

  it("sets an expiry when asked", async () => {
    const t = await create(owner, { name: "short lived", expiresInDays: 2 });
    const ms = new Date(t.expiresAt ?? 0).getTime() - Date.now();
    expect(ms).toBeGreaterThan(2 * 86400_000 - 60_000);
    expect(ms).toBeLessThanOrEqual(2 * 86400_000);
  });

  it.each([
    ["an empty name", { name: "" }],
    ["a name with a newline", { name: "a\nb" }],
    ["a 61-char name", { name: "x".repeat(61) }],
    ["zero days", { name: "x", expiresInDays: 0 }],
    ["fractional days", { name: "x", expiresInDays: 1.5 }],
    ["more than ten years", { name: "x", expiresInDays: 3651 }],
    ["a caller-chosen secret", { name: "x", token: "berth_chosen" }],
  ])("rejects %s with 422", async (_label, body) => {
    const before = (await owner.req("GET", "/api/v1/tokens")).body.length;
    const r = await owner.req("POST", "/api/v1/tokens", body);
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe("validation_failed");
    expect((await owner.req("GET", "/api/v1/tokens")).body).toHaveLength(before);
  });
});

describe("using a token", () => {
  it("authenticates as its user via Authorization: Bearer and records last use", async () => {
    const t = await create(owner, { name: "bearer" });
    const r = await bearer(t.token).req("GET", "/api/v1/session");
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ via: "token", csrfToken: null, user: { email: "token-owner@example.com" } });
    const listed = (await owner.req("GET", "/api/v1/tokens")).body.find((x: { id: string }) => x.id === t.id);
    expect(listed.lastUsedAt).not.toBeNull();
  });

  it("accepts the scheme in any case", async () => {
    const t = await create(owner, { name: "scheme" });
    const r = await new ApiClient(srv.url).req("GET", "/api/v1/session", undefined, {
      authorization: `bearer ${t.token}`,
    });
    expect(r.status).toBe(200);
  });

  it.each([
    ["garbage", "Bearer nope"],
    ["an unknown well-formed token", `Bearer berth_${"A".repeat(43)}`],
    ["a session-kind token", `Bearer bs_${"A".repeat(43)}`],
    ["Basic auth", `Basic ${Buffer.from("x:y").toString("base64")}`],
    ["an empty Bearer", "Bearer "],
  ])("refuses %s with 401", async (_label, authorization) => {
    const r = await new ApiClient(srv.url).req("GET", "/api/v1/apps", undefined, { authorization });
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });

  it("does not fall back to the session cookie when the bearer token is bad", async () => {
    const c = Object.assign(new ApiClient(srv.url), { cookie: owner.cookie, token: `berth_${"B".repeat(43)}` });
    expect((await c.req("GET", "/api/v1/session")).status).toBe(401);
  });
});

describe("revoking", () => {
  it("takes effect on the very next request", async () => {
    const t = await create(owner, { name: "to revoke" });
    const client = bearer(t.token);
    expect((await client.req("GET", "/api/v1/apps")).status).toBe(200);

    const r = await owner.req("DELETE", `/api/v1/tokens/${t.id}`);
    expect(r.status).toBe(200);
    expect(r.body.id).toBe(t.id);
    expect(r.body.revokedAt).not.toBeNull();
    expect(r.body.token).toBeUndefined();

    const after = await client.req("GET", "/api/v1/apps");
    expect(after.status).toBe(401);
    expect(after.body.error).toEqual({ code: "unauthorized", message: "invalid, expired or revoked token" });
    expect((await client.req("POST", "/api/v1/apps", { name: "after-revoke" })).status).toBe(401);
  });

  it("works with the token itself, and it is dead right after", async () => {
    const t = await create(owner, { name: "self revoke" });
    const client = bearer(t.token);
    expect((await client.req("DELETE", `/api/v1/tokens/${t.id}`)).status).toBe(200);
    expect((await client.req("GET", "/api/v1/session")).status).toBe(401);
  });

  it("keeps the revoked token listed with its revocation time", async () => {
    const t = await create(owner, { name: "listed revoked" });
    await owner.req("DELETE", `/api/v1/tokens/${t.id}`);
    const listed = (await owner.req("GET", "/api/v1/tokens")).body.find((x: { id: string }) => x.id === t.id);
    expect(listed.revokedAt).not.toBeNull();
  });

  it("answers another user's token id with 404 and leaves that token working", async () => {
    const t = await create(owner, { name: "not yours" });
    const r = await other.req("DELETE", `/api/v1/tokens/${t.id}`);
    expect(r.status).toBe(404);
    expect(r.body.error.code).toBe("not_found");
    expect((await bearer(t.token).req("GET", "/api/v1/session")).status).toBe(200);
  });

  it("answers an unknown id with 404 and a malformed id with 422", async () => {
    expect((await owner.req("DELETE", "/api/v1/tokens/cmaaaaaaaaaaaaaaaaaaaaaaa")).status).toBe(404);
    expect((await owner.req("DELETE", "/api/v1/tokens/..%2F..%2Fetc")).status).toBe(422);
  });

  it("is recorded in the audit trail", async () => {
    const t = await create(owner, { name: "audited" });
    await owner.req("DELETE", `/api/v1/tokens/${t.id}`);
    const ev = await srv.cp.services.db.auditEvent.findFirst({
      where: { action: "token.revoke", data: { contains: t.id } },
    });
    expect(ev).toMatchObject({ actorEmail: "token-owner@example.com", target: "audited" });
  });
});

describe("expiry", () => {
  it("rejects a token once its expiry has passed", async () => {
    const t = await create(owner, { name: "expiring", expiresInDays: 1 });
    const client = bearer(t.token);
    expect((await client.req("GET", "/api/v1/session")).status).toBe(200);
    await srv.cp.services.db.apiToken.update({ where: { id: t.id }, data: { expiresAt: new Date(Date.now() - 1000) } });
    const r = await client.req("GET", "/api/v1/session");
    expect(r.status).toBe(401);
    expect(r.body.error.code).toBe("unauthorized");
  });
});
