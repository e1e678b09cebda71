import { describe, expect, it } from "vitest";
import { normalizeIp, ownAddresses, refusedReason, routableHostPort, routeAddress } from "./address-policy.ts";

describe("normalizeIp", () => {
  it.each([
    ["10.0.0.5", "10.0.0.5"],
    ["::ffff:10.0.0.5", "10.0.0.5"],
    ["::FFFF:127.0.0.1", "127.0.0.1"],
    ["0:0:0:0:0:ffff:7f00:1", "127.0.0.1"],
    ["::ffff:a00:5", "10.0.0.5"],
    ["[2001:DB8::1]", "2001:db8::1"],
    ["fe80::1%eth0", "fe80::1"],
    ["::1", "::1"],
  ])("%s -> %s", (raw, want) => expect(normalizeIp(raw)).toBe(want));

  it.each(["", "example.com", "10.0.0.256", "1.2.3", "::g"])("rejects %j", (raw) =>
    expect(normalizeIp(raw)).toBeNull(),
  );
});

describe("refusedReason", () => {
  const own = new Set(["192.0.2.10", "2001:db8::10"]);
  it.each([
    ["127.0.0.1", "loopback"],
    ["127.8.9.10", "loopback"],
    ["::1", "loopback"],
    ["169.254.169.254", "link-local"],
    ["fe80::1", "link-local"],
    ["febf::1", "link-local"],
    ["0.0.0.0", "not a unicast"],
    ["::", "not a unicast"],
    ["224.0.0.1", "multicast"],
    ["ff02::1", "multicast"],
    ["255.255.255.255", "not a unicast"],
    ["192.0.2.10", "control plane's own host"],
    ["2001:db8::10", "control plane's own host"],
  ])("refuses %s (%s)", (ip, why) => expect(refusedReason(ip, own)).toContain(why));

  it.each(["10.200.1.2", "192.168.1.20", "203.0.113.7", "fd00::5", "2001:db8::11"])("allows %s", (ip) =>
    expect(refusedReason(ip, own)).toBeNull(),
  );

  it("counts this host's interface addresses and the listen host as its own", () => {
    const mine = ownAddresses("198.51.100.9");
    expect(mine.has("127.0.0.1")).toBe(true);
    expect(mine.has("198.51.100.9")).toBe(true);
    expect(ownAddresses("0.0.0.0").has("0.0.0.0")).toBe(true);
    expect(ownAddresses("localhost").has("localhost")).toBe(false);
  });
});

describe("routeAddress", () => {
  const own = new Set(["192.0.2.10"]);
  it("routes to the observed address of a remote node", () => {
    expect(routeAddress({ observed: "10.0.0.7", override: null, local: false }, own)).toEqual({
      address: "10.0.0.7",
      unroutable: null,
    });
  });
  it("marks a remote node seen on loopback or on this host unroutable", () => {
    expect(routeAddress({ observed: "127.0.0.1", override: null, local: false }, own).unroutable).toContain("loopback");
    expect(routeAddress({ observed: "192.0.2.10", override: null, local: false }, own).unroutable).toContain(
      "own host",
    );
    expect(routeAddress({ observed: "", override: null, local: false }, own).unroutable).toContain("no address");
  });
  it("routes the local agent where it reports it publishes, else on loopback, whatever it connected from", () => {
    expect(routeAddress({ observed: "192.0.2.10", override: null, local: true, reported: "10.99.3.1" }, own)).toEqual({
      address: "10.99.3.1",
      unroutable: null,
    });
    expect(routeAddress({ observed: "192.0.2.10", override: null, local: true }, own)).toEqual({
      address: "127.0.0.1",
      unroutable: null,
    });
    expect(
      routeAddress({ observed: "192.0.2.10", override: null, local: true, reported: "fd00::1" }, own).address,
    ).toBe("127.0.0.1");
  });
  it("never trusts the reported address of any other node", () => {
    expect(
      routeAddress({ observed: "10.0.0.7", override: null, local: false, reported: "10.0.0.99" }, own).address,
    ).toBe("10.0.0.7");
  });
  it("prefers the admin's address, validated the same way", () => {
    expect(routeAddress({ observed: "10.0.0.7", override: "10.0.0.8", local: false }, own)).toEqual({
      address: "10.0.0.8",
      unroutable: null,
    });
    expect(routeAddress({ observed: "10.0.0.7", override: "169.254.1.1", local: false }, own).unroutable).toContain(
      "link-local",
    );
  });
  it("does not route IPv6 (the router dials IPv4 upstreams only)", () => {
    expect(routeAddress({ observed: "fd00::5", override: null, local: false }, own).unroutable).toContain("IPv6");
  });
});

describe("host ports", () => {
  it("accepts 1024-65535 only", () => {
    expect([80, 1023, 1024, 65535, 65536, 0, null].map((p) => routableHostPort(p))).toEqual([
      false,
      false,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});
