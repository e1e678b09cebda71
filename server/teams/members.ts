// Team membership: list, add an existing user (or invite when none exists), change role, remove.
import type { Services, Actor } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireTeam } from "./access.ts";
import { canChangeMember, isRole, type Role } from "./roles.ts";
import { createInvitation } from "./invitations.ts";

/** Members of a team with their roles. */
export async function listMembers(s: Services, actor: Actor, teamName: string) {
  const { team } = await requireTeam(s.db, actor, teamName, "members:read");
  const rows = await s.db.membership.findMany({
    where: { teamId: team.id },
    include: { user: true },
    orderBy: { createdAt: "asc" },
  });
  return rows.map((m) => ({
    id: m.id,
    userId: m.userId,
    email: m.user.email,
    name: m.user.name,
    role: m.role,
    createdAt: m.createdAt.toISOString(),
  }));
}

/** Adds a registered user directly; for an unknown email, creates an invitation instead. */
export async function addMember(s: Services, actor: Actor, teamName: string, email: string, role: Role) {
  const { team, role: actorRole } = await requireTeam(s.db, actor, teamName, "members:manage");
  if (!canChangeMember(actorRole, null, role)) throw errors.forbidden("only owners can add owners");
  const user = await s.db.user.findUnique({ where: { email } });
  if (!user) {
    const invitation = await createInvitation(s, actor, teamName, email, role);
    return { kind: "invitation" as const, invitation };
  }
  const existing = await s.db.membership.findUnique({ where: { teamId_userId: { teamId: team.id, userId: user.id } } });
  if (existing) throw errors.conflict(`${email} is already a member of '${team.name}'`);
  const m = await s.db.membership.create({ data: { teamId: team.id, userId: user.id, role } });
  await recordAudit(s.db, actor, { teamId: team.id, action: "member.add", target: email, data: { role } });
  return {
    kind: "member" as const,
    member: { id: m.id, userId: user.id, email, name: user.name, role, createdAt: m.createdAt.toISOString() },
  };
}

async function loadTarget(s: Services, teamId: string, memberRef: string) {
  // Members are addressed by membership id, user id or email: whatever the caller has at hand.
  const m = await s.db.membership.findFirst({
    where: { teamId, OR: [{ id: memberRef }, { userId: memberRef }, { user: { email: memberRef.toLowerCase() } }] },
    include: { user: true },
  });
  if (!m || !isRole(m.role)) throw errors.notFound("member");
  return { ...m, role: m.role as Role };
}

async function assertOwnerRemains(s: Services, teamId: string, changingUserId: string) {
  const owners = await s.db.membership.count({ where: { teamId, role: "owner", NOT: { userId: changingUserId } } });
  if (owners === 0) throw errors.conflict("a team needs at least one owner");
}

/** Changes a member's role (admins manage non-owners; owners manage everyone; the last owner stays). */
export async function changeMemberRole(s: Services, actor: Actor, teamName: string, memberRef: string, role: Role) {
  const { team, role: actorRole } = await requireTeam(s.db, actor, teamName, "members:manage");
  const target = await loadTarget(s, team.id, memberRef);
  if (!canChangeMember(actorRole, target.role, role))
    throw errors.forbidden("only owners can change owners or grant ownership");
  if (target.role === "owner" && role !== "owner") await assertOwnerRemains(s, team.id, target.userId);
  const m = await s.db.membership.update({ where: { id: target.id }, data: { role } });
  // A demotion may take channels away from the member's open streams: they are re-checked now.
  s.access.emit("membershipChanged", team.id, target.userId);
  await recordAudit(s.db, actor, {
    teamId: team.id,
    action: "member.role",
    target: target.user.email,
    data: { from: target.role, to: role },
  });
  return {
    id: m.id,
    userId: target.userId,
    email: target.user.email,
    name: target.user.name,
    role,
    createdAt: m.createdAt.toISOString(),
  };
}

/** Removes a member; any member may remove themselves (leave), unless they are the last owner. */
export async function removeMember(s: Services, actor: Actor, teamName: string, memberRef: string) {
  const { team, role: actorRole } = await requireTeam(s.db, actor, teamName, "team:read");
  const target = await loadTarget(s, team.id, memberRef);
  const self = target.userId === actor.userId;
  if (!self && !canChangeMember(actorRole, target.role, null)) {
    throw errors.forbidden(
      actorRole === "admin" ? "only owners can remove owners" : "your role does not allow managing members",
    );
  }
  if (team.personal && self) throw errors.conflict("you cannot leave your personal team");
  if (target.role === "owner") await assertOwnerRemains(s, team.id, target.userId);
  await s.db.membership.delete({ where: { id: target.id } });
  s.access.emit("membershipChanged", team.id, target.userId);
  await recordAudit(s.db, actor, {
    teamId: team.id,
    action: self ? "member.leave" : "member.remove",
    target: target.user.email,
  });
}
