// An app's live status for lists and headers: deploying / crashed / running / idle, with instance counts.
import type { Db } from "../db/client.ts";

export type AppStatus = "deploying" | "crashed" | "running" | "idle";

export interface AppLiveStatus {
  status: AppStatus;
  /** Instances wanted running (one-offs excluded) and how many of them are running now. */
  instances: { running: number; total: number };
}

const IDLE: AppLiveStatus = { status: "idle", instances: { running: 0, total: 0 } };

/** Status of each app id (two queries for any number of apps). */
export async function appStatuses(db: Db, appIds: string[]): Promise<Map<string, AppLiveStatus>> {
  if (appIds.length === 0) return new Map();
  const [instances, releases] = await Promise.all([
    db.instance.findMany({
      where: { appId: { in: appIds }, desired: { in: ["running", "replace"] } },
      select: { appId: true, state: true },
    }),
    db.release.findMany({
      where: { appId: { in: appIds }, status: { in: ["pending", "deploying", "deployed"] } },
      select: { appId: true, version: true, status: true },
    }),
  ]);
  const out = new Map<string, AppLiveStatus>();
  for (const id of appIds) {
    const mine = instances.filter((i) => i.appId === id);
    const rel = releases.filter((r) => r.appId === id);
    const deployed = Math.max(0, ...rel.filter((r) => r.status === "deployed").map((r) => r.version));
    const running = mine.filter((i) => i.state === "running").length;
    const counts = { running, total: mine.length };
    let status: AppStatus = "idle";
    if (rel.some((r) => r.status !== "deployed" && r.version > deployed)) status = "deploying";
    else if (mine.some((i) => i.state === "crashed" || i.state === "failed")) status = "crashed";
    else if (running > 0) status = "running";
    out.set(id, mine.length || status !== "idle" ? { status, instances: counts } : IDLE);
  }
  return out;
}
