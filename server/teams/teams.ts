// Teams: list the actor's teams, create one (creator is owner), show one, delete one (owner; must have no apps).
import type { Services, Actor } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireTeam } from "./access.ts";

/** Teams the actor belongs to, with their role and counts. */
export async function listTeams(s: Services, actor: Actor) {
  const rows = await s.db.membership.findMany({
    where: { userId: actor.userId },
    include: { team: { include: { _count: { select: { apps: true, memberships: true } } } } },
    orderBy: { team: { name: "asc" } },
  });
  return rows.map((m) => ({
    id: m.team.id,
    name: m.team.name,
    personal: m.team.personal,
    role: m.role,
    apps: m.team._count.apps,
    members: m.team._count.memberships,
    createdAt: m.team.createdAt.toISOString(),
  }));
}

/** Creates a team owned by the actor. */
export async function createTeam(s: Services, actor: Actor, name: string) {
  const team = await s.db.$transaction(async (tx) => {
    if (await tx.team.findUnique({ where: { name } })) throw errors.conflict(`team name '${name}' is taken`);
    const t = await tx.team.create({ data: { name } });
    await tx.membership.create({ data: { teamId: t.id, userId: actor.userId, role: "owner" } });
    await recordAudit(tx, actor, { teamId: t.id, action: "team.create", target: name });
    return t;
  });
  return {
    id: team.id,
    name: team.name,
    personal: false,
    role: "owner",
    apps: 0,
    members: 1,
    createdAt: team.createdAt.toISOString(),
  };
}

/** One team as seen by a member. */
export async function getTeam(s: Services, actor: Actor, name: string) {
  const { team, role } = await requireTeam(s.db, actor, name, "team:read");
  const [apps, members] = await Promise.all([
    s.db.app.count({ where: { teamId: team.id } }),
    s.db.membership.count({ where: { teamId: team.id } }),
  ]);
  return {
    id: team.id,
    name: team.name,
    personal: team.personal,
    role,
    apps,
    members,
    createdAt: team.createdAt.toISOString(),
  };
}

/** Deletes a team; refuses while it still owns apps, so nothing is orphaned. */
export async function deleteTeam(s: Services, actor: Actor, name: string) {
  const { team } = await requireTeam(s.db, actor, name, "team:delete");
  if (team.personal) throw errors.conflict("a personal team cannot be deleted");
  if ((await s.db.app.count({ where: { teamId: team.id } })) > 0) {
    throw errors.conflict(`team '${name}' still has apps; destroy or transfer them first`);
  }
  await s.db.team.delete({ where: { id: team.id } });
  await recordAudit(s.db, actor, { teamId: null, action: "team.delete", target: name, data: { teamId: team.id } });
}
