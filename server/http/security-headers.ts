// Browser-hardening headers on every control-plane response. The dashboard's pages get their Content-Security-Policy
// from proxy.ts (a per-request script nonce, which only Next.js can apply); everything else served here (API, git,
// registry pulls, health) is data that no browser should run, render in a frame or sniff as HTML.
import type http from "node:http";
import type { Config } from "../config.ts";

/** CSP for responses that are not dashboard pages: nothing may load, nothing may frame them. */
export const DATA_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/** One year: the usual HSTS lifetime once HTTPS is known to work. */
const HSTS = "max-age=31536000";

/**
 * The headers every response carries. HSTS only when users reach the control plane at an https:// public URL (then
 * plain HTTP must never be used again for this host); subdomains are left out because apps under BERTH_DOMAIN may be
 * served over plain HTTP. `same-origin` keeps invitation links (/invite/TOKEN) out of Referer headers to other sites.
 */
export function securityHeaders(config: Pick<Config, "publicUrl">): Record<string, string> {
  return {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    ...(config.publicUrl?.startsWith("https:") ? { "strict-transport-security": HSTS } : {}),
  };
}

/** Sets the common headers (and the data CSP unless the response is a dashboard page) before a handler writes. */
export function applySecurityHeaders(
  res: http.ServerResponse,
  headers: Readonly<Record<string, string>>,
  dashboardPage: boolean,
): void {
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  if (!dashboardPage) res.setHeader("content-security-policy", DATA_CSP);
}
