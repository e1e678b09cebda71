// Placement: which node gets each new instance. Pure and deterministic so it can be table-tested: fit the
// instance's requests (memory and CPU, server/formation/requests.ts) into what the requests of a node's instances
// leave free of its memory and cores, spread one process type across nodes, then prefer nodes that already have the
// image (no pull), then the node with the most free memory. Limits are not counted: CPU limits may add up past the
// node's cores (a quota, not a reservation), and memory limits past its memory only as far as requests are set lower.

/** A node as placement sees it. */
export interface NodeCapacity {
  id: string;
  /** Ready, connected and not cordoned. */
  schedulable: boolean;
  /** Cores of the node (not overcommitted: requests must fit them). */
  cpus: number;
  memoryMb: number;
  /** Sum of the requests of instances already on the node. */
  allocated: { cpu: number; memoryMb: number };
  /** Instances already on the node, per `app/type` key. */
  groupCounts: Map<string, number>;
  /** Image references present on the node (from instances it runs or ran). */
  images: Set<string>;
}

/** What to place: `count` instances of one process type of one app, each with its requests. */
export interface PlacementRequest {
  group: string;
  image: string;
  count: number;
  /** Memory request of each instance (MB). */
  memoryMb: number;
  /** CPU request of each instance (cores). */
  cpu: number;
}

/** `noRoom`: there are nodes to run it on, but they are full (as opposed to no ready node at all). */
export type PlacementResult =
  { ok: true; nodes: string[] } | { ok: false; nodes: string[]; reason: string; noRoom: boolean };

// Rounding guard: CPU is given in hundredths, sums of floats must not refuse an exact fit.
const EPSILON = 1e-9;

function fits(n: NodeCapacity, r: PlacementRequest): boolean {
  return n.allocated.memoryMb + r.memoryMb <= n.memoryMb + EPSILON && n.allocated.cpu + r.cpu <= n.cpus + EPSILON;
}

/**
 * Chooses a node for each of `r.count` instances, updating the given capacities as it goes (so several requests in a
 * row see each other's choices). When not all fit, returns the ones placed plus the reason for the rest.
 */
export function place(nodes: NodeCapacity[], r: PlacementRequest): PlacementResult {
  const chosen: string[] = [];
  for (let i = 0; i < r.count; i++) {
    const candidates = nodes.filter((n) => n.schedulable && fits(n, r));
    if (candidates.length === 0) {
      const noRoom = nodes.some((n) => n.schedulable);
      const reason = noRoom
        ? `no node has ${r.memoryMb} MB memory and ${r.cpu} CPU free (requests)`
        : "no ready node to run it on";
      return { ok: false, nodes: chosen, reason, noRoom };
    }
    candidates.sort(
      (a, b) =>
        (a.groupCounts.get(r.group) ?? 0) - (b.groupCounts.get(r.group) ?? 0) ||
        Number(b.images.has(r.image)) - Number(a.images.has(r.image)) ||
        b.memoryMb - b.allocated.memoryMb - (a.memoryMb - a.allocated.memoryMb) ||
        a.id.localeCompare(b.id),
    );
    const best = candidates[0] as NodeCapacity;
    best.allocated.memoryMb += r.memoryMb;
    best.allocated.cpu += r.cpu;
    best.groupCounts.set(r.group, (best.groupCounts.get(r.group) ?? 0) + 1);
    best.images.add(r.image);
    chosen.push(best.id);
  }
  return { ok: true, nodes: chosen };
}
