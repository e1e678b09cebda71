// Audit events: an append-only record of every change, readable by team admins.
import type { Db } from "../db/client.ts";
import type { Actor } from "../context.ts";

export interface AuditInput {
  teamId?: string | null;
  appName?: string;
  action: string;
  target?: string;
  data?: Record<string, unknown>;
}

type Tx = Pick<Db, "auditEvent">;

/** Writes one audit event for a change made by `actor` (or by the system when actor is null). */
export async function recordAudit(db: Tx, actor: Pick<Actor, "userId" | "email" | "ip"> | null, input: AuditInput) {
  await db.auditEvent.create({
    data: {
      teamId: input.teamId ?? null,
      appName: input.appName ?? "",
      actorId: actor?.userId ?? null,
      actorEmail: actor?.email ?? "system",
      action: input.action,
      target: input.target ?? "",
      data: JSON.stringify(input.data ?? {}),
      ip: actor?.ip ?? "",
    },
  });
}
