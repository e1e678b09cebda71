// Who may reach the node's published ports from outside: the router. It runs beside the control plane, so unless
// the operator names its addresses (--router-sources), they are the addresses the control plane's host resolves to.
import dns from "node:dns/promises";
import { isIpv4 } from "../runtime/network-policy.ts";
import type { AgentConfig } from "./config.ts";

type Lookup = (host: string) => Promise<string[]>;

const lookupIpv4: Lookup = async (host) => (await dns.lookup(host, { all: true, family: 4 })).map((a) => a.address);

/** The configured sources, or the control plane's address when its URL names one literally; else undefined. Pure. */
export function literalRouterSources(config: Pick<AgentConfig, "controlPlane" | "routerSources">) {
  if (config.routerSources !== undefined) return config.routerSources;
  const host = new URL(config.controlPlane).hostname;
  return isIpv4(host) ? [host] : undefined;
}

/**
 * The router sources for the node's network policy: configured, literal, or looked up (IPv4 only). A name that does
 * not resolve gives none: published ports then answer nobody from outside until the agent restarts, which shows up
 * at once as unreachable instances rather than as ports open to every other node.
 */
export async function resolveRouterSources(
  config: Pick<AgentConfig, "controlPlane" | "routerSources">,
  lookup: Lookup = lookupIpv4,
): Promise<"any" | string[]> {
  const literal = literalRouterSources(config);
  if (literal !== undefined) return literal;
  return lookup(new URL(config.controlPlane).hostname).catch(() => []);
}
