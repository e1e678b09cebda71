// Pure helpers of the Metrics tab: merging history and live points per instance (deduplicated by instance and time,
// bounded to one hour), network rates from cumulative counters, and aggregation per process type. No React here.
import { shortInstanceId } from "../instances/instance-id";

/** One sample of an instance (GET /apps/{app}/stats, server/stats/history.ts). Counters are cumulative. */
export interface StatsPoint {
  at: string;
  /** Share of one core since the previous sample (200 = two full cores); null for the first one. */
  cpuPercent: number | null;
  memoryBytes: number;
  /** 0 = no limit. */
  memoryLimitBytes: number;
  netRxBytes: number;
  netTxBytes: number;
  pids: number;
  blkReadBytes?: number;
  blkWriteBytes?: number;
}

/** An instance's points as the REST API returns them (oldest first). */
export interface InstanceSeries {
  instanceId: string;
  processType: string;
  points: StatsPoint[];
}

/** GET /apps/{app}/stats. */
export interface AppStats {
  instances: InstanceSeries[];
}

/** A point of the `stats` stream channel. */
export interface StreamPoint extends StatsPoint {
  instanceId: string;
  processType: string;
}

/** What the charts are drawn from: one series per instance, each sorted by time, with a numeric time. */
export interface Series {
  instanceId: string;
  processType: string;
  /** Milliseconds of each point, ascending and unique. */
  ts: number[];
  points: StatsPoint[];
}

export type SeriesMap = ReadonlyMap<string, Series>;

/** How much history the tab keeps (and the API serves). */
export const WINDOW_MS = 60 * 60 * 1000;
/** Most points per instance (one hour at the agent's 5 s interval, with room for jitter). */
export const MAX_POINTS = 800;
/** Points are grouped into buckets of this size to line series up for the charts. */
export const BUCKET_MS = 5_000;
/** A gap between two samples longer than this breaks the line instead of averaging over it. */
const MAX_RATE_GAP_MS = 5 * 60 * 1000;

/**
 * Merges points into the series map: new instances are added, points of an instance that already has a point at
 * the same time are ignored, out-of-order points are put in place, and everything older than `windowMs` before the
 * newest point anywhere is dropped (so is an instance left with no points). Returns the same map when nothing changed.
 */
export function mergePoints(
  map: SeriesMap,
  incoming: readonly StreamPoint[],
  windowMs = WINDOW_MS,
  maxPoints = MAX_POINTS,
): SeriesMap {
  if (incoming.length === 0) return map;
  const next = new Map(map);
  const touched = new Set<string>();
  for (const p of incoming) {
    const t = Date.parse(p.at);
    if (!Number.isFinite(t)) continue;
    let s = next.get(p.instanceId);
    if (!s) {
      s = { instanceId: p.instanceId, processType: p.processType, ts: [], points: [] };
      next.set(p.instanceId, s);
    } else if (!touched.has(p.instanceId)) {
      // Copy on first write, so the previous map (React state) stays untouched.
      s = { ...s, ts: [...s.ts], points: [...s.points] };
      next.set(p.instanceId, s);
    }
    touched.add(p.instanceId);
    const point: StatsPoint = stripIds(p);
    const n = s.ts.length;
    if (n === 0 || t > (s.ts[n - 1] as number)) {
      s.ts.push(t);
      s.points.push(point);
      continue;
    }
    const i = lowerBound(s.ts, t);
    if (s.ts[i] === t) continue; // already have it (history and live overlap)
    s.ts.splice(i, 0, t);
    s.points.splice(i, 0, point);
  }
  if (touched.size === 0) return map;
  return prune(next, windowMs, maxPoints);
}

/** Drops points older than `windowMs` before the newest point, caps each instance at `maxPoints`. */
export function prune(map: Map<string, Series>, windowMs = WINDOW_MS, maxPoints = MAX_POINTS): SeriesMap {
  let newest = -Infinity;
  for (const s of map.values()) newest = Math.max(newest, s.ts[s.ts.length - 1] ?? -Infinity);
  const cutoff = newest - windowMs;
  for (const [id, s] of map) {
    let from = lowerBound(s.ts, cutoff);
    from = Math.max(from, s.ts.length - maxPoints);
    if (from <= 0) continue;
    if (from >= s.ts.length) map.delete(id);
    else map.set(id, { ...s, ts: s.ts.slice(from), points: s.points.slice(from) });
  }
  return map;
}

/** Flattens the REST answer into stream-shaped points. */
export function historyPoints(stats: AppStats): StreamPoint[] {
  return stats.instances.flatMap((i) =>
    i.points.map((p) => ({ ...p, instanceId: i.instanceId, processType: i.processType })),
  );
}

function stripIds(p: StreamPoint): StatsPoint {
  const { instanceId: _i, processType: _t, ...rest } = p;
  return rest;
}

