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
        maintenance: true,
        domains: [{ hostname: "WWW.Example.com" }, { hostname: "a.example.com" }],
      },
      { id: "a", name: "alpha", maintenance: false, domains: [] },
      { id: "c", name: "gamma", maintenance: false, domains: [] },
    ];
    const nodes = [
      { id: "n1", address: "10.0.0.1" },
      { id: "n2", address: "10.0.0.2" },
      { id: "n3", address: "10.0.0.3" },
      { id: "n4", address: "" },
    ];
    const instances = [
      web("a", "n2", 20002),
      web("a", "n1", 20001),
      web("a", "n1", 20003, { processType: "worker" }),
      web("a", "n1", 20004, { desired: "stopped" }),
      web("a", "n1", 20005, { state: "starting" }),
      web("a", "n1", null),
      web("a", null, 20006),
      web("a", "n3", 20007), // node not connected
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
});
