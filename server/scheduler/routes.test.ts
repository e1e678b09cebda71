import { describe, expect, it } from "vitest";
import { routesFor } from "./routes.ts";

const web = (
  appId: string,
  nodeId: string | null,
  hostPort: number | null,
  o: Partial<{ state: string; desired: string; processType: string }> = {},
) => ({
  appId,
  nodeId,
  hostPort,
  processType: o.processType ?? "web",
  desired: o.desired ?? "running",
  state: o.state ?? "running",
});

describe("routesFor", () => {
  it("routes each app to its healthy, wanted web instances on connected nodes, sorted", () => {
    const apps = [
      {
        id: "b",
        name: "beta",
        teamId: "t1",
        maintenance: true,
        domains: [{ hostname: "WWW.Example.com" }, { hostname: "a.example.com" }],
      },
      { id: "a", name: "alpha", teamId: "t1", maintenance: false, domains: [] },
      { id: "c", name: "gamma", teamId: "t1", maintenance: false, domains: [] },
    ];
    const node = (id: string, address: string) => ({ id, address, teamId: null, unroutable: null });
    const nodes = [node("n1", "10.0.0.1"), node("n2", "10.0.0.2"), node("n3", "10.0.0.3"), node("n4", "")];
    const instances = [
      web("a", "n2", 20002),
      web("a", "n1", 20001),
      web("a", "n1", 20003, { processType: "worker" }),
      web("a", "n1", 20004, { desired: "stopped" }),
      web("a", "n1", 20005, { state: "starting" }),
      web("a", "n1", null),
      web("a", null, 20006),
      web("a", "n3", 20007), // node not serving (lost)
      web("a", "n4", 20008), // node without an address
      web("a", "n2", 20009, { desired: "replace" }), // still serving until its replacement is healthy
      web("b", "n1", 20010),
      web("x", "n1", 20011), // an app that is not in the list
    ];
    expect(routesFor({ domain: "apps.test" }, apps, instances, nodes, new Set(["n1", "n2", "n4"]))).toEqual([
      {
        app: "alpha",
        hosts: ["alpha.apps.test"],
        maintenance: false,
        upstreams: ["10.0.0.1:20001", "10.0.0.2:20002", "10.0.0.2:20009"],
      },
      {
        app: "beta",
        hosts: ["beta.apps.test", "a.example.com", "www.example.com"],
        maintenance: true,
        upstreams: ["10.0.0.1:20010"],
      },
      { app: "gamma", hosts: ["gamma.apps.test"], maintenance: false, upstreams: [] },
    ]);
  });

  it("never routes to another team's node, an unroutable node or a privileged host port", () => {
    const apps = [
      { id: "a", name: "alpha", teamId: "t1", maintenance: false, domains: [] },
      { id: "b", name: "beta", teamId: "t2", maintenance: false, domains: [] },
    ];
    const nodes = [
      { id: "shared", address: "10.0.0.1", teamId: null, unroutable: null },
      { id: "t1-node", address: "10.0.0.2", teamId: "t1", unroutable: null },
      { id: "t2-node", address: "10.0.0.3", teamId: "t2", unroutable: null },
      { id: "loop", address: "127.0.0.1", teamId: "t1", unroutable: "127.0.0.1 is a loopback address" },
      { id: "v6", address: "fd00::7", teamId: null, unroutable: null },
    ];
    const instances = [
      web("a", "shared", 20001),
      web("a", "t1-node", 20002),
      web("a", "t2-node", 20003), // another team's node: never, whatever the rows say
      web("a", "loop", 20004),
      web("a", "shared", 80), // a privileged port is nobody's instance
      web("a", "shared", 1023),
      web("a", "v6", 20005), // the router dials IPv4 only
      web("b", "t1-node", 20006),
      web("b", "t2-node", 20007),
    ];
    const connected = new Set(nodes.map((n) => n.id));
    expect(routesFor({ domain: "apps.test" }, apps, instances, nodes, connected).map((r) => r.upstreams)).toEqual([
      ["10.0.0.1:20001", "10.0.0.2:20002"],
      ["10.0.0.3:20007"],
    ]);
  });
});
