// Real Caddy with HTTPS on, certificates from Caddy's internal CA (never a real ACME CA: this machine only talks to
// loopback): a custom domain is served over TLS and redirected from plain HTTP, localhost names stay plain HTTP,
// unknown names get no app, certificates live in (and are reused from) the data dir. Needs /usr/bin/caddy, not root.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { Router, type AccessLine, type RouteEntry } from "../../server/router/router.ts";

const CADDY = "/usr/bin/caddy";
const SHOP = "shop.example.test";

interface Upstream {
  addr: string;
  hits: number;
  close(): Promise<void>;
}

/** A loopback app instance that answers with its name and the headers it saw. */
async function startUpstream(name: string): Promise<Upstream> {
  const up: Upstream = { addr: "", hits: 0, close: async () => {} };
  const server = http.createServer((req, res) => {
    up.hits++;
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ name, url: req.url, headers: req.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  up.addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return up;
}

interface Res {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

interface TlsRes extends Res {
  cert: tls.DetailedPeerCertificate;
  authorized: boolean;
}

let router: Router;
let dataDir: string;
let httpsPort: number;
const ups: Record<string, Upstream> = {};
const access: AccessLine[] = [];

/** Caddy keeps its storage under XDG_DATA_HOME, which CaddyProcess points into the data dir. */
const caRootPath = () => path.join(dataDir, "caddy", "data", "caddy", "pki", "authorities", "local", "root.crt");

function readBody(res: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let body = "";
    res.setEncoding("utf8");
    res.on("data", (d: string) => (body += d));
    res.on("end", () => resolve(body));
    res.on("error", reject);
  });
}

function httpRequest(host: string, opts: { method?: string; path?: string } = {}): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: router.port,
        method: opts.method ?? "GET",
        path: opts.path ?? "/",
        headers: { host },
        agent: false,
      },
      (res) => void readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body })),
    );
    req.on("error", reject);
    req.end();
  });
}

