// Custom domains: hostname rules, one app per (verified) hostname across the whole instance, admin-only changes,
// audit. Ownership proofs themselves (pending claims, TXT records, routing) are in test/security/domain-ownership.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { TestDns } from "../helpers/dns.ts";

let srv: TestServer;
let owner: ApiClient;
let admin: ApiClient;
let member: ApiClient;
let viewer: ApiClient;
let other: ApiClient;
let dns: TestDns;
/** TXT records published so far (the DNS server serves all of them). */
const records: Record<string, string[]> = {};

const path = "/api/v1/apps/dom-app/domains";
const db = () => srv.cp.services.db;
const hostnames = async () => (await db().domain.findMany({ orderBy: { hostname: "asc" } })).map((d) => d.hostname);

/** Proves control of `hostname` for `app` the way its owner would: publish the claim's TXT record, then verify. */
async function verifyAs(c: ApiClient, app: string, hostname: string) {
  const claim = (await c.req<any[]>("GET", `/api/v1/apps/${app}/domains`)).body.find((d) => d.hostname === hostname);
  expect(claim, `${hostname} claimed by ${app}`).toBeTruthy();
  records[claim.verification.name] = [...(records[claim.verification.name] ?? []), claim.verification.value];
  await dns.setTxt(records);
  return c.req<any>("POST", `/api/v1/apps/${app}/domains/${hostname}/verify`);
}

beforeAll(async () => {
  dns = await TestDns.start();
  // The platform serves apps under apps.example.test (and its dashboard at berth.example.test).
  srv = await startTestServer({
    BERTH_DOMAIN: "Apps.Example.Test",
    BERTH_PUBLIC_URL: "https://berth.example.test",
    BERTH_DNS_RESOLVER: dns.address,
  });
  owner = new ApiClient(srv.url);
  await owner.signUp("dom-owner@example.com");
  const users = { admin: "dom-admin@example.com", member: "dom-member@example.com", viewer: "dom-viewer@example.com" };
  admin = new ApiClient(srv.url);
  await admin.signUp(users.admin);
  member = new ApiClient(srv.url);
  await member.signUp(users.member);
  viewer = new ApiClient(srv.url);
  await viewer.signUp(users.viewer);
  other = new ApiClient(srv.url);
  await other.signUp("dom-other@example.com");
  expect((await owner.req("POST", "/api/v1/teams", { name: "domteam" })).status).toBe(201);
  for (const role of ["admin", "member", "viewer"] as const) {
    expect((await owner.req("POST", "/api/v1/teams/domteam/members", { email: users[role], role })).status).toBe(201);
  }
  expect((await owner.req("POST", "/api/v1/apps", { name: "dom-app", team: "domteam" })).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "dom-two", team: "domteam" })).status).toBe(201);
  // Another user's app in their own (personal) team.
  expect((await other.req("POST", "/api/v1/apps", { name: "other-app" })).status).toBe(201);
});
afterAll(async () => {
  await srv.close();
  await dns.stop();
});

