// Authorization of stream subscriptions: at subscribe time by the app's name (like every API route), and afterwards
// by the app's id, which is what a subscription is bound to (the name may be destroyed and reused by another team).
import type { Actor } from "../context.ts";
import type { Db } from "../db/client.ts";
import { inBatches } from "../db/batches.ts";
import { BerthError, errors } from "../errors.ts";
import { requireApp } from "../teams/access.ts";
import { isRole, type Role } from "../teams/roles.ts";
import { CHANNEL_ACTIONS, type Channel, channelAllows } from "./channels.ts";

/** Resolves the app a client names and checks the actor may receive `channel`; throws like requireApp (404/403). */
export async function authorizeSubscription(db: Db, actor: Actor, appName: string, channel: Channel) {
  const { app } = await requireApp(db, actor, appName, CHANNEL_ACTIONS[channel]);
  return { appId: app.id };
}

/** One subscription to re-check: who, which app (by id), which channel, and the name the client used. */
export interface HeldAccess {
  userId: string;
  appId: string;
  appName: string;
  channel: Channel;
}

const pairKey = (userId: string, appId: string) => `${userId}\u0000${appId}`;

/** The role of each user in the CURRENT team of each app (null: app gone or not a member), in a few queries. */
async function currentRoles(
  db: Db,
  pairs: readonly { userId: string; appId: string }[],
): Promise<Map<string, Role | null>> {
  const appIds = [...new Set(pairs.map((p) => p.appId))];
  const userIds = [...new Set(pairs.map((p) => p.userId))];
  const teamOf = new Map<string, string>();
  for (const slice of inBatches(appIds)) {
    const apps = await db.app.findMany({ where: { id: { in: slice } }, select: { id: true, teamId: true } });
    for (const a of apps) teamOf.set(a.id, a.teamId);
  }
  const teamIds = [...new Set(teamOf.values())];
  const roleOf = new Map<string, Role>();
  if (teamIds.length > 0) {
    // Both lists are bounded by what is subscribed; slices keep each statement under SQLite's bound-value limit.
    for (const users of inBatches(userIds, 250)) {
      for (const teams of inBatches(teamIds, 250)) {
        const rows = await db.membership.findMany({
          where: { userId: { in: users }, teamId: { in: teams } },
          select: { userId: true, teamId: true, role: true },
        });
        for (const m of rows) if (isRole(m.role)) roleOf.set(`${m.teamId}\u0000${m.userId}`, m.role);
      }
    }
  }
  const out = new Map<string, Role | null>();
  for (const p of pairs) {
    const teamId = teamOf.get(p.appId);
    out.set(pairKey(p.userId, p.appId), teamId ? (roleOf.get(`${teamId}\u0000${p.userId}`) ?? null) : null);
  }
  return out;
}

/**
 * Re-checks held subscriptions against the database now. Returns, for each one no longer allowed, the error a new
 * subscription would get (not_found when the app is gone or the user is not in its team, forbidden when the role
 * is too low); allowed ones are not in the map.
 */
export async function revokedAccess(db: Db, held: readonly HeldAccess[]): Promise<Map<HeldAccess, BerthError>> {
  const roles = await currentRoles(db, held);
  const out = new Map<HeldAccess, BerthError>();
  for (const h of held) {
    const role = roles.get(pairKey(h.userId, h.appId)) ?? null;
    if (channelAllows(role, h.channel)) continue;
    out.set(
      h,
      role === null
        ? errors.notFound(`app '${h.appName}'`)
        : errors.forbidden(`your role '${role}' does not allow ${CHANNEL_ACTIONS[h.channel]} on '${h.appName}'`),
    );
  }
  return out;
}
