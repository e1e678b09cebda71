// A time-series line chart on uPlot (canvas, fast with thousands of points): created once per set of lines, fed
// new data with setData, resized with its container. uPlot is loaded in the browser only.
"use client";
import { useEffect, useRef, useState } from "react";
import type uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { cn } from "@/lib/cn";

export interface ChartLine {
  label: string;
  stroke: string;
  dash?: number[];
  width?: number;
}

const two = (n: number) => String(n).padStart(2, "0");

/** Local 24-hour time of a uPlot x value (seconds), like the log view's timestamps (uPlot defaults to 12-hour). */
function clock(seconds: number, withSeconds: boolean): string {
  const d = new Date(seconds * 1000);
  const hm = `${two(d.getHours())}:${two(d.getMinutes())}`;
  return withSeconds ? `${hm}:${two(d.getSeconds())}` : hm;
}

/** Axis steps for byte values: powers of two of B, KiB, MiB, GiB (so ticks read "256 MiB", not "244 MiB"). */
export const BYTE_INCRS = [0, 1, 2, 3, 4].flatMap((k) =>
  [1, 2, 4, 8, 16, 32, 64, 128, 256, 512].map((m) => m * 1024 ** k),
);

/** Away from the cursor, the legend shows each line's newest value instead of dashes. */
function showLatest(u: uPlot) {
  if (u.cursor.idx !== null && u.cursor.idx !== undefined) return;
  const idxs = u.data.map((ys) => {
    for (let i = ys.length - 1; i >= 0; i--) if (ys[i] !== null && ys[i] !== undefined) return i;
    return null;
  });
  if (idxs[0] !== null) u.setLegend({ idxs }, false);
}

/** A break in a line longer than this (seconds) is drawn as a gap; shorter ones are bridged. */
const MAX_BRIDGE_S = 30;

const AXIS = {
  stroke: "#71717a",
  font: "11px 'Inter Variable', ui-sans-serif, system-ui, sans-serif",
  grid: { stroke: "#f4f4f5", width: 1 },
  ticks: { stroke: "#e4e4e7", width: 1, size: 4 },
};

export function TimeChart({
  title,
  lines,
  data,
  format,
  height = 180,
  minMax,
  incrs,
  className,
}: {
  title: string;
  lines: ChartLine[];
  /** uPlot aligned data: x (seconds) then one array per line. */
  data: (number | null)[][];
  /** Formats a y value for the axis and the legend. */
  format: (v: number | null) => string;
  height?: number;
  /** The y axis reaches at least this (e.g. 100 for CPU %). */
  minMax?: number;
  /** Tick steps of the y axis (e.g. BYTE_INCRS). */
  incrs?: number[];
  className?: string;
}) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const latestData = useRef(data);
  const fmt = useRef(format);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    fmt.current = format;
    latestData.current = data;
  });

  // One chart per set of lines; a new line (an instance started) rebuilds it.
  const shape = JSON.stringify(lines);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let disposed = false;
    let chart: uPlot | null = null;
    const parsed = JSON.parse(shape) as ChartLine[];
    import("uplot")
      .then(({ default: UPlot }) => {
        if (disposed) return;
        const opts: uPlot.Options = {
          width: Math.max(200, el.clientWidth),
          height,
          // Right room for the last time tick label (centered on the edge).
          padding: [8, 20, 0, 0],
          cursor: { drag: { x: false, y: false }, points: { size: 6 } },
          legend: { live: true },
          hooks: { setCursor: [showLatest], setData: [showLatest] },
          scales: {
            x: { time: true },
            y: {
              range: (_u, min, max) => [Math.min(0, min ?? 0), Math.max(minMax ?? 0, (max ?? 0) * 1.1 || 1)],
            },
          },
          axes: [
            { ...AXIS, values: (_u, splits) => splits.map((v) => clock(v, false)) },
            { ...AXIS, size: 64, incrs, values: (_u, splits) => splits.map((v) => fmt.current(v)) },
          ],
          series: [
            { label: "Time", value: (_u, v) => (v === null ? "--" : clock(v, true)) },
            ...parsed.map((l): uPlot.Series => ({
              label: l.label,
              stroke: l.stroke,
              width: l.width ?? 1.5,
              dash: l.dash,
              points: { show: false },
              value: (_u, v) => fmt.current(v),
              // Series of different nodes land in different buckets: bridge short holes, show long ones.
              gaps: (u, _sidx, _i0, _i1, nullGaps) => {
                const xs = u.scales.x;
                const span = (xs?.max ?? 0) - (xs?.min ?? 0);
                const perPx = span / Math.max(1, u.bbox.width);
                return nullGaps.filter(([a, b]) => (b - a) * perPx > MAX_BRIDGE_S);
              },
            })),
          ],
        };
        chart = new UPlot(opts, latestData.current as uPlot.AlignedData, el);
        plot.current = chart;
      })
      .catch(() => setFailed(true));
    const ro = new ResizeObserver(() => {
      const w = el.clientWidth;
      if (chart && w > 0) chart.setSize({ width: w, height });
    });
    ro.observe(el);
    return () => {
      disposed = true;
      ro.disconnect();
      chart?.destroy();
      if (plot.current === chart) plot.current = null;
    };
  }, [shape, height, minMax, incrs]);

  useEffect(() => {
    plot.current?.setData(data as uPlot.AlignedData);
  }, [data]);

  return (
    <figure className={cn("min-w-0", className)}>
      <figcaption className="sr-only">{title}</figcaption>
      {failed ? (
        <p className="py-10 text-center text-sm text-zinc-500">The chart could not be drawn.</p>
      ) : (
        <div
          ref={box}
          aria-hidden
          data-testid="chart"
          className={cn(
            "w-full",
            "[&_.u-legend]:mt-1 [&_.u-legend]:text-xs [&_.u-legend]:text-zinc-600 [&_.u-legend_th]:font-medium",
            "[&_.u-legend_.u-series]:px-1.5 [&_.u-legend_.u-series]:py-0.5",
            "[&_.u-legend_.u-marker]:size-2.5 [&_.u-legend_.u-marker]:rounded-full",
            "[&_.u-legend_.u-value]:font-mono [&_.u-legend_.u-value]:tabular-nums",
          )}
          style={{ minHeight: height }}
        />
      )}
    </figure>
  );
}
