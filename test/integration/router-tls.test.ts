// Real Caddy with HTTPS on, certificates on demand from Caddy's internal CA (never a real ACME CA: this machine only
// talks to loopback): a custom domain gets its certificate at its first TLS handshake after the Router's ask server
// said yes, is served over TLS and redirected from plain HTTP; localhost names stay plain HTTP, unknown and removed
// names get no certificate, certificates live in (and are reused from) the data dir. An ACME issuer pointed at a
// fake CA on loopback shows that config loads start no order. Needs /usr/bin/caddy, not root.
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import tls from "node:tls";
import { X509Certificate } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { Router, type AccessLine, type AskDecision, type RouteEntry } from "../../server/router/router.ts";

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
let adminPort: number;
const ups: Record<string, Upstream> = {};
const access: AccessLine[] = [];
/** Every answer of the router's ask server, in order. */
const asks: AskDecision[] = [];

/** Caddy keeps its storage under XDG_DATA_HOME, which CaddyProcess points into the data dir. */
const caRootPath = () => path.join(dataDir, "caddy", "data", "caddy", "pki", "authorities", "local", "root.crt");
/** Where Caddy stores the internal issuer's certificate for `host`. */
const storedCert = (host: string) =>
  path.join(dataDir, "caddy", "data", "caddy", "certificates", "local", host, `${host}.crt`);
const asksFor = (host: string) => asks.filter((a) => a.domain === host);

/** GET on a fresh connection (Caddy's admin API closes idle connections when a config is loaded). */
function get(url: URL): Promise<Res> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      url,
      { agent: false },
      (res) => void readBody(res).then((body) => resolve({ status: res.statusCode ?? 0, headers: res.headers, body })),
    );
    req.on("error", reject);
  });
}

