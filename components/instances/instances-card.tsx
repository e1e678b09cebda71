"use client";
import { useEffect, useState } from "react";
import { Boxes, RotateCw } from "lucide-react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { ConfirmDialog } from "@/components/ui/confirm-dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { isStatus } from "@/lib/api";
import { fullTime, titleCase } from "@/lib/format";
import { useInstances, useRestart } from "@/lib/queries";
import { useStreamStatus } from "@/lib/stream";
import type { AppDetail, Instance } from "@/lib/types";
import { formatBytes, formatLimit, formatPercent, type Series } from "@/components/metrics/series";
import { useLiveStats } from "@/components/metrics/use-live-stats";
import { exitReasonLabel } from "@/lib/exit-reason";
import { shortInstanceId } from "./instance-id";
import { LiveIndicator } from "./live-indicator";

const STATE_TONE: Record<string, BadgeTone> = {
  running: "green",
  pending: "blue",
  starting: "blue",
  stopping: "amber",
  stopped: "neutral",
  crashed: "red",
  failed: "red",
};

/** The badge of an instance state (crashed and failed in red). */
export function InstanceStateBadge({ state }: { state: string }) {
  return (
    <Badge tone={STATE_TONE[state] ?? "neutral"} dot>
      {titleCase(state)}
    </Badge>
  );
}

