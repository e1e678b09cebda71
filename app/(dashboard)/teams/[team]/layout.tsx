"use client";
import Link from "next/link";
import { useEffect, type ReactNode } from "react";
import { ArrowLeft, Users } from "lucide-react";
import { useTeamName } from "@/components/teams/team-context";
import { buttonClasses } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { useCurrentTeam } from "@/lib/use-current-team";

/** Team pages: the team in the URL becomes the current team; teams the user is not in get a clear dead end. */
export default function TeamLayout({ children }: { children: ReactNode }) {
  const name = useTeamName();
  const { teams, setTeam } = useCurrentTeam();
  const member = teams.data?.some((t) => t.name === name) ?? false;
  useEffect(() => {
    if (member) setTeam(name);
  }, [member, name, setTeam]);

  if (teams.isSuccess && !member) {
    return (
      <Card>
        <title>Team not found · Berth</title>
        <EmptyState
          icon={Users}
          title={`No team named "${name}"`}
          description="It may have been deleted, or you are not a member. Ask one of its admins to invite you."
          action={
            <Link href="/apps" className={buttonClasses("secondary", "sm")}>
              <ArrowLeft aria-hidden className="size-4" />
              Back to apps
            </Link>
          }
        />
      </Card>
    );
  }
  return <>{children}</>;
}
