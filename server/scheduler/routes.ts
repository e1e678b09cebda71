// Router routes from the scheduler's view: each app's host names and its healthy web instances. Pure.
import type { Config } from "../config.ts";

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

/**
 * Routes for every app, sorted by app. Upstreams are web instances that are healthy (`running`), still wanted
 * (a stopping instance leaves the router first, then drains: the scheduler starts its drain period only once the
 * router applied routes without it) and on a connected node. Whatever their release: during a rollout, healthy
 * instances of the old and the new release serve side by side.
 */
export function routesFor(
  config: Pick<Config, "domain">,
  apps: { id: string; name: string; maintenance: boolean; domains: { hostname: string }[] }[],
  instances: {
    appId: string;
    processType: string;
    desired: string;
    state: string;
    hostPort: number | null;
    nodeId: string | null;
  }[],
  nodes: { id: string; address: string }[],
  connected: Set<string>,
): AppRoute[] {
  const address = new Map(nodes.map((n) => [n.id, n.address]));
  // Upstreams grouped by app in one scan (filtering all instances per app was apps x instances per pass).
  const upstreams = new Map<string, string[]>();
  for (const i of instances) {
    if (i.processType !== "web" || i.desired === "stopped" || i.state !== "running" || i.hostPort === null) continue;
    if (i.nodeId === null || !connected.has(i.nodeId)) continue;
    const addr = address.get(i.nodeId);
    if (!addr) continue;
    const list = upstreams.get(i.appId);
    if (list) list.push(`${addr}:${i.hostPort}`);
    else upstreams.set(i.appId, [`${addr}:${i.hostPort}`]);
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
