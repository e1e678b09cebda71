import { afterEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../log.ts";
import type { NotificationParamsInput } from "../protocol/methods.ts";
import { StatsBatch } from "../protocol/notifications.ts";
import { FakeBackend } from "../runtime/fake-backend.ts";
import { sanitizeStats, startStatsCollector, type StatsCollector } from "./stats-collector.ts";

const MiB = 1024 * 1024;
const config = (id: string) => ({
  id,
  team: "team-a",
  app: "demo",
  release: "v1",
  processType: "web",
  image: "localhost/busybox:latest",
  limits: { memoryBytes: 64 * MiB, cpuMillis: 500 },
});

class Sink {
  isRegistered = true;
  readonly sent: NotificationParamsInput<"node.stats">[] = [];
  notify(_method: "node.stats", params: NotificationParamsInput<"node.stats">): void {
    this.sent.push(params);
  }
}

async function backendWith(running: string[], created: string[] = []) {
  const backend = new FakeBackend();
  for (const id of running) {
    await backend.create(config(id));
    await backend.start(id);
  }
  for (const id of created) await backend.create(config(id));
  return backend;
}

let collector: StatsCollector | undefined;
afterEach(() => {
  collector?.stop();
  vi.useRealTimers();
});

describe("stats collector", () => {
  it("sends one node.stats batch with every running instance, counters growing between passes", async () => {
    const backend = await backendWith(["web-1", "web-2"], ["web-3"]);
    const sink = new Sink();
    const now = new Date("2024-05-01T12:00:00.000Z");
    collector = startStatsCollector({ backend, sink, log: silentLogger(), intervalMs: 60_000, now: () => now });
    await collector.collect();
    await collector.collect();
    expect(sink.sent).toHaveLength(2);
    const [first, second] = sink.sent.map((b) => StatsBatch.parse(b));
    expect(first?.at).toBe("2024-05-01T12:00:00.000Z");
    expect(first?.instances.map((s) => s.instanceId)).toEqual(["web-1", "web-2"]);
    expect(first?.instances[0]).toMatchObject({ memoryLimitBytes: 64 * MiB, pids: 1 });
    expect(second?.instances[0]?.cpuNanos).toBeGreaterThan(first?.instances[0]?.cpuNanos ?? Infinity);
  });

  it("reads and sends nothing while not registered (no stale samples queued)", async () => {
    const backend = await backendWith(["web-1"]);
    const sink = new Sink();
    sink.isRegistered = false;
    collector = startStatsCollector({ backend, sink, log: silentLogger(), intervalMs: 60_000 });
    expect(await collector.collect()).toEqual([]);
    expect(sink.sent).toEqual([]);
    sink.isRegistered = true;
    expect(await collector.collect()).toHaveLength(1);
  });

  it("skips an instance whose stats fail and sends the others", async () => {
    const backend = await backendWith(["web-1", "web-2"]);
    const real = backend.stats.bind(backend);
    backend.stats = async (id) => (id === "web-1" ? Promise.reject(new Error("gone")) : real(id));
    const sink = new Sink();
    collector = startStatsCollector({ backend, sink, log: silentLogger(), intervalMs: 60_000 });
    await collector.collect();
    expect(sink.sent[0]?.instances.map((s) => s.instanceId)).toEqual(["web-2"]);
  });

  it("samples on its interval and stops", async () => {
    vi.useFakeTimers();
    const backend = await backendWith(["web-1"]);
    const sink = new Sink();
    collector = startStatsCollector({ backend, sink, log: silentLogger(), intervalMs: 5_000 });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(sink.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(10_001);
    expect(sink.sent).toHaveLength(3);
    collector.stop();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(sink.sent).toHaveLength(3);
  });

  it("turns cgroup v1's 'no limit' (about 2^63) into 0 and drops readings that cannot be sent", () => {
    const s = {
      instanceId: "web-1",
      cpuNanos: 1,
      memoryBytes: 2,
      memoryLimitBytes: 9223372036854771712,
      pids: 1,
      netRxBytes: 0,
      netTxBytes: 0,
      blkReadBytes: 0,
      blkWriteBytes: 0,
    };
    expect(sanitizeStats(s)?.memoryLimitBytes).toBe(0);
    expect(sanitizeStats({ ...s, cpuNanos: -1 })).toBeNull();
  });
});
