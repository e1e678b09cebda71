import { describe, expect, it } from "vitest";
import type { RouteEntry } from "./routes.ts";
import { isoFromMs, parseHaproxyAccess } from "./haproxy-access.ts";
import { renderHaproxyConfig } from "./haproxy-config.ts";
import {
  MIN_POOL,
  commandSucceeded,
  emptyState,
  parseRuntimeState,
  planRoutes,
  poolFor,
  renderHostMap,
  runtimeCommands,
  validateRoutes,
} from "./haproxy-slots.ts";

const MAP = "/d/haproxy/hosts.map";
const route = (app: string, upstreams: string[], over: Partial<RouteEntry> = {}): RouteEntry => ({
  app,
  hosts: [`${app}.berth.test`],
  maintenance: false,
  upstreams,
  ...over,
});

describe("planRoutes / runtimeCommands", () => {
  it("keeps an app's backend and an instance's slot, and fills new instances into free slots", () => {
    const s0 = emptyState(MIN_POOL);
    const s1 = planRoutes(
      s0,
      [route("shop", ["10.0.0.1:80", "10.0.0.2:80"]), route("blog", ["10.0.0.3:80"])],
      MIN_POOL,
    );
    expect(s1.owners.slice(0, 2)).toEqual(["shop", "blog"]);
    expect(s1.slots[0]!.slice(0, 2)).toEqual(["10.0.0.1:80", "10.0.0.2:80"]);
    expect(s1.hosts.get("shop.berth.test")).toBe("b0/shop");
    // blog leaves, shop scales 2 -> 2 with one instance replaced, a new app arrives.
    const s2 = planRoutes(s1, [route("shop", ["10.0.0.2:80", "10.0.0.9:80"]), route("new", ["10.0.0.5:80"])], MIN_POOL);
    expect(s2.owners[0]).toBe("shop");
    expect(s2.slots[0]![1]).toBe("10.0.0.2:80"); // kept its slot
    expect(s2.slots[0]![0]).toBeUndefined(); // the replaced instance's slot drains instead of being reused at once
    expect(s2.slots[0]![2]).toBe("10.0.0.9:80");
    expect(s2.owners[1]).toBeUndefined(); // blog's backend drains; the new app takes one that was free
    expect(s2.owners[2]).toBe("new");
    const cmds = runtimeCommands(s1, s2, MAP);
    // Slots filled first, then the map, then slots emptied.
    expect(cmds).toEqual([
      "set server b0/s2 addr 10.0.0.9 port 80",
      "set server b0/s2 state ready",
      "set server b2/s0 addr 10.0.0.5 port 80",
      "set server b2/s0 state ready",
      `add map ${MAP} new.berth.test b2/new`,
      `del map ${MAP} blog.berth.test`,
      "set server b0/s0 state maint",
      "set server b1/s0 state maint",
    ]);
    expect(runtimeCommands(s2, s2, MAP)).toEqual([]);
  });

  it("routes maintenance and instance-less apps to the page backends, naming the backend they keep", () => {
    const s1 = planRoutes(emptyState(MIN_POOL), [route("shop", ["10.0.0.1:80"])], MIN_POOL);
    const m = planRoutes(s1, [route("shop", ["10.0.0.1:80"], { maintenance: true })], MIN_POOL);
    expect(m.hosts.get("shop.berth.test")).toBe("maint/shop/b0");
    expect(m.slots[0]![0]).toBe("10.0.0.1:80"); // instances stay ready for when maintenance ends
    expect(runtimeCommands(s1, m, MAP)).toEqual([`set map ${MAP} shop.berth.test maint/shop/b0`]);
    const down = planRoutes(s1, [route("shop", [])], MIN_POOL);
    expect(down.hosts.get("shop.berth.test")).toBe("down/shop/b0");
  });

  it("grows the pool only when the routes do not fit", () => {
    expect(poolFor([route("a", ["10.0.0.1:1"])], MIN_POOL)).toBe(MIN_POOL);
    const wide = poolFor(
      [
        route(
          "a",
          Array.from({ length: 9 }, (_, i) => `10.0.0.${i + 1}:80`),
        ),
      ],
      MIN_POOL,
    );
    expect(wide).toEqual({ backends: MIN_POOL.backends, slots: 16 });
    const many = poolFor(
      Array.from({ length: 100 }, (_, i) => route(`a${i}`, [])),
      MIN_POOL,
    );
    expect(many.backends).toBeGreaterThanOrEqual(150);
  });

  it("refuses invalid routes before anything reaches HAProxy", () => {
    expect(() => validateRoutes([route("shop", ["10.0.0.1:80"], { hosts: ["Bad.Host"] })])).toThrow(/invalid host/);
    expect(() => validateRoutes([route("shop", ["10.0.0.1:80;x"])])).toThrow(/invalid upstream/);
    expect(() => validateRoutes([route("Shop", [])])).toThrow(/invalid app/);
    expect(() =>
      validateRoutes([route("a", [], { hosts: ["x.test"] }), route("b", [], { hosts: ["x.test"] })]),
    ).toThrow(/claimed by both/);
  });

  it("reads back the state a running HAProxy holds", () => {
    const s = planRoutes(
      emptyState({ backends: 2, slots: 2 }),
      [route("shop", ["10.0.0.1:80"]), route("blog", ["10.0.0.2:81"], { maintenance: true })],
      { backends: 2, slots: 2 },
    );
    const header = "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state ...";
    const row = (b: number, j: number, addr: string, admin: number, port: number) =>
      `${b + 3} b${b} ${j + 1} s${j} ${addr} 2 ${admin} 1 1 0 1 0 1 6 0 0 0 - ${port} - 0 0 - - 0`;
    const servers = [
      header,
      row(0, 0, "10.0.0.1", 4, 80),
      row(0, 1, "0.0.0.0", 4, 1),
      row(1, 0, "10.0.0.2", 0, 81),
      row(1, 1, "10.0.0.7", 5, 9),
    ].join("\n");
    const map = [...s.hosts].map(([h, v], i) => `0x${i} ${h} ${v}`).join("\n");
    const back = parseRuntimeState(servers, map);
    expect(back.pool).toEqual({ backends: 2, slots: 2 });
    expect(back.slots).toEqual([
      ["10.0.0.1:80", undefined],
      ["10.0.0.2:81", undefined],
    ]);
    expect(back.owners).toEqual(["shop", "blog"]);
    expect(runtimeCommands(back, s, MAP)).toEqual([]);
  });

  it("tells failed Runtime API answers from successful ones", () => {
    expect(commandSucceeded("set server b0/s0 state ready", "")).toBe(true);
    expect(commandSucceeded("set server b0/s0 addr 1.2.3.4 port 80", "IP changed from '0.0.0.0' to '1.2.3.4'\n")).toBe(
      true,
    );
    expect(commandSucceeded("set server b9/s0 state ready", "No such server.\n")).toBe(false);
    expect(commandSucceeded("add map /x a b", "Unknown map identifier.\n")).toBe(false);
  });
});

