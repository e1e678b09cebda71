"use client";
import { Trash, UserMinus } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { TBody, TD, TH, THead, TR, Table } from "@/components/ui/table";
import { fullTime, relativeTime } from "@/lib/format";
import type { Member } from "@/lib/types";
import { RoleCell, canManage } from "./member-role";

function Avatar({ member }: { member: Member }) {
  const label = member.name || member.email;
  return (
    <span
      aria-hidden
      className="flex size-8 shrink-0 items-center justify-center rounded-full bg-zinc-100 text-xs font-semibold text-zinc-600 uppercase ring-1 ring-zinc-200"
    >
      {label.charAt(0)}
    </span>
  );
}

/**
 * The team's members with their roles (editable where `me` may manage them) and Remove / Leave. `personal`: the
 * user's personal team, which they cannot leave.
 */
export function MembersTable({
  team,
  members,
  me,
  myId,
  personal,
  onRemove,
}: {
  team: string;
  members: Member[];
  me: string;
  myId: string | undefined;
  personal: boolean;
  onRemove: (m: Member) => void;
}) {
  return (
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
        {members.map((m) => {
          const isSelf = m.userId === myId;
          // The last owner cannot leave (the server refuses too): hand ownership over first.
          const lastOwner = m.role === "owner" && members.filter((x) => x.role === "owner").length === 1;
          const removable = isSelf ? !personal && !lastOwner : canManage(me, m.role);
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
                    <Button variant="ghost" size="sm" onClick={() => onRemove(m)}>
                      <UserMinus aria-hidden className="size-4" />
                      Leave
                    </Button>
                  ) : (
                    <Button
                      variant="ghost"
                      size="icon"
                      aria-label={`Remove ${m.email}`}
                      title="Remove from team"
                      onClick={() => onRemove(m)}
                    >
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
  );
}
