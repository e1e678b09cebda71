// Where users reach an app (router) and its git repo (control plane).
import type { Config } from "../config.ts";

/** Base URL of the control plane as users see it. */
export function controlPlaneUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, "");
  return `http://localhost:${config.port}`;
}

/** App URL on the router and the git remote URL. */
export function appUrls(config: Config, appName: string) {
  const routerPort = config.routerPort === 80 ? "" : `:${config.routerPort}`;
  return {
    webUrl: `http://${appName}.${config.domain}${routerPort}/`,
    gitUrl: `${controlPlaneUrl(config)}/git/${appName}.git`,
  };
}
