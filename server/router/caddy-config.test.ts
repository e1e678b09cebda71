import { describe, expect, it } from "vitest";
import {
  ACCESS_LOGGER,
  DEFAULT_MAX_BODY_BYTES,
  adminOnlyConfig,
  assertHost,
  assertUpstream,
  buildCaddyConfig,
  type CaddyConfigInput,
  type RouteEntry,
} from "./caddy-config.ts";

const base: CaddyConfigInput = { listen: { host: "0.0.0.0", port: 8080 }, adminAddress: "127.0.0.1:2999", routes: [] };

function build(routes: RouteEntry[], extra: Partial<CaddyConfigInput> = {}): any {
  return buildCaddyConfig({ ...base, ...extra, routes });
}

function server(cfg: any): any {
  return cfg.apps.http.servers.berth;
}

/** The handlers of the route whose host matcher lists `host`. */
function handlersFor(cfg: any, host: string): any[] {
  const route = server(cfg).routes.find((r: any) => r.match?.[0]?.host?.includes(host));
  if (!route) throw new Error(`no route for ${host}`);
  return route.handle;
}

const web = (app: string, hosts: string[], upstreams: string[], maintenance = false): RouteEntry => ({
  app,
  hosts,
  upstreams,
  maintenance,
});

describe("host validation", () => {
  it.each(["a.example.com", "app-1.berth.local", "localhost", "x", "a1.b2.c3", `${"a".repeat(63)}.com`])(
    "accepts %s",
    (h) => expect(() => assertHost(h)).not.toThrow(),
  );
  it.each([
    "",
    "A.example.com",
    "a..b",
    "-a.com",
    "a-.com",
    "a.com.",
    "*.a.com",
    "a.com:80",
    "a com",
    "a{b}.com",
    "a/b",
    `${"a".repeat(64)}.com`,
    `${"a.".repeat(127)}a`,
  ])("rejects %j", (h) => expect(() => assertHost(h)).toThrow(/invalid host/));
});

describe("upstream validation", () => {
  it.each(["127.0.0.1:3000", "10.88.0.5:5000", "localhost:1", "255.255.255.255:65535"])("accepts %s", (u) =>
    expect(() => assertUpstream(u)).not.toThrow(),
  );
  it.each([
    "127.0.0.1",
    "127.0.0.1:0",
    "127.0.0.1:65536",
    "256.0.0.1:80",
    "1.2.3:80",
    "example.com:80",
    "[::1]:80",
    "127.0.0.1:80/x",
    "http://127.0.0.1:80",
    " 127.0.0.1:80",
    "{env.X}:80",
  ])("rejects %j", (u) => expect(() => assertUpstream(u)).toThrow(/invalid upstream/));
});

