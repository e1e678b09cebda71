"use client";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { Mail, Trash, UserMinus, UserPlus, Users } from "lucide-react";
import { PageHeader } from "@/components/page-header";
import { InviteDialog } from "@/components/teams/invite-dialog";
import { useTeamName } from "@/components/teams/team-context";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardHeader } from "@/components/ui/card";
import { Dialog } from "@/components/ui/dialog";
import { EmptyState } from "@/components/ui/empty-state";
import { ErrorState, FormError } from "@/components/ui/error-state";
import { Select } from "@/components/ui/input";
import { SkeletonRows } from "@/components/ui/skeleton";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { fullTime, relativeTime, titleCase } from "@/lib/format";
import { useChangeRole, useInvitations, useMembers, useRemoveMember, useRevokeInvitation, useSession, useTeams } from "@/lib/queries";
import { ROLE_HELP, atLeast } from "@/lib/roles";
import { ROLES, type Member } from "@/lib/types";

const roleTone: Record<string, BadgeTone> = { owner: "violet", admin: "blue", member: "neutral", viewer: "neutral" };

function Avatar({ member }: { member: Member }) {
  const label = member.name || member.email;
  return (
    <span aria-hidden className="flex size-8 shrink-0 items-center justify-center rounded-full bg-zinc-100 text-xs font-semibold text-zinc-600 uppercase ring-1 ring-zinc-200">
      {label.charAt(0)}
    </span>
  );
}

/** Whether `me` may change `target`'s membership (mirrors the server's rule; the server decides). */
function canManage(me: string, target: string): boolean {
  if (!atLeast(me, "admin")) return false;
  return target !== "owner" || me === "owner";
}

function RoleCell({ team, member, me, isSelf }: { team: string; member: Member; me: string; isSelf: boolean }) {
  const change = useChangeRole(team);
  const toast = useToast();
  if (isSelf || !canManage(me, member.role)) {
    return <Badge tone={roleTone[member.role]}>{titleCase(member.role)}</Badge>;
  }
  const options = ROLES.filter((r) => r !== "owner" || me === "owner");
  return (
    <Select
      compact
      className="w-32"
      aria-label={`Role of ${member.email}`}
      value={change.isPending ? change.variables.role : member.role}
      disabled={change.isPending}
      onChange={(e) =>
        change.mutate(
          { member: member.id, role: e.target.value },
          {
            onSuccess: (m) => toast({ title: `${m.email} is now ${m.role}` }),
            onError: (err) => toast({ tone: "error", title: "Could not change the role", description: errorMessage(err) }),
          },
        )
      }
    >
      {options.map((r) => (
        <option key={r} value={r}>
          {titleCase(r)}
        </option>
      ))}
    </Select>
  );
}

function RemoveDialog({ team, member, isSelf, onClose }: { team: string; member: Member | null; isSelf: boolean; onClose: () => void }) {
  const remove = useRemoveMember(team);
  const toast = useToast();
  const router = useRouter();
  const teams = useTeams();
  return (
    <Dialog
      open={member !== null}
      onClose={() => {
        remove.reset();
        onClose();
      }}
      title={isSelf ? `Leave ${team}?` : `Remove ${member?.email ?? ""}?`}
      description={isSelf ? "You lose access to the team's apps until someone invites you again." : "They lose access to the team's apps right away."}
      size="sm"
      footer={
        <>
          <Button variant="secondary" onClick={onClose} data-autofocus>
            Cancel
          </Button>
          <Button
            variant="danger"
            loading={remove.isPending}
            onClick={() =>
              member &&
              remove.mutate(member.id, {
                onSuccess: () => {
                  onClose();
                  if (isSelf) {
                    toast({ title: `You left ${team}` });
                    void teams.refetch();
                    router.replace("/apps");
                  } else toast({ title: `Removed ${member.email}` });
                },
              })
            }
          >
            {isSelf ? "Leave team" : "Remove"}
          </Button>
        </>
      }
    >
      <FormError error={remove.error} />
    </Dialog>
  );
}

