// Reading the audit log of a team (admins and owners).
import type { Services, Actor } from "../context.ts";
import { requireTeam } from "../teams/access.ts";

export interface AuditQuery {
  team: string;
  action?: string | undefined;
  app?: string | undefined;
  limit: number;
  before?: Date | undefined;
}

/** Lists a team's audit events, newest first, optionally filtered by action prefix or app. */
export async function listAuditEvents(s: Services, actor: Actor, q: AuditQuery) {
  const { team } = await requireTeam(s.db, actor, q.team, "audit:read");
  const rows = await s.db.auditEvent.findMany({
    where: {
      teamId: team.id,
      ...(q.action ? { action: { startsWith: q.action } } : {}),
      ...(q.app ? { appName: q.app } : {}),
      ...(q.before ? { createdAt: { lt: q.before } } : {}),
    },
    orderBy: { createdAt: "desc" },
    take: q.limit,
  });
  return rows.map((r) => ({
    id: r.id,
    action: r.action,
    target: r.target,
    app: r.appName || null,
    actor: r.actorEmail,
    ip: r.ip,
    data: JSON.parse(r.data) as Record<string, unknown>,
    createdAt: r.createdAt.toISOString(),
  }));
}
