// Finding 5 of issue 12: the sign-in limits could be raced. 120 wrong passwords sent at once against an account
// limit of 20 all reached the password check (the failures were counted only after it). Each attempt is now counted
// atomically before its password is verified, so at most the limit can be checked, however many arrive at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";

const PASSWORD = "correct-horse-battery";
const LIMIT = 20;
const PARALLEL = 120;

function login(url: string, email: string, password: string) {
  return new ApiClient(url).req<any>("POST", "/api/v1/auth/login", { email, password });
}

function tally(statuses: number[]) {
  const t: Record<number, number> = {};
  for (const s of statuses) t[s] = (t[s] ?? 0) + 1;
  return t;
}

describe("per-account limit under a burst of parallel guesses", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ BERTH_LOGIN_ACCOUNT_LIMIT: String(LIMIT), BERTH_LOGIN_IP_LIMIT: "10000" });
    expect((await new ApiClient(srv.url).signUp("race-victim@example.com", PASSWORD)).status).toBe(201);
  });
  afterAll(async () => srv.close());

  it(`lets at most ${LIMIT} of ${PARALLEL} simultaneous wrong passwords be checked, then refuses the right one`, async () => {
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => login(srv.url, "race-victim@example.com", `wrong-guess-${i}`)),
    );
    const t = tally(results.map((r) => r.status));
    // 401 = the password was verified (and was wrong); 429 = refused before verification.
    expect(Object.keys(t).sort(), JSON.stringify(t)).toEqual(["401", "429"]);
    expect(t[401], JSON.stringify(t)).toBe(LIMIT);
    expect(t[429]).toBe(PARALLEL - LIMIT);
    expect(await srv.cp.services.db.loginFailure.count({ where: { email: "race-victim@example.com" } })).toBe(LIMIT);

    const right = await login(srv.url, "race-victim@example.com", PASSWORD);
    expect(right.status).toBe(429);
    expect(right.body.error.code).toBe("rate_limited");
    expect(right.headers.get("set-cookie")).toBeNull();
  }, 300_000);
});

describe("per-IP limit under a burst of parallel guesses across many emails", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startTestServer({ BERTH_LOGIN_ACCOUNT_LIMIT: "10000", BERTH_LOGIN_IP_LIMIT: String(LIMIT) });
    expect((await new ApiClient(srv.url).signUp("race-real@example.com", PASSWORD)).status).toBe(201);
  });
  afterAll(async () => srv.close());

  it(`lets at most ${LIMIT} of ${PARALLEL} simultaneous guesses from one IP be checked`, async () => {
    const results = await Promise.all(
      Array.from({ length: PARALLEL }, (_, i) => login(srv.url, `spray-${i}@example.com`, "guess-password-1")),
    );
    const t = tally(results.map((r) => r.status));
    expect(t[401], JSON.stringify(t)).toBe(LIMIT);
    expect(t[429]).toBe(PARALLEL - LIMIT);
    expect((await login(srv.url, "race-real@example.com", PASSWORD)).status).toBe(429);
  }, 300_000);
});
