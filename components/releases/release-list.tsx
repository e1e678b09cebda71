"use client";
import Link from "next/link";
import { useState } from "react";
import { ChevronRight, History, Rocket, Undo2 } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { LiveIndicator } from "@/components/instances/live-indicator";
import { cn } from "@/lib/cn";
import { fullTime, relativeTime } from "@/lib/format";
import { useReleases } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { AppDetail, Release } from "@/lib/types";
import { ConfigDiffView } from "./config-diff";
import { ReleaseStatus, shortImage } from "./release-status";
import { RollbackDialog } from "./rollback-dialog";

function ReleaseRow({
  r,
  prev,
  current,
  canRollback,
  onRollback,
}: {
  r: Release;
  /** The release before this one; null for v1; undefined when it is older than the loaded page. */
  prev: Release | null | undefined;
  current: boolean;
  canRollback: boolean;
  onRollback: () => void;
}) {
  const [open, setOpen] = useState(false);
  const panelId = `release-${r.version}-diff`;
  return (
    <li className="group">
      <div className="flex flex-wrap items-start gap-x-4 gap-y-2 px-5 py-4 sm:flex-nowrap">
        <button
          type="button"
          aria-expanded={open}
          aria-controls={panelId}
          onClick={() => setOpen((o) => !o)}
          className="flex min-w-0 flex-1 items-start gap-3 rounded-md text-left max-sm:basis-full focus-visible:outline-2 focus-visible:outline-offset-2 focus-visible:outline-blue-600"
        >
          <ChevronRight
            aria-hidden
            className={cn("mt-0.5 size-4 shrink-0 text-zinc-400 transition-transform", open && "rotate-90")}
          />
          <span className="w-10 shrink-0 font-mono text-sm font-semibold text-zinc-900">{r.name}</span>
          <span className="min-w-0 flex-1">
            <span className="flex flex-wrap items-center gap-2">
              <ReleaseStatus status={r.status} />
              {current ? <Badge tone="violet">Current</Badge> : null}
              <span className="min-w-0 text-sm break-words text-zinc-900 sm:truncate">
                {r.description || "No description"}
              </span>
            </span>
            {r.status === "failed" && r.failReason ? (
              <span className="mt-1 block text-[13px] text-red-700">Failed: {r.failReason}</span>
            ) : null}
            <span className="mt-1 flex flex-wrap items-center gap-x-3 gap-y-0.5 text-[13px] text-zinc-500">
              <span>by {r.createdBy ?? "system"}</span>
              <time dateTime={r.createdAt} title={fullTime(r.createdAt)}>
                {relativeTime(r.createdAt)}
              </time>
              <span className="font-mono text-xs" title={r.image}>
                {shortImage(r.image)}
              </span>
              <span className="sr-only">{open ? "Hide config changes" : "Show config changes"}</span>
            </span>
          </span>
        </button>
        <div className="ml-7 shrink-0 sm:ml-0">
          {current ? null : (
            <Button
              variant="secondary"
              size="sm"
              onClick={onRollback}
              disabled={!canRollback}
              aria-label={`Roll back to ${r.name}`}
              title={canRollback ? undefined : "Viewers cannot roll back"}
            >
              <Undo2 aria-hidden className="size-4" />
              Roll back…
            </Button>
          )}
        </div>
      </div>
      <div id={panelId} hidden={!open} className="border-t border-zinc-100 bg-zinc-50/60 px-5 py-4 sm:pl-12">
        {open ? (
          prev === undefined ? (
            <p className="text-sm text-zinc-500">
              The release before {r.name} is older than the ones listed here, so there is nothing to compare with.
            </p>
          ) : (
            <ConfigDiffView prev={prev} cur={r} />
          )
        ) : null}
      </div>
    </li>
  );
}

/** Release history with config diffs and one-click rollback (member and up). */
export function ReleaseList({ app }: { app: AppDetail }) {
  const releases = useReleases(app.name);
  const [target, setTarget] = useState<Release | null>(null);
  const canRollback = atLeast(app.role, "member");
  const list = releases.data ?? [];
  const latest = list[0]?.version ?? 0;
  const current = app.currentRelease;

  return (
    <Card>
      <CardHeader
        title="Releases"
        description="Every deploy and config change makes a new release. Expand one to see what changed in its config."
        actions={<LiveIndicator />}
      />
      {releases.isPending ? (
        <SkeletonRows rows={4} label="Loading releases" />
      ) : releases.isError ? (
        <ErrorState error={releases.error} title="Could not load releases" onRetry={() => void releases.refetch()} />
      ) : list.length === 0 ? (
        <EmptyState
          icon={Rocket}
          title="No releases yet"
          description="The first deploy creates v1. After that, every deploy and config change adds a release you can roll back to."
          action={
            <Link href={`/apps/${encodeURIComponent(app.name)}/deploy`} className={buttonClasses("secondary", "sm")}>
              <History aria-hidden className="size-4" />
              How to deploy
            </Link>
          }
        />
      ) : (
        <>
          <ol aria-label={`Releases of ${app.name}`} className="divide-y divide-zinc-200">
            {list.map((r, i) => (
              <ReleaseRow
                key={r.version}
                r={r}
                prev={list[i + 1] ?? (r.version === 1 ? null : undefined)}
                current={r.version === current}
                canRollback={canRollback}
                onRollback={() => setTarget(r)}
              />
            ))}
          </ol>
          {!canRollback ? (
            <p className="rounded-b-lg border-t border-zinc-200 bg-zinc-50 px-5 py-3 text-sm text-zinc-500">
              Viewers can read the history; members and above can roll back.
            </p>
          ) : null}
        </>
      )}
      <RollbackDialog app={app.name} target={target} latest={latest} onClose={() => setTarget(null)} />
    </Card>
  );
}
