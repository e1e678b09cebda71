import { describe, expect, it } from "vitest";
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
    { name: "spreads one type across nodes", nodes: [node("a"), node("b"), node("c")], count: 3, want: ["a", "b", "c"] },
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
    { name: "then the most free memory", nodes: [node("a", { used: 1000 }), node("b", { used: 10 })], count: 1, want: ["b"] },
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
