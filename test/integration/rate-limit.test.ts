// Failed-login limits: 100 per account per hour (default), and a per-IP limit (BERTH_LOGIN_IP_LIMIT).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

const PASSWORD = "correct-horse-battery";

async function login(url: string, email: string, password: string) {
  return new ApiClient(url).req("POST", "/api/v1/auth/login", { email, password });
}

describe("per-account limit (default configuration)", () => {
  let srv: TestServer;
  let victimSession: ApiClient;
  beforeAll(async () => {
    srv = await startTestServer();
    victimSession = new ApiClient(srv.url);
    expect((await victimSession.signUp("victim@example.com", PASSWORD)).status).toBe(201);
    expect((await new ApiClient(srv.url).signUp("bystander@example.com", PASSWORD)).status).toBe(201);
  });
  afterAll(async () => srv.close());

  it("allows 100 failed attempts, then refuses the 101st with 429 even with the right password", async () => {
    // In batches, so the scrypt work overlaps without flooding the thread pool.
    for (let batch = 0; batch < 10; batch++) {
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) => login(srv.url, "victim@example.com", `wrong-password-${batch}-${i}`)),
      );
      expect(results.map((r) => r.status)).toEqual(Array(10).fill(401));
    }
    expect(await srv.cp.services.db.loginFailure.count({ where: { email: "victim@example.com" } })).toBe(100);

    const r = await login(srv.url, "victim@example.com", PASSWORD);
    expect(r.status).toBe(429);
    expect(r.body.error.code).toBe("rate_limited");
    expect(r.body.error.message).toMatch(/too many/);
    expect(r.headers.get("set-cookie")).toBeNull();
  }, 300_000); // ~100 scrypt verifications: seconds on an idle machine, much longer on a loaded 2-core CI box

  it("cannot be sidestepped by changing the email's case", async () => {
    expect((await login(srv.url, "VICTIM@Example.com", PASSWORD)).status).toBe(429);
  });

  it("keeps refusing while the limit holds, without counting more failures", async () => {
    expect((await login(srv.url, "victim@example.com", "wrong-again-1")).status).toBe(429);
    expect(await srv.cp.services.db.loginFailure.count({ where: { email: "victim@example.com" } })).toBe(100);
  });

  it("does not lock out other accounts from the same IP", async () => {
    expect((await login(srv.url, "bystander@example.com", PASSWORD)).status).toBe(200);
  });

  it("does not end the locked account's existing session (the limit guards password guessing only)", async () => {
    const r = await victimSession.req("GET", "/api/v1/session");
    expect(r.status).toBe(200);
    expect(r.body.user.email).toBe("victim@example.com");
  });

  it("lets the account sign in again once the failures are an hour old", async () => {
    await srv.cp.services.db.loginFailure.updateMany({
      where: { email: "victim@example.com" },
      data: { createdAt: new Date(Date.now() - 61 * 60 * 1000) },
    });
    expect((await login(srv.url, "victim@example.com", PASSWORD)).status).toBe(200);
  });
});

describe("per-IP limit", () => {
  let srv: TestServer;
  let realSession: ApiClient;
  beforeAll(async () => {
    srv = await startTestServer({ BERTH_LOGIN_IP_LIMIT: "5" });
    realSession = new ApiClient(srv.url);
    expect((await realSession.signUp("real@example.com", PASSWORD)).status).toBe(201);
  });
  afterAll(async () => srv.close());

  it("refuses every sign-in from an IP after its limit of failures across different emails", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await login(srv.url, `spray-${i}@example.com`, "guess-password-1");
      expect(r.status, `attempt ${i + 1}`).toBe(401);
    }
    const blocked = await login(srv.url, "real@example.com", PASSWORD);
    expect(blocked.status).toBe(429);
    expect(blocked.body.error.code).toBe("rate_limited");
    expect((await login(srv.url, "spray-new@example.com", "guess-password-1")).status).toBe(429);
  });

  it("does not block authenticated API use from that IP", async () => {
    expect((await realSession.req("GET", "/api/v1/session")).status).toBe(200);
    expect((await realSession.req("POST", "/api/v1/apps", { name: "still-works" })).status).toBe(201);
  });
});
