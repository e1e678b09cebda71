// Reading an app's logs through the API: membership and role checked first (another team's app is a 404).
import type { Actor, Services } from "../context.ts";
import { requireApp } from "../teams/access.ts";
import type { LogEntry, LogQuery } from "./store.ts";

/** Largest `lines` a caller may ask for. */
export const MAX_READ_LINES = 10_000;

/** Entries of an app's log, oldest first, and the app's newest seq (`app:read`). */
export async function readAppLogs(
  s: Services,
  actor: Actor,
  appName: string,
  q: LogQuery,
): Promise<{ entries: LogEntry[]; lastSeq: number }> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  return s.logs.store.read(app, { ...q, lines: Math.min(q.lines ?? 100, MAX_READ_LINES) });
}