describe("domains", () => {
  it("adds lower-cased hostnames, lists them sorted with the CNAME target, removes them", async () => {
    const r = await admin.req<any>("POST", path, { hostname: "WWW.Example.COM" });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ hostname: "www.example.com", cname: "dom-app.apps.example.test" });
    expect((await owner.req("POST", path, { hostname: "api.example.com." })).status).toBe(201);
    expect((await owner.req("POST", path, { hostname: "xn--bcher-kva.example" })).status).toBe(201);
    const list = await viewer.req<any[]>("GET", path);
    expect(list.status).toBe(200);
    expect(list.body.map((d) => d.hostname)).toEqual(["api.example.com", "www.example.com", "xn--bcher-kva.example"]);
    expect(typeof list.body[0].createdAt).toBe("string");
    const del = await admin.req("DELETE", `${path}/API.example.com`);
    expect(del.status).toBe(204);
    expect((await owner.req<any[]>("GET", path)).body.map((d) => d.hostname)).toEqual([
      "www.example.com",
      "xn--bcher-kva.example",
    ]);
    expect((await admin.req<any>("DELETE", `${path}/api.example.com`)).status).toBe(404);
  });

  it("accepts long but valid names: 63-character labels, 253 characters in all", async () => {
    const label63 = "a".repeat(63);
    const long = `${label63}.${label63}.${label63}.${"b".repeat(57)}.com`;
    expect(long.length).toBe(253);
    for (const hostname of [`${label63}.example.com`, long, "a-b.c-d.example", "1.2.3.example", "x.io"]) {
      const r = await owner.req<any>("POST", "/api/v1/apps/dom-two/domains", { hostname });
      expect(r.status, `${hostname}: ${JSON.stringify(r.body)}`).toBe(201);
    }
  });

  it("refuses every bad hostname with 422 and stores nothing", async () => {
    const before = await hostnames();
    const auditBefore = await db().auditEvent.count({ where: { action: "domain.add" } });
    for (const hostname of [
      "",
      " ",
      "example",
      "localhost",
      "app.localhost",
      "*.example.com",
      "www.*.example.com",
      "127.0.0.1",
      "10.0.0.1",
      "127.1",
      "::1",
      "[::1]",
      "2001:db8::1",
      "-bad.example.com",
      "bad-.example.com",
      "ba_d.example.com",
      "a..example.com",
      ".example.com",
      "example.com..",
      "www.example.com:8080",
      "http://www.example.com",
      "www.example.com/path",
      "user@example.com",
      "exa mple.com",
      "bücher.example",
      `${"a".repeat(64)}.example.com`,
      `${"a.".repeat(126)}com`,
      "example.123",
      // The platform's own namespace and address (BERTH_DOMAIN is compared case-insensitively).
      "apps.example.test",
      "dom-app.apps.example.test",
      "x.y.APPS.example.test",
      "berth.example.test",
    ]) {
      const r = await owner.req<any>("POST", path, { hostname });
      expect(r.status, `${JSON.stringify(hostname)}: ${JSON.stringify(r.body)}`).toBe(422);
      expect(r.body.error.code).toBe("validation_failed");
    }
    for (const body of [
      {},
      { hostname: 5 },
      { hostname: null },
      { hostname: ["a.com"] },
      { hostname: "a.com", extra: 1 },
      { hostname: "x".repeat(301) },
    ]) {
      const r = await owner.req<any>("POST", path, body);
      expect(r.status, JSON.stringify(body).slice(0, 80)).toBe(422);
    }
    expect(await hostnames()).toEqual(before);
    expect(await db().auditEvent.count({ where: { action: "domain.add" } })).toBe(auditBefore);
  });

  it("allows names outside the platform namespace that merely look alike", async () => {
    for (const hostname of ["myapps.example.test", "example.test", "apps.example.test.evil.com", "notlocalhost.com"]) {
      const r = await owner.req<any>("POST", "/api/v1/apps/dom-two/domains", { hostname });
      expect(r.status, `${hostname}: ${JSON.stringify(r.body)}`).toBe(201);
    }
  });

  it("gives a hostname to one app only, across teams, without naming the other app or team", async () => {
    expect((await other.req("POST", "/api/v1/apps/other-app/domains", { hostname: "shop.example.org" })).status).toBe(
      201,
    );
    // (Since issue 12 a claim holds a name only once verified: before that, other apps may claim it too.)
    expect((await verifyAs(other, "other-app", "shop.example.org")).status).toBe(200);
    expect((await verifyAs(admin, "dom-app", "www.example.com")).status).toBe(200);
    for (const hostname of ["shop.example.org", "SHOP.example.org", "shop.example.org."]) {
      const r = await owner.req<any>("POST", path, { hostname });
      expect(r.status).toBe(409);
      expect(r.body.error).toEqual({ code: "conflict", message: "shop.example.org already belongs to another app" });
      expect(JSON.stringify(r.body)).not.toMatch(/other-app|dom-other/);
    }
    // The same within one team: another app of the team has it.
    expect((await owner.req<any>("POST", "/api/v1/apps/dom-two/domains", { hostname: "www.example.com" })).status).toBe(
      409,
    );
    // Twice on the same app.
    const again = await owner.req<any>("POST", path, { hostname: "www.example.com" });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe("www.example.com is already a domain of dom-app");
    // Removing it from an app that does not have it is 404, and the owner keeps it.
    expect((await owner.req<any>("DELETE", `${path}/shop.example.org`)).status).toBe(404);
    expect(await db().domain.count({ where: { hostname: "shop.example.org" } })).toBe(1);
    // Once released, it can be added elsewhere.
    expect((await other.req("DELETE", "/api/v1/apps/other-app/domains/shop.example.org")).status).toBe(204);
    expect((await owner.req("POST", path, { hostname: "shop.example.org" })).status).toBe(201);
  });

  it("lets exactly one of two simultaneous verifications of one hostname win", async () => {
    // (Since issue 12 both adds succeed as pending claims; the name goes to one app when they are verified.)
    const [a, b] = await Promise.all([
      owner.req("POST", path, { hostname: "race.example.net" }),
      other.req("POST", "/api/v1/apps/other-app/domains", { hostname: "race.example.net" }),
    ]);
    expect([a.status, b.status]).toEqual([201, 201]);
    const name = "_berth-challenge.race.example.net";
    records[name] = [a.body.verification.value, b.body.verification.value];
    await dns.setTxt(records);
    const [va, vb] = await Promise.all([
      owner.req("POST", `${path}/race.example.net/verify`),
      other.req("POST", "/api/v1/apps/other-app/domains/race.example.net/verify"),
    ]);
    expect([va.status, vb.status].sort(), JSON.stringify([va.body, vb.body])).toEqual([200, 409]);
    expect(await db().domain.count({ where: { hostname: "race.example.net" } })).toBe(1);
    expect(await db().domain.count({ where: { hostname: "race.example.net", verifiedAt: { not: null } } })).toBe(1);
  });

  it("records domain.add and domain.remove", async () => {
    await owner.req("POST", path, { hostname: "audit.example.com" });
    await owner.req("DELETE", `${path}/audit.example.com`);
    const audit = await owner.req<any[]>("GET", "/api/v1/teams/domteam/audit?action=domain");
    const mine = audit.body.filter((e) => e.target === "audit.example.com").map((e) => [e.action, e.app, e.actor]);
    expect(mine).toEqual([
      ["domain.remove", "dom-app", "dom-owner@example.com"],
      ["domain.add", "dom-app", "dom-owner@example.com"],
    ]);
  });

  it("lets viewers and members read but not change domains (403); outsiders get 404", async () => {
    const before = await hostnames();
    for (const c of [viewer, member]) {
      expect((await c.req("GET", path)).status).toBe(200);
      const add = await c.req<any>("POST", path, { hostname: "nope.example.com" });
      expect(add.status).toBe(403);
      expect(add.body.error.code).toBe("forbidden");
      expect((await c.req("DELETE", `${path}/www.example.com`)).status).toBe(403);
    }
    for (const [method, body, suffix] of [
      ["GET", undefined, ""],
      ["POST", { hostname: "nope.example.com" }, ""],
      ["DELETE", undefined, "/www.example.com"],
    ] as const) {
      const r = await other.req<any>(method, path + suffix, body);
      expect(r.status, method).toBe(404);
      expect(r.body.error.message).toBe("app 'dom-app' not found");
    }
    expect(await hostnames()).toEqual(before);
  });

  it("removes an app's domains with the app", async () => {
    expect((await owner.req("POST", "/api/v1/apps", { name: "dom-gone", team: "domteam" })).status).toBe(201);
    expect((await owner.req("POST", "/api/v1/apps/dom-gone/domains", { hostname: "gone.example.com" })).status).toBe(
      201,
    );
    expect((await owner.req("DELETE", "/api/v1/apps/dom-gone")).status).toBe(204);
    expect(await db().domain.count({ where: { hostname: "gone.example.com" } })).toBe(0);
  });
});
