// Router routes from the scheduler's view: each app's host names and its healthy web instances. Pure.
import type { Config } from "../config.ts";
import net from "node:net";
import { routableHostPort } from "../nodes/address-policy.ts";

/** One app's route, in the shape the router takes. */
export interface AppRoute {
  app: string;
  hosts: string[];
  maintenance: boolean;
  upstreams: string[];
}

/** The default host of an app: `APP.BERTH_DOMAIN`. */
export function appHost(config: Pick<Config, "domain">, app: string): string {
  return `${app}.${config.domain}`.toLowerCase();
}

/** A node as routing sees it. */
export interface RouteNode {
  id: string;
  address: string;
  /** The node's team (null: shared, runs any team's apps). */
  teamId: string | null;
  /** Why the router must not use this node (server/nodes/address-policy.ts), null when it may. */
  unroutable: string | null;
}

/**
 * Routes for every app, sorted by app. Upstreams are web instances that are healthy (`running`), still wanted
 * (a stopping instance leaves the router first, then drains: the scheduler starts its drain period only once the
 * router applied routes without it) and on a node in `serving`: connected, or disconnected for less than the lost-node
 * grace period. An instance's route follows its last known state, not its agent's connection: an agent restarting
 * (or a short network blip to the control plane) leaves its containers running, so they keep serving; an instance
 * leaves the router when it is known to be gone (its agent reported it exited, or its node was declared lost).
 * Whatever their release: during a rollout, healthy instances of the old and the new release serve side by side.
 * Never an instance on a node that may not run the app (another team's node) or that is unroutable (its address is
 * loopback, the control plane's own, ...), nor a host port outside 1024-65535: where the router connects is not the
 * agent's to choose.
 */
export function routesFor(
  config: Pick<Config, "domain">,
  apps: { id: string; name: string; teamId: string; maintenance: boolean; domains: { hostname: string }[] }[],
  instances: {
    appId: string;
    processType: string;
    desired: string;
    state: string;
    hostPort: number | null;
    nodeId: string | null;
  }[],
  nodes: RouteNode[],
  serving: ReadonlySet<string>,
): AppRoute[] {
  const nodeById = new Map(nodes.map((n) => [n.id, n]));
  const teamOf = new Map(apps.map((a) => [a.id, a.teamId]));
  // Upstreams grouped by app in one scan (filtering all instances per app was apps x instances per pass).
  const upstreams = new Map<string, string[]>();
  for (const i of instances) {
    if (i.processType !== "web" || i.desired === "stopped" || i.state !== "running") continue;
    if (!routableHostPort(i.hostPort)) continue;
    if (i.nodeId === null || !serving.has(i.nodeId)) continue;
    const node = nodeById.get(i.nodeId);
    // IPv4 only, as the router's config takes it: one odd address must not make the whole config invalid.
    if (!node || !net.isIPv4(node.address) || node.unroutable !== null) continue;
    if (node.teamId !== null && node.teamId !== teamOf.get(i.appId)) continue;
    const upstream = `${node.address}:${i.hostPort}`;
    const list = upstreams.get(i.appId);
    if (list) list.push(upstream);
    else upstreams.set(i.appId, [upstream]);
  }
  return [...apps]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((app) => ({
      app: app.name,
      hosts: [appHost(config, app.name), ...app.domains.map((d) => d.hostname.toLowerCase()).sort()],
      maintenance: app.maintenance,
      upstreams: (upstreams.get(app.id) ?? []).sort(),
    }));
}
