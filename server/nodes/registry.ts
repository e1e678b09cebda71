// The node registry: nodes upserted on register (state ready), marked down on disconnect, listed per caller.
import type { RegisterParams } from "../../runtime-agent/protocol/index.ts";
import type { Actor, Services } from "../context.ts";
import { inBatches } from "../db/batches.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { requireNodeScope, visibleNodesFilter } from "./access.ts";

const MiB = 1024 * 1024;

type NodeRow = {
  id: string;
  name: string;
  address: string;
  cpus: number;
  memoryMb: number;
  diskMb: number;
  kernel: string;
  cgroup: string;
  userns: boolean | null;
  version: string;
  state: string;
  cordoned: boolean;
  teamId: string | null;
  lastSeenAt: Date | null;
  createdAt: Date;
};

/** Public view of a node. */
export function toNodeView(n: NodeRow, team: string | null) {
  return {
    id: n.id,
    name: n.name,
    address: n.address,
    cpus: n.cpus,
    memoryMb: n.memoryMb,
    diskMb: n.diskMb,
    kernel: n.kernel,
    cgroup: n.cgroup,
    /** Whether containers run in user namespaces there (null: not reported by the agent yet). */
    userNamespaces: n.userns,
    version: n.version,
    state: n.state,
    cordoned: n.cordoned,
    team,
    lastSeenAt: n.lastSeenAt?.toISOString() ?? null,
    createdAt: n.createdAt.toISOString(),
  };
}

/** Upserts the node named by the agent (state ready); a name held by another team's node is a conflict. */
export async function registerNode(db: Db, teamId: string | null, p: RegisterParams): Promise<{ id: string }> {
  const existing = await db.node.findUnique({ where: { name: p.hostname } });
  if (existing && existing.teamId !== teamId) throw errors.conflict(`node name '${p.hostname}' is taken`);
  const data = {
    address: p.address,
    cpus: p.cpus,
    memoryMb: Math.floor(p.memoryBytes / MiB),
    diskMb: Math.floor(p.diskBytes / MiB),
    kernel: p.kernel,
    cgroup: `v${p.cgroupVersion}`,
    userns: p.userNamespaces,
    version: p.agentVersion,
    state: "ready",
    lastSeenAt: new Date(),
  };
  const node = await db.node.upsert({
    where: { name: p.hostname },
    create: { name: p.hostname, teamId, ...data },
    update: data,
  });
  return { id: node.id };
}

/**
 * Records that these nodes' agents are alive: one statement for all of them (per 500), not a commit per node (each
 * commit is a synchronous disk sync on the event loop; 100 nodes every heartbeat were 10 commits a second).
 */
export async function touchNodes(db: Db, nodeIds: string[]): Promise<void> {
  const now = new Date();
  for (const batch of inBatches(nodeIds)) {
    await db.node.updateMany({ where: { id: { in: batch } }, data: { lastSeenAt: now } });
  }
}

/** Marks a node down (its agent disconnected or went silent). */
export async function markNodeDown(db: Db, nodeId: string): Promise<void> {
  await db.node.updateMany({ where: { id: nodeId }, data: { state: "down" } });
}

/** Nodes the actor may see. */
export async function listNodes(s: Services, actor: Actor) {
  const rows = await s.db.node.findMany({ where: await visibleNodesFilter(s.db, actor), orderBy: { name: "asc" } });
  const teams = await teamNames(
    s.db,
    rows.map((r) => r.teamId),
  );
  return rows.map((r) => toNodeView(r, r.teamId ? (teams.get(r.teamId) ?? null) : null));
}

/** One node with its instances; another team's node is a 404, a team member below admin gets 403. */
export async function getNode(s: Services, actor: Actor, id: string) {
  const row = await s.db.node.findUnique({ where: { id }, include: { instances: { orderBy: { id: "asc" } } } });
  if (!row) throw errors.notFound(`node '${id}'`);
  await requireNodeScope(s.db, actor, row.teamId, `node '${id}'`);
  const teams = await teamNames(s.db, [row.teamId]);
  return {
    ...toNodeView(row, row.teamId ? (teams.get(row.teamId) ?? null) : null),
    instances: row.instances.map((i) => ({
      id: i.id,
      processType: i.processType,
      state: i.state,
      hostPort: i.hostPort,
      exitCode: i.exitCode,
      reason: i.reason,
      restarts: i.restarts,
      updatedAt: i.updatedAt.toISOString(),
    })),
  };
}

async function teamNames(db: Db, ids: (string | null)[]): Promise<Map<string, string>> {
  const wanted = [...new Set(ids.filter((i): i is string => i !== null))];
  if (wanted.length === 0) return new Map();
  const teams = await db.team.findMany({ where: { id: { in: wanted } }, select: { id: true, name: true } });
  return new Map(teams.map((t) => [t.id, t.name]));
}
