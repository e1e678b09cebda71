// Instances of an app as users see them (`berth ps`), and rolling restarts (`berth ps:restart`).
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";

/** Instances the user sees: what is wanted, plus stopped ones still shutting down. */
export async function listInstances(s: Services, actor: Actor, appName: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.instance.findMany({
    where: { appId: app.id },
    include: { release: { select: { version: true } }, node: { select: { id: true, name: true } } },
    orderBy: [{ processType: "asc" }, { createdAt: "asc" }],
  });
  return rows.map((i) => ({
    id: i.id,
    processType: i.processType,
    state: i.desired === "stopped" && !["stopped", "crashed", "failed"].includes(i.state) ? "stopping" : i.state,
    desired: i.desired,
    release: i.release.version,
    node: i.node ? { id: i.node.id, name: i.node.name } : null,
    hostPort: i.hostPort,
    restarts: i.restarts,
    exitCode: i.exitCode,
    reason: i.reason || null,
    startedAt: i.startedAt?.toISOString() ?? null,
    createdAt: i.createdAt.toISOString(),
    updatedAt: i.updatedAt.toISOString(),
  }));
}

/**
 * Rolling restart of the app's running instances, of one process type or one instance: each is replaced by a new
 * one and stops once its replacement is healthy. Returns how many instances are being replaced.
 */
export async function restartInstances(s: Services, actor: Actor, appName: string, target?: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:scale");
  const where = { appId: app.id, desired: "running" };
  const rows = await s.db.instance.findMany({ where, select: { id: true, processType: true } });
  const chosen = target ? rows.filter((r) => r.processType === target || r.id === target) : rows;
  if (target && chosen.length === 0) throw errors.notFound(`process type or instance '${target}' of ${app.name}`);
  if (chosen.length === 0) throw errors.conflict(`${app.name} has no running instances to restart`);
  await s.db.instance.updateMany({
    where: { id: { in: chosen.map((r) => r.id) }, desired: "running" },
    data: { desired: "replace" },
  });
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: app.name,
    action: "instances.restart",
    target: target ?? "all",
    data: { instances: chosen.length },
  });
  kickScheduler(s);
  return { restarting: chosen.length };
}
