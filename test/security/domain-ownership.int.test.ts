// Finding 6 of issue 12: custom domains needed no proof of ownership. Anyone could claim a name first (the real
// owner then got 409) or take a name whose DNS already pointed at the router, and it was routed and got a certificate
// at once. Now a claim is pending until its team publishes the TXT record `_berth-challenge.HOST` with the claim's
// token; pending claims are not routed, get no certificate and block nobody. Real parts: the control plane with its
// scheduler and router (HAProxy, HTTPS from the control plane's internal CA), a real DNS server (dnsmasq) on loopback that the test
// starts itself, and BERTH_DNS_RESOLVER pointing at it.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { ApiClient } from "../helpers/client.ts";
import { TestDns } from "../helpers/dns.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";

const HOST = "shop.example.test";
const OTHER = "blog.example.test";
let srv: TestServer;
let dns: TestDns;
let httpsPort: number;
let owner: ApiClient;
let mallory: ApiClient;

const domainsOf = (c: ApiClient, app: string) => c.req<any[]>("GET", `/api/v1/apps/${app}/domains`);
const verify = (c: ApiClient, app: string, host: string) =>
  c.req<any>("POST", `/api/v1/apps/${app}/domains/${host}/verify`);

/** A plain-HTTP request to the router with `host` as Host header: status and body. */
function routerGet(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      { host: "127.0.0.1", port: srv.cp.services.config.routerPort, path: "/", headers: { host }, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
  });
}

/** An HTTPS request to the router's TLS listener for `host` (any certificate: only the routing is looked at). */
function httpsGet(host: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: "127.0.0.1",
        port: httpsPort,
        servername: host,
        headers: { host },
        path: "/",
        rejectUnauthorized: false,
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
  });
}

