import { describe, expect, it } from "vitest";
import {
  parseVolumeMounts,
  pinnedNode,
  pinnedNodeIssue,
  volumeMountsJson,
  volumesByGroup,
} from "./volume-placement.ts";

const vol = (id: string, o: { appId?: string; type?: string; nodeId?: string | null } = {}) => ({
  id,
  appId: o.appId ?? "a1",
  name: id.slice(4, 10),
  processType: o.type ?? "web",
  mountPath: `/${id.slice(4, 10)}`,
  sizeMb: 64,
  nodeId: o.nodeId ?? null,
});

describe("volume placement", () => {
  it("groups by app and process type, in id order", () => {
    const g = volumesByGroup([vol("vol-bbbbbbbb"), vol("vol-aaaaaaaa"), vol("vol-cccccccc", { type: "worker" })]);
    expect([...g.keys()].sort()).toEqual(["a1/web", "a1/worker"]);
    expect(g.get("a1/web")?.map((v) => v.id)).toEqual(["vol-aaaaaaaa", "vol-bbbbbbbb"]);
  });

  it("a group is pinned to the node of any pinned volume, else to none", () => {
    expect(pinnedNode([vol("vol-aaaaaaaa"), vol("vol-bbbbbbbb", { nodeId: "n2" })])).toBe("n2");
    expect(pinnedNode([vol("vol-aaaaaaaa")])).toBeNull();
  });

  it("says why a pinned group cannot be placed", () => {
    const vs = [vol("vol-aaaaaaaa", { nodeId: "n1" })];
    expect(pinnedNodeIssue(vs, "n1", undefined)).toMatch(/removed/);
    expect(pinnedNodeIssue(vs, "n1", { name: "node-1", schedulable: false })).toMatch(/node-1, which cannot/);
    expect(pinnedNodeIssue(vs, "n1", { name: "node-1", schedulable: true })).toBeNull();
  });

  it("stores mounts with sizes in bytes and reads them back", () => {
    const json = volumeMountsJson([vol("vol-aaaaaaaa")]);
    expect(parseVolumeMounts(json)).toEqual([{ id: "vol-aaaaaaaa", path: "/aaaaaa", sizeBytes: 64 * 1024 * 1024 }]);
    expect(volumeMountsJson([])).toBeNull();
    expect(parseVolumeMounts(null)).toEqual([]);
  });
});
