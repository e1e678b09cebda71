"use client";
import Link from "next/link";
import { Construction } from "lucide-react";
import { useAppName } from "@/components/apps/app-context";
import { FormationEditor } from "@/components/instances/formation-editor";
import { InstancesCard } from "@/components/instances/instances-card";
import { Card, CardHeader } from "@/components/ui/card";
import { CopyField } from "@/components/ui/copy-button";
import { Skeleton } from "@/components/ui/skeleton";
import { Stat } from "@/components/ui/stat";
import { fullTime, relativeTime } from "@/lib/format";
import { useApp } from "@/lib/queries";
import { useAppEvents } from "@/lib/stream";

/** Overview tab: where the app lives, its current release, its live instances and its process formation. */
export default function AppOverviewPage() {
  const name = useAppName();
  const app = useApp(name);
  useAppEvents(name);
  const base = `/apps/${encodeURIComponent(name)}`;

  if (app.isError) return null; // the layout shows the error
  const a = app.data;

  return (
    <div className="space-y-6">
      {a?.maintenance ? (
        <div
          role="status"
          className="flex flex-wrap items-center gap-3 rounded-lg border border-amber-200 bg-amber-50 px-4 py-3 text-sm text-amber-900"
        >
          <Construction aria-hidden className="size-4 shrink-0" />
          <span className="flex-1">Maintenance mode is on: visitors see a maintenance page instead of the app.</span>
          <Link href={`${base}/settings`} className="font-medium underline underline-offset-4">
            Settings
          </Link>
        </div>
      ) : null}

      <Card>
        <CardHeader title="Details" />
        <dl className="grid grid-cols-2 gap-x-6 gap-y-5 px-5 py-5 lg:grid-cols-4">
          <Stat label="Current release">
            {a ? (
              a.currentRelease === null ? (
                <span className="text-zinc-500">None yet</span>
              ) : (
                <span className="font-mono">v{a.currentRelease}</span>
              )
            ) : (
              <Skeleton className="h-5 w-16" />
            )}
          </Stat>
          <Stat label="Team">{a ? a.team : <Skeleton className="h-5 w-24" />}</Stat>
          <Stat label="Your role">
            {a ? <span className="capitalize">{a.role}</span> : <Skeleton className="h-5 w-16" />}
          </Stat>
          <Stat label="Created">
            {a ? (
              <time dateTime={a.createdAt} title={fullTime(a.createdAt)}>
                {relativeTime(a.createdAt)}
              </time>
            ) : (
              <Skeleton className="h-5 w-24" />
            )}
          </Stat>
        </dl>
        <div className="grid gap-4 border-t border-zinc-200 px-5 py-5 md:grid-cols-2">
          <div className="min-w-0">
            <p className="mb-1.5 text-xs font-medium text-zinc-500">App URL</p>
            {a ? <CopyField value={a.webUrl} label="Copy app URL" /> : <Skeleton className="h-10 w-full" />}
          </div>
          <div className="min-w-0">
            <p className="mb-1.5 text-xs font-medium text-zinc-500">Git URL</p>
            {a ? <CopyField value={a.gitUrl} label="Copy git URL" /> : <Skeleton className="h-10 w-full" />}
          </div>
        </div>
      </Card>

      {a ? <InstancesCard app={a} /> : null}

      <FormationEditor app={a} />
    </div>
  );
}
