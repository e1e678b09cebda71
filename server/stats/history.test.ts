import { describe, expect, it } from "vitest";
import type { InstanceStats } from "../../runtime-agent/protocol/index.ts";
import { cpuPercent, FORGET_AFTER_MS, MAX_POINTS, StatsHistory } from "./history.ts";

const T0 = Date.parse("2024-05-01T12:00:00.000Z");
const at = (ms: number) => new Date(T0 + ms).toISOString();
const owner = { appId: "app-1", processType: "web" };
const sample = (cpuNanos: number, extra: Partial<InstanceStats> = {}): InstanceStats => ({
  instanceId: "web-1",
  cpuNanos,
  memoryBytes: 10 * 1024 * 1024,
  memoryLimitBytes: 64 * 1024 * 1024,
  pids: 3,
  netRxBytes: 1000,
  netTxBytes: 500,
  blkReadBytes: 7,
  blkWriteBytes: 8,
  ...extra,
});

describe("cpuPercent", () => {
  it("is CPU time over wall time, as a share of one core", () => {
    // 2.5 s of CPU in 5 s = half a core; 10 s in 5 s = two cores.
    expect(cpuPercent(1_000_000_000, T0, 3_500_000_000, T0 + 5_000)).toBe(50);
    expect(cpuPercent(0, T0, 10_000_000_000, T0 + 5_000)).toBe(200);
    expect(cpuPercent(5, T0, 5, T0 + 5_000)).toBe(0);
    expect(cpuPercent(0, T0, 1_234_567, T0 + 1_000)).toBe(0.12);
  });
  it("is null without a usable previous reading: first sample, counter reset, time not moving forward", () => {
    expect(cpuPercent(null, 0, 1_000, T0)).toBeNull();
    expect(cpuPercent(5_000_000_000, T0, 1_000, T0 + 5_000)).toBeNull();
    expect(cpuPercent(0, T0, 1_000, T0)).toBeNull();
    expect(cpuPercent(0, T0, 1_000, T0 - 1)).toBeNull();
  });
});

describe("StatsHistory", () => {
  it("records points with CPU % from deltas and returns them per app, filtered by since", () => {
    const h = new StatsHistory(() => T0);
    expect(h.record(owner, at(0), sample(0))).toMatchObject({ at: at(0), cpuPercent: null, pids: 3 });
    expect(h.record(owner, at(5_000), sample(1_000_000_000))?.cpuPercent).toBe(20);
    h.record({ appId: "app-1", processType: "worker" }, at(0), sample(0, { instanceId: "worker-1" }));
    h.record({ appId: "app-2", processType: "web" }, at(0), sample(0, { instanceId: "other-1" }));
    const series = h.forApp("app-1");
    expect(series.map((s) => [s.instanceId, s.processType, s.points.length])).toEqual([
      ["web-1", "web", 2],
      ["worker-1", "worker", 1],
    ]);
    expect(series[0]?.points[1]).toEqual({
      at: at(5_000),
      cpuPercent: 20,
      memoryBytes: 10 * 1024 * 1024,
      memoryLimitBytes: 64 * 1024 * 1024,
      netRxBytes: 1000,
      netTxBytes: 500,
      blkReadBytes: 7,
      blkWriteBytes: 8,
      pids: 3,
    });
    expect(h.forApp("app-1", T0 + 1).map((s) => s.points.length)).toEqual([1, 0]);
    expect(h.forApp("nope")).toEqual([]);
  });

  it("keeps at most MAX_POINTS per instance, dropping the oldest", () => {
    const h = new StatsHistory(() => T0);
    for (let i = 0; i < MAX_POINTS + 50; i++) h.record(owner, at(i * 1_000), sample(i * 100_000_000));
    const points = h.forApp("app-1")[0]?.points ?? [];
    expect(points).toHaveLength(MAX_POINTS);
    expect(points[0]?.at).toBe(at(50 * 1_000));
    expect(points.at(-1)?.at).toBe(at((MAX_POINTS + 49) * 1_000));
    expect(points.every((p) => p.cpuPercent === 10)).toBe(true);
  });

  it("keeps one hour: points older than an hour before the newest go", () => {
    const h = new StatsHistory(() => T0);
    h.record(owner, at(0), sample(0));
    h.record(owner, at(60_000), sample(0));
    h.record(owner, at(3_600_000 + 30_000), sample(0));
    expect(h.forApp("app-1")[0]?.points.map((p) => p.at)).toEqual([at(60_000), at(3_630_000)]);
  });

  it("drops samples that are not newer by MIN_SPACING_MS; restarts the CPU baseline after a counter reset", () => {
    const h = new StatsHistory(() => T0);
    h.record(owner, at(0), sample(1_000_000_000));
    expect(h.record(owner, at(0), sample(2_000_000_000))).toBeNull();
    expect(h.record(owner, at(-5_000), sample(2_000_000_000))).toBeNull();
    expect(h.record(owner, at(100), sample(2_000_000_000))).toBeNull();
    // Recreated container: the counter starts over, so there is no CPU % for this point, then it resumes.
    expect(h.record(owner, at(5_000), sample(100))?.cpuPercent).toBeNull();
    expect(h.record(owner, at(10_000), sample(500_000_100))?.cpuPercent).toBe(10);
    expect(h.forApp("app-1")[0]?.points).toHaveLength(3);
  });

  it("starts a new series when the agent's clock jumps back by more than a minute", () => {
    const h = new StatsHistory(() => T0);
    h.record(owner, at(600_000), sample(0));
    h.record(owner, at(605_000), sample(0));
    expect(h.record(owner, at(0), sample(0))).not.toBeNull();
    expect(h.forApp("app-1")[0]?.points.map((p) => p.at)).toEqual([at(0)]);
  });

  it("forgets instances that stopped reporting, by the control plane's clock", () => {
    let now = T0;
    const h = new StatsHistory(() => now);
    h.record(owner, at(0), sample(0));
    now += FORGET_AFTER_MS - 1;
    h.record(owner, at(5_000), sample(0, { instanceId: "web-2" }));
    h.sweep();
    expect(h.size).toBe(2);
    now += 2;
    h.sweep();
    expect(h.forApp("app-1").map((s) => s.instanceId)).toEqual(["web-2"]);
  });
});
