// The picture one pass works from: nodes, apps with their live releases and formation, instances and volumes, read in
// one go, plus what follows from them (which nodes are connected, lost or still serving, each node's free room, and
// the limits and requests of every instance). Read fresh at every pass so the database stays the only truth.
import { effectiveRequests, type Requests } from "../formation/requests.ts";
import type { AgentHub } from "../nodes/agent-hub.ts";
import { DEFAULT_BANDWIDTH_MBIT, DEFAULT_DISK_MB, type SpecLimits } from "./instance-spec.ts";
import { lostNodeIds } from "./lost-nodes.ts";
import type { NodeCapacity } from "./placement.ts";
import type { InstanceLimits, InstanceRow, SchedulerServices } from "./scheduler-core.ts";
import { volumesByGroup } from "./volume-placement.ts";

const LIVE_RELEASE_STATUSES = ["pending", "deploying", "deployed"];

/** A node's room as placement sees it, with the team it is reserved for (null = shared). */
export type NodeRoom = NodeCapacity & { teamId: string | null };

export type Snapshot = Awaited<ReturnType<typeof readSnapshot>>;
export type SnapshotApp = Snapshot["apps"][number];

/** Reads the picture for a pass at `now`; `startedAt` is when the scheduler started (lost-node grace, lost-nodes.ts). */
export async function readSnapshot(
  s: SchedulerServices,
  agents: AgentHub,
  nodeLostGraceMs: number,
  startedAt: number,
  now: number,
) {
  const db = s.db;
  const [nodes, apps] = await Promise.all([
    db.node.findMany(),
    db.app.findMany({
      select: {
        id: true,
        name: true,
        teamId: true,
        maintenance: true,
        rolloutBatch: true,
        healthCheckPath: true,
        // Only names whose owner proved control (server/domains): a pending claim is neither routed nor gets a
        // certificate (the router's ask endpoint answers for routed hosts only).
        domains: { where: { verifiedAt: { not: null } }, select: { hostname: true } },
        formation: true,
        releases: { where: { status: { in: LIVE_RELEASE_STATUSES } } },
        // Who may connect to an add-on's instances (the node policy's per-app ingress, desired-state.ts).
        addonService: {
          select: {
            id: true,
            app: { select: { name: true } },
            attachments: { select: { app: { select: { name: true } } } },
          },
        },
      },
    }),
  ]);
  const instances: InstanceRow[] = await db.instance.findMany();
  const volumes = volumesByGroup(await db.volume.findMany());
  const connected = new Set(nodes.filter((n) => agents.isConnected(n.id)).map((n) => n.id));
  const lostNodes = lostNodeIds(nodes, connected, now, nodeLostGraceMs, startedAt);
  // Nodes whose instances stay routed: an agent that restarts (or a short blip between it and the control plane)
  // leaves its containers running, so routing follows the instances' last known state until the node is lost.
  const serving = new Set(nodes.filter((n) => !lostNodes.has(n.id)).map((n) => n.id));
  const appById = new Map(apps.map((a) => [a.id, a]));
  const limitsOf = (appId: string, type: string): SpecLimits => {
    const f = appById.get(appId)?.formation.find((x) => x.type === type);
    return {
      memoryMb: f?.memoryMb ?? 512,
      cpu: f?.cpu ?? 1,
      diskMb: f?.diskMb ?? DEFAULT_DISK_MB,
      bandwidthMbit: f?.bandwidthMbit ?? DEFAULT_BANDWIDTH_MBIT,
    };
  };
  // What placement counts for a new instance of a type: the formation's requests (defaults for its limits).
  const requestsOf = (appId: string, type: string): Requests => {
    const f = appById.get(appId)?.formation.find((x) => x.type === type);
    const l = limitsOf(appId, type);
    return effectiveRequests({ ...l, memoryRequestMb: f?.memoryRequestMb, cpuRequest: f?.cpuRequest });
  };
  // What an instance was created with; older rows without stored limits follow the formation.
  const limitsOfInstance = (i: InstanceLimits): SpecLimits => {
    const f = limitsOf(i.appId, i.processType);
    const mine = i.memoryMb !== null && i.cpu !== null ? { memoryMb: i.memoryMb, cpu: i.cpu } : f;
    return {
      memoryMb: mine.memoryMb,
      cpu: mine.cpu,
      diskMb: i.diskMb ?? f.diskMb,
      bandwidthMbit: i.bandwidthMbit ?? f.bandwidthMbit,
      // The cgroup's CPU share follows what placement counted for the instance (agent: oci/spec.ts cpuResources).
      cpuRequest: effectiveRequests({ ...mine, cpuRequest: i.cpuRequest }).cpu,
    };
  };

  const requestsOfInstance = (i: InstanceRow): Requests =>
    effectiveRequests({ ...limitsOfInstance(i), memoryRequestMb: i.memoryRequestMb, cpuRequest: i.cpuRequest });
  // Capacity of every node, from the requests of what it already runs (rows from before requests existed count
  // the defaults for their own limits).
  const capacity = new Map<string, NodeRoom>();
  for (const n of nodes) {
    capacity.set(n.id, {
      id: n.id,
      teamId: n.teamId,
      // An unroutable node (its address is loopback, the control plane's own, ...) gets nothing: its web instances
      // could never be reached, and it shows in `berth nodes` why.
      schedulable: n.state === "ready" && connected.has(n.id) && !n.cordoned && n.unroutable === null,
      cpus: n.cpus,
      memoryMb: n.memoryMb,
      allocated: { cpu: 0, memoryMb: 0 },
      groupCounts: new Map(),
      images: new Set(),
    });
  }
  const releaseImage = new Map<string, string>();
  for (const a of apps) for (const r of a.releases) releaseImage.set(r.id, `${r.imageRef}@${r.imageDigest}`);
  for (const i of instances) {
    const c = i.nodeId ? capacity.get(i.nodeId) : undefined;
    if (!c || i.desired === "stopped") continue;
    const r = requestsOfInstance(i);
    c.allocated.memoryMb += r.memoryMb;
    c.allocated.cpu += r.cpu;
    const group = `${i.appId}/${i.processType}`;
    c.groupCounts.set(group, (c.groupCounts.get(group) ?? 0) + 1);
    const image = releaseImage.get(i.releaseId);
    if (image) c.images.add(image);
  }
  return {
    nodes,
    apps,
    instances,
    volumes,
    connected,
    lostNodes,
    serving,
    appById,
    limitsOf,
    requestsOf,
    limitsOfInstance,
    requestsOfInstance,
    capacity,
  };
}
