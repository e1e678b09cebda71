// Real Caddy in front of real loopback upstreams: host routing, load spreading, passive health, pages, limits,
// WebSockets, access lines, restart recovery and clean shutdown. Needs /usr/bin/caddy (CI installs it), not root.
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import WebSocket, { WebSocketServer } from "ws";
import { createLogger } from "../../server/logger.ts";
import { freeLoopbackPort } from "../../server/lib/free-port.ts";
import { CaddyProcess } from "../../server/router/caddy-process.ts";
import { Router, type AccessLine, type RouteEntry } from "../../server/router/router.ts";

const CADDY = "/usr/bin/caddy";
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

let router: Router;
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

function caddyPid(): number {
  return Number(fs.readFileSync(path.join(dataDir, "caddy", "caddy.pid"), "utf8").trim());
}

beforeAll(async () => {
  if (!fs.existsSync(CADDY))
    throw new Error(`${CADDY} is missing: the router tests need Caddy (apt-get install -y caddy)`);
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-"));
  for (const name of ["shop1", "shop2", "blog", "upload"]) ups[name] = await startUpstream(name);
  router = new Router({
    listenHost: "127.0.0.1",
    listenPort: 0,
    dataDir,
    log: createLogger(process.env.ROUTER_TEST_LOG ?? "silent"),
    maxBodyBytes: MAX_BODY,
    logUpstreams: true,
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

describe("router (Caddy)", () => {
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

  it("refuses bodies over the limit with 413, declared or streamed", async () => {
    const ok = await request("upload.berth.test", { method: "POST", body: "x".repeat(MAX_BODY) });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body).bytes).toBe(MAX_BODY);
    const hitsBefore = ups.upload!.hits;
    const declared = await request("upload.berth.test", { method: "POST", body: "x".repeat(MAX_BODY + 1) });
    expect(declared.status).toBe(413);
    expect(ups.upload!.hits).toBe(hitsBefore); // refused before it reached the instance
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: router.port,
          method: "POST",
          path: "/",
          headers: { host: "upload.berth.test" },
          agent: false,
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on("error", reject);
      req.write("x".repeat(MAX_BODY)); // no Content-Length: chunked, so only the stream limit can catch it
      req.end("x".repeat(1024));
    });
    expect(streamed).toBe(413);
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
    const loads = vi.spyOn(CaddyProcess.prototype, "load");
    await router.apply([shop({ upstreams: [ups.shop1!.addr] }), blog(), upload()]);
    expect(loads).not.toHaveBeenCalled(); // unchanged config: no POST /load
    loads.mockRestore();
    await expect(router.apply([shop({ hosts: ["Bad.Host"] })])).rejects.toThrow(/invalid host/);
    expect((await request("shop.berth.test")).status).toBe(200); // a rejected apply leaves the live config alone
  });

  it("routes every one of 150 apps to its own instances once routes are grouped", async () => {
    // More apps than APPS_PER_ROUTE_GROUP: app routes sit behind group routes; each host must still reach its app.
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

  it("re-applies the routes after Caddy crashes", async () => {
    const pid = caddyPid();
    process.kill(pid, "SIGKILL");
    await waitFor("caddy restart", () => caddyPid() !== pid && alive(caddyPid()));
    const r = await waitFor("routes back", async () => {
      const res = await request("blog.berth.test").catch(() => undefined);
      return res?.status === 200 ? res : undefined;
    });
    expect(JSON.parse(r.body).name).toBe("blog");
  });

  it("stop() leaves no caddy process behind", async () => {
    const pid = caddyPid();
    expect(alive(pid)).toBe(true);
    await router.stop();
    expect(alive(pid)).toBe(false);
    const configFile = path.join(dataDir, "caddy", "caddy.json");
    const ours = fs
      .readdirSync("/proc")
      .filter((p) => /^[0-9]+$/.test(p))
      .filter((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0").includes(configFile);
        } catch {
          return false;
        }
      });
    expect(ours).toEqual([]);
    await router.stop(); // idempotent
  });

  /** A router on its own data dir, left serving at stop() when `keepRunning`. */
  const routerOn = (dir: string, keepRunning: boolean) =>
    new Router({ listenHost: "127.0.0.1", listenPort: 0, dataDir: dir, log: createLogger("silent"), keepRunning });
  const pidIn = (dir: string) => Number(fs.readFileSync(path.join(dir, "caddy", "caddy.pid"), "utf8").trim());
  /** Cleanup when a test failed half-way: the kept-running Caddy must not outlive the test. */
  const killCaddyIn = (dir: string) => {
    try {
      const pid = pidIn(dir);
      if (alive(pid) && fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("caddy")) process.kill(pid, "SIGKILL");
    } catch {
      // no pid file, or gone
    }
  };

  it("leaves Caddy serving at stop() with keepRunning; the next router adopts it without a failed request", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-adopt-"));
    const first = routerOn(dir, true);
    const second = routerOn(dir, false);
    try {
      await first.start();
      await first.apply([blog()]);
      const pid = pidIn(dir);
      const port = first.port;
      await first.stop();
      // The control plane is gone: Caddy still serves the app.
      expect(alive(pid)).toBe(true);
      expect((await request("blog.berth.test", { port })).status).toBe(200);
      // Requests all through the next router's start: none may fail (no empty route table is ever loaded).
      let stop = false;
      const statuses: number[] = [];
      const load = (async () => {
        while (!stop) {
          statuses.push((await request("blog.berth.test", { port }).catch(() => ({ status: 0 }))).status);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      await new Promise((r) => setTimeout(r, 300));
      await second.start();
      expect(second.port).toBe(port);
      expect(pidIn(dir)).toBe(pid);
      await second.apply([blog(), upload()]);
      expect((await request("upload.berth.test", { port })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 300));
      stop = true;
      await load;
      expect(statuses.length).toBeGreaterThan(5);
      expect(statuses.filter((x) => x !== 200)).toEqual([]);
      await second.stop();
      expect(alive(pid)).toBe(false);
    } finally {
      await first.stop();
      await second.stop();
      killCaddyIn(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("starts a Caddy that died while no router ran with the routes it last had", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-last-"));
    const first = routerOn(dir, true);
    const second = routerOn(dir, false);
    try {
      await first.start();
      await first.apply([blog()]);
      const pid = pidIn(dir);
      const port = first.port;
      await first.stop();
      process.kill(pid, "SIGKILL");
      await waitFor("caddy gone", () => !alive(pid));
      await second.start();
      expect(second.port).toBe(port);
      expect(pidIn(dir)).not.toBe(pid);
      // Before any apply(): the last loaded routes are back.
      const r = await request("blog.berth.test", { port });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body).name).toBe("blog");
    } finally {
      await first.stop();
      await second.stop();
      killCaddyIn(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("replaces a Caddy of ours that does not answer on the recorded admin address", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "berth-router-stale-"));
    const first = routerOn(dir, true);
    const second = routerOn(dir, false);
    try {
      await first.start();
      await first.apply([blog()]);
      const pid = pidIn(dir);
      await first.stop();
      // The record points elsewhere (e.g. written by another start): the running Caddy is not provably the recorded one.
      fs.writeFileSync(path.join(dir, "caddy", "state.json"), JSON.stringify({ admin: `127.0.0.1:${await freeLoopbackPort()}` }));
      await second.start();
      expect(alive(pid)).toBe(false);
      expect(alive(pidIn(dir))).toBe(true);
      expect((await request("blog.berth.test", { port: second.port })).status).toBe(200);
    } finally {
      await first.stop();
      await second.stop();
      killCaddyIn(dir);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