describe("renderHaproxyConfig", () => {
  it("declares every slot, the live ones with their address, and the request-id, forwarded and limit rules", () => {
    const pool = { backends: 2, slots: 2 };
    const s = planRoutes(emptyState(pool), [route("shop", ["localhost:3000"])], pool);
    const cfg = renderHaproxyConfig(
      { listen: { host: "127.0.0.1", port: 8080 }, adminSocket: "/d/run/admin.sock", mapFile: MAP, maxBodyBytes: 1000 },
      s,
    );
    expect(cfg).toContain("bind 127.0.0.1:8080");
    expect(cfg).toContain("stats socket /d/run/admin.sock mode 600 level admin expose-fd listeners");
    expect(cfg).toContain("  server s0 127.0.0.1:3000\n");
    expect(cfg).toContain("  server s1 0.0.0.0:1 disabled");
    expect(cfg).toContain("backend b1\n");
    expect(cfg).not.toContain("backend b2\n");
    expect(cfg).toContain("http-request set-header X-Forwarded-For %[src]");
    expect(cfg).toContain("req.hdr_val(content-length) gt 1000");
    expect(renderHostMap(s)).toBe("shop.berth.test b0/shop\n");
  });
});

describe("renderHaproxyConfig with TLS", () => {
  const tlsInput = (port: number) => ({
    listen: { host: "127.0.0.1", port: 8080 },
    adminSocket: "/d/run/admin.sock",
    mapFile: MAP,
    maxBodyBytes: 1000,
    tls: { port, crtList: "/d/crt-list.txt", certMap: "/d/certs.map", acmeMap: "/d/acme.map" },
  });

  it("adds the TLS bind, the ACME answers, the redirect and the SNI check before routing", () => {
    const cfg = renderHaproxyConfig(tlsInput(8443), emptyState({ backends: 1, slots: 1 }));
    expect(cfg).toContain("  bind 127.0.0.1:8443 ssl crt-list /d/crt-list.txt alpn h2,http/1.1 strict-sni\n");
    expect(cfg).toContain("path,field(4,/),map(/d/acme.map) if { path_beg /.well-known/acme-challenge/ }");
    expect(cfg).toContain(
      "redirect location https://%[var(txn.host)]:8443%[capture.req.uri] code 308 if !{ ssl_fc } " +
        "!{ path_beg /.well-known/acme-challenge/ } { var(txn.host),map(/d/certs.map) -m found }",
    );
    expect(cfg).toContain("X-Forwarded-Proto https if { ssl_fc }");
    // The ACME answer and the redirect come before any backend is chosen.
    expect(cfg.indexOf("map(/d/acme.map)")).toBeLessThan(cfg.indexOf("use_backend"));
    expect(cfg.indexOf("code 308")).toBeLessThan(cfg.indexOf("use_backend"));
  });

  it("leaves the port out of redirects to 443 and has no TLS lines without TLS", () => {
    expect(renderHaproxyConfig(tlsInput(443), emptyState({ backends: 1, slots: 1 }))).toContain(
      "location https://%[var(txn.host)]%[capture.req.uri] code 308",
    );
    const plain = renderHaproxyConfig({ ...tlsInput(443), tls: undefined }, emptyState({ backends: 1, slots: 1 }));
    expect(plain).not.toMatch(/crt-list|ssl_fc|acme|code 308/);
  });
});