/** The names on the certificate the router's TLS listener presents for `servername`, or null (handshake refused). */
function certificateFor(servername: string): Promise<string | null> {
  return new Promise((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port: httpsPort, servername, rejectUnauthorized: false }, () => {
      const names = socket.getPeerCertificate().subjectaltname ?? "";
      socket.end();
      resolve(names);
    });
    socket.setTimeout(5000, () => socket.destroy());
    socket.on("error", () => resolve(null));
    socket.on("close", () => resolve(null));
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Waits until the router serves the routes of a scheduler pass that saw every change so far. */
async function routesSettled(): Promise<void> {
  const probe = `probe-${Date.now().toString(36)}`;
  expect((await owner.req("POST", "/api/v1/apps", { name: probe })).status).toBe(201);
  await until(`${probe} routed`, async () => (await routerGet(`${probe}.localhost`)).status === 503);
}

beforeAll(async () => {
  if (!fs.existsSync("/usr/sbin/haproxy")) throw new Error("/usr/sbin/haproxy is missing (apt-get install -y haproxy)");
  dns = await TestDns.start();
  httpsPort = await freeLoopbackPort();
  srv = await startTestServer(
    { BERTH_DNS_RESOLVER: dns.address, BERTH_HTTPS_PORT: String(httpsPort), BERTH_TLS_ISSUER: "internal" },
    { router: true },
  );
  owner = new ApiClient(srv.url);
  expect((await owner.signUp("shop-owner@example.com")).status).toBe(201);
  mallory = new ApiClient(srv.url);
  expect((await mallory.signUp("mallory@example.com")).status).toBe(201);
  expect((await owner.req("POST", "/api/v1/apps", { name: "shop-app" })).status).toBe(201);
  expect((await mallory.req("POST", "/api/v1/apps", { name: "squat-app" })).status).toBe(201);
}, 120_000);

afterAll(async () => {
  await srv?.close();
  await dns?.stop();
});

describe("a claim without proof", () => {
  let malloryToken = "";

  it("is pending, shows the TXT record to publish, and is neither routed nor given a certificate", async () => {
    const r = await mallory.req<any>("POST", "/api/v1/apps/squat-app/domains", { hostname: HOST });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    // The attack first: nothing may reach the claimant's app under the name, with or without TLS.
    await routesSettled();
    expect((await routerGet("squat-app.localhost")).status).toBe(503); // the app itself is routed...
    const taken = await routerGet(HOST);
    expect(taken.status, taken.body).toBe(404); // ...the claimed name is not (a routed TLS name would redirect: 308)
    for (let i = 0; i < 3; i++) {
      expect(await certificateFor(HOST)).toBeNull();
      await new Promise((r) => setTimeout(r, 500));
    }
    // What the claimant is told to do.
    expect(r.body).toMatchObject({
      hostname: HOST,
      status: "pending",
      verification: { type: "TXT", name: `_berth-challenge.${HOST}` },
      verifiedAt: null,
    });
    malloryToken = r.body.verification.value;
    expect(malloryToken).toMatch(/^berth-verify-[0-9a-f]{32}$/);
    // Expires in about a week.
    const ttl = Date.parse(r.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(6.9 * 24 * 3600e3);
    expect(ttl).toBeLessThanOrEqual(7 * 24 * 3600e3);
  });

  it("does not block the real owner from claiming the same name", async () => {
    const r = await owner.req<any>("POST", "/api/v1/apps/shop-app/domains", { hostname: HOST });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    expect(r.body.status).toBe("pending");
    expect(r.body.verification.value).not.toBe(malloryToken);
  });

  it("cannot be verified without the record, nor with the record of another claim", async () => {
    const none = await verify(mallory, "squat-app", HOST);
    expect(none.status).toBe(422);
    expect(none.body.error.message).toMatch(/no TXT record found at _berth-challenge\.shop\.example\.test/);
    // The owner of the name publishes their own claim's token (and an unrelated value).
    const ownerToken = (await domainsOf(owner, "shop-app")).body[0].verification.value as string;
    await dns.setTxt({ [`_berth-challenge.${HOST}`]: [ownerToken, "google-site-verification=x"] });
    const wrong = await verify(mallory, "squat-app", HOST);
    expect(wrong.status).toBe(422);
    expect(wrong.body.error.message).toMatch(/do not include/);
    expect((await domainsOf(mallory, "squat-app")).body[0].status).toBe("pending");
  });

  it("is refused while DNS is unreachable (503), and nothing changes", async () => {
    await dns.stop();
    const r = await verify(owner, "shop-app", HOST);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe("unavailable");
    expect((await domainsOf(owner, "shop-app")).body[0].status).toBe("pending");
  });
});

describe("the owner's proof", () => {
  it("verifies the owner's claim, routes the name to the owner's app, drops the other claims", async () => {
    const ownerToken = (await domainsOf(owner, "shop-app")).body[0].verification.value as string;
    await dns.setTxt({ [`_berth-challenge.${HOST}`]: [ownerToken] });
    const r = await verify(owner, "shop-app", HOST);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ hostname: HOST, status: "verified", expiresAt: null });
    expect(typeof r.body.verifiedAt).toBe("string");
    expect((await verify(owner, "shop-app", HOST)).status).toBe(200); // idempotent
    expect((await domainsOf(mallory, "squat-app")).body).toEqual([]);
    const audit = await mallory.req<any[]>("GET", "/api/v1/apps/squat-app/activity");
    expect(JSON.stringify(audit.body)).not.toMatch(/shop-owner|shop-app/);

    // Routed with HTTPS: plain HTTP redirects to https://, where the owner's app answers (no instances: 503).
    await until("the name routed", async () => (await routerGet(HOST)).status === 308);
    const names = await until(
      "a certificate for the verified name",
      async () => (await certificateFor(HOST)) ?? undefined,
      60_000,
    );
    const page = await httpsGet(HOST);
    expect(page.status).toBe(503);
    expect(page.body).toContain("shop-app");
    expect(page.body).not.toContain("squat-app");
    expect(names).toContain(`DNS:${HOST}`);
  });

  it("makes the name unavailable to everyone else (409, the holder not named)", async () => {
    const r = await mallory.req<any>("POST", "/api/v1/apps/squat-app/domains", { hostname: HOST });
    expect(r.status).toBe(409);
    expect(r.body.error.message).toBe(`${HOST} already belongs to another app`);
  });

  it("still gives no certificate to a pending name once certificates are being issued", async () => {
    expect((await mallory.req("POST", "/api/v1/apps/squat-app/domains", { hostname: OTHER })).status).toBe(201);
    await routesSettled();
    expect((await routerGet(OTHER)).status).toBe(404);
    expect(await certificateFor(OTHER)).toBeNull();
  });
});

describe("pending claims lapse", () => {
  it("after their expiry: gone from the list, not verifiable, free for another app, pruned", async () => {
    const late = "late.example.test";
    const r = await mallory.req<any>("POST", "/api/v1/apps/squat-app/domains", { hostname: late });
    expect(r.status).toBe(201);
    await srv.cp.services.db.domain.updateMany({
      where: { hostname: late },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    expect((await domainsOf(mallory, "squat-app")).body.map((d) => d.hostname)).not.toContain(late);
    await dns.setTxt({ [`_berth-challenge.${late}`]: [r.body.verification.value] });
    expect((await verify(mallory, "squat-app", late)).status).toBe(404);
    // Adding it again (same app or another) makes a fresh claim.
    expect((await owner.req("POST", "/api/v1/apps/shop-app/domains", { hostname: late })).status).toBe(201);
    expect((await mallory.req("POST", "/api/v1/apps/squat-app/domains", { hostname: late })).status).toBe(201);
    await srv.cp.services.db.domain.updateMany({
      where: { hostname: late },
      data: { expiresAt: new Date(Date.now() - 1000) },
    });
    const { pruneExpiredDomainClaims } = await import("../../server/domains/domains.ts");
    expect(await pruneExpiredDomainClaims(srv.cp.services)).toBe(2);
    expect(await srv.cp.services.db.domain.count({ where: { hostname: late } })).toBe(0);
  });
});