/** Asks the router's ask server directly, at the URL from the config Caddy has loaded, as Caddy would. */
async function ask(host: string): Promise<number> {
  const res = await get(new URL(`http://127.0.0.1:${adminPort}/config/apps/tls/automation/on_demand/ask`));
  expect(res.status).toBe(200);
  const url = new URL(JSON.parse(res.body) as string);
  url.searchParams.set("domain", host);
  return (await get(url)).status;
}

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
  adminPort = await freeLoopbackPort();
  router = new Router({
    listenHost: "127.0.0.1",
    listenPort: 0,
    adminPort,
    dataDir,
    log: createLogger(process.env.ROUTER_TEST_LOG ?? "silent"),
    https: { port: httpsPort, issuer: "internal" },
    // These tests ask about the same hosts repeatedly (the cooldown has its unit test in ask-server.test.ts).
    tlsAskCooldownMs: 0,
  });
  router.on("access", (line) => access.push(line));
  router.on("tlsAsk", (d) => asks.push(d));
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

  it("obtains a certificate at the first handshake for a routed domain, after the ask server said yes", async () => {
    const FIRST = "first.example.test";
    const withFirst = () => ({ ...shop(), hosts: [...shop().hosts, FIRST] });
    // Two loads (the second changes the config): neither obtains anything, since nobody has connected yet.
    await router.apply([withFirst(), local()]);
    await router.apply([withFirst(), { ...local(), upstreams: [ups.x!.addr, ups.shop!.addr] }]);
    expect(fs.existsSync(storedCert(FIRST))).toBe(false);
    expect(asksFor(FIRST)).toEqual([]);
    const r = await httpsRequest(FIRST); // the very first handshake succeeds: issuance happens inside it
    expect(r.status).toBe(200);
    expect(r.authorized).toBe(true);
    expect(r.cert.subjectaltname).toBe(`DNS:${FIRST}`);
    expect(asksFor(FIRST)).toEqual([{ domain: FIRST, allowed: true }]);
    expect(fs.existsSync(storedCert(FIRST))).toBe(true);
    // Later handshakes use the cached certificate without asking again.
    expect((await httpsRequest(FIRST)).cert.fingerprint256).toBe(r.cert.fingerprint256);
    expect(asksFor(FIRST)).toHaveLength(1);
    await router.apply([shop(), local()]);
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
    // No certificate exists for them: a TLS handshake for a localhost name fails, and Caddy does not even ask.
    await expect(httpsRequest("x.localhost")).rejects.toThrow();
    expect(asksFor("x.localhost")).toEqual([]);
    expect(await ask("x.localhost")).toBe(404);
  });

  it("gives no app to unknown names or to a Host that differs from the SNI name", async () => {
    const hits = ups.shop!.hits + ups.x!.hits;
    await expect(httpsRequest("unknown.example.test")).rejects.toThrow();
    // Not a subject of the on-demand policy: Caddy refuses it itself; had it asked, the answer would be no.
    expect(asksFor("unknown.example.test").filter((a) => a.allowed)).toEqual([]);
    expect(await ask("unknown.example.test")).toBe(404);
    expect(fs.existsSync(storedCert("unknown.example.test"))).toBe(false);
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
    // Issued at this first handshake; retried, since a slow machine can make the first one time out.
    const r = await waitForCertificate("new.example.test");
    expect(r.cert.subjectaltname).toBe("DNS:new.example.test");
    expect(JSON.parse(r.body).name).toBe("shop");
    expect((await httpRequest("new.example.test")).status).toBe(308);
    await router.apply([shop(), local()]);
    expect((await httpRequest("new.example.test")).status).toBe(404);
    expect(await ask("new.example.test")).toBe(404);
    expect((await httpsRequest(SHOP)).status).toBe(200);
  });

  it("refuses a removed host at its next new certificate, while a never-seen routed host still gets one", async () => {
    const GONE = "gone.example.test";
    const FRESH = "fresh.example.test";
    await router.apply([{ ...shop(), hosts: [...shop().hosts, GONE] }, local()]);
    expect(await ask(GONE)).toBe(200); // routed: it would get a certificate at its first handshake
    await router.apply([{ ...shop(), hosts: [...shop().hosts, FRESH] }, local()]);
    const since = asks.length;
    // GONE never had a handshake, so it has no certificate; now its first one fails and nothing is issued.
    expect(await ask(GONE)).toBe(404);
    await expect(httpsRequest(GONE)).rejects.toThrow();
    expect(asks.slice(since).filter((a) => a.domain === GONE && a.allowed)).toEqual([]);
    expect(fs.existsSync(storedCert(GONE))).toBe(false);
    // The ask path end to end: Caddy asks for a routed host it has never seen, gets yes, issues at that handshake.
    expect(asksFor(FRESH)).toEqual([]);
    const r = await httpsRequest(FRESH);
    expect(r.status).toBe(200);
    expect(r.cert.subjectaltname).toBe(`DNS:${FRESH}`);
    expect(asksFor(FRESH)).toEqual([{ domain: FRESH, allowed: true }]);
    expect(await ask(SHOP)).toBe(200);
    await router.apply([shop(), local()]);
    expect(await ask(FRESH)).toBe(404);
  });

  it("reuses the stored certificate after a restart instead of issuing a new one", async () => {
    const before = (await httpsRequest(SHOP)).cert.fingerprint256;
    const stored = path.join(dataDir, "caddy", "data", "caddy", "certificates", "local", SHOP, `${SHOP}.crt`);
    expect(fs.existsSync(stored)).toBe(true);
    await router.stop();
    router = new Router({
      listenHost: "127.0.0.1",
      listenPort: 0,
      adminPort,
      dataDir,
      log: createLogger("silent"),
      https: { port: httpsPort, issuer: "internal" },
    });
    const asked: AskDecision[] = [];
    router.on("tlsAsk", (d) => asked.push(d));
    await router.start();
    await router.apply([shop(), local()]);
    const after = await waitForCertificate(SHOP);
    expect(after.cert.fingerprint256).toBe(before);
    // Loaded from storage at the handshake: no new issuance, so Caddy had no reason to ask.
    expect(asked).toEqual([]);
  });
});

