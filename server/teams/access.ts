// Server-side authorization: membership + role per action. Another team's resource is indistinguishable from none.
import type { Db } from "../db/client.ts";
import type { Actor } from "../context.ts";
import { errors } from "../errors.ts";
import { can, isRole, type Action, type Role } from "./roles.ts";

/** Loads a team by name and the actor's role in it; 404 if the actor is not a member, 403 if the role is too low. */
export async function requireTeam(db: Db, actor: Actor, teamName: string, action: Action) {
  const team = await db.team.findUnique({ where: { name: teamName } });
  const membership = team
    ? await db.membership.findUnique({ where: { teamId_userId: { teamId: team.id, userId: actor.userId } } })
    : null;
  if (!team || !membership || !isRole(membership.role)) throw errors.notFound(`team '${teamName}'`);
  const role: Role = membership.role;
  if (!can(role, action)) throw errors.forbidden(`your role '${role}' in team '${team.name}' does not allow ${action}`);
  return { team, role };
}

/** Loads an app by name with the actor's role in its team; same 404/403 rules as requireTeam. */
export async function requireApp(db: Db, actor: Actor, appName: string, action: Action) {
  const app = await db.app.findUnique({
    where: { name: appName },
    include: { team: true, addonService: { select: { id: true } } },
  });
  const membership = app
    ? await db.membership.findUnique({ where: { teamId_userId: { teamId: app.teamId, userId: actor.userId } } })
    : null;
  // An add-on's hidden service app (server/addons) is managed only through its add-on: no app route reaches it.
  if (!app || app.addonService || !membership || !isRole(membership.role)) throw errors.notFound(`app '${appName}'`);
  const role: Role = membership.role;
  if (!can(role, action))
    throw errors.forbidden(`your role '${role}' in team '${app.team.name}' does not allow ${action}`);
  return { app, role };
}
