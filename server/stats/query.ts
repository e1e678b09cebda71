// Reading an app's recent stats (viewer and above).
import type { Actor, Services } from "../context.ts";
import { requireApp } from "../teams/access.ts";
import type { InstanceSeries } from "./history.ts";

/** Every instance of the app that reported in the last hour, with its points at or after `since`. */
export async function appStats(
  s: Services,
  actor: Actor,
  appName: string,
  since?: Date,
): Promise<{ instances: InstanceSeries[] }> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  return { instances: s.stats.forApp(app.id, since?.getTime() ?? 0) };
}
