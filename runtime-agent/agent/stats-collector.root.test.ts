// Root tier: the stats collector over the real OCI backend. A busy-looping container shows CPU time growing (within
// its CPU quota), memory in use and the memory limit of its spec.
import { afterAll, beforeAll, expect, it } from "vitest";
import { describeRoot } from "../../test/helpers/root.ts";
import { silentLogger } from "../log.ts";
import type { NotificationParamsInput } from "../protocol/methods.ts";
import { StatsBatch } from "../protocol/notifications.ts";
import { createRootEnv, type RootEnv } from "../test-support/root-env.ts";
import { startStatsCollector } from "./stats-collector.ts";

const MiB = 1024 * 1024;

describeRoot("stats collector (root)", () => {
  let env: RootEnv;

  beforeAll(async () => {
    env = await createRootEnv();
  });

  afterAll(async () => {
    const problems = await env?.destroy();
    expect(problems ?? []).toEqual([]);
  });

  it("reports CPU, memory and the spec's memory limit of a busy container", async () => {
    const { backend } = env;
    await backend.create(
      env.container("busy-1", {
        command: ["/bin/sh", "-c", "while :; do :; done"],
        limits: { memoryBytes: 40 * MiB, cpuMillis: 500, pids: 32 },
      }),
    );
    await backend.start("busy-1");
    const sent: NotificationParamsInput<"node.stats">[] = [];
    const collector = startStatsCollector({
      backend,
      sink: { isRegistered: true, notify: (_m, params) => sent.push(params) },
      log: silentLogger(),
      intervalMs: 60_000,
    });
    try {
      await collector.collect();
      await new Promise((r) => setTimeout(r, 2_000));
      await collector.collect();
    } finally {
      collector.stop();
    }
    const [first, second] = sent.map((b) => StatsBatch.parse(b));
    const a = first?.instances.find((s) => s.instanceId === "busy-1");
    const b = second?.instances.find((s) => s.instanceId === "busy-1");
    expect(a && b).toBeTruthy();
    expect(b?.memoryLimitBytes).toBe(40 * MiB);
    expect(b?.memoryBytes).toBeGreaterThan(0);
    expect(b?.pids).toBeGreaterThanOrEqual(1);
    // CPU % of one core over the interval: clearly busy, and held to the 0.5-core quota (with some slack).
    const elapsedMs = Date.parse(second?.at ?? "") - Date.parse(first?.at ?? "");
    const percent = (((b?.cpuNanos ?? 0) - (a?.cpuNanos ?? 0)) / (elapsedMs * 1e6)) * 100;
    expect(percent).toBeGreaterThan(10);
    expect(percent).toBeLessThan(75);
    await backend.stop("busy-1", 1_000);
    await backend.delete("busy-1");
  });
});
