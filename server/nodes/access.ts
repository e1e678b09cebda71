// Who may see which nodes: the instance admin sees all, team admins their teams' nodes.
import type { Actor } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { can, isRole } from "../teams/roles.ts";

/** Ids of the teams in which the actor may manage nodes. */
export async function adminTeamIds(db: Db, actor: Actor): Promise<string[]> {
  const memberships = await db.membership.findMany({ where: { userId: actor.userId } });
  return memberships.filter((m) => isRole(m.role) && can(m.role, "nodes:manage")).map((m) => m.teamId);
}

/** Prisma filter of the nodes the actor may see. */
export async function visibleNodesFilter(db: Db, actor: Actor): Promise<{ teamId?: { in: string[] } }> {
  return actor.isAdmin ? {} : { teamId: { in: await adminTeamIds(db, actor) } };
}

/**
 * Authorizes access to something of a team's nodes: instance admin always; a team admin of `teamId`; a member with a
 * lower role gets 403; anyone else (and anything shared, for non-admins) gets 404 like a missing resource.
 */
export async function requireNodeScope(db: Db, actor: Actor, teamId: string | null, what: string): Promise<void> {
  if (actor.isAdmin) return;
  const membership = teamId
    ? await db.membership.findUnique({ where: { teamId_userId: { teamId, userId: actor.userId } } })
    : null;
  if (!membership || !isRole(membership.role)) throw errors.notFound(what);
  if (!can(membership.role, "nodes:manage"))
    throw errors.forbidden(`your role '${membership.role}' does not allow nodes:manage`);
}
