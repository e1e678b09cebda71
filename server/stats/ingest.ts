// Takes `node.stats` batches from the agent hub, keeps the samples of instances that belong to the reporting node
// in the in-memory history and fans the new points out to the app's `stats` stream channel.
import type { StatsBatch } from "../../runtime-agent/protocol/index.ts";
import type { Services } from "../context.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import type { StatsHistory, StatsPoint } from "./history.ts";

/** How long an Instance lookup (or its absence) is trusted; a batch arrives every few seconds per node. */
export const OWNER_CACHE_MS = 10_000;
const SWEEP_MS = 60_000;
const MAX_CACHED = 100_000;

/** A point as the `stats` stream channel carries it. */
export interface StreamPoint extends StatsPoint {
  instanceId: string;
  processType: string;
}

interface Owner {
  nodeId: string | null;
  appId: string;
  teamId: string;
  processType: string;
}

/** The running ingest of one control plane. */
export interface StatsIngest {
  history: StatsHistory;
  /** Stops listening (the history stays readable). */
  stop(): void;
}

/** Starts ingesting the hub's `stats` events into `services.stats`; the control plane starts one (control-plane.ts). */
export function startStatsIngest(services: Services, agentHub: AgentHub): StatsIngest {
  const history = services.stats;
  const log = services.log.child({ component: "stats-ingest" });
  const owners = new Map<string, { owner: Owner | null; until: number }>();

  async function lookup(ids: string[]): Promise<Map<string, Owner | null>> {
    const now = Date.now();
    const out = new Map<string, Owner | null>();
    const missing: string[] = [];
    for (const id of ids) {
      const cached = owners.get(id);
      if (cached && cached.until > now) out.set(id, cached.owner);
      else missing.push(id);
    }
    if (missing.length === 0) return out;
    const rows = await services.db.instance.findMany({
      where: { id: { in: missing } },
      select: { id: true, nodeId: true, appId: true, processType: true, app: { select: { teamId: true } } },
    });
    const found = new Map(rows.map((r) => [r.id, r]));
    if (owners.size + missing.length > MAX_CACHED) owners.clear();
    for (const id of missing) {
      const r = found.get(id);
      const owner = r ? { nodeId: r.nodeId, appId: r.appId, teamId: r.app.teamId, processType: r.processType } : null;
      owners.set(id, { owner, until: now + OWNER_CACHE_MS });
      out.set(id, owner);
    }
    return out;
  }

  async function ingest(node: { nodeId: string | undefined; teamId: string | null }, batch: StatsBatch) {
    if (!node.nodeId || batch.instances.length === 0) return;
    const found = await lookup([...new Set(batch.instances.map((s) => s.instanceId))]);
    const byApp = new Map<string, StreamPoint[]>();
    let ignored = 0;
    for (const s of batch.instances) {
      const o = found.get(s.instanceId);
      // Only the node the instance is placed on may report it; a team's node only its team's apps.
      if (!o || o.nodeId !== node.nodeId || (node.teamId !== null && o.teamId !== node.teamId)) {
        ignored++;
        continue;
      }
      const point = history.record({ appId: o.appId, processType: o.processType }, batch.at, s);
      if (!point) continue;
      const list = byApp.get(o.appId) ?? [];
      list.push({ instanceId: s.instanceId, processType: o.processType, ...point });
      byApp.set(o.appId, list);
    }
    if (ignored > 0) log.debug({ node: node.nodeId, ignored }, "stats for instances not on this node ignored");
    for (const [appId, points] of byApp) services.hub.publish(appId, "stats", { points });
  }

  const onStats = (node: { nodeId: string | undefined; teamId: string | null }, batch: StatsBatch) => {
    ingest(node, batch).catch((err: unknown) => log.warn({ err, node: node.nodeId }, "stats ingest failed"));
  };
  agentHub.on("stats", onStats);
  const sweep = setInterval(() => {
    history.sweep();
    const now = Date.now();
    for (const [id, c] of owners) if (c.until <= now) owners.delete(id);
  }, SWEEP_MS);
  sweep.unref();

  const handle: StatsIngest = {
    history,
    stop: () => {
      agentHub.off("stats", onStats);
      clearInterval(sweep);
    },
  };
  return handle;
}
