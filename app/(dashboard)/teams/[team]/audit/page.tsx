"use client";
import { useState } from "react";
import { FunnelX, ScrollText } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { useTeamName } from "@/components/teams/team-context";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Select } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { isStatus } from "@/lib/api";
import { fullTime, relativeTime } from "@/lib/format";
import { useApps, useAudit, type AuditFilters } from "@/lib/queries";
import type { AuditEvent } from "@/lib/types";

const CATEGORIES: { value: string; label: string }[] = [
  { value: "app.", label: "Apps" },
  { value: "release.", label: "Releases" },
  { value: "member.", label: "Members" },
  { value: "invitation.", label: "Invitations" },
  { value: "team.", label: "Team" },
];
const ACTIONS = [
  "app.create",
  "app.update",
  "app.transfer",
  "app.destroy",
  "release.create",
  "member.add",
  "member.role",
  "member.remove",
  "member.leave",
  "invitation.create",
  "invitation.accept",
  "invitation.revoke",
  "team.create",
];

const tone = (action: string): BadgeTone =>
  action.endsWith(".destroy") || action.endsWith(".remove") || action.endsWith(".revoke") || action.endsWith(".delete")
    ? "red"
    : action.endsWith(".create") || action.endsWith(".add") || action.endsWith(".accept")
      ? "green"
      : action.startsWith("release.")
        ? "violet"
        : "neutral";

function details(e: AuditEvent): string {
  const d = e.data;
  if (typeof d.from === "string" && typeof d.to === "string") return `${d.from} → ${d.to}`;
  return Object.entries(d)
    .filter(([, v]) => v !== null && v !== undefined && typeof v !== "object")
    .map(([k, v]) => `${k}: ${String(v)}`)
    .join(", ");
}

/** The team's audit log with filters by action and app. */
export default function AuditPage() {
  const team = useTeamName();
  const [filters, setFilters] = useState<AuditFilters>({ action: "", app: "" });
  const audit = useAudit(team, filters);
  const apps = useApps(team);
  const events = audit.data?.pages.flat() ?? [];
  const filtered = filters.action !== "" || filters.app !== "";

  return (
    <>
      <title>{`Audit log of ${team} · Berth`}</title>
      <PageHeader
        title="Audit log"
        description={
          <>
            Every change in <span className="font-medium text-zinc-700">{team}</span>: who did what, when and from
            where.
          </>
        }
      />
      <div className="mb-4 flex flex-wrap items-end gap-3">
        <div className="w-full space-y-1.5 sm:w-56">
          <Label htmlFor="audit-action">Action</Label>
          <Select
            id="audit-action"
            value={filters.action}
            onChange={(e) => setFilters((f) => ({ ...f, action: e.target.value }))}
          >
            <option value="">All actions</option>
            <optgroup label="Categories">
              {CATEGORIES.map((c) => (
                <option key={c.value} value={c.value}>
                  {c.label} (any)
                </option>
              ))}
            </optgroup>
            <optgroup label="Actions">
              {ACTIONS.map((a) => (
                <option key={a} value={a}>
                  {a}
                </option>
              ))}
            </optgroup>
          </Select>
        </div>
        <div className="w-full space-y-1.5 sm:w-56">
          <Label htmlFor="audit-app">App</Label>
          <Select
            id="audit-app"
            value={filters.app}
            onChange={(e) => setFilters((f) => ({ ...f, app: e.target.value }))}
          >
            <option value="">All apps</option>
            {(apps.data ?? []).map((a) => (
              <option key={a.id} value={a.name}>
                {a.name}
              </option>
            ))}
          </Select>
        </div>
        {filtered ? (
          <Button variant="ghost" onClick={() => setFilters({ action: "", app: "" })}>
            <FunnelX aria-hidden className="size-4" />
            Clear filters
          </Button>
        ) : null}
      </div>

      <Card>
        {audit.isPending ? (
          <SkeletonRows rows={5} label="Loading audit events" />
        ) : audit.isError ? (
          <ErrorState
            error={audit.error}
            title={isStatus(audit.error, 403) ? "Only admins and owners can read the audit log" : undefined}
            onRetry={() => void audit.refetch()}
          />
        ) : events.length === 0 ? (
          <EmptyState
            icon={filtered ? FunnelX : ScrollText}
            title={filtered ? "No events match these filters" : "No events yet"}
            description={
              filtered ? "Try another action or app." : "Changes to apps, members and invitations show up here."
            }
          />
        ) : (
          <>
            <Table aria-label={`Audit events of ${team}`}>
              <THead>
                <tr>
                  <TH>When</TH>
                  <TH>Action</TH>
                  <TH>Target</TH>
                  <TH className="hidden md:table-cell">Actor</TH>
                  <TH className="hidden lg:table-cell">App</TH>
                  <TH className="hidden lg:table-cell">IP</TH>
                </tr>
              </THead>
              <TBody>
                {events.map((e) => {
                  const extra = details(e);
                  return (
                    <TR key={e.id}>
                      <TD className="whitespace-nowrap text-zinc-500">
                        <time dateTime={e.createdAt} title={fullTime(e.createdAt)}>
                          {relativeTime(e.createdAt)}
                        </time>
                      </TD>
                      <TD>
                        <Badge tone={tone(e.action)} className="font-mono">
                          {e.action}
                        </Badge>
                      </TD>
                      <TD className="max-w-72">
                        <p className="truncate text-zinc-900">{e.target}</p>
                        {extra ? <p className="truncate text-xs text-zinc-500">{extra}</p> : null}
                        <p className="truncate text-xs text-zinc-500 md:hidden">by {e.actor}</p>
                      </TD>
                      <TD className="hidden md:table-cell">{e.actor}</TD>
                      <TD className="hidden font-mono text-[13px] lg:table-cell">
                        {e.app ?? <span className="text-zinc-400">—</span>}
                      </TD>
                      <TD className="hidden font-mono text-[13px] text-zinc-500 lg:table-cell">{e.ip || "—"}</TD>
                    </TR>
                  );
                })}
              </TBody>
            </Table>
            <div className="flex items-center justify-between border-t border-zinc-200 px-5 py-3 text-sm text-zinc-500">
              <span>
                {events.length} event{events.length === 1 ? "" : "s"}
              </span>
              {audit.hasNextPage ? (
                <Button
                  variant="secondary"
                  size="sm"
                  loading={audit.isFetchingNextPage}
                  onClick={() => void audit.fetchNextPage()}
                >
                  Load older events
                </Button>
              ) : (
                <span>That is everything.</span>
              )}
            </div>
          </>
        )}
      </Card>
    </>
  );
}
