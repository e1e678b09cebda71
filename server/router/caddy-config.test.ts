import { describe, expect, it } from "vitest";
import {
  ACCESS_LOGGER,
  APPS_PER_ROUTE_GROUP,
  DEFAULT_MAX_BODY_BYTES,
  LETS_ENCRYPT,
  ON_DEMAND_BURST,
  ON_DEMAND_INTERVAL,
  adminOnlyConfig,
  assertHost,
  assertUpstream,
  buildCaddyConfig,
  type CaddyConfigInput,
  type HttpsOptions,
  type RouteEntry,
  tlsHostsOf,
  wantsTls,
} from "./caddy-config.ts";

const base: CaddyConfigInput = { listen: { host: "0.0.0.0", port: 8080 }, adminAddress: "127.0.0.1:2999", routes: [] };
const ASK = "http://127.0.0.1:7001/tls-ask";

/** Builds with `extra`; with https and no tlsAsk in `extra`, the ask URL is ASK. */
function build(routes: RouteEntry[], extra: Partial<CaddyConfigInput> = {}): any {
  return buildCaddyConfig({ ...base, ...(extra.https ? { tlsAsk: ASK } : {}), ...extra, routes });
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
    expect(rp.transport).toEqual({ protocol: "http", keep_alive: { max_idle_conns_per_host: 128 } });
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

  it("groups app routes behind one route per APPS_PER_ROUTE_GROUP apps once there are more", () => {
    const many = (n: number) =>
      Array.from({ length: n }, (_, i) =>
        web(`app${i}`, [`app${i}.test`, `www.app${i}.example`], [`127.0.0.1:${i + 1}`]),
      );
    const flat = server(build(many(APPS_PER_ROUTE_GROUP))).routes.filter((r: any) => r.match);
    expect(flat).toHaveLength(APPS_PER_ROUTE_GROUP);
    const n = 2 * APPS_PER_ROUTE_GROUP + 5;
    const routes = server(build(many(n))).routes;
    const groups = routes.filter((r: any) => r.match);
    expect(groups).toHaveLength(3);
    expect(routes.at(-1).handle[0].status_code).toBe(404); // still the last route
    for (const g of groups) {
      expect(g.terminal).toBe(true);
      const inner = g.handle[0].routes;
      expect(g.handle[0].handler).toBe("subroute");
      // The group matches exactly its apps' hosts; each app route inside is unchanged.
      expect(g.match[0].host).toEqual(inner.flatMap((r: any) => r.match[0].host));
      expect(inner.every((r: any) => r.terminal === true && r.handle[0].handler === "subroute")).toBe(true);
    }
    const hosts = groups.flatMap((g: any) => g.match[0].host);
    expect(hosts).toHaveLength(2 * n);
    expect(new Set(hosts).size).toBe(2 * n);
    const last = groups[2].handle[0].routes.at(-1);
    expect(last.match[0].host).toEqual([`app${n - 1}.test`, `www.app${n - 1}.example`]);
    expect(last.handle[0].routes.at(-1).handle[1].upstreams).toEqual([{ dial: `127.0.0.1:${n}` }]);
  });

  it("is deterministic (Router skips reloads by comparing JSON)", () => {
    const routes = [web("a", ["a.test"], ["127.0.0.1:1"])];
    expect(JSON.stringify(build(routes))).toBe(JSON.stringify(build(structuredClone(routes))));
  });
});

describe("wantsTls", () => {
  it.each([
    ["shop.example.com", true],
    ["shop.apps.example.test", true],
    ["1.2.3.example", true],
    ["localhost", false],
    ["x.localhost", false],
    ["a.b.localhost", false],
    ["localhost.example.com", true],
    ["127.0.0.1", false],
    ["10.0.0.1", false],
    ["intranet", false],
  ])("%s -> %s", (host, want) => expect(wantsTls(host)).toBe(want));

  it("tlsHostsOf lists the TLS hosts of all routes once, sorted", () => {
    const routes = [
      web("a", ["b.example.test", "a.localhost", "a.example.test", "b.example.test"], []),
      web("b", ["10.0.0.1", "z.example.test", "intranet"], []),
    ];
    expect(tlsHostsOf(routes)).toEqual(["a.example.test", "b.example.test", "z.example.test"]);
    expect(tlsHostsOf([])).toEqual([]);
  });
});

