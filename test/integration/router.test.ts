// The router (HAProxy, the only data plane) in front of real loopback upstreams: host routing, unknown hosts, request
// ids and forwarded headers, least-connections spread, WebSocket, body limit, maintenance pages, access lines, plus
// what the design adds: route changes without reloads (a keep-alive connection survives them),
// a seamless reload when the slot pool grows, adoption by a restarted control plane, restart after a crash.
// Needs /usr/sbin/haproxy (apt-get install -y haproxy), not root.
import { spawn } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import type { AccessLine, RouteEntry } from "../../server/router/haproxy-router.ts";
import { HaproxyRouter } from "../../server/router/haproxy-router.ts";
import { haproxyPaths, ourHaproxyPids, workerPid } from "../../server/router/haproxy-process.ts";

const HAPROXY = "/usr/sbin/haproxy";
const MAX_BODY = 64 * 1024;

interface Upstream {
  name: string;
  addr: string;
  hits: number;
  lastHeaders: http.IncomingHttpHeaders;
  close(): Promise<void>;
}

/** A loopback app instance that answers with its name and echoes WebSocket messages. */
async function startUpstream(name: string): Promise<Upstream> {
  const up: Upstream = { name, addr: "", hits: 0, lastHeaders: {}, close: async () => {} };
  const server = http.createServer((req, res) => {
    up.hits++;
    up.lastHeaders = req.headers;
    let bytes = 0;
    req.on("data", (c: Buffer) => (bytes += c.length));
    req.on("end", () => {
      res.setHeader("Content-Type", "application/json");
      res.end(JSON.stringify({ name, bytes, headers: req.headers }));
    });
  });
  const wss = new WebSocketServer({ server });
  wss.on("connection", (ws) => ws.on("message", (m) => ws.send(`${name}:${m.toString()}`)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  up.addr = `127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  up.close = () =>
    new Promise<void>((resolve) => {
      for (const c of wss.clients) c.terminate();
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

let router: HaproxyRouter;
let dataDir: string;
const ups: Record<string, Upstream> = {};
const access: AccessLine[] = [];

function request(
  host: string,
  opts: { method?: string; path?: string; body?: string; headers?: http.OutgoingHttpHeaders; port?: number } = {},
) {
  return new Promise<Res>((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: opts.port ?? router.port,
        method: opts.method ?? "GET",
        path: opts.path ?? "/",
        headers: { host, ...opts.headers },
        agent: false,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end(opts.body);
  });
}

const shop = (over: Partial<RouteEntry> = {}): RouteEntry => ({
  app: "shop",
  hosts: ["shop.berth.test", "www.shop.example"],
  maintenance: false,
  upstreams: [ups.shop1!.addr, ups.shop2!.addr],
  ...over,
});
const blog = (): RouteEntry => ({
  app: "blog",
  hosts: ["blog.berth.test"],
  maintenance: false,
  upstreams: [ups.blog!.addr],
});
const upload = (): RouteEntry => ({
  app: "upload",
  hosts: ["upload.berth.test"],
  maintenance: false,
  upstreams: [ups.upload!.addr],
});

async function waitFor<T>(
  what: string,
  fn: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  return fs.existsSync(`/proc/${pid}`) && !fs.readFileSync(`/proc/${pid}/stat`, "utf8").includes(") Z ");
}

function masterPid(dir = dataDir): number {
  return Number(fs.readFileSync(haproxyPaths(dir).pid, "utf8").trim());
}

/** One keep-alive connection that sends requests one after another and says when the router closed it. */
function keepAliveClient(host: string) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const get = () =>
    new Promise<{ status: number; socket: net.Socket }>((resolve, reject) => {
      const req = http.request({ host: "127.0.0.1", port: router.port, path: "/", headers: { host }, agent }, (res) => {
        res.resume();
        res.on("end", () => resolve({ status: res.statusCode ?? 0, socket: req.socket! }));
      });
      req.on("socket", (s: net.Socket) => {
        if (!sockets.has(s)) s.once("close", () => closed++);
        sockets.add(s);
      });
      req.on("error", reject);
      req.end();
    });
  return { get, sockets, closed: () => closed, close: () => agent.destroy() };
}

beforeAll(async () => {
  if (!fs.existsSync(HAPROXY))
    throw new Error(`${HAPROXY} is missing: the router tests need HAProxy (apt-get install -y haproxy)`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-"));
  for (const name of ["shop1", "shop2", "blog", "upload"]) ups[name] = await startUpstream(name);
  router = new HaproxyRouter({
    listenHost: "127.0.0.1",
    listenPort: 0,
    dataDir,
    log: createLogger(process.env.ROUTER_TEST_LOG ?? "silent"),
    maxBodyBytes: MAX_BODY,
  });
  router.on("access", (line) => access.push(line));
  await router.start();
  await router.apply([shop(), blog(), upload()]);
});

afterAll(async () => {
  await router?.stop();
  await Promise.all(Object.values(ups).map((u) => u.close()));
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("router (HAProxy)", () => {
  it("routes each host to its own app, case- and port-insensitively", async () => {
    expect(JSON.parse((await request("blog.berth.test")).body).name).toBe("blog");
    expect(JSON.parse((await request("www.shop.example")).body).name).toMatch(/^shop[12]$/);
    expect(JSON.parse((await request(`SHOP.berth.test:${router.port}`)).body).name).toMatch(/^shop[12]$/);
  });

  it("answers unknown hosts with 404 and never with another app", async () => {
    for (const host of ["nope.berth.test", "berth.test", "127.0.0.1", "shop.berth.test.evil.com"]) {
      const r = await request(host);
      expect(r.status).toBe(404);
      expect(r.body).toBe("no app at this address\n");
    }
  });

  it("spreads requests over both instances and tags them with a request id and forwarded headers", async () => {
    ups.shop1!.hits = ups.shop2!.hits = 0;
    for (let i = 0; i < 20; i++) {
      const r = await request("shop.berth.test", { headers: { "x-forwarded-host": "spoofed.example" } });
      expect(r.status).toBe(200);
      const seen = JSON.parse(r.body).headers;
      expect(r.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
      expect(seen["x-request-id"]).toBe(r.headers["x-request-id"]);
      expect(seen["x-forwarded-host"]).toBe("shop.berth.test");
      expect(seen["x-forwarded-proto"]).toBe("http");
      expect(seen["x-forwarded-for"]).toBe("127.0.0.1");
    }
    expect(ups.shop1!.hits).toBeGreaterThan(0);
    expect(ups.shop2!.hits).toBeGreaterThan(0);
  });

  it("passes WebSocket upgrades through", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${router.port}/live`, { headers: { host: "blog.berth.test" } });
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on("open", () => ws.send("hello"));
      ws.on("message", (m) => resolve(m.toString()));
      ws.on("error", reject);
    });
    ws.close();
    expect(reply).toBe("blog:hello");
  });

  it("refuses declared bodies over the limit with 413 before any instance sees them", async () => {
    const ok = await request("upload.berth.test", { method: "POST", body: "x".repeat(MAX_BODY) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).bytes).toBe(MAX_BODY);
    const hitsBefore = ups.upload!.hits;
    const declared = await request("upload.berth.test", { method: "POST", body: "x".repeat(MAX_BODY + 1) });
    expect(declared.status).toBe(413);
    expect(ups.upload!.hits).toBe(hitsBefore); // refused before it reached the instance
  });

  it("skips an instance that refuses connections without failing a request", async () => {
    const deadPort = await freeLoopbackPort(); // nothing listens there
    await router.apply([
      shop({ upstreams: [`127.0.0.1:${deadPort}`, ups.shop1!.addr, ups.shop2!.addr] }),
      blog(),
      upload(),
    ]);
    const results = await Promise.all(Array.from({ length: 30 }, () => request("shop.berth.test")));
    expect(results.map((r) => r.status)).toEqual(Array(30).fill(200));
  });

  it("serves a 503 page in maintenance and when no instance runs", async () => {
    await router.apply([shop({ maintenance: true }), blog(), upload()]);
    const m = await request("shop.berth.test");
    expect(m.status).toBe(503);
    expect(m.headers["content-type"]).toContain("text/html");
    expect(m.body).toContain("shop is down for maintenance");
    expect((await request("blog.berth.test")).status).toBe(200);

    await router.apply([shop({ upstreams: [] }), blog(), upload()]);
    const none = await request("www.shop.example");
    expect(none.status).toBe(503);
    expect(none.body).toContain("no running web instances");
    await router.apply([shop(), blog(), upload()]);
    expect((await request("shop.berth.test")).status).toBe(200);
  });

  it("lets the latest of concurrent apply() calls win", async () => {
    await Promise.all([
      router.apply([shop({ maintenance: true }), blog(), upload()]),
      router.apply([shop({ upstreams: [] }), blog(), upload()]),
      router.apply([shop({ upstreams: [ups.shop1!.addr] }), blog(), upload()]),
    ]);
    for (let i = 0; i < 5; i++) expect(JSON.parse((await request("shop.berth.test")).body).name).toBe("shop1");
    const updates = router.updates;
    await router.apply([shop({ upstreams: [ups.shop1!.addr] }), blog(), upload()]);
    expect(router.updates).toBe(updates); // unchanged routes: no Runtime API command
    await expect(router.apply([shop({ hosts: ["Bad.Host"] })])).rejects.toThrow(/invalid host/);
    expect((await request("shop.berth.test")).status).toBe(200); // a rejected apply leaves the live config alone
  });

  it("routes every one of 150 apps to its own instances after the backend pool grew", async () => {
    // More apps than MIN_POOL.backends: the pool grows with one seamless reload; each host must still reach its app.
    const filler = Array.from({ length: 147 }, (_, i): RouteEntry => {
      const u = i % 2 === 0 ? ups.blog! : ups.upload!;
      return { app: `app${i}`, hosts: [`app${i}.berth.test`], maintenance: i % 7 === 3, upstreams: [u.addr] };
    });
    await router.apply([...filler, shop(), blog(), upload()]);
    try {
      for (const i of [0, 1, 3, 63, 64, 65, 100, 127, 128, 146]) {
        const r = await request(`APP${i}.berth.test`);
        if (i % 7 === 3) expect(r.status, `app${i}`).toBe(503);
        else expect(JSON.parse(r.body).name, `app${i}`).toBe(i % 2 === 0 ? "blog" : "upload");
      }
      expect(JSON.parse((await request("www.shop.example")).body).name).toMatch(/^shop[12]$/);
      expect(JSON.parse((await request("upload.berth.test")).body).name).toBe("upload");
      for (const host of ["app147.berth.test", "app1.berth.test.evil.com"])
        expect((await request(host)).status).toBe(404);
    } finally {
      await router.apply([shop(), blog(), upload()]);
    }
  });

  it("emits parsed access lines with app, status, path and upstream", async () => {
    await router.apply([shop(), blog(), upload()]);
    const r = await request("blog.berth.test", { path: "/posts/1?token=abc" });
    const id = r.headers["x-request-id"];
    const line = await waitFor("access line", () => access.find((l) => l.requestId === id));
    expect(line).toMatchObject({
      app: "blog",
      host: "blog.berth.test",
      method: "GET",
      path: "/posts/1",
      status: 200,
      upstream: ups.blog!.addr,
    });
    expect(line.durationMs).toBeGreaterThanOrEqual(0);
    expect(line.bytes).toBe(r.body.length);
    expect(Date.parse(line.at)).toBeGreaterThan(Date.now() - 60_000);
    await request("nope.berth.test");
    const miss = await waitFor("404 access line", () => access.find((l) => l.host === "nope.berth.test"));
    expect(miss.status).toBe(404);
    expect(miss.app).toBeUndefined();
  });

  it("keeps the Runtime API socket (routes and access lines) to the control plane's user", async () => {
    const { admin, dir } = haproxyPaths(dataDir);
    // Whoever can open it can rewrite every route and read every app's access lines; nobody else may.
    expect(fs.statSync(admin).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.dirname(admin)).mode & 0o777).toBe(0o700);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    expect(fs.statSync(admin).uid).toBe(process.getuid!());
  });

  it("changes routes without a reload and without closing a keep-alive connection", async () => {
    const worker = await workerPid(haproxyPaths(dataDir).admin);
    const reloads = router.reloads;
    const client = keepAliveClient("shop.berth.test");
    try {
      const first = await client.get();
      expect(first.status).toBe(200);
      const scales = [
        [ups.shop1!.addr],
        [ups.shop1!.addr, ups.shop2!.addr],
        [ups.shop2!.addr],
        [ups.shop1!.addr, ups.shop2!.addr],
      ];
      for (const upstreams of scales) {
        await router.apply([shop({ upstreams }), blog(), upload()]);
        for (let i = 0; i < 5; i++) {
          const r = await client.get();
          expect(r.status).toBe(200);
          expect(r.socket).toBe(first.socket); // the same client connection throughout
        }
      }
      await router.apply([shop({ maintenance: true }), blog(), upload()]);
      expect((await client.get()).status).toBe(503);
      await router.apply([
        shop(),
        blog(),
        upload(),
        { app: "fresh", hosts: ["fresh.berth.test"], maintenance: false, upstreams: [ups.blog!.addr] },
      ]);
      expect((await client.get()).status).toBe(200);
      expect(JSON.parse((await request("fresh.berth.test")).body).name).toBe("blog");
      expect(client.closed()).toBe(0);
      expect(client.sockets.size).toBe(1);
      expect(router.reloads).toBe(reloads);
      expect(await workerPid(haproxyPaths(dataDir).admin)).toBe(worker);
    } finally {
      client.close();
      await router.apply([shop(), blog(), upload()]);
    }
  });

  it("grows the slot pool with a seamless reload that fails no request", async () => {
    const client = keepAliveClient("shop.berth.test");
    const reloads = router.reloads;
    // More instances than MIN_POOL.slots (8).
    const extra = await Promise.all(Array.from({ length: 9 }, (_, i) => startUpstream(`extra${i}`)));
    try {
      const first = await client.get();
      await router.apply([shop({ upstreams: [ups.shop1!.addr, ...extra.map((u) => u.addr)] }), blog(), upload()]);
      expect(router.reloads).toBe(reloads + 1);
      // The old worker closes idle keep-alive connections when it hands over (between requests, so the client just
      // opens a new one); requests in flight finish on it.
      expect(first.status).toBe(200);
      expect((await client.get()).status).toBe(200);
      const results = await Promise.all(Array.from({ length: 20 }, () => request("shop.berth.test")));
      expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
      // All ten instances are in rotation after the reload, the new slots included.
      expect(new Set(results.map((r) => JSON.parse(r.body).name)).size).toBeGreaterThan(1);
    } finally {
      client.close();
      await router.apply([shop(), blog(), upload()]);
      await Promise.all(extra.map((u) => u.close()));
    }
  });

  it("keeps serving when the control plane goes away and is adopted with its routes", async () => {
    const pid = masterPid();
    const kept = new HaproxyRouter({
      listenHost: "127.0.0.1",
      listenPort: 0,
      dataDir,
      log: createLogger("silent"),
      maxBodyBytes: MAX_BODY,
    });
    await router.detach(); // what stop() does with keepRunning (the control plane in production)
    expect(alive(pid)).toBe(true);
    expect(JSON.parse((await request("blog.berth.test", { port: router.port })).body).name).toBe("blog");
    await kept.start();
    expect(kept.port).toBe(router.port);
    expect(masterPid()).toBe(pid); // adopted, not restarted
    expect(JSON.parse((await request("blog.berth.test")).body).name).toBe("blog");
    const lines: AccessLine[] = [];
    kept.on("access", (l) => lines.push(l));
    const updates = kept.updates;
    await kept.apply([shop(), blog(), upload()]);
    expect(kept.updates).toBe(updates + 0); // the adopted state already is these routes
    await kept.apply([shop(), upload()]);
    expect((await request("blog.berth.test")).status).toBe(404);
    await waitFor("access line after adoption", () =>
      lines.find((l) => l.host === "blog.berth.test" && l.status === 404),
    );
    await kept.apply([shop(), blog(), upload()]);
    router = kept;
  });

  it("restarts haproxy with the latest routes after it crashes", async () => {
    const pid = masterPid();
    process.kill(pid, "SIGKILL");
    await waitFor(
      "haproxy restart",
      () => fs.existsSync(haproxyPaths(dataDir).pid) && masterPid() !== pid && alive(masterPid()),
    );
    const r = await waitFor("routes back", async () => {
      const res = await request("blog.berth.test").catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    });
    expect(JSON.parse(r.body).name).toBe("blog");
    expect(JSON.parse((await request("www.shop.example")).body).name).toMatch(/^shop[12]$/);
  });

  it("stop() leaves no haproxy process behind", async () => {
    const pid = masterPid();
    expect(alive(pid)).toBe(true);
    await router.stop();
    expect(alive(pid)).toBe(false);
    expect(ourHaproxyPids(haproxyPaths(dataDir).config)).toEqual([]);
    await router.stop(); // idempotent
  });

  it("starts haproxy with the routes it last had when it is not running at start", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-last-"));
    const first = new HaproxyRouter({
      listenHost: "127.0.0.1",
      listenPort: 0,
      dataDir: dir,
      log: createLogger("silent"),
    });
    let second: HaproxyRouter | undefined;
    try {
      await first.start();
      await first.apply([blog()]);
      await first.stop(); // haproxy gone, as after a crash while no control plane ran
      expect(ourHaproxyPids(haproxyPaths(dir).config)).toEqual([]);
      second = new HaproxyRouter({ listenHost: "127.0.0.1", listenPort: 0, dataDir: dir, log: createLogger("silent") });
      await second.start();
      expect(second.port).toBe(first.port);
      // Served before any apply(): the routes come from the files the first router wrote.
      expect(JSON.parse((await request("blog.berth.test", { port: second.port })).body).name).toBe("blog");
      expect((await request("shop.berth.test", { port: second.port })).status).toBe(404);
    } finally {
      await second?.stop();
      await first.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("stops a haproxy it cannot talk to before starting its own", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-stale-"));
    const paths = haproxyPaths(dir);
    fs.mkdirSync(path.dirname(paths.admin), { recursive: true, mode: 0o700 });
    const port = await freeLoopbackPort();
    // A haproxy with our configuration path but no admin socket (say, from an older version): ours to replace.
    fs.writeFileSync(
      paths.config,
      `defaults\n  mode http\n  timeout client 5s\n  timeout connect 5s\n  timeout server 5s\nfrontend f\n  bind 127.0.0.1:${port}\n`,
    );
    const stale = spawn(HAPROXY, ["-f", paths.config], { stdio: "ignore", detached: true });
    const exited = new Promise((resolve) => stale.once("exit", resolve));
    const second = new HaproxyRouter({
      listenHost: "127.0.0.1",
      listenPort: 0,
      dataDir: dir,
      log: createLogger("silent"),
    });
    try {
      await waitFor("stale haproxy up", () => ourHaproxyPids(paths.config).length > 0);
      await second.start();
      await exited;
      expect(stale.exitCode !== null || stale.signalCode !== null).toBe(true);
      expect((await request("x.test", { port: second.port })).status).toBe(404);
    } finally {
      await second.stop();
      if (stale.exitCode === null && stale.signalCode === null) stale.kill("SIGKILL");
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
