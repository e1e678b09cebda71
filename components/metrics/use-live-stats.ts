// Resource usage of an app's instances: the recent history from the REST API first, then the live points of the
// `stats` channel appended (deduplicated by instance and time), bounded to a window. After a stream reconnect the
// points since the newest one held are fetched again, so a drop leaves no hole.
"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, seg } from "@/lib/api";
import { useStream, useStreamReconnect } from "@/lib/stream";
import { type AppStats, historyPoints, mergePoints, type SeriesMap, type StreamPoint, WINDOW_MS } from "./series";

/** Query keys of the stats history (not under keys.app: app events must not refetch an hour of points). */
export const statsKeys = {
  history: (app: string, windowMs: number) => ["stats", app, windowMs] as const,
};

const fetchStats = (app: string, since: number, signal?: AbortSignal) =>
  api<AppStats>(`/apps/${seg(app)}/stats?since=${encodeURIComponent(new Date(since).toISOString())}`, { signal });

const EMPTY: SeriesMap = new Map();
/** Live points are applied at most this often (a batch per node arrives every few seconds). */
const FLUSH_MS = 250;

/** The app's series over the last `windowMs` (one hour by default), kept live. */
export function useLiveStats(app: string, windowMs = WINDOW_MS) {
  const [series, setSeries] = useState<SeriesMap>(EMPTY);
  const history = useQuery({
    queryKey: statsKeys.history(app, windowMs),
    queryFn: ({ signal }) => fetchStats(app, Date.now() - windowMs, signal),
    staleTime: Infinity,
    gcTime: 0,
    refetchOnWindowFocus: false,
  });

  const apply = useCallback(
    (points: StreamPoint[]) => setSeries((prev) => mergePoints(prev, points, windowMs)),
    [windowMs],
  );

  // Another app in the same component: start over.
  useEffect(() => setSeries(EMPTY), [app]);

  useEffect(() => {
    if (history.data) apply(historyPoints(history.data));
  }, [history.data, apply]);

  const pending = useRef<StreamPoint[]>([]);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
      pending.current = [];
    },
    [app],
  );
  useStream(app, "stats", (data) => {
    const points = (data as { points?: unknown } | null)?.points;
    if (!Array.isArray(points)) return;
    pending.current.push(...(points as StreamPoint[]));
    timer.current ??= setTimeout(() => {
      timer.current = null;
      const batch = pending.current;
      pending.current = [];
      apply(batch);
    }, FLUSH_MS);
  });

  const newest = useRef(0);
  useEffect(() => {
    let max = 0;
    for (const s of series.values()) max = Math.max(max, s.ts[s.ts.length - 1] ?? 0);
    newest.current = max;
  }, [series]);
  useStreamReconnect(() => {
    const since = newest.current > 0 ? newest.current : Date.now() - windowMs;
    fetchStats(app, since)
      .then((stats) => apply(historyPoints(stats)))
      .catch(() => {
        // The next live points still arrive; the hole stays visible as a break in the lines.
      });
  });

  return {
    series,
    isPending: history.isPending,
    isError: history.isError,
    error: history.error,
    refetch: history.refetch,
  };
}
