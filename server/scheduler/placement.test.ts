import { describe, expect, it } from "vitest";
import { effectiveRequests, type LimitsAndRequests } from "../formation/requests.ts";
import { type NodeCapacity, place } from "./placement.ts";

function node(id: string, o: Partial<NodeCapacity> & { used?: number; groups?: Record<string, number> } = {}) {
  return {
    id,
    schedulable: o.schedulable ?? true,
    cpus: o.cpus ?? 4,
    memoryMb: o.memoryMb ?? 4096,
    allocated: o.allocated ?? { cpu: 0, memoryMb: o.used ?? 0 },
    groupCounts: new Map(Object.entries(o.groups ?? {})),
    images: o.images ?? new Set<string>(),
  } satisfies NodeCapacity;
}

const req = { group: "app/web", image: "img@1", count: 1, memoryMb: 512, cpu: 1 };

describe("place", () => {
  const cases: {
    name: string;
    nodes: NodeCapacity[];
    count: number;
    memoryMb?: number;
    want: string[];
    ok?: boolean;
  }[] = [
    {
      name: "spreads one type across nodes",
      nodes: [node("a"), node("b"), node("c")],
      count: 3,
      want: ["a", "b", "c"],
    },
    {
      name: "prefers the node with fewer instances of the type",
      nodes: [node("a", { groups: { "app/web": 2 } }), node("b", { groups: { "app/web": 1 } })],
      count: 1,
      want: ["b"],
    },
    {
      name: "other types do not count for spread",
      nodes: [node("a", { groups: { "app/worker": 5 }, used: 100 }), node("b", { used: 200 })],
      count: 1,
      want: ["a"],
    },
    {
      name: "prefers a node that already has the image",
      nodes: [node("a"), node("b", { images: new Set(["img@1"]) })],
      count: 1,
      want: ["b"],
    },
    {
      name: "then the most free memory",
      nodes: [node("a", { used: 1000 }), node("b", { used: 10 })],
      count: 1,
      want: ["b"],
    },
    {
      name: "skips nodes without memory",
      nodes: [node("a", { used: 3800 }), node("b", { used: 3000 })],
      count: 2,
      want: ["b", "b"],
    },
    {
      name: "skips cordoned and down nodes",
      nodes: [node("a", { schedulable: false }), node("b")],
      count: 2,
      want: ["b", "b"],
    },
    {
      name: "places what fits and reports the rest",
      nodes: [node("a", { memoryMb: 1024 })],
      count: 3,
      want: ["a", "a"],
      ok: false,
    },
    { name: "no node at all", nodes: [], count: 1, want: [], ok: false },
    {
      name: "an exact fit is allowed",
      nodes: [node("a", { memoryMb: 512, cpus: 1 })],
      count: 1,
      want: ["a"],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = place(c.nodes, { ...req, count: c.count, memoryMb: c.memoryMb ?? req.memoryMb });
      expect(r.nodes).toEqual(c.want);
      expect(r.ok).toBe(c.ok ?? true);
    });
  }

  it("says why nothing fits", () => {
    expect(place([node("a", { schedulable: false })], req)).toMatchObject({ ok: false, reason: /no ready node/ });
    expect(place([node("a", { memoryMb: 100 })], req)).toMatchObject({ ok: false, reason: /512 MB/ });
  });

  it("node loss: instances go to the remaining nodes, spread", () => {
    const nodes = [node("a", { schedulable: false, groups: { "app/web": 2 } }), node("b"), node("c")];
    expect(place(nodes, { ...req, count: 2 }).nodes).toEqual(["b", "c"]);
  });
});

describe("place by requests", () => {
  // Instances of a 2-core, 4 GB node, each with its limits; what the node has allocated is the sum of their requests.
  const allocatedBy = (instances: LimitsAndRequests[]) =>
    instances.reduce(
      (a, i) => {
        const r = effectiveRequests(i);
        return { cpu: a.cpu + r.cpu, memoryMb: a.memoryMb + r.memoryMb };
      },
      { cpu: 0, memoryMb: 0 },
    );
  const twoCores = (instances: LimitsAndRequests[]) =>
    node("n", { cpus: 2, memoryMb: 4096, allocated: allocatedBy(instances) });
  const limit1 = { memoryMb: 256, cpu: 1 };
  const cases: {
    name: string;
    running: LimitsAndRequests[];
    next: LimitsAndRequests;
    count: number;
    placed: number;
  }[] = [
    {
      name: "CPU limits adding up to 4x the cores do not refuse (default CPU request 0.1)",
      running: Array.from({ length: 8 }, () => limit1),
      next: limit1,
      count: 4,
      placed: 4,
    },
    {
      name: "CPU limits adding up to 10x the cores still do not refuse",
      running: Array.from({ length: 15 }, () => limit1),
      next: limit1,
      count: 1,
      placed: 1,
    },
    {
      name: "CPU requests fill the cores: 20 of 0.1 on 2 cores, the 21st waits",
      running: Array.from({ length: 18 }, () => ({ memoryMb: 32, cpu: 1 })),
      next: { memoryMb: 32, cpu: 1 },
      count: 3,
      placed: 2,
    },
    {
      name: "explicit CPU requests count, not the limit",
      running: [{ memoryMb: 64, cpu: 2, cpuRequest: 1.5 }],
      next: { memoryMb: 64, cpu: 0.5, cpuRequest: 0.5 },
      count: 2,
      placed: 1,
    },
    {
      name: "a CPU request of 0 (best effort) never runs out of cores",
      running: Array.from({ length: 20 }, () => ({ memoryMb: 32, cpu: 1 })),
      next: { memoryMb: 32, cpu: 1, cpuRequest: 0 },
      count: 10,
      placed: 10,
    },
    {
      name: "memory requests default to the limit: 4096 MB holds 8 of 512 MB",
      running: Array.from({ length: 6 }, () => ({ memoryMb: 512, cpu: 0.5 })),
      next: { memoryMb: 512, cpu: 0.5 },
      count: 3,
      placed: 2,
    },
    {
      name: "a lower memory request packs more than the limits would",
      running: Array.from({ length: 8 }, () => ({ memoryMb: 512, cpu: 0.1, memoryRequestMb: 128 })),
      next: { memoryMb: 512, cpu: 0.1, memoryRequestMb: 128 },
      count: 10,
      placed: 10,
    },
    {
      name: "a CPU limit below the default request counts the limit",
      running: Array.from({ length: 39 }, () => ({ memoryMb: 32, cpu: 0.05 })),
      next: { memoryMb: 32, cpu: 0.05 },
      // 39 x 0.05 = 1.95 of 2 cores: one more of 0.05 fits (one of 0.1 would not), a second does not.
      count: 2,
      placed: 1,
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = effectiveRequests(c.next);
      const got = place([twoCores(c.running)], { ...req, count: c.count, memoryMb: r.memoryMb, cpu: r.cpu });
      expect(got.nodes).toHaveLength(c.placed);
      expect(got.ok).toBe(c.placed === c.count);
    });
  }

  it("says which request did not fit", () => {
    const full = twoCores(Array.from({ length: 20 }, () => limit1));
    expect(place([full], { ...req, memoryMb: 256, cpu: 0.1 })).toMatchObject({
      ok: false,
      reason: "no node has 256 MB memory and 0.1 CPU free (requests)",
    });
  });
});
