import { describe, expect, it } from "vitest";
import { currentStats, formatBytes, statsRows } from "./stats.ts";

const point = (at: string, cpuPercent: number | null) => ({
  at,
  cpuPercent,
  memoryBytes: 12.5 * 1024 * 1024,
  memoryLimitBytes: 64 * 1024 * 1024,
  netRxBytes: 1536,
  netTxBytes: 300,
  blkReadBytes: 0,
  blkWriteBytes: 0,
  pids: 4,
});

describe("berth stats formatting", () => {
  it("formats bytes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1536)).toBe("1.5 KiB");
    expect(formatBytes(64 * 1024 * 1024)).toBe("64 MiB");
    expect(formatBytes(150.4 * 1024 * 1024)).toBe("150 MiB");
    expect(formatBytes(3 * 1024 ** 4)).toBe("3 TiB");
  });

  it("takes the newest point of each instance and renders a row", () => {
    const current = currentStats({
      instances: [
        { instanceId: "web-1", processType: "web", points: [point("a", null), point("b", 12.345)] },
        { instanceId: "web-2", processType: "web", points: [point("a", null)] },
        { instanceId: "web-3", processType: "web", points: [] },
      ],
    });
    expect(current.map((c) => [c.instanceId, c.at])).toEqual([
      ["web-1", "b"],
      ["web-2", "a"],
    ]);
    expect(statsRows(current)).toEqual([
      ["web-1", "web", "12.3%", "12.5 MiB / 64 MiB", "1.5 KiB / 300 B", "4"],
      ["web-2", "web", "-", "12.5 MiB / 64 MiB", "1.5 KiB / 300 B", "4"],
    ]);
    expect(statsRows([{ instanceId: "w", processType: "web", ...point("a", 0), memoryLimitBytes: 0 }])[0]?.[3]).toBe(
      "12.5 MiB / no limit",
    );
  });
});
