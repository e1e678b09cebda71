"use client";
import { Activity } from "lucide-react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { isStatus } from "@/lib/api";
import { fullTime, relativeTime, titleCase } from "@/lib/format";
import { usePlatformStatus } from "@/lib/queries";
import type { ComponentStatus, PlatformComponent } from "@/lib/types";

const TONE: Record<ComponentStatus, BadgeTone> = { ok: "green", restarting: "amber", degraded: "amber", down: "red" };

/** What each component is, for an admin who has not read the architecture docs. */
const WHAT: Record<string, string> = {
  database: "Control-plane database",
  registry: "Image registry (builds, image deploys)",
  router: "HTTP router (app traffic)",
  "local-agent": "Node agent on this machine",
  nodes: "Joined nodes",
  disk: "Free space of the data dir",
};

function LastExit({ c }: { c: PlatformComponent }) {
  if (!c.lastExit) return <span className="text-zinc-400">—</span>;
  const how = c.lastExit.signal ?? `exit code ${c.lastExit.code ?? "?"}`;
  return (
    <span>
      <span className="font-mono text-[13px]">{how}</span>
      <time className="block text-xs text-zinc-500" dateTime={c.lastExit.at} title={fullTime(c.lastExit.at)}>
        {relativeTime(c.lastExit.at)}
      </time>
    </span>
  );
}

function ComponentRow({ c }: { c: PlatformComponent }) {
  return (
    <TR>
      <TD>
        <span className="font-mono font-medium text-zinc-900">{c.name}</span>
        <span className="mt-0.5 block text-xs text-zinc-500">{WHAT[c.name] ?? ""}</span>
      </TD>
      <TD>
        <Badge tone={TONE[c.status]} dot>
          {titleCase(c.status)}
        </Badge>
      </TD>
      <TD className="whitespace-nowrap text-zinc-500">
        <time dateTime={c.since} title={fullTime(c.since)}>
          {relativeTime(c.since)}
        </time>
      </TD>
      <TD className="max-w-80 text-sm text-zinc-700">{c.detail}</TD>
      <TD className="hidden text-right tabular-nums sm:table-cell">
        {c.restarts ?? <span className="text-zinc-400">—</span>}
      </TD>
      <TD className="hidden whitespace-nowrap md:table-cell">
        <LastExit c={c} />
      </TD>
    </TR>
  );
}

/** The platform's components with their state, refreshed every few seconds (instance admin only). */
export function PlatformStatusCard() {
  const status = usePlatformStatus();
  const list = status.data?.components ?? [];
  const overall = status.data?.status;
  return (
    <Card>
      <CardHeader
        title="Components"
        description="Child processes are restarted within seconds when they crash; restarts and the last exit show here."
        actions={
          overall ? (
            <span role="status" aria-live="polite">
              <Badge tone={overall === "ok" ? "green" : overall === "down" ? "red" : "amber"} dot>
                {`Platform ${overall}`}
              </Badge>
            </span>
          ) : undefined
        }
      />
      {status.isPending ? (
        <SkeletonRows rows={5} label="Loading platform status" />
      ) : status.isError ? (
        <ErrorState
          error={status.error}
          message={isStatus(status.error, 403) ? "Only the instance admin sees the platform status." : undefined}
          onRetry={() => void status.refetch()}
        />
      ) : list.length === 0 ? (
        <EmptyState
          icon={Activity}
          title="No components reported"
          description="This control plane reports no components yet."
        />
      ) : (
        <Table aria-label="Platform components">
          <THead>
            <tr>
              <TH>Component</TH>
              <TH>Status</TH>
              <TH>Since</TH>
              <TH>Detail</TH>
              <TH className="hidden text-right sm:table-cell">Restarts</TH>
              <TH className="hidden md:table-cell">Last exit</TH>
            </tr>
          </THead>
          <TBody>
            {list.map((c) => (
              <ComponentRow key={c.name} c={c} />
            ))}
          </TBody>
        </Table>
      )}
      {status.data ? (
        <p className="border-t border-zinc-200 px-5 py-2.5 text-xs text-zinc-500">
          Checked <time dateTime={status.data.checkedAt}>{relativeTime(status.data.checkedAt)}</time>; refreshes every 5
          seconds.
        </p>
      ) : null}
    </Card>
  );
}
