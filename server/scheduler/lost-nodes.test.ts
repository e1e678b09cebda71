import { describe, expect, it } from "vitest";
import { lostNodeIds } from "./lost-nodes.ts";

const GRACE = 60_000;
const T = Date.parse("2026-12-02T12:00:00Z");
const node = (id: string, lastSeenAgoMs: number | null) => ({
  id,
  lastSeenAt: lastSeenAgoMs === null ? null : new Date(T - lastSeenAgoMs),
  createdAt: new Date(T - 3_600_000),
});

describe("lostNodeIds", () => {
  it("declares a disconnected node lost once its grace period after its last contact passed", () => {
    const lost = lostNodeIds([node("a", 61_000), node("b", 59_000)], new Set(), T, GRACE, T - 3_600_000);
    expect([...lost]).toEqual(["a"]);
  });

  it("never declares a connected node lost", () => {
    expect([...lostNodeIds([node("a", 600_000)], new Set(["a"]), T, GRACE, 0)]).toEqual([]);
  });

  it("gives every agent the grace period from the control plane's start (a restart or upgrade took longer)", () => {
    // Last heard of 10 minutes ago (the control plane was away that long), control plane started 5 s ago.
    const nodes = [node("a", 600_000), node("b", null)];
    expect([...lostNodeIds(nodes, new Set(), T, GRACE, T - 5_000)]).toEqual([]);
    // Still not back a grace period after the start: lost.
    expect([...lostNodeIds(nodes, new Set(), T, GRACE, T - 61_000)].sort()).toEqual(["a", "b"]);
  });
});
