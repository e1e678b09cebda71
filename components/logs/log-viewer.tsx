// The Logs tab: a live, virtualized tail of an app's log (100,000 lines stay smooth), with pause/resume, filters,
// search within the loaded lines, scroll-back into the store and markers where the live stream lost lines.
// Text is rendered as React text only: terminal colours become classes, other control sequences are dropped.
"use client";
import { memo, useDeferredValue, useEffect, useLayoutEffect, useMemo, useRef, useState } from "react";
import { useVirtualizer } from "@tanstack/react-virtual";
import { ArrowDownToLine, History, Pause, Play, Search, SquareTerminal, TriangleAlert, X } from "lucide-react";
import { parseAnsi } from "@/components/deploy/ansi";
import { shortInstanceId } from "@/components/instances/instance-id";
import { LiveIndicator } from "@/components/instances/live-indicator";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Input, Select } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { errorMessage } from "@/lib/api";
import { cn } from "@/lib/cn";
import type { AppDetail } from "@/lib/types";
import {
  facets,
  filterRows,
  isFiltering,
  type LogFilter,
  type LogGap,
  type LogLine,
  type LogRow,
  MAX_LINES,
  NO_FILTER,
  splitMatches,
} from "./buffer";
import { useLiveLogs } from "./use-live-logs";

const ROW_PX = 20;
const HEAD_PX = 44;
const nf = new Intl.NumberFormat("en");
const plural = (n: number, one: string, many = `${one}s`) => `${nf.format(n)} ${n === 1 ? one : many}`;

