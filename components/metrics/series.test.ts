// Metrics helpers: merging history with live points, bounding memory, rates from counters, per-type sums.
import { describe, expect, it } from "vitest";
import {
  aggregateByType,
  alignedData,
  counterRates,
  formatBytes,
  formatPercent,
  historyPoints,
  mergePoints,
  perInstance,
  type SeriesMap,
  type StreamPoint,
} from "./series.ts";

const T0 = Date.parse("2026-01-01T00:00:00.000Z");
const iso = (ms: number) => new Date(ms).toISOString();

function pt(instanceId: string, atMs: number, over: Partial<StreamPoint> = {}): StreamPoint {
  return {
    instanceId,
    processType: instanceId.startsWith("w") ? "web" : "worker",
    at: iso(atMs),
    cpuPercent: 10,
    memoryBytes: 100,
    memoryLimitBytes: 1000,
    netRxBytes: 0,
    netTxBytes: 0,
    pids: 1,
    ...over,
  };
}

describe("mergePoints", () => {
  it("appends live points after history and ignores duplicates of the same instance and time", () => {
    let m: SeriesMap = new Map();
    m = mergePoints(m, [pt("w1", T0), pt("w1", T0 + 5000)]);
    const before = m;
    m = mergePoints(m, [pt("w1", T0 + 5000), pt("w1", T0 + 10_000)]);
    expect(m.get("w1")?.ts).toEqual([T0, T0 + 5000, T0 + 10_000]);
    // The previous map is not mutated (it is React state).
    expect(before.get("w1")?.ts).toEqual([T0, T0 + 5000]);
  });

  it("puts out-of-order points in place", () => {
    const m = mergePoints(new Map(), [pt("w1", T0 + 10_000), pt("w1", T0), pt("w1", T0 + 5000)]);
    expect(m.get("w1")?.ts).toEqual([T0, T0 + 5000, T0 + 10_000]);
  });

  it("keeps at most one hour before the newest point and forgets instances left without points", () => {
    const hour = 60 * 60 * 1000;
    let m = mergePoints(new Map(), [pt("w1", T0), pt("k1", T0), pt("k1", T0 + hour / 2)]);
    m = mergePoints(m, [pt("k1", T0 + hour + 1000)]);
    expect(m.has("w1")).toBe(false);
    expect(m.get("k1")?.ts).toEqual([T0 + hour / 2, T0 + hour + 1000]);
  });

  it("caps the points per instance", () => {
    const pts = Array.from({ length: 50 }, (_, i) => pt("w1", T0 + i * 5000));
    const m = mergePoints(new Map(), pts, 60 * 60 * 1000, 20);
    expect(m.get("w1")?.ts.length).toBe(20);
    expect(m.get("w1")?.ts[19]).toBe(T0 + 49 * 5000);
  });

  it("flattens the REST answer", () => {
    const flat = historyPoints({
      instances: [{ instanceId: "w1", processType: "web", points: [{ ...pt("w1", T0) }] }],
    });
    expect(flat[0]).toMatchObject({ instanceId: "w1", processType: "web", at: iso(T0) });
  });
});

describe("counterRates", () => {
  it("derives bytes per second from a cumulative counter", () => {
    expect(counterRates([0, 5000, 10_000], [0, 5000, 15_000])).toEqual([null, 1000, 2000]);
  });

  it("breaks on a counter reset (restart), a zero interval and a long gap", () => {
    expect(counterRates([0, 5000, 10_000], [1000, 500, 1500])).toEqual([null, null, 200]);
    expect(counterRates([0, 0], [0, 10])).toEqual([null, null]);
    expect(counterRates([0, 10 * 60 * 1000], [0, 10])).toEqual([null, null]);
  });
});

describe("aggregation and chart data", () => {
  const m = mergePoints(new Map(), [
    pt("w1", T0, { cpuPercent: 10, memoryBytes: 100, netRxBytes: 0 }),
    pt("w1", T0 + 5000, { cpuPercent: 20, memoryBytes: 200, netRxBytes: 5000 }),
    pt("w2", T0 + 1000, { cpuPercent: 5, memoryBytes: 50, memoryLimitBytes: 0, netRxBytes: 0 }),
    pt("w2", T0 + 6000, { cpuPercent: null, memoryBytes: 60, memoryLimitBytes: 0, netRxBytes: 10_000 }),
    pt("k1", T0, { cpuPercent: 1 }),
  ]);

  it("sums instances of a process type per 5 s bucket", () => {
    const types = aggregateByType(m);
    expect(types.map((t) => t.label)).toEqual(["web", "worker"]);
    const web = types[0]!;
    expect(web.instances).toBe(2);
    expect(web.derived.ts).toEqual([T0, T0 + 5000]);
    expect(web.derived.cpu).toEqual([15, 20]);
    expect(web.derived.memory).toEqual([150, 260]);
    // Only w1 has a limit.
    expect(web.derived.limit).toEqual([1000, 1000]);
    expect(web.derived.rx).toEqual([null, 1000 + 2000]);
  });

  it("lines up series on shared buckets with nulls for holes", () => {
    const lines = perInstance(m);
    expect(lines.map((l) => l.label)).toEqual(["web.w1", "web.w2", "worker.k1"]);
    const [x, ...ys] = alignedData(lines, ["cpu"]);
    expect(x).toEqual([T0 / 1000, (T0 + 5000) / 1000]);
    expect(ys).toEqual([
      [10, 20],
      [5, null],
      [1, null],
    ]);
  });
});

describe("formatting", () => {
  it("formats bytes and percents", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(256 * 1024 * 1024, 0)).toBe("256 MiB");
    expect(formatBytes(null)).toBe("—");
    expect(formatPercent(12.345)).toBe("12.3%");
    expect(formatPercent(140.4)).toBe("140%");
    expect(formatPercent(null)).toBe("—");
  });
});
