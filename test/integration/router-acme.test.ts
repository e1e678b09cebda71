// Real HAProxy with HTTPS from a real ACME CA on loopback: Debian's pebble, whose DNS is a test dnsmasq that points
// the custom domain at 127.0.0.1, so its HTTP-01 validation connects to the HAProxy under test (pebble's httpPort is
// the router's HTTP port). The control plane's acme-client orders the certificate, HAProxy answers the challenge from
// its map, and the issued certificate (chaining to pebble's root) is served over TLS without a reload. Pebble's own
// HTTPS uses a CA made here with openssl and given to the router as a trusted root for the ACME directory only.
// Needs /usr/sbin/haproxy, /usr/bin/pebble, /usr/sbin/dnsmasq and /usr/bin/openssl (scripts/host-packages.mjs).
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import https from "node:https";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import tls from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import type { AccessLine } from "../../server/router/haproxy-router.ts";
import { HaproxyRouter, type CertificateEvent } from "../../server/router/haproxy-router.ts";
import { haproxyPaths, ourHaproxyPids } from "../../server/router/haproxy-process.ts";
import { TestDns } from "../helpers/dns.ts";

const PEBBLE = "/usr/bin/pebble";
const SHOP = "shop.example.test";
/** Not in the test DNS (NXDOMAIN): its HTTP-01 validation cannot reach us. */
const LOST = "lost.example.test";

let dir: string;
let dataDir: string;
let dns: TestDns | undefined;
let pebble: ChildProcess | undefined;
let pebbleLog = "";
let router: HaproxyRouter | undefined;
let upstream: http.Server | undefined;
let httpsPort: number;
let mgmtPort: number;
let testCa: string;
const events: CertificateEvent[] = [];
const errors: string[] = [];
const access: AccessLine[] = [];

function openssl(args: string[]): void {
  execFileSync("/usr/bin/openssl", args, { cwd: dir, stdio: "ignore" });
}

/** GET over HTTPS trusting only `ca` (pebble's management API). */
function httpsText(url: string, ca: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
      })
      .on("error", reject);
  });
}

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline)
      throw new Error(
        `timed out waiting for ${what}; errors: ${errors.join(" | ")}; pebble: ${pebbleLog.slice(-2000)}`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}

beforeAll(async () => {
  for (const bin of [PEBBLE, "/usr/sbin/haproxy"])
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: node scripts/host-packages.mjs installs it (apt-get)`);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-acme-"));
  dataDir = path.join(dir, "data");
  // A CA for pebble's own HTTPS (Debian's package ships no test certificate).
  openssl(
    ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"].concat([
      "-keyout",
      "ca.key",
      "-out",
      "ca.crt",
      "-subj",
      "/CN=berth test pebble CA",
    ]),
  );
  openssl(
    ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"].concat([
      "-keyout",
      "pebble.key",
      "-out",
      "pebble.csr",
      "-subj",
      "/CN=127.0.0.1",
    ]),
  );
  fs.writeFileSync(path.join(dir, "ext.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl(
    ["x509", "-req", "-in", "pebble.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1"].concat([
      "-extfile",
      "ext.cnf",
      "-out",
      "pebble.crt",
    ]),
  );
  testCa = fs.readFileSync(path.join(dir, "ca.crt"), "utf8");

  upstream = http.createServer((req, res) => {
    res.setHeader("Content-Type", "application/json");
    res.end(JSON.stringify({ name: "shop", proto: req.headers["x-forwarded-proto"] }));
  });
  await new Promise<void>((resolve) => upstream!.listen(0, "127.0.0.1", resolve));
  const upstreamAddr = `127.0.0.1:${(upstream.address() as net.AddressInfo).port}`;

  dns = await TestDns.start({ [SHOP]: "127.0.0.1" });
  const routerPort = await freeLoopbackPort();
  httpsPort = await freeLoopbackPort();
  const acmePort = await freeLoopbackPort();
  mgmtPort = await freeLoopbackPort();
  fs.writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: path.join(dir, "pebble.crt"),
        privateKey: path.join(dir, "pebble.key"),
        // HTTP-01 validation connects here: the router's HTTP listener.
        httpPort: routerPort,
        tlsPort: await freeLoopbackPort(),
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const child = spawn(PEBBLE, ["-config", path.join(dir, "pebble.json"), "-dnsserver", dns.address, "-strict"], {
    cwd: dir,
    stdio: ["ignore", "pipe", "pipe"],
    // No sleeps before validation, no rejected nonces: the test is about the router, not about client retries.
    env: { PATH: "/usr/bin:/bin", PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", NODE_ENV: process.env.NODE_ENV },
  });
  pebble = child;
  child.stdout.on("data", (d: Buffer) => (pebbleLog = (pebbleLog + d.toString()).slice(-20_000)));
  child.stderr.on("data", (d: Buffer) => (pebbleLog = (pebbleLog + d.toString()).slice(-20_000)));
  const directory = `https://127.0.0.1:${acmePort}/dir`;
  await waitFor(
    "pebble",
    () =>
      httpsText(directory, testCa).then(
        () => true,
        () => false,
      ),
    15_000,
  );

  router = new HaproxyRouter({
    listenHost: "127.0.0.1",
    listenPort: routerPort,
    dataDir,
    log: createLogger(process.env.ROUTER_TEST_LOG ?? "silent"),
    https: { port: httpsPort, issuer: "acme", acmeCa: directory, acmeEmail: "ops@example.test" },
    acmeTrustedRoots: testCa,
  });
  router.on("certificate", (e) => events.push(e));
  router.on("certificateError", (e) => errors.push(`${e.host}: ${e.error}`));
  router.on("access", (line) => access.push(line));
  await router.start();
  await router.apply([
    { app: "shop", hosts: [SHOP, "shop.localhost"], maintenance: false, upstreams: [upstreamAddr] },
    { app: "lost", hosts: [LOST], maintenance: false, upstreams: [upstreamAddr] },
  ]);
}, 60_000);

