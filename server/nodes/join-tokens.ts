// Node join tokens: what an agent presents to join. Created by a team admin or owner for the team's own nodes, or by
// the instance admin for shared nodes; shown once, stored as SHA-256 like API tokens, revocable at once (the agents
// connected with a revoked token are disconnected). The local agent's token (`local`) is made only by
// createLocalJoinToken, never through the API: it is what lets that one node publish on loopback.
import type { Actor, Services } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { hashToken, looksLikeToken, newToken } from "../auth/secrets.ts";
import { requireTeam } from "../teams/access.ts";
import { requireNodeScope } from "./access.ts";

type JoinTokenRow = {
  id: string;
  name: string;
  teamId: string | null;
  local: boolean;
  expiresAt: Date | null;
  revokedAt: Date | null;
  createdAt: Date;
  team?: { name: string } | null;
};

/** Public view of a join token (never the secret). */
export function toJoinTokenView(t: JoinTokenRow) {
  return {
    id: t.id,
    name: t.name,
    team: t.team?.name ?? null,
    local: t.local,
    expiresAt: t.expiresAt?.toISOString() ?? null,
    revokedAt: t.revokedAt?.toISOString() ?? null,
    createdAt: t.createdAt.toISOString(),
  };
}

/** Resolves which team the actor may manage nodes for: a named team (team admin) or none (instance admin). */
async function scopeFor(s: Services, actor: Actor, team: string | undefined): Promise<string | null> {
  if (team) return (await requireTeam(s.db, actor, team, "nodes:manage")).team.id;
  if (!actor.isAdmin)
    throw errors.forbidden("only the instance admin manages shared nodes; pass a team you administer");
  return null;
}

/** Creates a join token; the returned `token` is the only time the secret is visible. */
export async function createJoinToken(
  s: Services,
  actor: Actor,
  input: { name: string; team?: string | undefined; expiresInDays?: number | undefined },
) {
  const teamId = await scopeFor(s, actor, input.team);
  const token = newToken("node");
  const row = await s.db.nodeJoinToken.create({
    data: {
      teamId,
      name: input.name,
      tokenHash: hashToken(token),
      createdById: actor.userId,
      expiresAt: input.expiresInDays ? new Date(Date.now() + input.expiresInDays * 86400 * 1000) : null,
    },
    include: { team: true },
  });
  await recordAudit(s.db, actor, { teamId, action: "node-token.create", target: input.name, data: { id: row.id } });
  return { ...toJoinTokenView(row), token };
}

/** Join tokens of one team (team admin), or every token (instance admin, no team). */
export async function listJoinTokens(s: Services, actor: Actor, team?: string) {
  const teamId = await scopeFor(s, actor, team);
  const rows = await s.db.nodeJoinToken.findMany({
    where: team ? { teamId } : {},
    include: { team: true },
    orderBy: { createdAt: "desc" },
  });
  return rows.map(toJoinTokenView);
}

/** Revokes a token the actor administers; a team member below admin gets 403, anyone else 404. */
export async function revokeJoinToken(s: Services, actor: Actor, id: string) {
  const row = await s.db.nodeJoinToken.findUnique({ where: { id }, include: { team: true } });
  if (!row) throw errors.notFound("join token");
  await requireNodeScope(s.db, actor, row.teamId, "join token");
  const updated = row.revokedAt
    ? row
    : await s.db.nodeJoinToken.update({ where: { id }, data: { revokedAt: new Date() }, include: { team: true } });
  // Agents that joined with it lose their session now, not at their next reconnect.
  const disconnected = s.agentControl.dropToken(id);
  await recordAudit(s.db, actor, {
    teamId: row.teamId,
    action: "node-token.revoke",
    target: row.name,
    data: { id, disconnected },
  });
  return toJoinTokenView(updated);
}

/** A join token as the agent endpoint sees it. */
export interface VerifiedJoinToken {
  id: string;
  teamId: string | null;
  /** The local agent's token: its node is reached on loopback. */
  local: boolean;
  expiresAt: Date | null;
}

/** Checks a presented join token; null when unknown, revoked or expired. */
export async function verifyJoinToken(db: Db, token: string): Promise<VerifiedJoinToken | null> {
  if (!looksLikeToken("node", token)) return null;
  const row = await db.nodeJoinToken.findUnique({ where: { tokenHash: hashToken(token) } });
  if (!row || !joinTokenValid(row)) return null;
  return { id: row.id, teamId: row.teamId, local: row.local, expiresAt: row.expiresAt };
}

/** True when the token is neither revoked nor expired. */
export function joinTokenValid(row: { revokedAt: Date | null; expiresAt: Date | null }, now = Date.now()): boolean {
  return !row.revokedAt && !(row.expiresAt && row.expiresAt.getTime() <= now);
}

/**
 * Creates a local-agent join token (its node may publish on loopback and is routed there). Called by startLocalAgent
 * (shared, `teamId` null) and by tests that run in-process agents on this machine; no API route reaches it.
 */
export async function createLocalJoinToken(
  db: Db,
  opts: { name: string; teamId?: string | null },
): Promise<{ id: string; token: string }> {
  const token = newToken("node");
  const row = await db.nodeJoinToken.create({
    data: {
      name: opts.name,
      teamId: opts.teamId ?? null,
      tokenHash: hashToken(token),
      createdById: "system",
      local: true,
    },
  });
  return { id: row.id, token };
}