describe("buildCaddyConfig with HTTPS", () => {
  const internal: HttpsOptions = { port: 8443, issuer: "internal" };
  const routes = [
    web("shop", ["shop.localhost", "www.shop.example", "shop.example.test"], ["127.0.0.1:4001"]),
    web("blog", ["blog.localhost", "127.0.0.1"], ["127.0.0.1:4002"]),
  ];
  const tlsCfg = (https: HttpsOptions, r = routes) => build(r, { https });
  const tlsServer = (cfg: any): any => cfg.apps.http.servers.berth_tls;
  const redirect = (cfg: any): any => server(cfg).routes.find((r: any) => r.handle[0].status_code === 308);

  it("issues on demand, only for the hosts outside localhost and IP addresses, gated by the ask URL", () => {
    const cfg = tlsCfg(internal);
    const hosts = ["shop.example.test", "www.shop.example"];
    // Nothing is obtained at config load: no certificates to automate, one on-demand policy limited to our hosts.
    expect(cfg.apps.tls.certificates).toBeUndefined();
    expect(cfg.apps.tls.automation.policies).toEqual([
      {
        subjects: hosts,
        issuers: [{ module: "internal", ca: "local" }],
        on_demand: true,
        disable_ocsp_stapling: true,
      },
    ]);
    expect(cfg.apps.tls.automation.on_demand).toEqual({
      ask: ASK,
      rate_limit: { interval: ON_DEMAND_INTERVAL, burst: ON_DEMAND_BURST },
    });
    expect(ON_DEMAND_BURST).toBeGreaterThan(0);
    expect(cfg.apps.pki.certificate_authorities.local.install_trust).toBe(false);
  });

  it("keeps the policy's subjects in step with the routes, so a removed host leaves the policy", () => {
    const before = tlsCfg(internal).apps.tls.automation.policies[0].subjects;
    const after = tlsCfg(internal, [web("shop", ["shop.example.test", "new.example.test"], ["127.0.0.1:4001"])]).apps
      .tls.automation.policies[0].subjects;
    expect(before).toEqual(["shop.example.test", "www.shop.example"]);
    expect(after).toEqual(["new.example.test", "shop.example.test"]);
  });

  it("sends certificate warnings and errors to the access writer, where Router logs them", () => {
    const cfg = build(routes, { https: internal, accessLog: { address: "tcp/127.0.0.1:7000" } });
    expect(cfg.logging.logs.berth_tls).toEqual({
      writer: { output: "net", address: "tcp/127.0.0.1:7000" },
      encoder: { format: "json" },
      level: "WARN",
      include: ["tls"],
    });
    expect(build(routes).logging.logs.berth_tls).toBeUndefined();
  });

  it("adds a TLS server with the same app routes, strict SNI and no automatic HTTPS of its own", () => {
    const cfg = tlsCfg(internal);
    const tls = tlsServer(cfg);
    expect(tls.listen).toEqual(["0.0.0.0:8443"]);
    expect(tls.tls_connection_policies).toEqual([{}]);
    expect(tls.strict_sni_host).toBe(true);
    expect(tls.automatic_https).toEqual({ disable: true });
    expect(tls.protocols).toEqual(["h1", "h2"]);
    expect(tls.logs).toEqual({ default_logger_name: "berth" });
    // Same routes as plain HTTP minus the redirect: request id first, every app, then the 404.
    expect(tls.routes).toEqual(server(cfg).routes.filter((r: any) => r !== redirect(cfg)));
    expect(tls.routes.at(-1).handle[0].status_code).toBe(404);
    expect(cfg.apps.http.http_port).toBe(8080);
    expect(cfg.apps.http.https_port).toBe(8443);
  });

  it.each([
    { port: 8443, location: "https://{http.request.host}:8443{http.request.uri}" },
    { port: 443, location: "https://{http.request.host}{http.request.uri}" },
  ])("redirects plain HTTP for certified hosts only, to port $port", ({ port, location }) => {
    const cfg = tlsCfg({ port, issuer: "internal" });
    const r = redirect(cfg);
    expect(r.match).toEqual([{ host: ["shop.example.test", "www.shop.example"] }]);
    expect(r.handle[0].headers.Location).toEqual([location]);
    expect(r.terminal).toBe(true);
    // After the request id route, before any app route, so no certified host is ever served over plain HTTP.
    expect(server(cfg).routes.indexOf(r)).toBe(1);
    expect(handlersFor(cfg, "shop.localhost")[0].handler).toBe("subroute");
  });

  it.each<{ name: string; https: HttpsOptions; issuer: Record<string, unknown> }>([
    {
      name: "Let's Encrypt by default",
      https: { port: 443, issuer: "acme" },
      issuer: { module: "acme", ca: LETS_ENCRYPT },
    },
    {
      name: "a given CA and email",
      https: { port: 443, issuer: "acme", acmeCa: "https://ca.example.net/dir", acmeEmail: "ops@example.com" },
      issuer: { module: "acme", ca: "https://ca.example.net/dir", email: "ops@example.com" },
    },
  ])("uses the ACME issuer with $name and solves challenges on our own ports", ({ https, issuer }) => {
    const cfg = build(routes, { https, listen: { host: "", port: 80 } });
    const [policy] = cfg.apps.tls.automation.policies;
    expect(policy.issuers).toEqual([
      { ...issuer, challenges: { http: { alternate_port: 80 }, "tls-alpn": { alternate_port: 443 } } },
    ]);
    expect(server(cfg).listen).toEqual([":80"]);
    expect(tlsServer(cfg).listen).toEqual([":443"]);
  });

  it("has no policy or redirect when no host qualifies, but keeps the on-demand limits", () => {
    const cfg = tlsCfg(internal, [web("a", ["a.localhost"], ["127.0.0.1:1"])]);
    // A policy without subjects would match every name; the on_demand block stays so Caddy keeps its rate limiter.
    expect(cfg.apps.tls).toEqual({
      automation: { on_demand: { ask: ASK, rate_limit: { interval: ON_DEMAND_INTERVAL, burst: ON_DEMAND_BURST } } },
    });
    expect(redirect(cfg)).toBeUndefined();
    expect(tlsServer(cfg).listen).toEqual(["0.0.0.0:8443"]);
  });

  it("leaves the plain-HTTP config untouched without https", () => {
    const cfg = build(routes);
    expect(Object.keys(cfg.apps)).toEqual(["http"]);
    expect(Object.keys(cfg.apps.http.servers)).toEqual(["berth"]);
    expect(redirect(cfg)).toBeUndefined();
  });

  it.each<{ name: string; https: HttpsOptions; error: RegExp }>([
    { name: "port 0", https: { port: 0, issuer: "internal" }, error: /https port/ },
    { name: "port out of range", https: { port: 70000, issuer: "internal" }, error: /https port/ },
    { name: "same port as http", https: { port: 8080, issuer: "internal" }, error: /also the http port/ },
    { name: "unknown issuer", https: { port: 8443, issuer: "zerossl" as "acme" }, error: /tls issuer/ },
    {
      name: "ACME email with the internal issuer",
      https: { port: 8443, issuer: "internal", acmeEmail: "a@example.com" },
      error: /only to the acme issuer/,
    },
    {
      name: "ACME CA with the internal issuer",
      https: { port: 8443, issuer: "internal", acmeCa: LETS_ENCRYPT },
      error: /only to the acme issuer/,
    },
    { name: "bad email", https: { port: 443, issuer: "acme", acmeEmail: "ops" }, error: /ACME email/ },
    {
      name: "email with a placeholder",
      https: { port: 443, issuer: "acme", acmeEmail: "{env.X}@example.com" },
      error: /ACME email/,
    },
    { name: "http CA", https: { port: 443, issuer: "acme", acmeCa: "http://ca.example/dir" }, error: /ACME CA/ },
    { name: "CA not a URL", https: { port: 443, issuer: "acme", acmeCa: "letsencrypt" }, error: /ACME CA/ },
    {
      name: "CA with credentials",
      https: { port: 443, issuer: "acme", acmeCa: "https://u:p@ca.example/dir" },
      error: /ACME CA/,
    },
    {
      name: "CA with a placeholder",
      https: { port: 443, issuer: "acme", acmeCa: "https://ca.example/{env.X}" },
      error: /ACME CA/,
    },
  ])("throws on $name", ({ https, error }) => {
    expect(() => build(routes, { https })).toThrow(error);
  });

  it("needs an ask URL with https and ignores one without", () => {
    expect(() => buildCaddyConfig({ ...base, routes, https: internal })).toThrow(/ask URL/);
    expect(JSON.stringify(build(routes, { tlsAsk: ASK }))).not.toContain(ASK);
  });

  it.each([
    "https://127.0.0.1:7001/tls-ask",
    "http://localhost:7001/tls-ask",
    "http://10.0.0.1:7001/tls-ask",
    "http://127.0.0.1/tls-ask",
    "http://127.0.0.1:0/tls-ask",
    "http://127.0.0.1:70000/tls-ask",
    "http://127.0.0.1:7001/tls-ask?x=1",
    "http://127.0.0.1:7001/{env.X}",
    "http://user@127.0.0.1:7001/tls-ask",
    "127.0.0.1:7001/tls-ask",
  ])("rejects the ask URL %j", (tlsAsk) => {
    expect(() => build(routes, { https: internal, tlsAsk })).toThrow(/tls ask/);
  });
});
