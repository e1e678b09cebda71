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
  return [...apps]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((app) => ({
      app: app.name,
      hosts: [appHost(config, app.name), ...app.domains.map((d) => d.hostname.toLowerCase()).sort()],
      maintenance: app.maintenance,
      upstreams: instances
        .filter(
          (i) =>
            i.appId === app.id &&
            i.processType === "web" &&
            i.desired !== "stopped" &&
            i.state === "running" &&
            i.hostPort !== null &&
            i.nodeId !== null &&
            connected.has(i.nodeId) &&
            Boolean(address.get(i.nodeId)),
        )
        .map((i) => `${address.get(i.nodeId as string)}:${i.hostPort}`)
        .sort(),
    }));
}
