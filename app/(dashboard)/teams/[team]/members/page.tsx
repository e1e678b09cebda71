"use client";
import { useState } from "react";
import { UserPlus, Users } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { InvitationsCard } from "@/components/teams/invitations-card";
import { InviteDialog } from "@/components/teams/invite-dialog";
import { MembersTable } from "@/components/teams/members-table";
import { RemoveMemberDialog } from "@/components/teams/remove-member-dialog";
import { RoleGuide } from "@/components/teams/role-guide";
import { useTeamName } from "@/components/teams/team-context";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState } from "@/components/ui/error-state";
import { SkeletonRows } from "@/components/ui/skeleton";
import { useMembers, useSession, useTeams } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import type { Member } from "@/lib/types";

/** Team members, their roles, invitations. */
export default function MembersPage() {
  const team = useTeamName();
  const teams = useTeams();
  const session = useSession();
  const members = useMembers(team);
  const [inviting, setInviting] = useState(false);
  const [removing, setRemoving] = useState<Member | null>(null);
  const info = teams.data?.find((t) => t.name === team);
  const me = info?.role ?? "viewer";
  const isAdmin = atLeast(me, "admin");
  const myId = session.data?.user.id;

  return (
    <>
      <title>{`Members of ${team} · Berth`}</title>
      <PageHeader
        title="Members"
        description={
          <>
            People in <span className="font-medium text-zinc-700">{team}</span> and what they can do.
          </>
        }
        actions={
          <Button
            onClick={() => setInviting(true)}
            disabled={!isAdmin}
            title={isAdmin ? undefined : "Only team admins and owners can invite"}
          >
            <UserPlus aria-hidden className="size-4" />
            Invite member
          </Button>
        }
      />
      <div className="space-y-6">
        <Card>
          {members.isPending ? (
            <SkeletonRows rows={3} label="Loading members" />
          ) : members.isError ? (
            <ErrorState error={members.error} onRetry={() => void members.refetch()} />
          ) : members.data.length === 0 ? (
            <EmptyState icon={Users} title="No members" description="Invite someone to work on this team's apps." />
          ) : (
            <MembersTable
              team={team}
              members={members.data}
              me={me}
              myId={myId}
              personal={Boolean(info?.personal)}
              onRemove={setRemoving}
            />
          )}
        </Card>
        {isAdmin ? <InvitationsCard team={team} /> : null}
        <RoleGuide />
      </div>
      <InviteDialog open={inviting} onClose={() => setInviting(false)} team={team} myRole={me} />
      <RemoveMemberDialog
        team={team}
        member={removing}
        isSelf={removing?.userId === myId}
        onClose={() => setRemoving(null)}
      />
    </>
  );
}