function Invitations({ team }: { team: string }) {
  const invitations = useInvitations(team);
  const revoke = useRevokeInvitation(team);
  const toast = useToast();
  const pending = (invitations.data ?? []).filter((i) => !i.acceptedAt && new Date(i.expiresAt).getTime() > Date.now());
  return (
    <Card>
      <CardHeader title="Pending invitations" description="Links that have not been accepted yet. Each works once, for its email address." />
      {invitations.isPending ? (
        <SkeletonRows rows={2} label="Loading invitations" />
      ) : invitations.isError ? (
        <ErrorState error={invitations.error} onRetry={() => void invitations.refetch()} />
      ) : pending.length === 0 ? (
        <p className="px-5 py-6 text-sm text-zinc-500">No pending invitations.</p>
      ) : (
        <Table aria-label="Pending invitations">
          <THead>
            <tr>
              <TH>Email</TH>
              <TH>Role</TH>
              <TH className="hidden sm:table-cell">Expires</TH>
              <TH>
                <span className="sr-only">Actions</span>
              </TH>
            </tr>
          </THead>
          <TBody>
            {pending.map((inv) => (
              <TR key={inv.id}>
                <TD>
                  <span className="inline-flex items-center gap-2 text-zinc-900">
                    <Mail aria-hidden className="size-4 text-zinc-400" />
                    {inv.email}
                  </span>
                </TD>
                <TD>
                  <Badge tone={roleTone[inv.role]}>{titleCase(inv.role)}</Badge>
                </TD>
                <TD className="hidden text-zinc-500 sm:table-cell">
                  <time dateTime={inv.expiresAt} title={fullTime(inv.expiresAt)}>
                    {relativeTime(inv.expiresAt)}
                  </time>
                </TD>
                <TD className="text-right">
                  <Button
                    variant="ghost"
                    size="sm"
                    loading={revoke.isPending && revoke.variables === inv.id}
                    onClick={() =>
                      revoke.mutate(inv.id, {
                        onSuccess: () => toast({ title: `Withdrew the invitation for ${inv.email}` }),
                        onError: (err) => toast({ tone: "error", title: "Could not withdraw", description: errorMessage(err) }),
                      })
                    }
                  >
                    Withdraw
                  </Button>
                </TD>
              </TR>
            ))}
          </TBody>
        </Table>
      )}
    </Card>
  );
}

function RoleGuide() {
  return (
    <Card>
      <CardHeader title="Roles" titleAs="h2" />
      <dl className="grid gap-px overflow-hidden rounded-b-lg bg-zinc-100 sm:grid-cols-2 lg:grid-cols-4">
        {ROLES.map((r) => (
          <div key={r} className="bg-white px-5 py-4">
            <dt>
              <Badge tone={roleTone[r]}>{titleCase(r)}</Badge>
            </dt>
            <dd className="mt-2 text-[13px] text-zinc-500">{ROLE_HELP[r]}</dd>
          </div>
        ))}
      </dl>
    </Card>
  );
}

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
          <Button onClick={() => setInviting(true)} disabled={!isAdmin} title={isAdmin ? undefined : "Only team admins and owners can invite"}>
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
            <Table aria-label={`Members of ${team}`}>
              <THead>
                <tr>
                  <TH>Member</TH>
                  <TH>Role</TH>
                  <TH className="hidden sm:table-cell">Joined</TH>
                  <TH>
                    <span className="sr-only">Actions</span>
                  </TH>
                </tr>
              </THead>
              <TBody>
                {members.data.map((m) => {
                  const isSelf = m.userId === myId;
                  // The last owner cannot leave (the server refuses too): hand ownership over first.
                  const lastOwner = m.role === "owner" && members.data.filter((x) => x.role === "owner").length === 1;
                  const removable = isSelf ? !info?.personal && !lastOwner : canManage(me, m.role);
                  return (
                    <TR key={m.id}>
                      <TD>
                        <div className="flex items-center gap-3">
                          <Avatar member={m} />
                          <div className="min-w-0">
                            <p className="flex items-center gap-2 truncate font-medium text-zinc-900">
                              {m.name || m.email.split("@")[0]}
                              {isSelf ? <Badge>You</Badge> : null}
                            </p>
                            <p className="truncate text-[13px] text-zinc-500">{m.email}</p>
                          </div>
                        </div>
                      </TD>
                      <TD>
                        <RoleCell team={team} member={m} me={me} isSelf={isSelf} />
                      </TD>
                      <TD className="hidden text-zinc-500 sm:table-cell">
                        <time dateTime={m.createdAt} title={fullTime(m.createdAt)}>
                          {relativeTime(m.createdAt)}
                        </time>
                      </TD>
                      <TD className="text-right">
                        {removable ? (
                          isSelf ? (
                            <Button variant="ghost" size="sm" onClick={() => setRemoving(m)}>
                              <UserMinus aria-hidden className="size-4" />
                              Leave
                            </Button>
                          ) : (
                            <Button variant="ghost" size="icon" aria-label={`Remove ${m.email}`} title="Remove from team" onClick={() => setRemoving(m)}>
                              <Trash aria-hidden className="size-4" />
                            </Button>
                          )
                        ) : null}
                      </TD>
                    </TR>
                  );
                })}
              </TBody>
            </Table>
          )}
        </Card>
        {isAdmin ? <Invitations team={team} /> : null}
        <RoleGuide />
      </div>
      <InviteDialog open={inviting} onClose={() => setInviting(false)} team={team} myRole={me} />
      <RemoveDialog team={team} member={removing} isSelf={removing?.userId === myId} onClose={() => setRemoving(null)} />
    </>
  );
}
