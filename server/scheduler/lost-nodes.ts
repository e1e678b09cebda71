// Which nodes count as lost (pure): their instances leave the router and are started elsewhere. A node is lost when
// its agent is not connected and was last heard of more than the grace period ago, counted from the later of its last
// contact and this control plane's start: after a control-plane restart or upgrade that took longer than the grace
// period, every node's last contact is old, but its agent has had no chance to reconnect yet. Without this, the first
// pass after a long upgrade would drop every route and restart every instance elsewhere.

export interface NodeContact {
  id: string;
  lastSeenAt: Date | null;
  createdAt: Date;
}

export function lostNodeIds(
  nodes: NodeContact[],
  connected: ReadonlySet<string>,
  now: number,
  graceMs: number,
  startedAt: number,
): Set<string> {
  return new Set(
    nodes
      .filter(
        (n) => !connected.has(n.id) && now - Math.max((n.lastSeenAt ?? n.createdAt).getTime(), startedAt) > graceMs,
      )
      .map((n) => n.id),
  );
}
