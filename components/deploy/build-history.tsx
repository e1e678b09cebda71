// Build history of an app with each build's log: the running build streams live, finished ones show their stored log.
"use client";
import { useEffect, useRef, useState } from "react";
import { ChevronRight, GitCommitHorizontal, Hammer } from "lucide-react";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Card, CardHeader } from "@/components/ui/card";
import { CopyButton } from "@/components/ui/copy-button";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Skeleton, SkeletonRows } from "@/components/ui/skeleton";
import { cn } from "@/lib/cn";
import { fullTime, relativeTime, titleCase } from "@/lib/format";
import { useStreamStatus } from "@/lib/stream";
import { BuildLog } from "./build-log";
import { useBuild, useBuilds, type Build } from "./queries";
import { useLiveBuilds, type LiveBuild } from "./use-live-builds";

const TONES: Record<string, BadgeTone> = { building: "blue", succeeded: "green", failed: "red" };

function duration(b: Build, now: number): string {
  const end = b.finishedAt ? Date.parse(b.finishedAt) : now;
  const s = Math.max(0, Math.round((end - Date.parse(b.createdAt)) / 1000));
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, "0")}s`;
}

const branch = (ref: string) => ref.replace(/^refs\/heads\//, "") || "—";

/**
 * The log of one build: live text when the stream has all of it, else the stored log plus what streamed since.
 * Output goes on after the build is marked succeeded (release, rollout, "vN is running"), so the live text is
 * used, and the live tail appended, whether or not the build still counts as running.
 */
function BuildOutput({ app, build, live }: { app: string; build: Build; live: LiveBuild | undefined }) {
  const running = build.status === "building";
  const useLiveOnly = live?.complete === true;
  const detail = useBuild(app, useLiveOnly ? null : build.id, running);
  // How much live text had arrived when the stored log was read: only what came after is appended to it.
  const mark = useRef<{ at: number; len: number }>({ at: -1, len: 0 });
  const [, force] = useState(0);
  useEffect(() => {
    if (detail.dataUpdatedAt && mark.current.at !== detail.dataUpdatedAt) {
      mark.current = { at: detail.dataUpdatedAt, len: live?.text.length ?? 0 };
      force((n) => n + 1);
    }
  }, [detail.dataUpdatedAt, live?.text.length]);

  const label = `Build output of ${build.commit.slice(0, 8) || build.id}`;
  if (useLiveOnly) return <BuildLog text={live.text} label={label} live />;
  if (detail.isError)
    return (
      <ErrorState
        error={detail.error}
        title="Could not load the build log"
        onRetry={() => void detail.refetch()}
        className="py-8"
      />
    );
  if (!detail.data) return <Skeleton className="h-40 w-full" />;
  const tail = live ? live.text.slice(mark.current.len) : "";
  return <BuildLog text={detail.data.output + tail} label={label} live={running || tail !== ""} />;
}

function BuildRow({
  app,
  build,
  open,
  onToggle,
  live,
  now,
}: {
  app: string;
  build: Build;
  open: boolean;
  onToggle: () => void;
  live: LiveBuild | undefined;
  now: number;
}) {
  const panel = `build-${build.id}-log`;
  return (
    <li className="border-t border-zinc-100 first:border-t-0">
      <button
        type="button"
        aria-expanded={open}
        aria-controls={panel}
        onClick={onToggle}
        className="flex w-full items-center gap-3 px-5 py-3 text-left text-sm transition-colors hover:bg-zinc-50 focus-visible:outline-2 focus-visible:outline-offset-[-2px] focus-visible:outline-blue-600"
      >
        <ChevronRight
          aria-hidden
          className={cn("size-4 shrink-0 text-zinc-400 transition-transform", open && "rotate-90")}
        />
        <span className="w-24 shrink-0">
          <Badge tone={TONES[build.status] ?? "neutral"} dot>
            {titleCase(build.status)}
          </Badge>
        </span>
        <span className="flex min-w-0 flex-1 items-center gap-2">
          <GitCommitHorizontal aria-hidden className="size-4 shrink-0 text-zinc-400" />
          <code className="font-mono text-[13px] text-zinc-800">{build.commit.slice(0, 8) || "—"}</code>
          <span className="truncate text-zinc-500">on {branch(build.ref)}</span>
          {build.error ? <span className="hidden truncate text-red-600 md:inline">· {build.error}</span> : null}
        </span>
        <span
          className="hidden w-28 shrink-0 text-right text-zinc-500 tabular-nums sm:inline"
          title={fullTime(build.createdAt)}
        >
          {relativeTime(build.createdAt, now)}
        </span>
        <span
          className="w-16 shrink-0 text-right text-zinc-500 tabular-nums"
          aria-label={`took ${duration(build, now)}`}
        >
          {duration(build, now)}
        </span>
        <span className="sr-only">{open ? "Hide log" : "Show log"}</span>
      </button>
      {open ? (
        <div id={panel} className="px-5 pb-4">
          <BuildOutput app={app} build={build} live={live} />
          {build.image ? (
            <div className="mt-2 flex items-center gap-1 text-[13px] text-zinc-500">
              Image <code className="truncate font-mono text-zinc-700">{build.image}</code>
              <CopyButton text={build.image} label="Copy image reference" />
            </div>
          ) : null}
        </div>
      ) : null}
    </li>
  );
}

function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [active]);
  return now;
}

export function BuildHistory({ app }: { app: string }) {
  const builds = useBuilds(app);
  const live = useLiveBuilds(app);
  const stream = useStreamStatus();
  const [openId, setOpenId] = useState<string | null>(null);
  const running = builds.data?.some((b) => b.status === "building") ?? false;
  const now = useNow(running);

  // A build that starts while the page is open opens by itself.
  const lastAuto = useRef<string | null>(null);
  useEffect(() => {
    if (live.latest && live.latest !== lastAuto.current) {
      lastAuto.current = live.latest;
      setOpenId(live.latest);
    }
  }, [live.latest]);

  const indicator =
    stream === "open" ? (
      <Badge tone="green" dot>
        Live
      </Badge>
    ) : stream === "reconnecting" ? (
      <Badge tone="amber" dot>
        Reconnecting
      </Badge>
    ) : null;

  return (
    <Card>
      <CardHeader
        title="Builds"
        description="Each git push builds here; open a build to read its output."
        actions={indicator}
      />
      {builds.isPending ? (
        <SkeletonRows rows={3} label="Loading builds" />
      ) : builds.isError ? (
        <ErrorState error={builds.error} title="Could not load the builds" onRetry={() => void builds.refetch()} />
      ) : builds.data.length === 0 ? (
        <EmptyState
          icon={Hammer}
          title="No builds yet"
          description="Push to the git remote above; the build output streams here while it runs."
          className="border-t border-zinc-100"
        />
      ) : (
        <ul aria-label="Build history" className="border-t border-zinc-100">
          {builds.data.map((b) => (
            <BuildRow
              key={b.id}
              app={app}
              build={b}
              open={openId === b.id}
              onToggle={() => setOpenId(openId === b.id ? null : b.id)}
              live={live.builds[b.id]}
              now={now}
            />
          ))}
        </ul>
      )}
    </Card>
  );
}
