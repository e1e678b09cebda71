// The node registry: nodes upserted on register (state ready), marked down on disconnect, listed per caller,
// removed by their admins. A node's address is the one this control plane saw its agent connect from (or the one
// the instance admin set), checked by address-policy.ts; what the agent reports is kept only as information.
import type { RegisterParams } from "../../runtime-agent/protocol/index.ts";
import type { Actor, Services } from "../context.ts";
import { recordAudit } from "../audit/record.ts";
import { inBatches } from "../db/batches.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { requireNodeScope, visibleNodesFilter } from "./access.ts";
import { normalizeIp, ownAddresses, routeAddress, unroutableReason } from "./address-policy.ts";

const MiB = 1024 * 1024;

type NodeRow = {
  id: string;
  name: string;
  address: string;
  observedAddress: string;
  reportedAddress: string;
  addressOverride: string | null;
  local: boolean;
  unroutable: string | null;
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
    observedAddress: n.observedAddress,
    reportedAddress: n.reportedAddress,
    addressOverride: n.addressOverride,
    local: n.local,
    unroutable: n.unroutable,
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

/** Who is registering: the join token's team and kind, and the address the agent's connection came from. */
export interface Registrant {
  teamId: string | null;
  /** Joined with the local agent's token. */
  local: boolean;
  /** Remote address of the agent's WebSocket (normalised; "" when unknown). */
  observed: string;
}

/**
 * Upserts the node named by the agent (state ready); a name held by another team's node is a conflict. The routed
 * address is worked out again at every registration (a node that comes back from a new address is routed there),
 * from what the control plane observed, never from the agent's own `address`.
 */
export async function registerNode(
  s: Pick<Services, "db" | "config">,
  who: Registrant,
  p: RegisterParams,
): Promise<{ id: string; address: string; unroutable: string | null }> {
  const existing = await s.db.node.findUnique({ where: { name: p.hostname } });
  if (existing && existing.teamId !== who.teamId) throw errors.conflict(`node name '${p.hostname}' is taken`);
  const route = routeAddress(
    { observed: who.observed, override: existing?.addressOverride ?? null, local: who.local, reported: p.address },
    ownAddresses(s.config.host),
  );
  const data = {
    address: route.address,
    observedAddress: who.observed,
    reportedAddress: p.address,
    local: who.local,
    unroutable: route.unroutable,
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
  const node = await s.db.node.upsert({
    where: { name: p.hostname },
    create: { name: p.hostname, teamId: who.teamId, ...data },
    update: data,
  });
  return { id: node.id, address: route.address, unroutable: route.unroutable };
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

/** Loads a node the actor administers: missing or another team's is a 404, a team member below admin a 403. */
async function nodeFor(s: Services, actor: Actor, id: string) {
  const node = await s.db.node.findUnique({ where: { id } });
  if (!node) throw errors.notFound(`node '${id}'`);
  await requireNodeScope(s.db, actor, node.teamId, `node '${id}'`);
  return node;
}

/**
 * Removes a node: its agent's socket is closed at once, its instance rows and the node row go, and the scheduler
 * starts replacements elsewhere (as for a lost node). The agent reconnects and registers again if its join token is
 * still valid: revoke the token too to keep the host out.
 */
export async function removeNode(s: Services, actor: Actor, id: string) {
  const node = await nodeFor(s, actor, id);
  // First the socket: nothing the agent still sends may be stored for a node that is going away.
  const disconnected = s.agentControl.dropNode(id);
  const [gone] = await s.db.$transaction([
    s.db.instance.deleteMany({ where: { nodeId: id } }),
    s.db.node.delete({ where: { id } }),
  ]);
  await recordAudit(s.db, actor, {
    teamId: node.teamId,
    action: "node.remove",
    target: node.name,
    data: { id, instances: gone.count, disconnected },
  });
  kickScheduler(s);
  return { id, name: node.name, instances: gone.count, disconnected };
}

/**
 * Sets (or with null clears) the address the router uses for a node, for nodes whose connections come from another
 * address (NAT, a proxy). Instance admin only: a tenant choosing where the router sends traffic is the problem this
 * prevents. Validated like an observed address; the local node may keep loopback.
 */
export async function setNodeAddress(s: Services, actor: Actor, id: string, address: string | null) {
  if (!actor.isAdmin) {
    await nodeFor(s, actor, id); // 404 for what the actor may not see
    throw errors.forbidden("only the instance admin sets a node's address");
  }
  const node = await nodeFor(s, actor, id);
  let override: string | null = null;
  if (address !== null) {
    override = normalizeIp(address);
    if (!override) throw errors.validation(`${JSON.stringify(address)} is not an IP address`);
    const refused = node.local ? null : unroutableReason(override, ownAddresses(s.config.host));
    if (refused) throw errors.validation(`the router may not use this address: ${refused}`);
  }
  const route = routeAddress(
    { observed: node.observedAddress, override, local: node.local, reported: node.reportedAddress },
    ownAddresses(s.config.host),
  );
  const row = await s.db.node.update({
    where: { id },
    data: { addressOverride: override, address: route.address, unroutable: route.unroutable },
  });
  await recordAudit(s.db, actor, {
    teamId: node.teamId,
    action: override ? "node.address.set" : "node.address.clear",
    target: node.name,
    data: { address: override, previous: node.addressOverride },
  });
  kickScheduler(s);
  const teams = await teamNames(s.db, [row.teamId]);
  return toNodeView(row, row.teamId ? (teams.get(row.teamId) ?? null) : null);
}