/** Index of the first element >= x in an ascending array. */
function lowerBound(a: readonly number[], x: number): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((a[mid] as number) < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Bytes per second between consecutive readings of a cumulative counter: null for the first reading, after a
 * counter reset (the container restarted) and across a gap longer than a few minutes.
 */
export function counterRates(ts: readonly number[], values: readonly number[]): (number | null)[] {
  const out: (number | null)[] = [];
  for (let i = 0; i < values.length; i++) {
    if (i === 0) {
      out.push(null);
      continue;
    }
    const dt = (ts[i] as number) - (ts[i - 1] as number);
    const dv = (values[i] as number) - (values[i - 1] as number);
    out.push(dt <= 0 || dt > MAX_RATE_GAP_MS || dv < 0 ? null : (dv * 1000) / dt);
  }
  return out;
}

/** The values the charts show for one series, per point. */
export interface Derived {
  ts: number[];
  cpu: (number | null)[];
  memory: (number | null)[];
  limit: (number | null)[];
  rx: (number | null)[];
  tx: (number | null)[];
}

/** CPU, memory, limit and network rates of one instance. */
export function derive(s: Series): Derived {
  return {
    ts: s.ts,
    cpu: s.points.map((p) => p.cpuPercent),
    memory: s.points.map((p) => p.memoryBytes),
    limit: s.points.map((p) => (p.memoryLimitBytes > 0 ? p.memoryLimitBytes : null)),
    rx: counterRates(
      s.ts,
      s.points.map((p) => p.netRxBytes),
    ),
    tx: counterRates(
      s.ts,
      s.points.map((p) => p.netTxBytes),
    ),
  };
}

/** A line of the charts: an instance, or the sum over a process type's instances. */
export interface ChartSeries {
  key: string;
  label: string;
  processType: string;
  derived: Derived;
  /** Instances it covers (1 for an instance). */
  instances: number;
}

const bucketOf = (t: number) => Math.floor(t / BUCKET_MS) * BUCKET_MS;

/**
 * Sums instances of each process type per 5 s bucket: CPU % and memory add up, the limit adds up over the
 * instances that have one, rates add up. A bucket where no instance had a value stays null.
 */
export function aggregateByType(map: SeriesMap): ChartSeries[] {
  const groups = new Map<string, Derived[]>();
  for (const s of map.values()) {
    const list = groups.get(s.processType) ?? [];
    list.push(derive(s));
    groups.set(s.processType, list);
  }
  const out: ChartSeries[] = [];
  for (const [type, list] of [...groups].sort(([a], [b]) => a.localeCompare(b))) {
    const buckets = new Map<
      number,
      { cpu: number | null; memory: number | null; limit: number | null; rx: number | null; tx: number | null }
    >();
    for (const d of list) {
      d.ts.forEach((t, i) => {
        const b = bucketOf(t);
        const acc = buckets.get(b) ?? { cpu: null, memory: null, limit: null, rx: null, tx: null };
        acc.cpu = addNullable(acc.cpu, d.cpu[i]);
        acc.memory = addNullable(acc.memory, d.memory[i]);
        acc.limit = addNullable(acc.limit, d.limit[i]);
        acc.rx = addNullable(acc.rx, d.rx[i]);
        acc.tx = addNullable(acc.tx, d.tx[i]);
        buckets.set(b, acc);
      });
    }
    const ts = [...buckets.keys()].sort((a, b) => a - b);
    const rows = ts.map((t) => buckets.get(t) as NonNullable<ReturnType<typeof buckets.get>>);
    out.push({
      key: `type:${type}`,
      label: type,
      processType: type,
      instances: list.length,
      derived: {
        ts,
        cpu: rows.map((r) => r.cpu),
        memory: rows.map((r) => r.memory),
        limit: rows.map((r) => r.limit),
        rx: rows.map((r) => r.rx),
        tx: rows.map((r) => r.tx),
      },
    });
  }
  return out;
}

function addNullable(a: number | null, b: number | null | undefined): number | null {
  if (b === null || b === undefined || !Number.isFinite(b)) return a;
  return (a ?? 0) + b;
}

/** One line per instance, ordered by process type then id. */
export function perInstance(map: SeriesMap): ChartSeries[] {
  return [...map.values()]
    .sort((a, b) => a.processType.localeCompare(b.processType) || a.instanceId.localeCompare(b.instanceId))
    .map((s) => ({
      key: `instance:${s.instanceId}`,
      label: `${s.processType}.${shortInstanceId(s.instanceId)}`,
      processType: s.processType,
      instances: 1,
      derived: derive(s),
    }));
}

export type Metric = "cpu" | "memory" | "limit" | "rx" | "tx";

/**
 * uPlot's aligned data: x in seconds (the union of all series' buckets) and one y array per (series, metric),
 * with null where a series has no value in a bucket.
 */
export function alignedData(series: readonly ChartSeries[], metrics: readonly Metric[]): (number | null)[][] {
  const xs = new Set<number>();
  for (const s of series) for (const t of s.derived.ts) xs.add(bucketOf(t));
  const x = [...xs].sort((a, b) => a - b);
  const index = new Map(x.map((t, i) => [t, i]));
  const ys: (number | null)[][] = [];
  for (const s of series) {
    for (const m of metrics) {
      const y: (number | null)[] = new Array<number | null>(x.length).fill(null);
      s.derived.ts.forEach((t, i) => {
        const v = s.derived[m][i];
        if (v !== null && v !== undefined) y[index.get(bucketOf(t)) as number] = v;
      });
      ys.push(y);
    }
  }
  return [x.map((t) => t / 1000), ...ys];
}

/** The newest non-null value of a metric, or null. */
export function latest(values: readonly (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) {
    const v = values[i];
    if (v !== null && v !== undefined) return v;
  }
  return null;
}

/** "512 B", "1.5 KiB", "230 MiB", "1.2 GiB". */
export function formatBytes(n: number | null | undefined, digits = 1): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = Math.abs(n);
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(Math.round(v)) : v.toFixed(v >= 100 ? 0 : digits);
  return `${n < 0 ? "-" : ""}${s} ${units[u]}`;
}

/** A limit: "512 MiB", "1.5 GiB" (a decimal only when it is not a whole number of its unit, so 1.5 GiB never shows as 2). */
export function formatLimit(n: number | null | undefined): string {
  return formatBytes(n, 1).replace(/\.0 /, " ");
}

/** "12.5 KiB/s". */
export function formatRate(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : `${formatBytes(n)}/s`;
}

/** "12.3%", "140%". */
export function formatPercent(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return "—";
  return `${n >= 100 ? Math.round(n) : n.toFixed(1)}%`;
}
