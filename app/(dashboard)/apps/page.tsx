"use client";
import Link from "next/link";
import { useState } from "react";
import { Box, Boxes, ExternalLink, Plus, Search, Users } from "lucide-react";
import { AppStatus } from "@/components/apps/app-status";
import { CreateAppDialog } from "@/components/apps/create-app-dialog";
import { PageHeader } from "@/components/page-header";
import { Button, buttonClasses } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { Input } from "@/components/ui/input";
import { Skeleton, SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { fullTime, relativeTime } from "@/lib/format";
import { useApps } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import { useCurrentTeam } from "@/lib/use-current-team";

function hostOf(url: string): string {
  try {
    const u = new URL(url);
    return u.host;
  } catch {
    return url;
  }
}

/** Apps of the current team. */
export default function AppsPage() {
  const { teams, team, setTeam } = useCurrentTeam();
  const apps = useApps(team?.name);
  const [creating, setCreating] = useState(false);
  const [filter, setFilter] = useState("");
  // The button creates in the current team, so it follows the role there (the dialog can still pick another).
  const mayCreateHere = atLeast(team?.role, "admin");

  if (teams.isError) {
    return (
      <Card>
        <ErrorState error={teams.error} onRetry={() => void teams.refetch()} />
      </Card>
    );
  }
  if (teams.isSuccess && !team) {
    return (
      <Card>
        <EmptyState
          icon={Users}
          title="You are not in any team"
          description="Apps belong to teams. Create a team to start deploying."
          action={
            <Link href="/teams/new" className={buttonClasses()}>
              Create team
            </Link>
          }
        />
      </Card>
    );
  }

  const list = (apps.data ?? []).filter((a) => a.name.includes(filter.trim().toLowerCase()));
  const createButton = (
    <Button
      onClick={() => setCreating(true)}
      disabled={!mayCreateHere}
      title={mayCreateHere ? undefined : `Only admins and owners of ${team?.name ?? "this team"} can create apps`}
    >
      <Plus aria-hidden className="size-4" />
      Create app
    </Button>
  );

  return (
    <>
      <title>Apps · Berth</title>
      <PageHeader
        title="Apps"
        description={
          team ? (
            <>
              Apps owned by <span className="font-medium text-zinc-700">{team.name}</span>
            </>
          ) : (
            <Skeleton className="h-4 w-40" />
          )
        }
        actions={createButton}
      />

      {apps.data && apps.data.length > 0 ? (
        <div className="mb-4 max-w-xs">
          <label htmlFor="app-filter" className="sr-only">
            Filter apps by name
          </label>
          <div className="relative">
            <Search
              aria-hidden
              className="pointer-events-none absolute top-1/2 left-3 size-4 -translate-y-1/2 text-zinc-400"
            />
            <Input
              id="app-filter"
              placeholder="Filter apps…"
              value={filter}
              onChange={(e) => setFilter(e.target.value)}
              className="pl-9"
            />
          </div>
        </div>
      ) : null}

      <Card>
        {apps.isPending || !team ? (
          <SkeletonRows rows={4} label="Loading apps" />
        ) : apps.isError ? (
          <ErrorState error={apps.error} onRetry={() => void apps.refetch()} />
        ) : apps.data.length === 0 ? (
          <EmptyState
            icon={Boxes}
            title={`No apps in ${team.name} yet`}
            description={
              mayCreateHere
                ? "Create an app, add its git remote and push. Berth builds and runs it."
                : "An admin of this team can create the first app."
            }
            action={mayCreateHere ? createButton : undefined}
          />
        ) : list.length === 0 ? (
          <EmptyState icon={Search} title="No matching apps" description={`No app name contains "${filter}".`} />
        ) : (
          <Table aria-label={`Apps of ${team.name}`}>
            <THead>
              <tr>
                <TH>Name</TH>
                <TH>Status</TH>
                <TH className="hidden md:table-cell">URL</TH>
                <TH className="hidden sm:table-cell">Created</TH>
              </tr>
            </THead>
            <TBody>
              {list.map((app) => (
                <TR key={app.id} className="relative">
                  <TD>
                    <Link
                      href={`/apps/${encodeURIComponent(app.name)}`}
                      className="group inline-flex items-center gap-3 rounded-sm font-medium text-zinc-900"
                    >
                      <span className="flex size-8 items-center justify-center rounded-md border border-zinc-200 bg-zinc-50 text-zinc-500 group-hover:border-zinc-300">
                        <Box aria-hidden className="size-4" />
                      </span>
                      <span className="group-hover:underline group-hover:underline-offset-4">{app.name}</span>
                    </Link>
                  </TD>
                  <TD>
                    <AppStatus app={app} />
                  </TD>
                  <TD className="hidden md:table-cell">
                    <a
                      href={app.webUrl}
                      target="_blank"
                      rel="noreferrer"
                      className="inline-flex items-center gap-1.5 rounded-sm text-zinc-600 hover:text-zinc-900 hover:underline hover:underline-offset-4"
                    >
                      {hostOf(app.webUrl)}
                      <ExternalLink aria-hidden className="size-3.5 text-zinc-400" />
                      <span className="sr-only">(opens in a new tab)</span>
                    </a>
                  </TD>
                  <TD className="hidden text-zinc-500 sm:table-cell">
                    <time dateTime={app.createdAt} title={fullTime(app.createdAt)}>
                      {relativeTime(app.createdAt)}
                    </time>
                  </TD>
                </TR>
              ))}
            </TBody>
          </Table>
        )}
      </Card>

      {team ? (
        <CreateAppDialog
          open={creating}
          onClose={() => setCreating(false)}
          teams={teams.data ?? []}
          onCreated={(app) => setTeam(app.team)}
          team={team.name}
        />
      ) : null}
    </>
  );
}