describe("parseHaproxyAccess", () => {
  it("parses our log-format, host last", () => {
    const line = "berth1 1796200282.861 10c92830-fa53 200 23 180 4 shop 10.0.0.1:80 GET /a/b Shop.Test:8080";
    expect(parseHaproxyAccess(line)).toEqual({
      host: "shop.test",
      method: "GET",
      path: "/a/b",
      status: 200,
      durationMs: 4,
      bytes: 23,
      at: new Date(1796200282861 + 4).toISOString(),
      app: "shop",
      upstream: "10.0.0.1:80",
      requestId: "10c92830-fa53",
    });
    const miss = parseHaproxyAccess("berth1 1796200282.861 - 404 - 186 0 - -:- GET / a b");
    expect(miss).toMatchObject({ status: 404, bytes: 186, host: "a b" });
    expect(miss?.app).toBeUndefined();
    expect(miss?.upstream).toBeUndefined();
    expect(parseHaproxyAccess("Server b0/s1 is DOWN")).toBeUndefined();
    expect(parseHaproxyAccess("berth1 short")).toBeUndefined();
  });

  it("keeps hosts with spaces whole, and refuses upstreams that are not IPv4:port", () => {
    const line = "berth1 1796200282.861 id 200 - 99 0 shop <NOSRV> GET / Evil Host:80";
    expect(parseHaproxyAccess(line)).toMatchObject({ host: "evil host", bytes: 99, app: "shop" });
    expect(parseHaproxyAccess(line)?.upstream).toBeUndefined();
    expect(parseHaproxyAccess("berth1 1796200282.861 id 200 - 99 0 shop 1.2.3.4:x GET / h")?.upstream).toBeUndefined();
  });
});

describe("renderHaproxyConfig threads", () => {
  it("sets nbthread only when given (HAProxy's own default otherwise)", () => {
    const input = {
      listen: { host: "127.0.0.1", port: 8080 },
      adminSocket: "/d/a.sock",
      mapFile: MAP,
      maxBodyBytes: 10,
    };
    expect(renderHaproxyConfig(input, emptyState({ backends: 1, slots: 1 }))).not.toMatch(/nbthread/);
    expect(renderHaproxyConfig({ ...input, threads: 4 }, emptyState({ backends: 1, slots: 1 }))).toMatch(
      /^  nbthread 4$/m,
    );
  });
});

describe("isoFromMs", () => {
  it("matches Date.toISOString across seconds, millisecond padding and rounding", () => {
    const base = Date.UTC(2026, 11, 2, 23, 59, 59);
    for (const ms of [
      base,
      base + 1,
      base + 9,
      base + 10,
      base + 99,
      base + 100,
      base + 999,
      base + 1000,
      base + 61_234,
    ])
      expect(isoFromMs(ms)).toBe(new Date(ms).toISOString());
    expect(isoFromMs(base + 0.6)).toBe(new Date(base + 1).toISOString());
    expect(isoFromMs(base - 1)).toBe(new Date(base - 1).toISOString()); // back into the previous second
    expect(isoFromMs(Date.UTC(10_000, 0, 1))).toBe(new Date(Date.UTC(10_000, 0, 1)).toISOString());
  });
});
