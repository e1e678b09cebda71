// Observed instance state reported by agents (instance events), stored in the Instance table. Not the app-facing
// instance functions (ps, restart), which are server/instances/.
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import { inBatches, MAX_IDS_PER_STATEMENT } from "../db/batches.ts";
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

/** True when apps of `appTeamId` may run on the node: a shared node runs any team's apps, a team node only its own. */
function mayRun(node: { teamId: string | null }, appTeamId: string): boolean {
  return node.teamId === null || node.teamId === appTeamId;
}

/**
 * True when the node may write this instance row: its own, or one without a node (adopted) of an app it may run. A
 * team's node adopting another team's instance would otherwise get that app's traffic routed to it.
 */
function mayWrite(node: { id: string; teamId: string | null }, owner: string | null, appTeamId: string): boolean {
  return owner === null ? mayRun(node, appTeamId) : owner === node.id;
}

/** The columns one event sets (fields an event leaves out keep their value). */
function stateOf(node: { id: string }, e: InstanceEvent) {
  return {
    state: e.state,
    // The last exit code and reason stay until a later exit replaces them (`berth ps` shows them after a restart).
    ...(e.exitCode !== undefined ? { exitCode: e.exitCode } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    restarts: e.restarts ?? 0,
    // Stored as reported (shown by `berth ps`); the router uses only ports in 1024-65535 (scheduler/routes.ts).
    ...(e.hostPort !== undefined ? { hostPort: e.hostPort } : {}),
    ...(e.state === "running" ? { startedAt: new Date(e.at) } : {}),
    nodeId: node.id,
  };
}

/**
 * Stores one transition. A node may only write instances that are its own (or new); for a node of a team, the app must
 * belong to that team. Returns false when the event was ignored.
 */
export async function recordInstanceEvent(db: Db, node: { id: string; teamId: string | null }, e: InstanceEvent) {
  const state = stateOf(node, e);
  const existing = await db.instance.findUnique({
    where: { id: e.instanceId },
    select: { nodeId: true, app: { select: { teamId: true } } },
  });
  if (existing) {
    if (!mayWrite(node, existing.nodeId, existing.app.teamId)) return false;
    await db.instance.update({ where: { id: e.instanceId }, data: state });
    return true;
  }
  const app = await db.app.findUnique({ where: { name: e.app }, select: { id: true, teamId: true } });
  if (!app || !mayRun(node, app.teamId)) return false;
  // A node removed while its last events were queued: they are dropped with it.
  if (!(await db.node.findUnique({ where: { id: node.id }, select: { id: true } }))) return false;
  const releaseId = await releaseIdFor(db, app.id, e.release);
  if (!releaseId) return false;
  // An instance the scheduler does not know (state lost, or run by hand): recorded so it shows up, and wanted
  // stopped so the scheduler cleans it up rather than counting it.
  await db.instance.create({
    data: { id: e.instanceId, appId: app.id, releaseId, processType: e.processType, desired: "stopped", ...state },
  });
  return true;
}

/** Events stored per transaction (their ids are looked up in one statement). */
export const EVENT_BATCH_MAX = MAX_IDS_PER_STATEMENT;

/** One transition and the node that reported it. */
export interface NodeEvent {
  node: { id: string; teamId: string | null };
  event: InstanceEvent;
}

/**
 * Stores transitions (of any nodes), in the order given, with the same result as recordInstanceEvent for each one
 * after another: one lookup and one transaction per EVENT_BATCH_MAX events instead of two queries and a commit per
 * event. An agent reports two transitions for every instance it starts or stops, so a rollout of thousands of
 * instances is thousands of events, and every commit is a synchronous disk sync on the control plane's event loop
 * (libSQL).
 */
export async function recordInstanceEvents(db: Db, items: NodeEvent[]): Promise<void> {
  for (const batch of inBatches(items, EVENT_BATCH_MAX)) {
    const ids = [...new Set(batch.map((x) => x.event.instanceId))];
    const rows = await db.instance.findMany({
      where: { id: { in: ids } },
      select: { id: true, nodeId: true, app: { select: { teamId: true } } },
    });
    const owner = new Map(rows.map((r) => [r.id, r.nodeId]));
    const appTeam = new Map(rows.map((r) => [r.id, r.app.teamId]));
    // Known instances: the events of one instance folded into one write (later fields win, as with one update each);
    // the first node to write an instance without one owns it from then on.
    const writes = new Map<string, { nodeId: string; data: ReturnType<typeof stateOf> }>();
    const unknown: NodeEvent[] = [];
    for (const x of batch) {
      const id = x.event.instanceId;
      if (!owner.has(id)) {
        unknown.push(x);
        continue;
      }
      if (!mayWrite(x.node, owner.get(id) ?? null, appTeam.get(id) ?? "")) continue;
      owner.set(id, x.node.id);
      writes.set(id, { nodeId: x.node.id, data: { ...writes.get(id)?.data, ...stateOf(x.node, x.event) } });
    }
    // The ownership check is repeated in the write, so a row taken over in between is not overwritten.
    const updates = [...writes].map(([id, w]) =>
      db.instance.updateMany({ where: { id, OR: [{ nodeId: null }, { nodeId: w.nodeId }] }, data: w.data }),
    );
    if (updates.length > 0) await db.$transaction(updates);
    // Instances the scheduler does not know (rare): one event after another, the first one creates the row.
    for (const x of unknown) await recordInstanceEvent(db, x.node, x.event);
  }
}
