"use client";
import { Badge, type BadgeTone } from "@/components/ui/badge";
import { Select } from "@/components/ui/input";
import { useToast } from "@/components/ui/toast";
import { errorMessage } from "@/lib/api";
import { titleCase } from "@/lib/format";
import { useChangeRole } from "@/lib/queries";
import { atLeast } from "@/lib/roles";
import { ROLES, type Member } from "@/lib/types";

/** Badge colours of the roles, shared by members, invitations and the role guide. */
export const roleTone: Record<string, BadgeTone> = {
  owner: "violet",
  admin: "blue",
  member: "neutral",
  viewer: "neutral",
};

/** Whether `me` may change `target`'s membership (mirrors the server's rule; the server decides). */
export function canManage(me: string, target: string): boolean {
  if (!atLeast(me, "admin")) return false;
  return target !== "owner" || me === "owner";
}

/** A member's role: a select for those `me` may manage, a badge otherwise. */
export function RoleCell({ team, member, me, isSelf }: { team: string; member: Member; me: string; isSelf: boolean }) {
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
            onError: (err) =>
              toast({ tone: "error", title: "Could not change the role", description: errorMessage(err) }),
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
