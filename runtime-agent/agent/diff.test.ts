import { describe, expect, it } from "vitest";
import { InstanceSpec, type InstanceSpecInput } from "../protocol/desired-state.ts";
import { diffInstances, specHash } from "./diff.ts";

const spec = (id: string, patch: Partial<InstanceSpecInput> = {}) =>
  InstanceSpec.parse({
    id,
    team: "team-a",
    app: "shop",
    release: "v1",
    processType: "web",
    image: "localhost/busybox:latest",
    limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100 },
    ...patch,
  });

describe("diffInstances", () => {
  it("starts the missing, stops the extra, keeps the same", () => {
    const a = spec("a");
    const b = spec("b");
    const d = diffInstances(
      [a, b],
      [
        { id: "b", specHash: specHash(b) },
        { id: "z", specHash: "x" },
      ],
    );
    expect(d).toEqual({ start: [a], stop: ["z"], replace: [], keep: ["b"] });
  });
  it("does not replace an instance when only the CPU request appears or changes", () => {
    const old = spec("a");
    const now = spec("a", { limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 100, cpuRequestMillis: 10 } });
    expect(diffInstances([now], [{ id: "a", specHash: specHash(old) }])).toMatchObject({ replace: [], keep: ["a"] });
    const limit = spec("a", { limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 200, cpuRequestMillis: 10 } });
    expect(diffInstances([limit], [{ id: "a", specHash: specHash(now) }]).replace).toEqual([limit]);
  });
  it("replaces an instance whose spec changed, adopts one with an unknown spec", () => {
    const a = spec("a", { env: { X: "2" } });
    const b = spec("b");
    const d = diffInstances([a, b], [{ id: "a", specHash: specHash(spec("a", { env: { X: "1" } })) }, { id: "b" }]);
    expect(d.replace).toEqual([a]);
    expect(d.keep).toEqual(["b"]);
  });
  it("is empty work for an identical state and hashes independently of key order", () => {
    const a = spec("a", { env: { A: "1", B: "2" } });
    const reordered = spec("a", { env: { B: "2", A: "1" } });
    expect(specHash(a)).toBe(specHash(reordered));
    expect(diffInstances([a], [{ id: "a", specHash: specHash(reordered) }])).toEqual({
      start: [],
      stop: [],
      replace: [],
      keep: ["a"],
    });
  });
});
