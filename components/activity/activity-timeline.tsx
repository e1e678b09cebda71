"use client";
import { Activity, AppWindow, Braces, Globe, Layers, type LucideIcon, Rocket, RotateCw, Undo2 } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { LiveIndicator } from "@/components/instances/live-indicator";
import { cn } from "@/lib/cn";
import { fullTime, relativeTime } from "@/lib/format";
import { useActivity } from "@/lib/queries";
import type { ActivityItem } from "@/lib/types";

const KINDS: { prefix: string; icon: LucideIcon; tone: string }[] = [
  { prefix: "release.rollback", icon: Undo2, tone: "bg-amber-50 text-amber-700 ring-amber-200" },
  { prefix: "release.", icon: Rocket, tone: "bg-violet-50 text-violet-700 ring-violet-200" },
  { prefix: "config.", icon: Braces, tone: "bg-blue-50 text-blue-700 ring-blue-200" },
  { prefix: "formation.", icon: Layers, tone: "bg-emerald-50 text-emerald-700 ring-emerald-200" },
  { prefix: "domain.", icon: Globe, tone: "bg-sky-50 text-sky-700 ring-sky-200" },
  { prefix: "app.restart", icon: RotateCw, tone: "bg-amber-50 text-amber-700 ring-amber-200" },
  { prefix: "app.", icon: AppWindow, tone: "bg-zinc-100 text-zinc-700 ring-zinc-200" },
];

function kindOf(action: string) {
  return (
    KINDS.find((k) => action.startsWith(k.prefix)) ?? {
      icon: Activity,
      tone: "bg-zinc-100 text-zinc-700 ring-zinc-200",
    }
  );
}

/** "Today", "Yesterday" or the date, for grouping. */
function dayLabel(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const diff = Math.round((day(now) - day(d)) / 86_400_000);
  if (diff === 0) return "Today";
  if (diff === 1) return "Yesterday";
  return d.toLocaleDateString("en", {
    weekday: "short",
    day: "numeric",
    month: "short",
    year: d.getFullYear() === now.getFullYear() ? undefined : "numeric",
  });
}

function Entry({ e }: { e: ActivityItem }) {
  const k = kindOf(e.action);
  const Icon = k.icon;
  return (
    <li className="group relative flex gap-3 pb-5 last:pb-0">
      <span aria-hidden className="absolute top-8 bottom-0 left-3.5 w-px bg-zinc-200 group-last:hidden" />
      <span
        aria-hidden
        className={cn("z-10 flex size-7 shrink-0 items-center justify-center rounded-full ring-1 ring-inset", k.tone)}
      >
        <Icon className="size-3.5" />
      </span>
      <div className="min-w-0 flex-1 pt-0.5">
        <p className="text-sm break-words text-zinc-900">{e.summary}</p>
        <p className="mt-0.5 flex flex-wrap gap-x-2 text-[13px] text-zinc-500">
          <span>{e.actor === "system" ? "by Berth" : `by ${e.actor}`}</span>
          <span aria-hidden>·</span>
          <time dateTime={e.at} title={fullTime(e.at)}>
            {relativeTime(e.at)}
          </time>
          <span aria-hidden className="hidden sm:inline">
            ·
          </span>
          <span className="hidden font-mono text-xs leading-5 text-zinc-400 sm:inline">{e.action}</span>
        </p>
      </div>
    </li>
  );
}

/** The app's timeline, grouped by day, newest first; live while the page is open. */
export function ActivityTimeline({ app }: { app: string }) {
  const activity = useActivity(app);
  const events = activity.data?.pages.flat() ?? [];
  const days: { label: string; items: ActivityItem[] }[] = [];
  for (const e of events) {
    const label = dayLabel(e.at);
    const last = days[days.length - 1];
    if (last?.label === label) last.items.push(e);
    else days.push({ label, items: [e] });
  }

  return (
    <Card>
      <CardHeader
        title="Activity"
        description="Deploys, rollbacks, config changes, scaling and settings: who did what, and when."
        actions={<LiveIndicator />}
      />
      {activity.isPending ? (
        <SkeletonRows rows={5} label="Loading activity" />
      ) : activity.isError ? (
        <ErrorState error={activity.error} title="Could not load activity" onRetry={() => void activity.refetch()} />
      ) : events.length === 0 ? (
        <EmptyState
          icon={Activity}
          title="Nothing has happened yet"
          description="Deploys, config changes and scaling show up here as they happen."
        />
      ) : (
        <>
          <div className="space-y-6 px-5 py-5">
            {days.map((d) => (
              <section key={d.label} aria-labelledby={`day-${d.label}`}>
                <h3 id={`day-${d.label}`} className="mb-3 text-xs font-medium tracking-wide text-zinc-500 uppercase">
                  {d.label}
                </h3>
                <ol aria-label={`Events on ${d.label}`}>
                  {d.items.map((e) => (
                    <Entry key={e.id} e={e} />
                  ))}
                </ol>
              </section>
            ))}
          </div>
          <div className="flex items-center justify-between rounded-b-lg border-t border-zinc-200 bg-zinc-50 px-5 py-3 text-sm text-zinc-500">
            <span>
              {events.length} event{events.length === 1 ? "" : "s"}
            </span>
            {activity.hasNextPage ? (
              <Button
                variant="secondary"
                size="sm"
                loading={activity.isFetchingNextPage}
                onClick={() => void activity.fetchNextPage()}
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
  );
}
