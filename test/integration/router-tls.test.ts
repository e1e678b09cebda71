// Real HAProxy with HTTPS on and the internal issuer (a local CA the router creates in its data dir): a custom domain
// is served over TLS with a certificate naming it (trusted through that CA, h2 negotiated), its plain HTTP is
// redirected while the ACME challenge path is not, localhost and unknown names get no certificate, a certificate
// added at run time keeps idle keep-alive connections (no reload), certificates are stored 0600, reused after a
// restart, renewed when due, and dropped with their route (a removed name gets no certificate and no redirect). Needs /usr/sbin/haproxy and /usr/bin/openssl, not root.
import fs from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import type { AccessLine, RouteEntry } from "../../server/router/haproxy-router.ts";
import { HaproxyRouter, type CertificateEvent } from "../../server/router/haproxy-router.ts";
import { haproxyPaths, ourHaproxyPids, workerPid } from "../../server/router/haproxy-process.ts";

const HAPROXY = "/usr/sbin/haproxy";
const SHOP = "shop.example.test";
const BLOG = "blog.example.test";

interface Upstream {
  addr: string;
  /** Requests that reached this instance. */
  hits: number;
  close(): Promise<void>;
}

/** A loopback app instance that answers with its name, the URL and the headers it saw. */
async function startUpstream(name: string): Promise<Upstream> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    addr: `127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    get hits() {
      return hits;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

let router: HaproxyRouter;
let dataDir: string;
let httpsPort: number;
let ups: Record<string, Upstream> = {};
const events: CertificateEvent[] = [];
const access: AccessLine[] = [];
const log = createLogger(process.env.ROUTER_TEST_LOG ?? "silent");

const shop = (): RouteEntry => ({
  app: "shop",
  hosts: [SHOP, "shop.localhost"],
  maintenance: false,
  upstreams: [ups.shop!.addr],
});
const blog = (): RouteEntry => ({ app: "blog", hosts: [BLOG], maintenance: false, upstreams: [ups.blog!.addr] });
const caRoot = () => fs.readFileSync(router.internalCaPath!);

function newRouter(over: Partial<ConstructorParameters<typeof HaproxyRouter>[0]> = {}): HaproxyRouter {
  const r = new HaproxyRouter({
    listenHost: "127.0.0.1",
    listenPort: 0,
    dataDir,
    log,
    https: { port: httpsPort, issuer: "internal" },
    ...over,
  });
  r.on("certificate", (e) => events.push(e));
  r.on("access", (line) => access.push(line));
  return r;
}

async function waitFor<T>(what: string, fn: () => T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const eventFor = (host: string, action: CertificateEvent["action"], after = 0) =>
  waitFor(`${action} certificate for ${host}`, () =>
    events.slice(after).find((e) => e.host === host && e.action === action),
  );

function httpGet(host: string, p = "/", agent: http.Agent | false = false, method = "GET") {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; socket: net.Socket }>(
    (resolve, reject) => {
      const req = http.request(
        { host: "127.0.0.1", port: router.port, path: p, method, headers: { host }, agent },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => (body += d));
          res.on("end", () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, socket: req.socket! }),
          );
        },
      );
      req.on("error", reject);
      req.end();
    },
  );
}

/** A TLS handshake with SNI `servername` (ALPN h2 and http/1.1), trusting only the router's local CA. */
function handshake(servername: string): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      host: "127.0.0.1",
      port: httpsPort,
      servername,
      ca: caRoot(),
      ALPNProtocols: ["h2", "http/1.1"],
    });
    s.once("secureConnect", () => resolve(s));
    s.once("error", reject);
  });
}

function httpsGet(servername: string, opts: { host?: string; agent?: https.Agent | false } = {}) {
  return new Promise<{ status: number; body: string; serial: string; socket: tls.TLSSocket }>((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: httpsPort,
        servername,
        path: "/",
        headers: { host: opts.host ?? servername },
        ca: caRoot(),
        agent: opts.agent ?? false,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const serial = socket.getPeerCertificate().serialNumber;
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, serial, socket }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

beforeAll(async () => {
  if (!fs.existsSync(HAPROXY)) throw new Error(`${HAPROXY} is missing: apt-get install -y haproxy`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-htls-"));
  httpsPort = await freeLoopbackPort();
  ups = { shop: await startUpstream("shop"), blog: await startUpstream("blog") };
  router = newRouter();
  await router.start();
  await router.apply([shop()]);
  await eventFor(SHOP, "issued");
});

afterAll(async () => {
  await router?.stop();
  await Promise.all(Object.values(ups).map((u) => u.close()));
  if (dataDir) {
    expect(ourHaproxyPids(haproxyPaths(dataDir).config)).toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

describe("router (HAProxy) with HTTPS and the internal issuer", () => {
  it("serves a custom domain over TLS with a certificate naming it, h2 negotiated", async () => {
    const s = await handshake(SHOP);
    expect(s.authorized).toBe(true);
    expect(s.alpnProtocol).toBe("h2");
    expect(s.getPeerCertificate().subjectaltname).toBe(`DNS:${SHOP}`);
    s.destroy();

    const session = http2.connect(`https://${SHOP}:${httpsPort}`, {
      ca: caRoot(),
      createConnection: () =>
        tls.connect({ host: "127.0.0.1", port: httpsPort, servername: SHOP, ca: caRoot(), ALPNProtocols: ["h2"] }),
    });
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = session.request({ ":path": "/h2", ":authority": SHOP });
        let status = 0;
        let body = "";
        req.on("response", (h) => (status = Number(h[":status"])));
        req.setEncoding("utf8");
        req.on("data", (d: string) => (body += d));
        req.on("end", () => resolve({ status, body }));
        req.on("error", reject);
        req.end();
      });
      expect(status).toBe(200);
      const seen = JSON.parse(body) as { name: string; url: string; headers: Record<string, string> };
      expect(seen.name).toBe("shop");
      expect(seen.headers["x-forwarded-proto"]).toBe("https");
      expect(seen.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      session.close();
    }
  });

  it("redirects plain HTTP of a host with a certificate (308), except the ACME challenge path; localhost stays HTTP", async () => {
    const hits = ups.shop!.hits;
    const r = await httpGet(SHOP, "/a/b?x=1&y=2");
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe(`https://${SHOP}:${httpsPort}/a/b?x=1&y=2`);
    const post = await httpGet(SHOP, "/form", false, "POST");
    expect(post.status).toBe(308);
    expect(post.headers.location).toBe(`https://${SHOP}:${httpsPort}/form`);
    // Redirected by HAProxy itself, before any instance sees the request.
    expect(ups.shop!.hits).toBe(hits);
    // The redirect is the app's request: its access line names the app (so it lands in the app's log).
    const line = await waitFor("the redirect's access line", () =>
      access.find((a) => a.path === "/a/b" && a.status === 308),
    );
    expect(line).toMatchObject({ app: "shop", host: SHOP });
    const challenge = await httpGet(SHOP, "/.well-known/acme-challenge/unknown-token");
    expect(challenge.status).not.toBe(308);
    const local = await httpGet("shop.localhost");
    expect(local.status).toBe(200);
    expect(local.headers.location).toBeUndefined();
    expect(JSON.parse(local.body).name).toBe("shop");
    expect(JSON.parse(local.body).headers["x-forwarded-proto"]).toBe("http");
  });

  it("gives no certificate to localhost or unknown names and refuses a Host other than the SNI name", async () => {
    const hits = ups.shop!.hits + ups.blog!.hits;
    for (const name of ["shop.localhost", "nope.example.test"]) await expect(handshake(name)).rejects.toThrow();
    expect(events.some((e) => e.host === "shop.localhost" || e.host === "nope.example.test")).toBe(false);
    const certs = path.join(haproxyPaths(dataDir).dir, "tls", "certs");
    expect(fs.readdirSync(certs).filter((f) => !f.startsWith(SHOP))).toEqual([]);
    // One certified name must not open a way to another app (shop.localhost is plain HTTP only).
    const misdirected = await httpsGet(SHOP, { host: "shop.localhost" });
    expect(misdirected.status).toBe(421);
    const unknown = await httpGet("nope.example.test");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toBe("no app at this address\n");
    expect(ups.shop!.hits + ups.blog!.hits).toBe(hits);
  });

  it("stores the key and certificate 0600 in a 0700 directory", () => {
    const file = path.join(haproxyPaths(dataDir).dir, "tls", "certs", `${SHOP}.pem`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(file)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(haproxyPaths(dataDir).dir, "tls", "ca", "root.key")).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(file, "utf8")).toMatch(/PRIVATE KEY/);
  });

  it("adds a new domain's certificate without a reload: idle keep-alive connections stay open", async () => {
    const worker = await workerPid(haproxyPaths(dataDir).admin);
    const plainAgent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const plain1 = await httpGet("shop.localhost", "/", plainAgent);
      const tls1 = await httpsGet(SHOP, { agent: tlsAgent });
      expect(tls1.status).toBe(200);
      const before = events.length;
      await router.apply([shop(), blog()]);
      await eventFor(BLOG, "issued", before);
      // Both connections were idle while the certificate went in; the same sockets serve the next requests.
      const plain2 = await httpGet("shop.localhost", "/", plainAgent);
      const tls2 = await httpsGet(SHOP, { agent: tlsAgent });
      expect(plain2.socket).toBe(plain1.socket);
      expect(tls2.socket).toBe(tls1.socket);
      expect(tls2.status).toBe(200);
      expect(await workerPid(haproxyPaths(dataDir).admin)).toBe(worker);
      expect(router.reloads).toBe(0);
      const b = await httpsGet(BLOG);
      expect(b.status).toBe(200);
      expect(JSON.parse(b.body).name).toBe("blog");
    } finally {
      plainAgent.destroy();
      tlsAgent.destroy();
    }
  });

  it("drops a certificate with its route", async () => {
    const before = events.length;
    await router.apply([shop()]);
    await eventFor(BLOG, "removed", before);
    await expect(handshake(BLOG)).rejects.toThrow();
    // No redirect any more: plain HTTP says no app (the name is not routed).
    const r = await httpGet(BLOG);
    expect(r.status).toBe(404);
    expect(r.headers.location).toBeUndefined();
    expect((await httpsGet(SHOP)).status).toBe(200);
  });

  it("reuses stored certificates after a restart and renews them when due", async () => {
    const served = (await httpsGet(SHOP)).serial;
    await router.stop();
    let before = events.length;
    router = newRouter();
    await router.start();
    // Served from the files before the first apply (HAProxy started from the crt-list it last had).
    expect((await httpsGet(SHOP)).serial).toBe(served);
    await router.apply([shop()]);
    await router.certificatesIdle();
    expect(events.slice(before).filter((e) => e.host === SHOP && e.action === "issued")).toEqual([]);
    expect((await httpsGet(SHOP)).serial).toBe(served);

    // A control plane that restarts while HAProxy keeps serving adopts its certificates as they are.
    const worker = await workerPid(haproxyPaths(dataDir).admin);
    await router.detach();
    before = events.length;
    router = newRouter();
    await router.start();
    await router.apply([shop()]);
    await router.certificatesIdle();
    expect(events.slice(before)).toEqual([]);
    expect(await workerPid(haproxyPaths(dataDir).admin)).toBe(worker);
    expect((await httpsGet(SHOP)).serial).toBe(served);

    // Every certificate counts as due when renewal starts a year before the end.
    await router.stop();
    before = events.length;
    router = newRouter({ tlsRenewBeforeMs: 365 * 24 * 3600_000 });
    await router.start();
    await router.apply([shop()]);
    const renewed = await eventFor(SHOP, "issued", before);
    expect(renewed.serial).not.toBe(served);
    expect((await httpsGet(SHOP)).serial.toUpperCase().replace(/^0+/, "")).toBe(renewed.serial);
    expect(router.reloads).toBe(0);
  });
});
