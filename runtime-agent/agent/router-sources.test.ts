import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.ts";
import { literalRouterSources, resolveRouterSources } from "./router-sources.ts";

const env = { NODE_ENV: "test" as const, BERTH_JOIN_TOKEN: "bn_0123456789abcdef0123" };
const cfg = (controlPlane: string, extra: string[] = []) =>
  loadAgentConfig([`--control-plane=${controlPlane}`, ...extra], env);

describe("router sources", () => {
  it("are the configured list or any, else the control plane's literal IPv4 address", () => {
    expect(literalRouterSources(cfg("http://10.0.0.5:3000"))).toEqual(["10.0.0.5"]);
    expect(literalRouterSources(cfg("https://berth.example", ["--router-sources=10.1.0.0/16, 10.2.0.7"]))).toEqual([
      "10.1.0.0/16",
      "10.2.0.7",
    ]);
    expect(literalRouterSources(cfg("https://berth.example", ["--router-sources=any"]))).toBe("any");
    expect(literalRouterSources(cfg("https://berth.example"))).toBeUndefined();
  });

  it("resolve a host name to its IPv4 addresses; one that does not resolve gives none", async () => {
    const lookup = async (host: string) => (host === "berth.example" ? ["192.0.2.1", "192.0.2.2"] : []);
    expect(await resolveRouterSources(cfg("https://berth.example"), lookup)).toEqual(["192.0.2.1", "192.0.2.2"]);
    const failing = async (): Promise<string[]> => Promise.reject(new Error("ENOTFOUND"));
    expect(await resolveRouterSources(cfg("https://nowhere.example"), failing)).toEqual([]);
    // A literal never asks DNS.
    expect(await resolveRouterSources(cfg("http://10.0.0.5:3000"), failing)).toEqual(["10.0.0.5"]);
  });

  it("come with the node's public ports (the router's, in single-machine mode)", () => {
    expect(cfg("http://10.0.0.5:3000").publicPorts).toEqual([]);
    expect(cfg("http://10.0.0.5:3000", ["--public-ports=8080, 8443"]).publicPorts).toEqual([8080, 8443]);
    expect(() => cfg("http://10.0.0.5:3000", ["--public-ports=80;rm"])).toThrow(/publicPorts/);
  });

  it("refuse anything that is not an IPv4 address or CIDR (the values reach iptables argv)", () => {
    for (const bad of ["10.0.0.1 -j ACCEPT", "0/0", "example.com", "10.0.0.0/40"])
      expect(() => cfg("http://10.0.0.5:3000", [`--router-sources=${bad}`])).toThrow(/routerSources/);
  });
});
