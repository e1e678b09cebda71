// Recent resource usage per instance, in memory: a fixed-size ring per instance (one hour at the agent's 5 s
// interval), CPU % derived from cumulative CPU time. Nothing is persisted; after a control-plane restart the charts
// start empty and fill up again within one agent interval.
import type { InstanceStats } from "../../runtime-agent/protocol/index.ts";

/** Most points kept per instance (one hour at 5 s). */
export const MAX_POINTS = 720;
/** Oldest point kept, relative to the instance's newest one. */
export const MAX_AGE_MS = 60 * 60 * 1000;
/** An instance that has not reported for this long is forgotten. */
export const FORGET_AFTER_MS = 15 * 60 * 1000;
/** Samples closer than this to the previous one are dropped (they add noise to CPU %, not information). */
export const MIN_SPACING_MS = 500;
const CLOCK_JUMP_MS = 60_000;

/** One sample as the API and the stream show it; counters (net) are cumulative since the container started. */
export interface StatsPoint {
  at: string;
  /** Share of one CPU core since the previous sample (200 = two full cores); null for the first sample. */
  cpuPercent: number | null;
  memoryBytes: number;
  /** 0 when the container has no memory limit. */
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  blkReadBytes: number;
  blkWriteBytes: number;
  pids: number;
}

/** Who an instance belongs to (from the Instance table, at the time of its first sample). */
export interface InstanceOwner {
  appId: string;
  processType: string;
}

/** An instance's points, oldest first. */
export interface InstanceSeries {
  instanceId: string;
  processType: string;
  points: StatsPoint[];
}

const FIELDS = [
  "at",
  "cpuPercent",
  "memoryBytes",
  "memoryLimitBytes",
  "netRxBytes",
  "netTxBytes",
  "blkReadBytes",
  "blkWriteBytes",
  "pids",
] as const;
type Field = (typeof FIELDS)[number];

/** CPU % of one core between two cumulative readings; null when there is no usable previous reading. Pure. */
export function cpuPercent(prevNanos: number | null, prevAtMs: number, nanos: number, atMs: number): number | null {
  const elapsedMs = atMs - prevAtMs;
  // A smaller counter means the container was recreated under the same id: start over from this reading.
  if (prevNanos === null || elapsedMs <= 0 || nanos < prevNanos) return null;
  const percent = ((nanos - prevNanos) / (elapsedMs * 1e6)) * 100;
  return Math.round(percent * 100) / 100;
}

/** A ring of MAX_POINTS samples stored column-wise in one Float64Array (about 52 KB per instance). */
class Ring {
  private readonly data = new Float64Array(MAX_POINTS * FIELDS.length);
  private start = 0;
  size = 0;
  lastNanos: number | null = null;
  lastAtMs = 0;
  lastSeenMs = 0;

  constructor(readonly owner: InstanceOwner) {}

  push(values: Record<Field, number>): void {
    const slot = (this.start + this.size) % MAX_POINTS;
    if (this.size === MAX_POINTS) this.start = (this.start + 1) % MAX_POINTS;
    else this.size++;
    FIELDS.forEach((f, i) => (this.data[slot * FIELDS.length + i] = values[f]));
  }

  /** Drops points older than `minAtMs` from the front. */
  trim(minAtMs: number): void {
    while (this.size > 0 && this.value(0, 0) < minAtMs) {
      this.start = (this.start + 1) % MAX_POINTS;
      this.size--;
    }
  }

  /** The `field` of the `n`-th oldest point. */
  value(n: number, field: number): number {
    return this.data[((this.start + n) % MAX_POINTS) * FIELDS.length + field] ?? 0;
  }

  /** The `n`-th oldest point. */
  point(n: number): StatsPoint {
    const cpu = this.value(n, 1);
    return {
      at: new Date(this.value(n, 0)).toISOString(),
      cpuPercent: Number.isNaN(cpu) ? null : cpu,
      memoryBytes: this.value(n, 2),
      memoryLimitBytes: this.value(n, 3),
      netRxBytes: this.value(n, 4),
      netTxBytes: this.value(n, 5),
      blkReadBytes: this.value(n, 6),
      blkWriteBytes: this.value(n, 7),
      pids: this.value(n, 8),
    };
  }

  points(sinceMs: number): StatsPoint[] {
    const out: StatsPoint[] = [];
    for (let n = 0; n < this.size; n++) if (this.value(n, 0) >= sinceMs) out.push(this.point(n));
    return out;
  }
}

/** Recent stats of every instance that reported; callers check ownership before recording. */
export class StatsHistory {
  private readonly rings = new Map<string, Ring>();

  constructor(private readonly clock: () => number = Date.now) {}

  /**
   * Adds one sample taken at `at` (the agent's clock); returns the new point, or null when the sample was dropped
   * (not newer than the previous one by MIN_SPACING_MS).
   */
  record(owner: InstanceOwner, at: string, s: InstanceStats): StatsPoint | null {
    const atMs = Date.parse(at);
    if (!Number.isFinite(atMs)) return null;
    let ring = this.rings.get(s.instanceId);
    // An instance id is never reused for another app, but guard anyway: a new owner starts a new series.
    // A clock that jumped back by more than a minute would otherwise stall the series until it catches up.
    if (
      !ring ||
      ring.owner.appId !== owner.appId ||
      ring.owner.processType !== owner.processType ||
      atMs < ring.lastAtMs - CLOCK_JUMP_MS
    ) {
      ring = new Ring(owner);
      this.rings.set(s.instanceId, ring);
    }
    if (ring.lastNanos !== null && atMs - ring.lastAtMs < MIN_SPACING_MS) return null;
    const cpu = cpuPercent(ring.lastNanos, ring.lastAtMs, s.cpuNanos, atMs);
    ring.lastNanos = s.cpuNanos;
    ring.lastAtMs = atMs;
    ring.lastSeenMs = this.clock();
    ring.push({
      at: atMs,
      cpuPercent: cpu ?? NaN,
      memoryBytes: s.memoryBytes,
      memoryLimitBytes: s.memoryLimitBytes,
      netRxBytes: s.netRxBytes,
      netTxBytes: s.netTxBytes,
      blkReadBytes: s.blkReadBytes,
      blkWriteBytes: s.blkWriteBytes,
      pids: s.pids,
    });
    ring.trim(atMs - MAX_AGE_MS);
    return ring.point(ring.size - 1);
  }

  /** Every instance of an app with its points at or after `sinceMs`, by process type and id. */
  forApp(appId: string, sinceMs = 0): InstanceSeries[] {
    const out: InstanceSeries[] = [];
    for (const [instanceId, ring] of this.rings) {
      if (ring.owner.appId !== appId) continue;
      out.push({ instanceId, processType: ring.owner.processType, points: ring.points(sinceMs) });
    }
    return out.sort((a, b) => a.processType.localeCompare(b.processType) || a.instanceId.localeCompare(b.instanceId));
  }

  /** Number of instances held. */
  get size(): number {
    return this.rings.size;
  }

  /** Forgets instances that have not reported for FORGET_AFTER_MS (by the control plane's clock). */
  sweep(): void {
    const cutoff = this.clock() - FORGET_AFTER_MS;
    for (const [id, ring] of this.rings) if (ring.lastSeenMs < cutoff) this.rings.delete(id);
  }
}
