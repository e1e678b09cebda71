// The Metrics tab: live CPU, memory and network charts of an app's instances over the last hour, per process type
// (summed) or per instance, with the current values and restarts in a table beside them.
"use client";
import { useMemo, useState } from "react";
import { ChartLine, Gauge } from "lucide-react";
import { LiveIndicator } from "@/components/instances/live-indicator";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Skeleton } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { cn } from "@/lib/cn";
import { useInstances } from "@/lib/queries";
import { useStreamStatus } from "@/lib/stream";
import type { AppDetail, Instance } from "@/lib/types";
import {
  aggregateByType,
  alignedData,
  type ChartSeries,
  formatBytes,
  formatLimit,
  formatPercent,
  formatRate,
  latest,
  type Metric,
  perInstance,
} from "./series";
import { BYTE_INCRS, type ChartLine as Line, TimeChart } from "./time-chart";
import { useLiveStats } from "./use-live-stats";

/** Line colours, in order of the series (readable on white, distinct for the common 2-6 lines). */
const COLORS = ["#2563eb", "#059669", "#d97706", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d", "#475569"];
const colorOf = (i: number) => COLORS[i % COLORS.length] as string;

type View = "type" | "instance";

function ViewToggle({ view, onChange }: { view: View; onChange: (v: View) => void }) {
  const options: [View, string][] = [
    ["type", "Per process type"],
    ["instance", "Per instance"],
  ];
  return (
    <div
      role="group"
      aria-label="Group lines"
      className="inline-flex rounded-md border border-zinc-300 bg-white p-0.5 shadow-xs"
    >
      {options.map(([v, label]) => (
        <button
          key={v}
          type="button"
          aria-pressed={view === v}
          onClick={() => onChange(v)}
          className={cn(
            "h-7 rounded px-2.5 text-[13px] font-medium whitespace-nowrap transition-colors",
            "focus-visible:outline-2 focus-visible:outline-offset-1 focus-visible:outline-blue-600",
            view === v ? "bg-zinc-900 text-white" : "text-zinc-600 hover:bg-zinc-100 hover:text-zinc-900",
          )}
        >
          {label}
        </button>
      ))}
    </div>
  );
}

function Tile({ label, value, sub }: { label: string; value: React.ReactNode; sub?: React.ReactNode }) {
  return (
    <div className="min-w-0">
      <dt className="text-xs font-medium text-zinc-500">{label}</dt>
      <dd className="mt-1 truncate text-lg font-semibold text-zinc-900 tabular-nums">{value}</dd>
      {sub ? <dd className="truncate text-xs text-zinc-500 tabular-nums">{sub}</dd> : null}
    </div>
  );
}

function ChartCard({
  title,
  description,
  series,
  metrics,
  format,
  minMax,
  incrs,
}: {
  title: string;
  description: string;
  series: ChartSeries[];
  metrics: Metric[];
  format: (v: number | null) => string;
  minMax?: number;
  incrs?: number[];
}) {
  const data = useMemo(() => alignedData(series, metrics), [series, metrics]);
  const lines = useMemo(
    () =>
      series.flatMap((s, i): Line[] =>
        metrics.map((m) =>
          m === "limit"
            ? { label: `${s.label} limit`, stroke: colorOf(i), dash: [4, 4], width: 1 }
            : { label: s.label, stroke: colorOf(i) },
        ),
      ),
    [series, metrics],
  );
  return (
    <Card className="min-w-0">
      <CardHeader title={title} description={description} titleAs="h3" className="py-3" />
      <div className="px-3 pt-3 pb-2">
        <TimeChart
          title={`${title}: ${description}`}
          lines={lines}
          data={data}
          format={format}
          minMax={minMax}
          incrs={incrs}
        />
      </div>
    </Card>
  );
}

const percentAxis = (v: number | null) => (v === null ? "—" : `${Math.round(v * 10) / 10}%`);
const bytesAxis = (v: number | null) => formatLimit(v);
const rateAxis = (v: number | null) => (v === null ? "—" : `${formatBytes(v, 0)}/s`);
const CPU: Metric[] = ["cpu"];
const MEMORY: Metric[] = ["memory", "limit"];
const RX: Metric[] = ["rx"];
const TX: Metric[] = ["tx"];

function restartsOf(s: ChartSeries, instances: Instance[]): number {
  const id = s.key.startsWith("instance:") ? s.key.slice("instance:".length) : null;
  return instances
    .filter((i) => (id ? i.id === id : i.processType === s.processType))
    .reduce((n, i) => n + i.restarts, 0);
}

function CurrentTable({ series, instances, view }: { series: ChartSeries[]; instances: Instance[]; view: View }) {
  return (
    <Card>
      <CardHeader
        title="Now"
        description="The newest sample of each line, and restarts reported for its instances."
        titleAs="h3"
      />
      <Table aria-label="Current usage">
        <THead>
          <tr>
            <TH>{view === "type" ? "Process type" : "Instance"}</TH>
            <TH className="text-right">CPU</TH>
            <TH className="text-right">Memory</TH>
            <TH className="hidden text-right sm:table-cell">Net in</TH>
            <TH className="hidden text-right sm:table-cell">Net out</TH>
            <TH className="text-right">Restarts</TH>
          </tr>
        </THead>
        <TBody>
          {series.map((s, i) => {
            const mem = latest(s.derived.memory);
            const limit = latest(s.derived.limit);
            const restarts = restartsOf(s, instances);
            return (
              <TR key={s.key}>
                <TD>
                  <span className="inline-flex items-center gap-2">
                    <span aria-hidden className="size-2.5 shrink-0 rounded-full" style={{ background: colorOf(i) }} />
                    <span className="font-mono font-medium text-zinc-900">{s.label}</span>
                    {view === "type" ? (
                      <span className="text-xs text-zinc-500">
                        {s.instances} instance{s.instances === 1 ? "" : "s"}
                      </span>
                    ) : null}
                  </span>
                </TD>
                <TD className="text-right tabular-nums">{formatPercent(latest(s.derived.cpu))}</TD>
                <TD className="text-right whitespace-nowrap tabular-nums">
                  {formatBytes(mem)}
                  {limit !== null ? (
                    <span className="hidden text-zinc-400 sm:inline">
                      {" "}
                      / {formatLimit(limit)}
                      {mem !== null ? ` (${Math.round((mem / limit) * 100)}%)` : ""}
                    </span>
                  ) : null}
                </TD>
                <TD className="hidden text-right whitespace-nowrap tabular-nums sm:table-cell">
                  {formatRate(latest(s.derived.rx))}
                </TD>
                <TD className="hidden text-right whitespace-nowrap tabular-nums sm:table-cell">
                  {formatRate(latest(s.derived.tx))}
                </TD>
                <TD className={cn("text-right tabular-nums", restarts > 0 && "font-medium text-amber-700")}>
                  {restarts}
                </TD>
              </TR>
            );
          })}
        </TBody>
      </Table>
    </Card>
  );
}

function sumLatest(series: ChartSeries[], metric: Metric): number | null {
  let total: number | null = null;
  for (const s of series) {
    const v = latest(s.derived[metric]);
    if (v !== null) total = (total ?? 0) + v;
  }
  return total;
}

function LoadingCharts() {
  return (
    <div role="status" aria-label="Loading metrics" className="grid gap-6 lg:grid-cols-2">
      {Array.from({ length: 4 }, (_, i) => (
        <Card key={i} className="p-5">
          <Skeleton className="h-4 w-32" />
          <Skeleton className="mt-4 h-40 w-full" />
        </Card>
      ))}
    </div>
  );
}

/** Live charts of the app's instances. */
export function MetricsPanel({ app }: { app: AppDetail }) {
  const status = useStreamStatus();
  const stats = useLiveStats(app.name);
  const instances = useInstances(app.name, status === "open" ? false : 15_000);
  const [view, setView] = useState<View>("type");

  const series = useMemo(
    () => (view === "type" ? aggregateByType(stats.series) : perInstance(stats.series)),
    [stats.series, view],
  );
  const list = instances.data ?? [];
  const running = list.filter((i) => i.state === "running");
  const restarts = list.reduce((n, i) => n + i.restarts, 0);
  const memory = sumLatest(series, "memory");
  const limit = sumLatest(series, "limit");

  let body: React.ReactNode;
  if (stats.isError) {
    body = (
      <Card>
        <ErrorState error={stats.error} title="Could not load metrics" onRetry={() => void stats.refetch()} />
      </Card>
    );
  } else if (stats.isPending || instances.isPending) {
    body = <LoadingCharts />;
  } else if (series.length === 0) {
    body = (
      <Card>
        {running.length === 0 ? (
          <EmptyState
            icon={ChartLine}
            title="No running instances"
            description={
              app.currentRelease === null
                ? "Charts appear once the app is deployed and its instances report usage."
                : "Scale a process type up on the Overview tab; its usage shows up here within a few seconds."
            }
          />
        ) : (
          <EmptyState
            icon={Gauge}
            title="Waiting for the first samples"
            description={`${running.length} instance${running.length === 1 ? " is" : "s are"} running. Nodes report usage every few seconds; the charts start with the next report.`}
          />
        )}
      </Card>
    );
  } else {
    body = (
      <div className="space-y-6">
        <div className="grid gap-6 lg:grid-cols-2">
          <ChartCard
            title="CPU"
            description="Percent of one core (200% = two full cores)."
            series={series}
            metrics={CPU}
            format={percentAxis}
            minMax={10}
          />
          <ChartCard
            title="Memory"
            description="Resident memory; dashed: the limit."
            series={series}
            metrics={MEMORY}
            incrs={BYTE_INCRS}
            format={bytesAxis}
          />
          <ChartCard
            title="Network in"
            description="Bytes received per second."
            series={series}
            metrics={RX}
            incrs={BYTE_INCRS}
            format={rateAxis}
          />
          <ChartCard
            title="Network out"
            description="Bytes sent per second."
            series={series}
            metrics={TX}
            incrs={BYTE_INCRS}
            format={rateAxis}
          />
        </div>
        <CurrentTable series={series} instances={list} view={view} />
      </div>
    );
  }

  return (
    <div className="space-y-6">
      <Card>
        <CardHeader
          title="Resource usage"
          description="The last hour of every instance, updated live."
          actions={
            <>
              <LiveIndicator />
              <ViewToggle view={view} onChange={setView} />
            </>
          }
        />
        <dl className="grid grid-cols-2 gap-x-6 gap-y-5 px-5 py-5 md:grid-cols-4">
          <Tile
            label="Running instances"
            value={instances.isPending ? <Skeleton className="h-7 w-10" /> : running.length}
            sub={instances.isPending ? null : `${list.length} reported`}
          />
          <Tile
            label="CPU now"
            value={stats.isPending ? <Skeleton className="h-7 w-16" /> : formatPercent(sumLatest(series, "cpu"))}
            sub="summed over instances"
          />
          <Tile
            label="Memory now"
            value={stats.isPending ? <Skeleton className="h-7 w-20" /> : formatBytes(memory)}
            sub={
              memory === null ? "no samples yet" : limit !== null ? `of ${formatLimit(limit)} limit` : "no limit set"
            }
          />
          <Tile
            label="Restarts"
            value={
              instances.isPending ? (
                <Skeleton className="h-7 w-10" />
              ) : (
                <span className={restarts > 0 ? "text-amber-700" : undefined}>{restarts}</span>
              )
            }
            sub="of the instances listed"
          />
        </dl>
      </Card>
      {body}
    </div>
  );
}
