// Which address the router may send a node's traffic to. A node's address is never what its agent claims: it is the
// remote address of the agent's connection as this control plane sees it (or one the instance admin set), and even
// that is refused when it would make the router talk to the router host itself (loopback, link-local, unspecified,
// multicast, any of this host's own interface addresses): a tenant's node must not turn the router into a way into
// services on the control plane's machine. Only the local agent (`npm start`) publishes on loopback.
import net from "node:net";
import os from "node:os";

/** Where a local-kind node is routed when it reports no usable IPv4 address of its own (fake nodes in tests). */
export const LOCAL_NODE_ADDRESS = "127.0.0.1";

/** Host ports the router accepts from an agent: never a privileged port of the node. */
export const HOST_PORT_MIN = 1024;
export const HOST_PORT_MAX = 65_535;

/** True when `port` is a host port the router may use. */
export function routableHostPort(port: number | null): port is number {
  return port !== null && Number.isInteger(port) && port >= HOST_PORT_MIN && port <= HOST_PORT_MAX;
}

/** The eight 16-bit groups of a valid IPv6 address (an embedded dotted IPv4 tail included). */
function ipv6Groups(a: string): number[] {
  let text = a;
  const v4 = /(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text)?.[1];
  if (v4) {
    const [b0 = 0, b1 = 0, b2 = 0, b3 = 0] = v4.split(".").map(Number);
    text = `${text.slice(0, -v4.length)}${((b0 << 8) | b1).toString(16)}:${((b2 << 8) | b3).toString(16)}`;
  }
  const [head = "", tail] = text.split("::");
  const parse = (part: string) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
}

/**
 * The canonical form of an IP address, or null when `raw` is not one: IPv4-mapped IPv6 (`::ffff:10.0.0.5`, what a
 * dual-stack listener reports for IPv4 peers) becomes the IPv4 address, IPv6 is lowercased without a zone or brackets.
 */
export function normalizeIp(raw: string | undefined | null): string | null {
  if (!raw) return null;
  let a = raw.trim().toLowerCase();
  if (a.startsWith("[") && a.endsWith("]")) a = a.slice(1, -1);
  const zone = a.indexOf("%");
  if (zone >= 0) a = a.slice(0, zone);
  if (net.isIPv4(a)) return a;
  if (!net.isIPv6(a)) return null;
  const g = ipv6Groups(a);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    const hi = g[6] ?? 0;
    const lo = g[7] ?? 0;
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return a;
}

const refused = new net.BlockList();
refused.addSubnet("0.0.0.0", 8, "ipv4"); // "this network", unspecified
refused.addSubnet("127.0.0.0", 8, "ipv4"); // loopback
refused.addSubnet("169.254.0.0", 16, "ipv4"); // link-local (cloud metadata services live here)
refused.addSubnet("224.0.0.0", 4, "ipv4"); // multicast
refused.addSubnet("240.0.0.0", 4, "ipv4"); // reserved, broadcast
// (IPv4-mapped ::ffff:0:0/96 is not listed: BlockList matches every IPv4 address against it; normalizeIp maps it.)
refused.addSubnet("::", 96, "ipv6"); // unspecified, loopback, deprecated IPv4-compatible
refused.addSubnet("fe80::", 10, "ipv6"); // link-local
refused.addSubnet("ff00::", 8, "ipv6"); // multicast

/**
 * This control plane's own addresses: every address of this host's interfaces (so also the local agent's bridge and
 * any address the router listens on) plus the configured listen host when it is an IP.
 */
export function ownAddresses(listenHost: string): Set<string> {
  const own = new Set<string>();
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = normalizeIp(a.address);
      if (ip) own.add(ip);
    }
  }
  const host = normalizeIp(listenHost);
  if (host) own.add(host);
  return own;
}

/** Why the router must not send traffic to `ip` (already normalised), or null when it may. */
export function refusedReason(ip: string, own: ReadonlySet<string>): string | null {
  const family = net.isIPv4(ip) ? "ipv4" : net.isIPv6(ip) ? "ipv6" : null;
  if (!family) return `${ip || "(none)"} is not an IP address`;
  if (refused.check(ip, family)) {
    if (ip.startsWith("127.") || ip === "::1") return `${ip} is a loopback address`;
    if (ip.startsWith("169.254.") || /^fe[89ab]/.test(ip)) return `${ip} is a link-local address`;
    if (/^(22[4-9]|23\d)\./.test(ip) || ip.startsWith("ff")) return `${ip} is a multicast address`;
    return `${ip} is not a unicast address the router may use`;
  }
  if (own.has(ip)) return `${ip} is an address of the control plane's own host`;
  return null;
}

/** What the control plane knows about where a node is. */
export interface NodeAddressInput {
  /** The agent connection's remote address (normalised), "" when unknown. */
  observed: string;
  /** The instance admin's address for the node, if set. */
  override: string | null;
  /** Registered with the local agent's token. */
  local: boolean;
  /** The address the agent reports for itself: trusted only for the local agent, which `npm start` configures. */
  reported?: string;
}

/**
 * The address the router uses for a node and, when it may not use it, why. The admin's address wins; else the local
 * agent is reached where it says it publishes (its bridge gateway, set by server/nodes/local-agent.ts; loopback when
 * it reports nothing usable), any other node where its connection came from.
 */
export function routeAddress(
  n: NodeAddressInput,
  own: ReadonlySet<string>,
): { address: string; unroutable: string | null } {
  if (n.override) return { address: n.override, unroutable: n.local ? null : unroutableReason(n.override, own) };
  if (n.local)
    return { address: n.reported && net.isIPv4(n.reported) ? n.reported : LOCAL_NODE_ADDRESS, unroutable: null };
  if (!n.observed) return { address: "", unroutable: "no address observed for the agent's connection" };
  return { address: n.observed, unroutable: unroutableReason(n.observed, own) };
}

/** refusedReason, plus: the router dials IPv4 upstreams only (routes.ts assertUpstream), so an IPv6 address is not routed. */
export function unroutableReason(ip: string, own: ReadonlySet<string>): string | null {
  const refused = refusedReason(ip, own);
  if (refused) return refused;
  if (!net.isIPv4(ip)) return `${ip} is IPv6; the router reaches nodes over IPv4 (set the node's IPv4 address)`;
  return null;
}
