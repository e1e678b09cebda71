// Where users reach an app (router) and its git repo (control plane).
import type { Config } from "../config.ts";
import { wantsTls } from "../router/routes.ts";

/** Base URL of the control plane as users see it. */
export function controlPlaneUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl.replace(/\/+$/, "");
  return `http://localhost:${config.port}`;
}

/** App URL on the router (https when the router has a certificate for it) and the git remote URL. */
export function appUrls(config: Config, appName: string) {
  const host = `${appName}.${config.domain}`;
  const tls = config.httpsPort > 0 && wantsTls(host);
  const port = tls ? config.httpsPort : config.routerPort;
  const shown = port === (tls ? 443 : 80) ? "" : `:${port}`;
  return {
    webUrl: `${tls ? "https" : "http"}://${host}${shown}/`,
    gitUrl: `${controlPlaneUrl(config)}/git/${appName}.git`,
  };
}