/** HTTPS to the router's TLS port with SNI `servername`, trusting only the root of Caddy's local CA. */
function httpsRequest(servername: string, opts: { host?: string; path?: string; port?: number } = {}): Promise<TlsRes> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: opts.port ?? httpsPort,
        servername,
        path: opts.path ?? "/",
        headers: { host: opts.host ?? servername },
        ca: fs.readFileSync(caRootPath()),
        agent: false,
      },
      (res) => {
        const socket = res.socket as tls.TLSSocket;
        const cert = socket.getPeerCertificate(true);
        const authorized = socket.authorized;
        void readBody(res).then((body) =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cert, authorized }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Caddy obtains certificates in the background after a load; the first handshakes may fail until it has one. */
function waitForCertificate(servername: string, port = httpsPort): Promise<TlsRes> {
  return waitFor(`a certificate for ${servername}`, () =>
    fs.existsSync(caRootPath())
      ? httpsRequest(servername, { port }).catch(() => undefined)
      : Promise.resolve(undefined),
  );
}

const shop = (): RouteEntry => ({
  app: "shop",
  hosts: ["shop.localhost", SHOP],
  maintenance: false,
  upstreams: [ups.shop!.addr],
});
const local = (): RouteEntry => ({ app: "x", hosts: ["x.localhost"], maintenance: false, upstreams: [ups.x!.addr] });

beforeAll(async () => {
  if (!fs.existsSync(CADDY)) {
    throw new Error(`${CADDY} is missing: the router tests need Caddy (apt-get install -y caddy)`);
  }
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-tls-"));
  for (const name of ["shop", "x"]) ups[name] = await startUpstream(name);
  httpsPort = await freeLoopbackPort();
  router = new Router({
    listenHost: "127.0.0.1",
    listenPort: 0,
    dataDir,
    log: createLogger(process.env.ROUTER_TEST_LOG ?? "silent"),
    https: { port: httpsPort, issuer: "internal" },
  });
  router.on("access", (line) => access.push(line));
  await router.start();
  await router.apply([shop(), local()]);
  await waitForCertificate(SHOP);
});

afterAll(async () => {
  await router?.stop();
  await Promise.all(Object.values(ups).map((u) => u.close()));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("router with HTTPS (Caddy internal CA)", () => {
  it("serves a custom domain over TLS with a certificate for that name from the local CA in our data dir", async () => {
    expect(router.httpsPort).toBe(httpsPort);
    const r = await httpsRequest(SHOP, { path: "/cart?id=1" });
    expect(r.status).toBe(200);
    expect(r.authorized).toBe(true); // verified against root.crt alone, so the chain ends at Caddy's local CA
    expect(r.cert.subjectaltname).toBe(`DNS:${SHOP}`);
    expect(r.cert.issuer.CN).toMatch(/^Caddy Local Authority/);
    const root = new X509Certificate(fs.readFileSync(caRootPath()));
    expect(root.subject).toMatch(/Caddy Local Authority/);
    expect(new X509Certificate(r.cert.issuerCertificate.raw).verify(root.publicKey)).toBe(true);
    const seen = JSON.parse(r.body);
    expect(seen).toMatchObject({ name: "shop", url: "/cart?id=1" });
    expect(seen.headers["x-forwarded-proto"]).toBe("https");
    const id = r.headers["x-request-id"];
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    // The TLS server logs under the same access logger, so HTTPS requests show up as access lines too.
    const line = await waitFor("access line", async () => access.find((l) => l.requestId === id));
    expect(line).toMatchObject({ app: "shop", host: SHOP, path: "/cart", status: 200 });
  });

  it("redirects plain HTTP for the custom domain to HTTPS on the TLS port, before any instance sees it", async () => {
    const hits = ups.shop!.hits;
    for (const method of ["GET", "POST"]) {
      const r = await httpRequest(SHOP, { method, path: "/path/to?q=1" });
      expect(r.status).toBe(308);
      expect(r.headers.location).toBe(`https://${SHOP}:${httpsPort}/path/to?q=1`);
    }
    const upper = await httpRequest(`SHOP.Example.Test:${router.port}`, { path: "/" });
    expect(upper.status).toBe(308);
    expect(upper.headers.location).toBe(`https://SHOP.Example.Test:${httpsPort}/`);
    expect(ups.shop!.hits).toBe(hits);
  });

  it("serves localhost names over plain HTTP without a redirect", async () => {
    for (const [host, name] of [
      ["x.localhost", "x"],
      ["shop.localhost", "shop"],
    ] as const) {
      const r = await httpRequest(host, { path: "/a" });
      expect(r.status).toBe(200);
      expect(r.headers.location).toBeUndefined();
      expect(JSON.parse(r.body).name).toBe(name);
    }
    // No certificate exists for them: a TLS handshake for a localhost name fails.
    await expect(httpsRequest("x.localhost")).rejects.toThrow();
  });

  it("gives no app to unknown names or to a Host that differs from the SNI name", async () => {
    const hits = ups.shop!.hits + ups.x!.hits;
    await expect(httpsRequest("unknown.example.test")).rejects.toThrow();
    // One certified name must not open a way to another app (x.localhost is plain HTTP only).
    const fronted = await httpsRequest(SHOP, { host: "x.localhost" });
    expect(fronted.status).toBe(421);
    const unknown = await httpRequest("unknown.example.test");
    expect(unknown.status).toBe(404);
    expect(unknown.body).toBe("no app at this address\n");
    expect(ups.shop!.hits + ups.x!.hits).toBe(hits);
  });

  it("certifies a domain added later and stops redirecting it once removed", async () => {
    await router.apply([{ ...shop(), hosts: [...shop().hosts, "new.example.test"] }, local()]);
    const r = await waitForCertificate("new.example.test");
    expect(r.cert.subjectaltname).toBe("DNS:new.example.test");
    expect(JSON.parse(r.body).name).toBe("shop");
    expect((await httpRequest("new.example.test")).status).toBe(308);
    await router.apply([shop(), local()]);
    expect((await httpRequest("new.example.test")).status).toBe(404);
    expect((await httpsRequest(SHOP)).status).toBe(200);
  });

  it("reuses the stored certificate after a restart instead of issuing a new one", async () => {
    const before = (await httpsRequest(SHOP)).cert.fingerprint256;
    const stored = path.join(dataDir, "caddy", "data", "caddy", "certificates", "local", SHOP, `${SHOP}.crt`);
    expect(fs.existsSync(stored)).toBe(true);
    await router.stop();
    router = new Router({
      listenHost: "127.0.0.1",
      listenPort: 0,
      dataDir,
      log: createLogger("silent"),
      https: { port: httpsPort, issuer: "internal" },
    });
    await router.start();
    await router.apply([shop(), local()]);
    const after = await waitForCertificate(SHOP);
    expect(after.cert.fingerprint256).toBe(before);
  });
});
