// Observed instance state reported by agents, stored in the Instance table.
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import type { Db } from "../db/client.ts";

/** Resolves a protocol release reference (a release id or `v<version>`) to a release id of the app. */
async function releaseIdFor(db: Db, appId: string, ref: string): Promise<string | null> {
  const byId = await db.release.findFirst({ where: { id: ref, appId }, select: { id: true } });
  if (byId) return byId.id;
  const version = /^v(\d{1,9})$/.exec(ref)?.[1];
  if (!version) return null;
  const byVersion = await db.release.findFirst({ where: { appId, version: Number(version) }, select: { id: true } });
  return byVersion?.id ?? null;
}

/**
 * Stores one transition. A node may only write instances that are its own (or new); for a node of a team, the app must
 * belong to that team. Returns false when the event was ignored.
 */
export async function recordInstanceEvent(db: Db, node: { id: string; teamId: string | null }, e: InstanceEvent) {
  const state = {
    state: e.state,
    // The last exit code and reason stay until a later exit replaces them (`berth ps` shows them after a restart).
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    restarts: e.restarts ?? 0,
    ...(e.hostPort !== undefined ? { hostPort: e.hostPort } : {}),
    ...(e.state === "running" ? { startedAt: new Date(e.at) } : {}),
    nodeId: node.id,
  };
  const existing = await db.instance.findUnique({ where: { id: e.instanceId }, select: { nodeId: true } });
  if (existing) {
    if (existing.nodeId !== null && existing.nodeId !== node.id) return false;
    await db.instance.update({ where: { id: e.instanceId }, data: state });
    return true;
  }
  const app = await db.app.findUnique({ where: { name: e.app }, select: { id: true, teamId: true } });
  if (!app || (node.teamId !== null && app.teamId !== node.teamId)) return false;
  const releaseId = await releaseIdFor(db, app.id, e.release);
  if (!releaseId) return false;
  // An instance the scheduler does not know (state lost, or run by hand): recorded so it shows up, and wanted
  // stopped so the scheduler cleans it up rather than counting it.
  await db.instance.create({
    data: { id: e.instanceId, appId: app.id, releaseId, processType: e.processType, desired: "stopped", ...state },
  });
  return true;
}
