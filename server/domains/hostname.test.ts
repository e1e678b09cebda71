import { describe, expect, it } from "vitest";
import { hostnameProblem, isUnder, normalizeHostname } from "./hostname.ts";

describe("normalizeHostname", () => {
  it("lower-cases, trims and drops one trailing dot", () => {
    expect(normalizeHostname(" WWW.Example.COM. ")).toBe("www.example.com");
    expect(normalizeHostname("example.com..")).toBe("example.com..");
  });
});

describe("hostnameProblem", () => {
  it.each(["example.com", "www.example.com", "xn--bcher-kva.example", "a.b", "1.2.3.example", `${"a".repeat(63)}.io`])(
    "accepts %s",
    (h) => {
      expect(hostnameProblem(h)).toBeNull();
    },
  );

  it.each([
    ["", /empty/],
    ["example", /two labels/],
    ["*.example.com", /wildcard/],
    ["127.0.0.1", /IP address/],
    ["127.1", /IP address/],
    ["::1", /IP address/],
    ["[::1]", /IP address/],
    ["bücher.example", /punycode/],
    ["a_b.example", /only letters/],
    ["a..example", /empty label/],
    ["-a.example", /dash/],
    [`${"a".repeat(64)}.example`, /63/],
    [`${"a.".repeat(127)}com`, /253/],
  ])("refuses %j", (h, why) => {
    expect(hostnameProblem(h)).toMatch(why);
  });
});

describe("isUnder", () => {
  it("matches the zone and names under it only", () => {
    expect(isUnder("apps.example.com", "apps.example.com")).toBe(true);
    expect(isUnder("x.apps.example.com", "Apps.Example.com.")).toBe(true);
    expect(isUnder("myapps.example.com", "apps.example.com")).toBe(false);
    expect(isUnder("example.com", "")).toBe(false);
  });
});