describe("buildCaddyConfig", () => {
  it("routes each app's hosts to a least_conn reverse proxy with passive health and dial-only retries", () => {
    const cfg = build([
      web("shop", ["shop.berth.test", "www.shop.com"], ["127.0.0.1:4001", "127.0.0.1:4002"]),
      web("blog", ["blog.berth.test"], ["10.0.0.2:5000"]),
    ]);
    const sub = handlersFor(cfg, "www.shop.com")[0];
    expect(sub.handler).toBe("subroute");
    const forward = sub.routes.at(-1).handle;
    expect(forward[0]).toEqual({ handler: "request_body", max_size: DEFAULT_MAX_BODY_BYTES });
    const rp = forward[1];
    expect(rp.handler).toBe("reverse_proxy");
    expect(rp.upstreams).toEqual([{ dial: "127.0.0.1:4001" }, { dial: "127.0.0.1:4002" }]);
    expect(rp.load_balancing.selection_policy.policy).toBe("least_conn");
    expect(rp.load_balancing.try_duration).toBeTruthy();
    expect(rp.load_balancing.retry_match).toEqual([{ expression: "false" }]);
    expect(rp.health_checks.passive).toMatchObject({ max_fails: 1 });
    expect(rp.headers.request.set["X-Request-Id"]).toEqual(["{http.request.uuid}"]);
    expect(handlersFor(cfg, "blog.berth.test")[0].routes.at(-1).handle[1].upstreams).toEqual([
      { dial: "10.0.0.2:5000" },
    ]);
    expect(
      server(cfg)
        .routes.filter((r: any) => r.match)
        .every((r: any) => r.terminal === true),
    ).toBe(true);
  });

  it("ends with a catch-all 404 so an unknown host never reaches an app", () => {
    const routes = server(build([web("shop", ["shop.test"], ["127.0.0.1:4001"])])).routes;
    const last = routes.at(-1);
    expect(last.match).toBeUndefined();
    expect(last.handle[0]).toMatchObject({
      handler: "static_response",
      status_code: 404,
      body: "no app at this address\n",
    });
  });

  it("sets X-Request-Id on every response, deferred so it wins over the upstream's", () => {
    const first = server(build([])).routes[0];
    expect(first.match).toBeUndefined();
    expect(first.terminal).toBeUndefined();
    expect(first.handle[0]).toMatchObject({
      handler: "headers",
      response: { set: { "X-Request-Id": ["{http.request.uuid}"] }, deferred: true },
    });
  });

  it.each([
    {
      name: "maintenance",
      entry: web("shop", ["shop.test"], ["127.0.0.1:4001"], true),
      text: "shop is down for maintenance",
    },
    { name: "no upstreams", entry: web("shop", ["shop.test"], []), text: "shop has no running web instances" },
  ])("answers $name with a static 503 page", ({ entry, text }) => {
    const handlers = handlersFor(build([entry]), "shop.test");
    expect(handlers).toHaveLength(1);
    expect(handlers[0]).toMatchObject({ handler: "static_response", status_code: 503 });
    expect(handlers[0].body).toContain(text);
    expect(handlers[0].body).not.toMatch(/[{}]/); // Caddy would treat braces as placeholders
    expect(handlers[0].headers["Content-Type"]).toEqual(["text/html; charset=utf-8"]);
  });

  it("refuses declared oversize bodies before proxying, and caps streamed ones", () => {
    const sub = handlersFor(
      build([web("a", ["a.test"], ["127.0.0.1:1"])], { limits: { maxBodyBytes: 1234 } }),
      "a.test",
    )[0];
    const [reject, forward] = sub.routes;
    expect(reject.match[0].expression).toContain("> 1234");
    expect(reject.handle[0]).toMatchObject({ handler: "static_response", status_code: 413, close: true });
    expect(reject.terminal).toBe(true);
    expect(forward.handle[0]).toEqual({ handler: "request_body", max_size: 1234 });
  });

  it("serves plain HTTP on the listen address with the admin API on loopback and nothing persisted", () => {
    const cfg = build([], { listen: { host: "", port: 80 } });
    expect(server(cfg).listen).toEqual([":80"]);
    expect(server(cfg).automatic_https).toEqual({ disable: true });
    expect(cfg.admin).toEqual({ listen: "127.0.0.1:2999", config: { persist: false } });
    expect(adminOnlyConfig("127.0.0.1:2999")).toEqual({ admin: cfg.admin });
  });

  it("writes access and upstream lines to the access writer only", () => {
    const stderr = build([]).logging.logs;
    expect(stderr.berth_access.writer).toEqual({ output: "stderr" });
    expect(stderr.default.exclude).toContain(ACCESS_LOGGER);
    const net = build([], { accessLog: { address: "tcp/127.0.0.1:7000", upstreams: true } }).logging.logs;
    expect(net.berth_access).toMatchObject({
      writer: { output: "net", address: "tcp/127.0.0.1:7000" },
      level: "DEBUG",
    });
    expect(net.berth_access.include).toContain(ACCESS_LOGGER);
    // Without upstream lines: access lines only, at INFO (the proxy's DEBUG lines cost throughput).
    const lean = build([], { accessLog: { address: "tcp/127.0.0.1:7000" } }).logging.logs;
    expect(lean.berth_access).toMatchObject({ level: "INFO", include: [ACCESS_LOGGER] });
    expect(server(build([])).logs).toEqual({ default_logger_name: "berth" });
  });

  it("deduplicates hosts within an app and skips apps without hosts", () => {
    const cfg = build([web("a", ["a.test", "a.test"], ["127.0.0.1:1"]), web("b", [], ["127.0.0.1:2"])]);
    const matched = server(cfg).routes.filter((r: any) => r.match);
    expect(matched).toHaveLength(1);
    expect(matched[0].match[0].host).toEqual(["a.test"]);
  });

  it.each<{ name: string; input: Partial<CaddyConfigInput>; error: RegExp }>([
    { name: "bad host", input: { routes: [web("a", ["Evil.test"], [])] }, error: /invalid host/ },
    { name: "host with port", input: { routes: [web("a", ["a.test:80"], [])] }, error: /invalid host/ },
    { name: "bad upstream", input: { routes: [web("a", ["a.test"], ["8.8.8.8"])] }, error: /invalid upstream/ },
    {
      name: "upstream with scheme",
      input: { routes: [web("a", ["a.test"], ["http://x:1"])] },
      error: /invalid upstream/,
    },
    { name: "bad app name", input: { routes: [web("A{x}", ["a.test"], [])] }, error: /invalid app/ },
    {
      name: "host claimed twice",
      input: { routes: [web("a", ["x.test"], []), web("b", ["x.test"], [])] },
      error: /claimed by both a and b/,
    },
    {
      name: "app listed twice",
      input: { routes: [web("a", ["x.test"], []), web("a", ["y.test"], [])] },
      error: /twice/,
    },
    { name: "public admin", input: { adminAddress: "0.0.0.0:2019" }, error: /loopback/ },
    { name: "admin without port", input: { adminAddress: "127.0.0.1" }, error: /loopback/ },
    { name: "bad listen host", input: { listen: { host: "example.com", port: 80 } }, error: /listen host/ },
    { name: "listen port 0", input: { listen: { host: "", port: 0 } }, error: /listen port/ },
    { name: "zero body limit", input: { limits: { maxBodyBytes: 0 } }, error: /maxBodyBytes/ },
    { name: "remote access log", input: { accessLog: { address: "tcp/10.0.0.1:9" } }, error: /access log/ },
  ])("throws on $name", ({ input, error }) => {
    expect(() => buildCaddyConfig({ ...base, ...input })).toThrow(error);
  });

  it("is deterministic (Router skips reloads by comparing JSON)", () => {
    const routes = [web("a", ["a.test"], ["127.0.0.1:1"])];
    expect(JSON.stringify(build(routes))).toBe(JSON.stringify(build(structuredClone(routes))));
  });
});