function clock(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return "";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

/** "web.1a2b3c4d", "router", "berth". */
function origin(l: LogLine): string {
  if (l.source !== "app") return l.source;
  const type = l.processType ?? "app";
  return l.instance ? `${type}.${shortInstanceId(l.instance)}` : type;
}

const ORIGIN_TONE: Record<string, string> = { router: "text-violet-300", berth: "text-amber-300" };

const LineText = memo(function LineText({ line, search }: { line: LogLine; search: string }) {
  if (search.trim()) {
    return (
      <>
        {splitMatches(line.plain, search).map((s, i) =>
          s.match ? (
            <mark key={i} className="rounded-sm bg-amber-300 text-zinc-950">
              {s.text}
            </mark>
          ) : (
            s.text
          ),
        )}
      </>
    );
  }
  if (line.plain === line.text) return <>{line.text}</>;
  return (
    <>
      {parseAnsi(line.text).map((s, i) =>
        s.className ? (
          <span key={i} className={s.className}>
            {s.text.replace(/\n/g, " ")}
          </span>
        ) : (
          s.text.replace(/\n/g, " ")
        ),
      )}
    </>
  );
});

function GapRow({ gap, onFill, filling }: { gap: LogGap; onFill: (g: LogGap) => void; filling: boolean }) {
  return (
    <div
      role="note"
      data-testid="log-gap"
      className="my-1 flex flex-wrap items-center gap-x-3 gap-y-1 border-y border-dashed border-amber-500/40 bg-amber-500/10 px-4 py-1 font-sans text-xs text-amber-200"
    >
      <TriangleAlert aria-hidden className="size-3.5 shrink-0" />
      <span>
        {plural(gap.count, "line")} dropped
        {gap.lost
          ? ": no longer in the store"
          : gap.dropped
            ? ": this tab fell behind the live stream"
            : " from the live stream"}
      </span>
      {gap.lost ? null : (
        <button
          type="button"
          onClick={() => onFill(gap)}
          disabled={filling}
          className="rounded-sm font-medium text-amber-100 underline underline-offset-2 hover:text-white focus-visible:outline-2 focus-visible:outline-blue-400 disabled:opacity-60"
        >
          {filling ? "Loading…" : "Load them"}
        </button>
      )}
    </div>
  );
}

function LineRow({ line, search }: { line: LogLine; search: string }) {
  return (
    <div
      data-seq={line.seq}
      className={cn(
        "flex gap-3 border-l-2 px-4 leading-5 hover:bg-white/5",
        line.stream === "stderr" ? "border-red-500/70" : "border-transparent",
      )}
    >
      <time dateTime={line.at} className="hidden shrink-0 text-zinc-500 tabular-nums select-none sm:inline">
        {clock(line.at)}
      </time>
      <span
        className={cn("w-24 shrink-0 truncate select-none sm:w-28", ORIGIN_TONE[line.source] ?? "text-sky-300")}
        title={[line.source, line.processType, line.instance, line.release ? `release ${line.release}` : ""]
          .filter(Boolean)
          .join(" · ")}
      >
        {origin(line)}
      </span>
      <span
        className={cn(
          "min-w-0 flex-1 break-all whitespace-pre-wrap",
          line.stream === "stderr" ? "text-red-200" : "text-zinc-100",
        )}
      >
        <span className="sr-only">{line.stream === "stderr" ? "stderr: " : ""}</span>
        <LineText line={line} search={search} />
      </span>
    </div>
  );
}

function FilterBar({
  filter,
  onChange,
  processTypes,
  instances,
}: {
  filter: LogFilter;
  onChange: (f: LogFilter) => void;
  processTypes: string[];
  instances: string[];
}) {
  const set = <K extends keyof LogFilter>(k: K, v: LogFilter[K]) => onChange({ ...filter, [k]: v });
  return (
    <div className="grid grid-cols-2 gap-2 sm:grid-cols-4 lg:flex lg:flex-wrap lg:items-center">
      <Select
        compact
        aria-label="Process type"
        value={filter.processType}
        onChange={(e) => set("processType", e.target.value)}
        className="lg:w-40"
      >
        <option value="">All process types</option>
        {processTypes.map((t) => (
          <option key={t} value={t}>
            {t}
          </option>
        ))}
      </Select>
      <Select
        compact
        aria-label="Instance"
        value={filter.instance}
        onChange={(e) => set("instance", e.target.value)}
        className="lg:w-40"
      >
        <option value="">All instances</option>
        {instances.map((i) => (
          <option key={i} value={i}>
            {i.slice(0, 12)}
          </option>
        ))}
      </Select>
      <Select
        compact
        aria-label="Stream"
        value={filter.stream}
        onChange={(e) => set("stream", e.target.value as LogFilter["stream"])}
        className="lg:w-44"
      >
        <option value="">stdout and stderr</option>
        <option value="stdout">stdout only</option>
        <option value="stderr">stderr only</option>
      </Select>
      <Select
        compact
        aria-label="Source"
        value={filter.source}
        onChange={(e) => set("source", e.target.value as LogFilter["source"])}
        className="lg:w-36"
      >
        <option value="">All sources</option>
        <option value="app">App output</option>
        <option value="router">Router</option>
        <option value="berth">Berth</option>
      </Select>
      <div className="relative col-span-2 sm:col-span-4 lg:min-w-56 lg:flex-1">
        <Search
          aria-hidden
          className="pointer-events-none absolute top-1/2 left-2.5 size-4 -translate-y-1/2 text-zinc-400"
        />
        <Input
          type="search"
          aria-label="Search loaded lines"
          placeholder="Search loaded lines"
          value={filter.search}
          onChange={(e) => set("search", e.target.value)}
          className="h-8 pl-8 text-[13px]"
        />
      </div>
    </div>
  );
}

/** The live log of an app. */
export function LogViewer({ app }: { app: AppDetail }) {
  const logs = useLiveLogs(app.name);
  const [filter, setFilter] = useState<LogFilter>(NO_FILTER);
  const deferred = useDeferredValue(filter);
  const rows = logs.buffer.rows;
  const visible = useMemo(() => filterRows(rows, deferred), [rows, deferred]);
  const seen = useMemo(() => facets(rows), [rows]);
  const processTypes = useMemo(
    () => [...new Set([...app.formation.map((f) => f.type), ...seen.processTypes])].sort(),
    [app.formation, seen.processTypes],
  );
  const filtering = isFiltering(deferred);
  const matching = filtering ? visible.filter((r) => r.kind === "line").length : logs.buffer.lines;

  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: visible.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW_PX,
    overscan: 30,
    // Room for the "load older" bar at the top and a little air at the end.
    paddingStart: HEAD_PX,
    paddingEnd: 8,
    getItemKey: (i) => visible[i]?.key ?? i,
  });

  // Following the end: new lines scroll into view unless the reader paused or scrolled up (which pauses).
  const pausedByScroll = useRef(false);
  const lastScrollTop = useRef(0);
  const { paused, setPaused } = logs;
  // Rows are measured after they render (wrapped lines are taller), so stick to the end whenever the size changes.
  const totalSize = virtualizer.getTotalSize();
  useLayoutEffect(() => {
    const el = scroller.current;
    if (!paused && el && visible.length > 0) el.scrollTop = el.scrollHeight;
  }, [visible, paused, totalSize]);

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const atEnd = el.scrollHeight - el.scrollTop - el.clientHeight < ROW_PX * 2;
    const up = el.scrollTop < lastScrollTop.current - 4;
    lastScrollTop.current = el.scrollTop;
    if (up && !atEnd && !paused) {
      pausedByScroll.current = true;
      setPaused(true);
    } else if (atEnd && paused && pausedByScroll.current) {
      pausedByScroll.current = false;
      setPaused(false);
    }
  };

  const togglePause = () => {
    pausedByScroll.current = false;
    setPaused(!paused);
  };

  // Loading older lines keeps the line the reader looks at in place.
  const anchor = useRef<{ key: unknown; offset: number } | null>(null);
  const loadOlder = () => {
    const first = virtualizer.getVirtualItems().find((v) => v.end > (scroller.current?.scrollTop ?? 0));
    anchor.current = first ? { key: first.key, offset: (scroller.current?.scrollTop ?? 0) - first.start } : null;
    if (!paused) {
      pausedByScroll.current = false;
      setPaused(true);
    }
    void logs.loadOlder();
  };
  useLayoutEffect(() => {
    const a = anchor.current;
    if (!a || logs.loadingOlder) return;
    anchor.current = null;
    const i = visible.findIndex((r) => r.key === a.key);
    if (i >= 0) virtualizer.scrollToIndex(i, { align: "start" });
  }, [visible, logs.loadingOlder, virtualizer]);

  // Esc in the search field clears it; "/" focuses it (outside of fields).
  const searchRef = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (e.key !== "/" || e.metaKey || e.ctrlKey || e.altKey) return;
      if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
      e.preventDefault();
      searchRef.current?.querySelector("input")?.focus();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const header = (
    <CardHeader
      title="Logs"
      description="Output of every instance, the router and Berth, newest at the bottom."
      actions={
        <>
          <LiveIndicator />
          <Button variant="secondary" size="sm" onClick={togglePause} disabled={logs.phase !== "ready"}>
            {paused ? <Play aria-hidden className="size-4" /> : <Pause aria-hidden className="size-4" />}
            {paused ? "Resume" : "Pause"}
          </Button>
        </>
      }
    />
  );

  if (logs.phase === "error") {
    return (
      <Card>
        {header}
        <ErrorState error={logs.error} title="Could not load logs" onRetry={() => void logs.retry()} />
      </Card>
    );
  }

  const status = paused
    ? logs.held > 0
      ? `Paused · ${plural(logs.held, "new line")}`
      : "Paused"
    : "Following new lines";

  return (
    <Card className="overflow-hidden">
      {header}
      <div className="space-y-2 border-b border-zinc-200 px-5 py-3" ref={searchRef}>
        <FilterBar filter={filter} onChange={setFilter} processTypes={processTypes} instances={seen.instances} />
        <div className="flex flex-wrap items-center justify-between gap-x-4 gap-y-1 text-xs text-zinc-500">
          <span role="status" data-testid="log-count" className="tabular-nums">
            {logs.phase === "loading"
              ? "Loading…"
              : filtering
                ? `${plural(matching, "matching line")} of ${nf.format(logs.buffer.lines)} loaded`
                : `${plural(logs.buffer.lines, "line")} loaded${logs.buffer.lines >= MAX_LINES ? " (the most kept; older ones are dropped)" : ""}`}
          </span>
          <span className="flex items-center gap-3">
            {filtering ? (
              <button
                type="button"
                onClick={() => setFilter(NO_FILTER)}
                className="inline-flex items-center gap-1 rounded-sm font-medium text-zinc-700 hover:text-zinc-900 focus-visible:outline-2 focus-visible:outline-blue-600"
              >
                <X aria-hidden className="size-3.5" />
                Clear filters
              </button>
            ) : null}
            <span data-testid="log-follow" className={cn(paused && "font-medium text-amber-700")}>
              {status}
            </span>
          </span>
        </div>
      </div>

      <div className="relative bg-zinc-950">
        {logs.phase === "loading" ? (
          <div role="status" aria-label="Loading logs" className="space-y-2 px-4 py-4">
            {Array.from({ length: 8 }, (_, i) => (
              <Skeleton
                key={i}
                className={cn("h-3.5 bg-zinc-800", i % 3 === 0 ? "w-2/3" : i % 3 === 1 ? "w-5/6" : "w-1/2")}
              />
            ))}
          </div>
        ) : logs.buffer.lines === 0 && rows.length === 0 ? (
          <EmptyState
            icon={SquareTerminal}
            title={<span className="text-zinc-100">No log lines yet</span>}
            description={
              <span className="text-zinc-400">
                {app.currentRelease === null
                  ? "Deploy the app; what its processes print, the router's access log and Berth's own messages show up here."
                  : "What the app's processes print, the router's access log and Berth's own messages show up here as they happen."}
              </span>
            }
            className="py-16"
          />
        ) : null}
        <div
          ref={scroller}
          role="log"
          aria-label={`Log of ${app.name}`}
          aria-live={paused ? "off" : "polite"}
          aria-relevant="additions"
          tabIndex={0}
          onScroll={onScroll}
          data-testid="log-lines"
          className={cn(
            "h-[calc(100dvh-22rem)] min-h-80 overflow-y-auto font-mono text-[12.5px] text-zinc-200",
            "focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-blue-500",
            (logs.phase === "loading" || rows.length === 0) && "hidden",
          )}
        >
          <div className="relative w-full" style={{ height: virtualizer.getTotalSize() }}>
            <div className="absolute inset-x-0 top-0 flex h-11 items-center justify-center">
              {logs.buffer.reachedStart ? (
                <span className="font-sans text-xs text-zinc-500">Start of the stored log</span>
              ) : logs.buffer.lines >= MAX_LINES ? (
                <span className="font-sans text-xs text-zinc-500">
                  Showing the newest {nf.format(MAX_LINES)} lines; older ones are in the store.
                </span>
              ) : (
                <button
                  type="button"
                  onClick={loadOlder}
                  disabled={logs.loadingOlder}
                  className="inline-flex items-center gap-1.5 rounded-md px-2.5 py-1 font-sans text-xs font-medium text-zinc-300 ring-1 ring-zinc-700 hover:bg-white/10 hover:text-white focus-visible:outline-2 focus-visible:outline-blue-500 disabled:opacity-60"
                >
                  <History aria-hidden className="size-3.5" />
                  {logs.loadingOlder ? "Loading older lines…" : "Load older lines"}
                </button>
              )}
              {logs.olderError ? (
                <span role="alert" className="ml-3 font-sans text-xs text-red-300">
                  {errorMessage(logs.olderError)}
                </span>
              ) : null}
            </div>
            {filtering && matching === 0 ? (
              <p className="absolute inset-x-0 top-11 px-4 py-6 text-center font-sans text-sm text-zinc-400">
                No loaded line matches. Load older lines or clear the filters.
              </p>
            ) : null}
            {virtualizer.getVirtualItems().map((v) => {
              const row = visible[v.index] as LogRow;
              return (
                <div
                  key={v.key}
                  data-index={v.index}
                  ref={virtualizer.measureElement}
                  className="absolute top-0 left-0 w-full"
                  style={{ transform: `translateY(${v.start}px)` }}
                >
                  {row.kind === "gap" ? (
                    <GapRow gap={row} onFill={(g) => void logs.fill(g)} filling={logs.filling === row.key} />
                  ) : (
                    <LineRow line={row.line} search={deferred.search} />
                  )}
                </div>
              );
            })}
          </div>
        </div>
        {paused && rows.length > 0 ? (
          <div className="pointer-events-none absolute inset-x-0 bottom-4 flex justify-center">
            <Button size="sm" className="pointer-events-auto shadow-lg" onClick={togglePause}>
              <ArrowDownToLine aria-hidden className="size-4" />
              {logs.held > 0 ? `Resume · ${plural(logs.held, "new line")}` : "Jump to latest"}
            </Button>
          </div>
        ) : null}
      </div>
    </Card>
  );
}
