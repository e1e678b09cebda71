// Periodic resource stats of every running instance, streamed to the control plane as `node.stats` while the agent
// is connected. Stats are a live view, not a record: nothing is read or queued while disconnected (a backlog of old
// samples would only delay fresh ones and crowd out lifecycle events in the connection's bounded queue).
import type { Logger } from "pino";
import type { NotificationParamsInput } from "../protocol/methods.ts";
import { InstanceStats } from "../protocol/notifications.ts";
import type { RuntimeBackend } from "../runtime/backend.ts";

/** Default interval between two samples. */
export const DEFAULT_STATS_INTERVAL_MS = 5_000;
/** Largest number of instances in one `node.stats` notification (the protocol's limit). */
export const MAX_INSTANCES_PER_BATCH = 1_000;

/** The part of the agent connection the collector uses. */
export interface StatsSink {
  readonly isRegistered: boolean;
  notify(method: "node.stats", params: NotificationParamsInput<"node.stats">): void;
}

/** Options of the collector. */
export interface StatsCollectorOptions {
  backend: RuntimeBackend;
  sink: StatsSink;
  log: Logger;
  intervalMs?: number;
  now?: () => Date;
}

/** A running collector. */
export interface StatsCollector {
  /** Reads every running instance once and sends the batch if connected; returns the instances sent. */
  collect(): Promise<InstanceStats[]>;
  /** Stops the timer; an in-flight pass finishes but sends nothing more after it. */
  stop(): void;
}

/**
 * Makes one reading fit the protocol, or null when it cannot: cgroup v1 reports "no limit" as about 2^63, which is
 * no safe integer, so the limit becomes 0 (= none); one bad reading must not make the control plane reject the batch.
 */
export function sanitizeStats(s: InstanceStats): InstanceStats | null {
  const parsed = InstanceStats.safeParse({
    ...s,
    memoryLimitBytes: Number.isSafeInteger(s.memoryLimitBytes) ? s.memoryLimitBytes : 0,
  });
  return parsed.success ? parsed.data : null;
}

/** Starts sampling every `intervalMs` (default 5 s); one pass at a time, the next starts after the previous ends. */
export function startStatsCollector(opts: StatsCollectorOptions): StatsCollector {
  const intervalMs = opts.intervalMs ?? DEFAULT_STATS_INTERVAL_MS;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const collect = async (): Promise<InstanceStats[]> => {
    if (stopped || !opts.sink.isRegistered) return [];
    const at = (opts.now?.() ?? new Date()).toISOString();
    const running = (await opts.backend.list()).filter((c) => c.status === "running");
    const instances: InstanceStats[] = [];
    for (const c of running) {
      try {
        const stats = sanitizeStats(await opts.backend.stats(c.id));
        if (stats) instances.push(stats);
        else opts.log.warn({ instance: c.id }, "stats reading out of range; skipped");
      } catch (err) {
        // The container may have exited (or been deleted) since list(); its next state shows up as an event.
        opts.log.debug({ err, instance: c.id }, "reading stats failed");
      }
    }
    // Re-check: the connection may have dropped while we read, and a queued stale sample is worse than none.
    if (stopped || !opts.sink.isRegistered || instances.length === 0) return [];
    for (let i = 0; i < instances.length; i += MAX_INSTANCES_PER_BATCH) {
      opts.sink.notify("node.stats", { at, instances: instances.slice(i, i + MAX_INSTANCES_PER_BATCH) });
    }
    return instances;
  };

  const schedule = () => {
    timer = setTimeout(() => {
      collect()
        .catch((err: unknown) => opts.log.warn({ err }, "stats pass failed"))
        .finally(() => {
          if (!stopped) schedule();
        });
    }, intervalMs);
    timer.unref();
  };
  schedule();

  return {
    collect,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
