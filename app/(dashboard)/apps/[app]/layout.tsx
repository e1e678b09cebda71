"use client";
import Link from "next/link";
import { useEffect, type ReactNode } from "react";
import { ArrowLeft, ExternalLink } from "lucide-react";
import { AppStatus } from "@/components/apps/app-status";
import { AppTabs } from "@/components/apps/app-tabs";
import { useAppName } from "@/components/apps/app-context";
import { buttonClasses } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { ErrorState } from "@/components/ui/error-state";
import { Skeleton } from "@/components/ui/skeleton";
import { TeamAvatar } from "@/components/team-switcher";
import { isStatus } from "@/lib/api";
import { rememberTeam } from "@/lib/current-team";
import { useApp } from "@/lib/queries";

/** The app page frame: name, team, status and URLs, then the section tabs. */
export default function AppLayout({ children }: { children: ReactNode }) {
  const name = useAppName();
  const app = useApp(name);
  const team = app.data?.team;

  // Opening an app of another team makes that team current, so the top bar matches what is on screen.
  useEffect(() => {
    if (team) rememberTeam(team);
  }, [team]);

  if (app.isError) {
    return (
      <Card>
        <ErrorState
          error={app.error}
          title={isStatus(app.error, 404) ? `No app named "${name}"` : undefined}
          message={
            isStatus(app.error, 404) ? "It may have been deleted, or it belongs to a team you are not in." : undefined
          }
          onRetry={() => void app.refetch()}
        />
        {isStatus(app.error, 404) ? (
          <div className="-mt-6 flex justify-center pb-10">
            <Link href="/apps" className={buttonClasses("secondary", "sm")}>
              <ArrowLeft aria-hidden className="size-4" />
              Back to apps
            </Link>
          </div>
        ) : null}
      </Card>
    );
  }

  return (
    <>
      <title>{`${name} · Berth`}</title>
      <div className="mb-6">
        <Link
          href="/apps"
          className="inline-flex items-center gap-1.5 rounded-sm text-sm text-zinc-500 hover:text-zinc-900"
        >
          <ArrowLeft aria-hidden className="size-3.5" />
          Apps
        </Link>
        <div className="mt-3 flex flex-wrap items-start justify-between gap-4">
          <div className="min-w-0">
            <div className="flex flex-wrap items-center gap-3">
              <h1 className="text-2xl font-semibold tracking-tight text-zinc-900">{name}</h1>
              {app.data ? <AppStatus app={app.data} /> : <Skeleton className="h-5 w-24 rounded-full" />}
            </div>
            <div className="mt-2 flex flex-wrap items-center gap-x-4 gap-y-1 text-sm text-zinc-500">
              {app.data ? (
                <>
                  <span className="inline-flex items-center gap-1.5">
                    <TeamAvatar name={app.data.team} className="size-4 text-[10px]" />
                    <span className="sr-only">Team</span>
                    {app.data.team}
                  </span>
                  <a
                    href={app.data.webUrl}
                    target="_blank"
                    rel="noreferrer"
                    className="inline-flex items-center gap-1 rounded-sm hover:text-zinc-900 hover:underline hover:underline-offset-4"
                  >
                    {app.data.webUrl.replace(/^https?:\/\//, "").replace(/\/$/, "")}
                    <ExternalLink aria-hidden className="size-3.5" />
                    <span className="sr-only">(opens in a new tab)</span>
                  </a>
                </>
              ) : (
                <Skeleton className="h-4 w-64" />
              )}
            </div>
          </div>
          {app.data ? (
            <a href={app.data.webUrl} target="_blank" rel="noreferrer" className={buttonClasses("secondary")}>
              Open app
              <ExternalLink aria-hidden className="size-4" />
            </a>
          ) : null}
        </div>
      </div>
      <AppTabs name={name} />
      {children}
    </>
  );
}