afterAll(async () => {
  await router?.stop();
  if (pebble && pebble.exitCode === null) {
    const exited = new Promise((r) => pebble!.once("exit", r));
    pebble.kill("SIGTERM");
    await exited;
  }
  await dns?.stop();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  if (dir) {
    expect(ourHaproxyPids(haproxyPaths(dataDir).config)).toEqual([]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

describe("router (HAProxy) with certificates from an ACME CA (pebble)", () => {
  it("obtains a certificate over HTTP-01 answered by HAProxy and serves it over TLS", async () => {
    const issued = await waitFor(
      "the ACME certificate",
      () => events.find((e) => e.host === SHOP && e.action === "issued"),
      60_000,
    );
    expect(issued.issuer).toBe("acme");
    expect(events.some((e) => e.host === "shop.localhost")).toBe(false);

    // Pebble fetched the key authorization from the router's HTTP listener (HAProxy's own answer, no app).
    const challenge = await waitFor(
      "the challenge's access line",
      () => access.find((a) => a.host === SHOP && a.path.startsWith("/.well-known/acme-challenge/")),
      5_000,
    );
    expect(challenge.status).toBe(200);
    expect(challenge.app).toBeUndefined();
    // The answer left the map once the order was done.
    await waitFor(
      "the challenge map to empty",
      () => fs.readFileSync(path.join(haproxyPaths(dataDir).dir, "acme.map"), "utf8") === "",
      5_000,
    );

    // The certificate chains to pebble's root (regenerated per run, fetched from its management API).
    const root = await httpsText(`https://127.0.0.1:${mgmtPort}/roots/0`, testCa);
    const socket = await new Promise<tls.TLSSocket>((resolve, reject) => {
      const s = tls.connect({
        host: "127.0.0.1",
        port: httpsPort,
        servername: SHOP,
        ca: root,
        ALPNProtocols: ["h2", "http/1.1"],
      });
      s.once("secureConnect", () => resolve(s));
      s.once("error", reject);
    });
    expect(socket.authorized).toBe(true);
    expect(socket.alpnProtocol).toBe("h2");
    const cert = socket.getPeerCertificate();
    expect(cert.subjectaltname).toBe(`DNS:${SHOP}`);
    expect(cert.serialNumber.toUpperCase().replace(/^0+/, "")).toBe(issued.serial);
    socket.destroy();

    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      https
        .get(
          { host: "127.0.0.1", port: httpsPort, servername: SHOP, headers: { host: SHOP }, ca: root, agent: false },
          (r) => {
            let body = "";
            r.setEncoding("utf8");
            r.on("data", (d: string) => (body += d));
            r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
          },
        )
        .on("error", reject);
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ name: "shop", proto: "https" });
    expect(router!.reloads).toBe(0);

    // Stored for the next start: the certificate and the account key, both 0600.
    const tlsDir = path.join(haproxyPaths(dataDir).dir, "tls");
    expect(fs.statSync(path.join(tlsDir, "certs", `${SHOP}.pem`)).mode & 0o777).toBe(0o600);
    const accounts = fs.readdirSync(path.join(tlsDir, "acme"));
    expect(accounts).toHaveLength(1);
    expect(fs.statSync(path.join(tlsDir, "acme", accounts[0]!)).mode & 0o777).toBe(0o600);
  }, 90_000);

  it("reports a host whose validation fails, keeps serving it over plain HTTP and does not retry at once", async () => {
    await waitFor("the failed order", () => errors.find((e) => e.startsWith(`${LOST}:`)), 60_000);
    await router!.certificatesIdle();
    expect(events.some((e) => e.host === LOST)).toBe(false);
    expect(fs.existsSync(path.join(haproxyPaths(dataDir).dir, "tls", "certs", `${LOST}.pem`))).toBe(false);
    const plain = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      http
        .get({ host: "127.0.0.1", port: router!.port, headers: { host: LOST }, agent: false }, (r) => {
          let body = "";
          r.setEncoding("utf8");
          r.on("data", (d: string) => (body += d));
          r.on("end", () => resolve({ status: r.statusCode ?? 0, body }));
        })
        .on("error", reject);
    });
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.body)).toEqual({ name: "shop", proto: "http" });
    // The retry waits minutes (backoff), so a route change now starts no new order.
    const failed = errors.filter((e) => e.startsWith(`${LOST}:`)).length;
    await router!.apply([{ app: "lost", hosts: [LOST], maintenance: false, upstreams: [] }]);
    await router!.certificatesIdle();
    expect(errors.filter((e) => e.startsWith(`${LOST}:`))).toHaveLength(failed);
  }, 90_000);
});