describe("router with HTTPS from an ACME CA (a fake one on loopback that drops every connection)", () => {
  const A = "nodns-a.example.test";
  const B = "nodns-b.example.test";
  let acmeRouter: Router;
  let acmeDir: string;
  let acmePort: number;
  let ca: net.Server;
  const clients: tls.TLSSocket[] = [];
  /**
   * What happened, in order: "ask HOST yes|no" from the ask server, "ca" for each connection to the CA, and
   * "failed HOST" when Caddy reports (through the router's log) that an attempt to get HOST's certificate failed.
   */
  const events: string[] = [];
  /** `events` with runs of "ca" folded into one (one attempt makes a few connections: the ACME client retries). */
  const folded = (from = 0) => events.slice(from).filter((e, i, all) => e !== "ca" || all[i - 1] !== "ca");

  const entry = (hosts: string[], upstreams: string[]): RouteEntry => ({
    app: "shop",
    hosts,
    maintenance: false,
    upstreams,
  });

  /** Starts a handshake and leaves it pending: the certificate it waits for does not come. */
  function startHandshake(servername: string): void {
    const socket = tls.connect({ host: "127.0.0.1", port: acmePort, servername, rejectUnauthorized: false });
    socket.on("error", () => {});
    clients.push(socket);
  }

  function failedAttempts(host: string): true | undefined {
    return events.includes(`failed ${host}`) ? true : undefined;
  }

  beforeAll(async () => {
    acmeDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-acme-"));
    // Drops every connection: each attempt fails at once, and Caddy waits a minute before its next one.
    ca = net.createServer((socket) => {
      events.push("ca");
      socket.destroy();
    });
    await new Promise<void>((resolve) => ca.listen(0, "127.0.0.1", resolve));
    acmePort = await freeLoopbackPort();
    const logs = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) {
          if (!line.includes("could not get certificate from issuer")) continue;
          for (const host of [A, B]) if (line.includes(host)) events.push(`failed ${host}`);
        }
        done();
      },
    });
    acmeRouter = new Router({
      listenHost: "127.0.0.1",
      listenPort: 0,
      dataDir: acmeDir,
      log: createLogger("warn", logs),
      https: {
        port: acmePort,
        issuer: "acme",
        acmeCa: `https://127.0.0.1:${(ca.address() as net.AddressInfo).port}/directory`,
      },
    });
    acmeRouter.on("tlsAsk", (d) => events.push(`ask ${d.domain} ${d.allowed ? "yes" : "no"}`));
    await acmeRouter.start();
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await acmeRouter?.stop();
    await new Promise<void>((resolve) => (ca ? ca.close(() => resolve()) : resolve()));
    if (acmeDir) fs.rmSync(acmeDir, { recursive: true, force: true });
  });

  it("starts no order at config load; a handshake starts one, and later loads do not restart it", async () => {
    // Three loads of a host whose DNS (in real life) does not point here yet: no CA contact, no ask.
    await acmeRouter.apply([entry([A], [ups.shop!.addr])]);
    await acmeRouter.apply([entry([A], [ups.shop!.addr, ups.x!.addr])]);
    await acmeRouter.apply([entry([A], [ups.x!.addr])]);
    // The first handshake for the name is what starts an order, after the ask server said yes.
    startHandshake(A);
    await waitFor(`a failed attempt for ${A}`, async () => failedAttempts(A));
    expect(folded()).toEqual([`ask ${A} yes`, "ca", `failed ${A}`]);
    // Two more loads while A waits for its next attempt, another handshake for A (it joins the pending order), and a
    // second host's first handshake as a marker: the loads restarted nothing, and only B's order reached the CA.
    const mark = events.length;
    await acmeRouter.apply([entry([A, B], [ups.shop!.addr])]);
    await acmeRouter.apply([entry([A, B], [ups.x!.addr])]);
    startHandshake(A);
    startHandshake(B);
    await waitFor(`a failed attempt for ${B}`, async () => failedAttempts(B));
    expect(folded(mark)).toEqual([`ask ${B} yes`, "ca", `failed ${B}`]);
  });
});
