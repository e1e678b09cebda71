import { describe, expect, it } from "vitest";
import { bareHost } from "./haproxy-access.ts";
import {
  LETS_ENCRYPT,
  assertHost,
  assertHttps,
  assertUpstream,
  type HttpsOptions,
  type RouteEntry,
  tlsHostsOf,
  wantsTls,
} from "./routes.ts";

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

describe("assertHttps", () => {
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
    expect(() => assertHttps(https, 8080)).toThrow(error);
  });

  it("accepts the internal issuer and an ACME CA with an email", () => {
    expect(() => assertHttps({ port: 8443, issuer: "internal" }, 8080)).not.toThrow();
    expect(() =>
      assertHttps({ port: 443, issuer: "acme", acmeEmail: "ops@example.com", acmeCa: LETS_ENCRYPT }, 80),
    ).not.toThrow();
  });
});

describe("bareHost", () => {
  it.each([
    ["a.test", "a.test"],
    ["A.Test:8080", "a.test"],
    ["127.0.0.1:80", "127.0.0.1"],
    ["[::1]:80", "::1"],
    ["", ""],
  ])("%j → %j", (input, out) => expect(bareHost(input)).toBe(out));
});
