// Log ingest: agents' `instance.logs` batches and the platform's own lines (router, berth) go into the per-app store
// and out to live subscribers of the app's `logs` channel, in seq order.
//
// A node may only write logs of apps of its own team (a shared node, teamId null, any app); anything else is
// dropped with a warning. Apps are looked up by name (cached for a few seconds).
import type { LogBatch } from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import { isDiskFull } from "../errors.ts";
import { AppName } from "../validation/names.ts";
import type { CachedApp } from "./app-logs.ts";
import { type LogEntry, lostLinesMarker, type NewLogEntry } from "./store.ts";

/** Why lines an agent reports as lost are missing (docs/agent.md, log shipping). */
const AGENT_LOST =
  "the node agent could not read them before their log file was rotated away (the instance logs faster than they are shipped, or the agent was disconnected for long)";

/** The part of the agent hub ingest needs (AgentHub is an EventEmitter with a `logs` event). */
export interface LogEventSource {
  on(
    event: "logs",
    listener: (from: { nodeId: string | undefined; teamId: string | null }, batch: LogBatch) => void,
  ): unknown;
  off(
    event: "logs",
    listener: (from: { nodeId: string | undefined; teamId: string | null }, batch: LogBatch) => void,
  ): unknown;
}

/** What a live subscriber of `logs` receives. */
export interface LogsMessage {
  entries: LogEntry[];
}

const APP_CACHE_MS = 5_000;

/** The app named `name` (id, team), or null; cached briefly per control plane. */
async function findApp(s: Services, name: string): Promise<CachedApp["app"]> {
  const cache = s.logs.apps;
  const hit = cache.get(name);
  if (hit && hit.until > Date.now()) return hit.app;
  const app = AppName.safeParse(name).success
    ? await s.db.app.findUnique({ where: { name }, select: { id: true, name: true, teamId: true } })
    : null;
  if (cache.size > 10_000) cache.clear();
  cache.set(name, { app, until: Date.now() + APP_CACHE_MS });
  return app;
}

/** Forgets a cached app (it was deleted): late lines for it are dropped instead of recreating its log. */
export function forgetApp(s: Services, name: string): void {
  s.logs.apps.delete(name);
}

/** Appends lines to an app's log and publishes them to its live subscribers; resolves to the stored entries. */
export async function appendAppLog(s: Services, appName: string, entries: NewLogEntry[]): Promise<LogEntry[]> {
  const app = await findApp(s, appName);
  if (!app) return [];
  return appendTo(s, app, entries);
}

async function appendTo(s: Services, app: { id: string; name: string }, entries: NewLogEntry[]): Promise<LogEntry[]> {
  const stored = await s.logs.store.append(app, entries);
  if (stored.length > 0) s.hub.publish(app.id, "logs", { entries: stored } satisfies LogsMessage);
  return stored;
}

/** Stores one agent batch if the node may write to that app. */
export async function ingestBatch(
  s: Services,
  from: { nodeId: string | undefined; teamId: string | null },
  batch: LogBatch,
): Promise<void> {
  const app = await findApp(s, batch.app);
  if (!app || (from.teamId !== null && app.teamId !== from.teamId)) {
    s.log.warn({ node: from.nodeId, app: batch.app }, "log batch for an app the node may not write; dropped");
    return;
  }
  const at = (iso: string) => {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? new Date().toISOString() : new Date(t).toISOString();
  };
  const owner = { processType: batch.processType, instance: batch.instanceId, release: batch.release };
  const marker: NewLogEntry[] =
    batch.lost !== undefined ? [{ ...lostLinesMarker(batch.lost, AGENT_LOST), ...owner }] : [];
  await appendTo(s, app, [
    ...marker,
    ...batch.lines.map((l) => ({
      at: at(l.at),
      stream: l.stream,
      source: "app" as const,
      ...owner,
      text: l.text,
    })),
  ]);
}

/**
 * Subscribes to agents' log batches and stores them (the control plane starts one). Returns a function that stops it.
 * Batches are handled one at a time, in arrival order, so an app's lines keep the order its agent sent them in.
 */
export function startLogIngest(s: Services, agentHub: LogEventSource): () => void {
  let chain: Promise<void> = Promise.resolve();
  const listener = (from: { nodeId: string | undefined; teamId: string | null }, batch: LogBatch) => {
    chain = chain
      .then(() => ingestBatch(s, from, batch))
      .catch((err: unknown) =>
        s.log.error(
          { err, node: from.nodeId, app: batch.app, lines: batch.lines.length },
          isDiskFull(err)
            ? "log lines dropped: the data dir's disk is full (the app's log gets a marker with the count once there is space)"
            : "storing a log batch failed",
        ),
      );
  };
  agentHub.on("logs", listener);
  const stop = () => {
    agentHub.off("logs", listener);
  };
  return stop;
}