/** "45s", "12m", "3h 12m", "2d 4h". */
export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${m % 60}m`;
  const d = Math.floor(h / 24);
  return `${d}d ${h % 24}h`;
}

/** The current time, refreshed every `everyMs` (for uptimes). */
function useNow(everyMs = 15_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}

function LastExit({ i }: { i: Instance }) {
  if (i.exitCode === null && !i.reason) return <span className="text-zinc-400">—</span>;
  return (
    <span
      className="block max-w-56 truncate"
      title={[i.exitCode !== null ? `exit ${i.exitCode}` : "", i.reason ? exitReasonLabel(i.reason) : ""]
        .filter(Boolean)
        .join(": ")}
    >
      {i.exitCode !== null ? <span className="font-mono">exit {i.exitCode}</span> : null}
      {i.exitCode !== null && i.reason ? <span className="text-zinc-400"> · </span> : null}
      {i.reason ? <span className="text-zinc-600">{exitReasonLabel(i.reason)}</span> : null}
    </span>
  );
}

function RestartDialog({
  app,
  open,
  onClose,
  count,
}: {
  app: string;
  open: boolean;
  onClose: () => void;
  count: number;
}) {
  const restart = useRestart(app);
  const toast = useToast();
  const run = () =>
    restart.mutate(undefined, {
      onSuccess: (r) => {
        toast({ title: `Restarting ${r.restarting} instance${r.restarting === 1 ? "" : "s"}` });
        onClose();
      },
    });
  return (
    <ConfirmDialog
      open={open}
      onClose={onClose}
      title={`Restart ${app}?`}
      description={`Every instance (${count} now) is replaced one at a time with a fresh process of the same release.`}
      confirmLabel="Restart all"
      onConfirm={run}
      pending={restart.isPending}
      error={restart.error}
      tone="primary"
    />
  );
}

/** Stats newer than this are "now"; an instance that stopped reporting shows a dash. */
const STATS_FRESH_MS = 60_000;

/** CPU and memory of an instance from its newest sample (and the limit, when it has one). */
function Usage({ series, metric, now }: { series: Series | undefined; metric: "cpu" | "memory"; now: number }) {
  const p = series?.points[series.points.length - 1];
  const at = series?.ts[series.ts.length - 1] ?? 0;
  if (!p || now - at > STATS_FRESH_MS) return <span className="text-zinc-400">—</span>;
  if (metric === "cpu") return <>{formatPercent(p.cpuPercent)}</>;
  const limit = p.memoryLimitBytes;
  return (
    <span title={limit > 0 ? `${formatBytes(p.memoryBytes)} of ${formatLimit(limit)} limit` : "No memory limit"}>
      {formatBytes(p.memoryBytes)}
      {limit > 0 ? <span className="text-zinc-400"> / {formatLimit(limit)}</span> : null}
    </span>
  );
}

/** Live table of the app's instances: refreshed by the events stream, polled while the stream is down. */
export function InstancesCard({ app }: { app: AppDetail }) {
  const status = useStreamStatus();
  const instances = useInstances(app.name, status === "open" ? false : 15_000);
  const now = useNow(5_000);
  // Only the newest samples are needed here: a short window keeps the first fetch small.
  const stats = useLiveStats(app.name, 2 * 60_000);
  const [restarting, setRestarting] = useState(false);
  const canRestart = app.role !== "viewer";
  const list = instances.data ?? [];
  const desired = app.formation.reduce((n, f) => n + f.quantity, 0);

  return (
    <Card>
      <CardHeader
        title="Instances"
        description="Processes running now, by type, node and release."
        actions={
          <>
            <LiveIndicator />
            <Button
              variant="secondary"
              size="sm"
              onClick={() => setRestarting(true)}
              disabled={!canRestart || list.length === 0}
              title={canRestart ? undefined : "Viewers cannot restart the app"}
            >
              <RotateCw aria-hidden className="size-4" />
              Restart…
            </Button>
          </>
        }
      />
      {instances.isPending ? (
        <SkeletonRows rows={2} label="Loading instances" />
      ) : instances.isError ? (
        <ErrorState
          error={instances.error}
          title={isStatus(instances.error, 404) ? "Instances are not available yet" : "Could not load instances"}
          message={isStatus(instances.error, 404) ? "This server does not report instances yet." : undefined}
          onRetry={() => void instances.refetch()}
        />
      ) : list.length === 0 ? (
        <EmptyState
          icon={Boxes}
          title="No instances running"
          description={
            app.currentRelease === null
              ? "Instances start after the first deploy."
              : desired === 0
                ? "Every process type is scaled to 0. Scale one up below to start it."
                : `Waiting for a node to start ${desired} instance${desired === 1 ? "" : "s"}. They show up here as soon as a node reports them.`
          }
        />
      ) : (
        <Table aria-label={`Instances of ${app.name}`}>
          <THead>
            <tr>
              <TH>Instance</TH>
              <TH>State</TH>
              <TH className="hidden md:table-cell">Node</TH>
              <TH className="text-right">Release</TH>
              <TH className="text-right">Uptime</TH>
              <TH className="hidden text-right sm:table-cell">CPU</TH>
              <TH className="hidden text-right sm:table-cell">Memory</TH>
              <TH className="hidden text-right sm:table-cell">Restarts</TH>
              <TH className="hidden lg:table-cell">Last exit</TH>
            </tr>
          </THead>
          <TBody>
            {list.map((i) => (
              <TR key={i.id}>
                <TD>
                  <span className="font-mono font-medium text-zinc-900">{i.processType}</span>
                  <span className="ml-2 font-mono text-xs text-zinc-500" title={i.id}>
                    {shortInstanceId(i.id)}
                  </span>
                  <span className="block text-xs text-zinc-500 md:hidden">on {i.node?.name ?? "no node yet"}</span>
                </TD>
                <TD>
                  <InstanceStateBadge state={i.state} />
                </TD>
                <TD className="hidden md:table-cell">
                  {i.node ? (
                    <span className="font-mono text-[13px]">
                      {i.node.name}
                      {i.hostPort !== null ? <span className="text-zinc-400">:{i.hostPort}</span> : null}
                    </span>
                  ) : (
                    <span className="text-zinc-400">Not placed</span>
                  )}
                </TD>
                <TD className="text-right font-mono tabular-nums">v{i.release}</TD>
                <TD className="text-right whitespace-nowrap tabular-nums">
                  {i.state === "running" && i.startedAt ? (
                    <time dateTime={i.startedAt} title={`Started ${fullTime(i.startedAt)}`}>
                      {formatDuration(now - new Date(i.startedAt).getTime())}
                    </time>
                  ) : (
                    <span className="text-zinc-400">—</span>
                  )}
                </TD>
                <TD
                  className="hidden text-right whitespace-nowrap tabular-nums sm:table-cell"
                  data-testid="instance-cpu"
                >
                  <Usage series={stats.series.get(i.id)} metric="cpu" now={now} />
                </TD>
                <TD
                  className="hidden text-right whitespace-nowrap tabular-nums sm:table-cell"
                  data-testid="instance-memory"
                >
                  <Usage series={stats.series.get(i.id)} metric="memory" now={now} />
                </TD>
                <TD
                  className={`hidden text-right tabular-nums sm:table-cell ${i.restarts > 0 ? "font-medium text-amber-700" : ""}`}
                >
                  {i.restarts}
                </TD>
                <TD className="hidden lg:table-cell">
                  <LastExit i={i} />
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
      <RestartDialog app={app.name} open={restarting} onClose={() => setRestarting(false)} count={list.length} />
    </Card>
  );
}
