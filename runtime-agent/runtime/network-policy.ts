// The node's network policy as iptables rules, built as text for `iptables-restore --noflush` (pure; applied by
// network-policy-applier.ts). Default deny between teams on the node's CNI bridge:
// - an instance may open connections to instances of its own team (so of its own app) on this node, to the
//   resolvers the platform writes into its resolv.conf, and out of the node (the internet, through NAT);
// - never to another team's instance (directly or through that instance's published port), to any address of the
//   node itself (INPUT from the bridge), or to link-local/metadata addresses (169.254.0.0/16);
// - from outside the bridge, only connections to published ports (DNAT'd by portmap) from the router's addresses
//   reach instances; the bridge gateway's published ports serve the node itself only.
// Every rule lives in chains the agent owns, named after a hash of the bridge (unique per node on a host); the
// chains only ever REJECT or RETURN, so they narrow what the host's own firewall allows and never widen it.
import crypto from "node:crypto";
import { APP_PATTERN as APP_NAME, ID_PATTERN, TEAM_ID_PATTERN } from "../protocol/names.ts";

/** What the policy needs to know about the node. */
export interface PolicyNode {
  /** The CNI bridge every instance of this node is attached to. */
  bridge: string;
  /** The bridge's own address (the instances' gateway). */
  gateway: string;
  /** Nameservers in the instances' resolv.conf (IPv4 ones get a port-53 exception). */
  resolvers: readonly string[];
  /** IPv4 addresses/CIDRs allowed to open connections to published ports from outside the node; "any" = all. */
  routerSources: "any" | readonly string[];
  /**
   * TCP ports of the node itself that instances may connect to: the platform's public entrances when they run on this
   * node (the router's ports in single-machine mode), which anyone on the internet reaches anyway. Default none.
   */
  publicPorts?: readonly number[];
}

/** One instance's part in the policy: its address on the bridge, its team and its app. */
export interface PolicyMember {
  id: string;
  ip: string;
  /** Team id; undefined for an instance recorded before teams were known (it is then a group of its own). */
  team: string | undefined;
  /** App name (for per-app ingress rules); undefined in records that do not carry it. */
  app?: string;
}

/**
 * Instances of `app` (team `team`) accept connections on the bridge only from instances of the apps in `from` and of
 * `app` itself, all of the same team (add-ons: the apps they are attached to). Other teams are refused anyway.
 */
export interface PolicyIngress {
  team: string;
  app: string;
  from: readonly string[];
}

/** Link-local addresses, where clouds serve instance metadata (credentials) at 169.254.169.254. */
export const LINK_LOCAL = "169.254.0.0/16";

const IFNAME = /^[a-z][a-z0-9-]{0,14}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True if `s` is a dotted-quad IPv4 address. Pure. */
export function isIpv4(s: string): boolean {
  return IPV4.test(s);
}

/** True if `s` is an IPv4 address or an IPv4 CIDR. Pure. */
export function isIpv4Cidr(s: string): boolean {
  const [addr, bits, extra] = s.split("/");
  if (extra !== undefined || addr === undefined || !isIpv4(addr)) return false;
  return bits === undefined || (/^\d{1,2}$/.test(bits) && Number(bits) <= 32);
}

/** The first host address of an IPv4 subnet: the gateway host-local IPAM gives the bridge. Pure. */
export function gatewayOf(subnet: string): string {
  const [addr, bits] = subnet.split("/");
  if (!addr || !isIpv4(addr) || bits === undefined) throw new Error(`invalid subnet ${JSON.stringify(subnet)}`);
  const n = addr.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const prefix = Number(bits);
  const network = prefix === 0 ? 0 : n - (n % 2 ** (32 - prefix));
  const gw = network + 1;
  return [24, 16, 8, 0].map((shift) => Math.floor(gw / 2 ** shift) % 256).join(".");
}

const hex = (s: string, n: number) => crypto.createHash("sha256").update(s).digest("hex").slice(0, n);

function checkBridge(bridge: string): string {
  if (!IFNAME.test(bridge)) throw new Error(`invalid bridge name ${JSON.stringify(bridge)}`);
  return bridge;
}

/** Names of the node's chains: `BERTH-<6 hex of the bridge name>-...`, at most 26 characters (iptables: 28). */
export function policyChains(bridge: string) {
  const prefix = `BERTH-${hex(checkBridge(bridge), 6)}`;
  return {
    prefix,
    /** FORWARD traffic from or to the bridge. */
    forward: `${prefix}-FWD`,
    /** Traffic from the bridge to the node itself. */
    input: `${prefix}-IN`,
    /** Connections between instances on the bridge: dispatched to the source's team chain. */
    eastWest: `${prefix}-EW`,
    /** Refuses: TCP reset (connection refused), ICMP port-unreachable after DNAT, else ICMP admin-prohibited. */
    reject: `${prefix}-RJ`,
  };
}

/** The chain holding the sources that may connect to a restricted app's instances (per-app ingress). Pure. */
export function ingressChain(bridge: string, team: string, app: string): string {
  return `${policyChains(bridge).prefix}-A${hex(`${team}/${app}`, 12)}`;
}

/** The group an instance belongs to: its team, or (unknown team) itself alone. Pure. */
export function groupOf(m: Pick<PolicyMember, "id" | "team">): string {
  return m.team !== undefined && TEAM_ID_PATTERN.test(m.team) ? `team ${m.team}` : `instance ${m.id}`;
}

/** The chain holding the addresses a group may connect to. Pure. */
export function groupChain(bridge: string, group: string): string {
  return `${policyChains(bridge).prefix}-T${hex(group, 12)}`;
}

/** Comment on the jumps into the node's chains (and on the IPv6 drops), naming the bridge. Pure. */
export function hookComment(bridge: string): string {
  return `berth node policy ${checkBridge(bridge)}`;
}

/** One rule in a built-in chain that sends bridge traffic into the policy. */
export interface HookRule {
  family: 4 | 6;
  chain: "INPUT" | "FORWARD";
  /** Match and target, without the -A/-I/-C/-D operation. */
  rule: string[];
}

/**
 * The jumps from INPUT and FORWARD into the node's chains, and IPv6 drops: the bridge has no IPv6 network, but every
 * veth gets a link-local address, over which instances could reach each other and the node's services on `::`.
 * Bridged (instance to instance) packets pass FORWARD with `-i` and `-o` both the bridge (br_netfilter), so the second
 * FORWARD jump excludes them to avoid a second pass. Pure.
 */
export function hookRules(bridge: string): HookRule[] {
  const c = policyChains(bridge);
  const tag = ["-m", "comment", "--comment", hookComment(bridge)];
  return [
    { family: 4, chain: "INPUT", rule: ["-i", bridge, ...tag, "-j", c.input] },
    { family: 4, chain: "FORWARD", rule: ["-i", bridge, ...tag, "-j", c.forward] },
    { family: 4, chain: "FORWARD", rule: ["!", "-i", bridge, "-o", bridge, ...tag, "-j", c.forward] },
    { family: 6, chain: "INPUT", rule: ["-i", bridge, ...tag, "-j", "DROP"] },
    { family: 6, chain: "FORWARD", rule: ["-i", bridge, ...tag, "-j", "DROP"] },
    { family: 6, chain: "FORWARD", rule: ["-o", bridge, ...tag, "-j", "DROP"] },
  ];
}

/** The hook as `iptables-save` prints it (`-A CHAIN ...`, the comment in double quotes). Pure. */
export function hookLine(h: HookRule): string {
  return `-A ${h.chain} ${h.rule.map((a) => (/\s/.test(a) ? `"${a}"` : a)).join(" ")}`;
}

/** How often `save` (an `iptables-save` output) holds the hook. Pure. */
export function hookCount(save: string, h: HookRule): number {
  const line = hookLine(h);
  return save.split("\n").filter((l) => l === line).length;
}

/**
 * Members whose id and address are safe to write into rules, sorted by id. An address claimed by two records (a
 * stale one and the instance that got the address next) is left out for both: which team it belongs to is not known,
 * so it gets no allowance. Pure.
 */
export function validMembers(members: readonly PolicyMember[]): PolicyMember[] {
  const ok = members.filter((m) => ID_PATTERN.test(m.id) && isIpv4(m.ip));
  const count = new Map<string, number>();
  for (const m of ok) count.set(m.ip, (count.get(m.ip) ?? 0) + 1);
  return ok.filter((m) => count.get(m.ip) === 1).sort((a, b) => a.id.localeCompare(b.id));
}

/**
 * The node's whole policy as an `iptables-restore --noflush` script: declaring a chain flushes it, so applying the
 * script replaces the node's chains atomically whatever they held (no duplicates after an agent restart), and
 * leaves every other chain alone. Chains in `existing` that the policy no longer needs (groups without instances
 * left) are emptied and deleted in the same transaction. Returns the script and the chains that exist after it. Pure.
 */
export function policyRestoreScript(
  node: PolicyNode,
  members: readonly PolicyMember[],
  existing: readonly string[] = [],
  ingress: readonly PolicyIngress[] = [],
): { script: string; chains: string[] } {
  const br = checkBridge(node.bridge);
  if (!isIpv4(node.gateway)) throw new Error(`invalid gateway ${JSON.stringify(node.gateway)}`);
  const c = policyChains(br);
  const valid = validMembers(members);
  const groups = new Map<string, PolicyMember[]>();
  for (const m of valid) {
    const g = groupOf(m);
    groups.set(g, [...(groups.get(g) ?? []), m]);
  }
  const groupChains = [...groups.keys()].map((g) => groupChain(br, g));
  // Per-app ingress: only for restricted apps with an instance here whose team is known (an instance without a team
  // is a group of its own and reachable by nobody else anyway).
  const restricted = new Map<string, Set<string>>();
  for (const r of ingress) {
    if (!TEAM_ID_PATTERN.test(r.team) || !APP_NAME.test(r.app)) continue;
    const key = `${r.team}/${r.app}`;
    const allowed = restricted.get(key) ?? new Set([r.app]);
    for (const a of r.from) if (APP_NAME.test(a)) allowed.add(a);
    restricted.set(key, allowed);
  }
  const restrictedKey = (m: PolicyMember) =>
    m.team !== undefined && m.app !== undefined && TEAM_ID_PATTERN.test(m.team) && restricted.has(`${m.team}/${m.app}`)
      ? `${m.team}/${m.app}`
      : undefined;
  const ingressTargets = new Map<string, { team: string; app: string }>();
  for (const m of valid) {
    const key = restrictedKey(m);
    if (key) ingressTargets.set(key, { team: m.team as string, app: m.app as string });
  }
  const ingressChains = [...ingressTargets.values()].map((t) => ingressChain(br, t.team, t.app));
  const fixed = [c.forward, c.input, c.eastWest, c.reject];
  const dropped = [...new Set(existing)].filter(
    (s) => s.startsWith(`${c.prefix}-`) && ![...fixed, ...groupChains, ...ingressChains].includes(s),
  );
  const resolvers = [...new Set(node.resolvers.filter(isIpv4))];
  const sources = node.routerSources === "any" ? "any" : node.routerSources.filter(isIpv4Cidr);
  const publicPorts = [...new Set(node.publicPorts ?? [])].filter((p) => Number.isInteger(p) && p > 0 && p < 65_536);
  const note = (text: string) => ["-m", "comment", "--comment", `"${text}"`];
  const dns = (chain: string) =>
    resolvers.flatMap((r) =>
      ["udp", "tcp"].map((p) => ["-A", chain, "-d", r, "-p", p, "--dport", "53", ...note("resolver"), "-j", "RETURN"]),
    );
  const established = (chain: string) => [
    "-A",
    chain,
    "-m",
    "conntrack",
    "--ctstate",
    "RELATED,ESTABLISHED",
    "-j",
    "RETURN",
  ];
  const fromOutside = ["!", "-i", br];
  const rules: string[][] = [
    // A connection made through a published port was DNAT'd before the filter. A TCP reset for it would carry the
    // instance's own address (with br_netfilter the kernel sends it straight out of the bridge port, without undoing
    // the NAT), so the client would ignore it and wait for its timeout. The ICMP error is translated back: the
    // client sees "connection refused" at once or at a SYN retransmit (about 1 s in the add-on root test; the kernel
    // rate-limits ICMP errors per peer, net.ipv4.icmp_ratelimit: a burst of 6, then one a second).
    [
      "-A",
      c.reject,
      "-m",
      "conntrack",
      "--ctstate",
      "DNAT",
      ...note("through a published port"),
      "-j",
      "REJECT",
      "--reject-with",
      "icmp-port-unreachable",
    ],
    ["-A", c.reject, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
    ["-A", c.reject, "-j", "REJECT", "--reject-with", "icmp-admin-prohibited"],
    established(c.forward),
    // From outside the bridge: only published ports (portmap's DNAT), only from the router, never on the gateway.
    [
      "-A",
      c.forward,
      ...fromOutside,
      "-m",
      "conntrack",
      "--ctstate",
      "DNAT",
      "--ctorigdst",
      node.gateway,
      ...note("published on the gateway: for this node only"),
      "-j",
      c.reject,
    ],
    ...(sources === "any"
      ? [
          [
            "-A",
            c.forward,
            ...fromOutside,
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            ...note("published port"),
            "-j",
            "RETURN",
          ],
        ]
      : sources.map((s) => [
          "-A",
          c.forward,
          ...fromOutside,
          "-s",
          s,
          "-m",
          "conntrack",
          "--ctstate",
          "DNAT",
          ...note("published port, router"),
          "-j",
          "RETURN",
        ])),
    ["-A", c.forward, ...fromOutside, ...note("not a published port, or not from the router"), "-j", c.reject],
    // From instances: resolvers, never link-local (metadata), the world through NAT, instances by team.
    ...dns(c.forward),
    ["-A", c.forward, "-d", LINK_LOCAL, ...note("link-local and metadata"), "-j", c.reject],
    ["-A", c.forward, "!", "-o", br, ...note("out of the node"), "-j", "RETURN"],
    // -g (goto), not -j: a RETURN in the team chain then leaves the policy (back to FORWARD) instead of falling
    // through to the rest of the east-west chain.
    ["-A", c.forward, "-g", c.eastWest],
    ...valid.map((m) => ["-A", c.eastWest, "-s", m.ip, ...note(m.id), "-g", groupChain(br, groupOf(m))]),
    ["-A", c.eastWest, ...note("unknown source"), "-j", c.reject],
    ...[...groups].flatMap(([g, list]) => [
      ...list.map((m) => {
        const key = restrictedKey(m);
        // A restricted instance: the source is checked again against the apps allowed to reach it (goto, so the
        // ingress chain's RETURN leaves the policy too).
        if (key) {
          const t = ingressTargets.get(key) as { team: string; app: string };
          return ["-A", groupChain(br, g), "-d", m.ip, ...note(m.id), "-g", ingressChain(br, t.team, t.app)];
        }
        return ["-A", groupChain(br, g), "-d", m.ip, ...note(m.id), "-j", "RETURN"];
      }),
      ["-A", groupChain(br, g), ...note(g), "-j", c.reject],
    ]),
    ...[...ingressTargets].flatMap(([key, t]) => {
      const allowed = restricted.get(key) as Set<string>;
      const chain = ingressChain(br, t.team, t.app);
      const sources = valid.filter((m) => m.team === t.team && m.app !== undefined && allowed.has(m.app));
      return [
        ...sources.map((m) => ["-A", chain, "-s", m.ip, ...note(`${m.app} ${m.id}`), "-j", "RETURN"]),
        ["-A", chain, ...note(`only attached apps reach ${t.app}`), "-j", c.reject],
      ];
    }),
    // To the node itself: replies, the resolvers and the public ports only (the control plane, registry, sshd... and
    // everything else listening on the node are refused).
    established(c.input),
    ...dns(c.input),
    ...publicPorts.map((p) => [
      "-A",
      c.input,
      "-p",
      "tcp",
      "--dport",
      String(p),
      ...note("public port"),
      "-j",
      "RETURN",
    ]),
    ["-A", c.input, ...note("the node itself"), "-j", c.reject],
  ];
  const chains = [...fixed, ...groupChains, ...ingressChains];
  const script = [
    "*filter",
    ...[...chains, ...dropped].map((ch) => `:${ch} - [0:0]`),
    ...rules.map((r) => r.join(" ")),
    ...dropped.map((ch) => `-X ${ch}`),
    "COMMIT",
    "",
  ].join("\n");
  return { script, chains: chains.sort() };
}

/** A script that empties and deletes `chains` (after the hooks into them are gone). Pure. */
export function removalRestoreScript(chains: readonly string[]): string {
  if (chains.length === 0) return "";
  return ["*filter", ...chains.map((ch) => `:${ch} - [0:0]`), ...chains.map((ch) => `-X ${ch}`), "COMMIT", ""].join(
    "\n",
  );
}

/** The node's chains that exist, from `iptables-save -t filter` output. Pure. */
export function ownedChains(save: string, bridge: string): string[] {
  const { prefix } = policyChains(bridge);
  return save
    .split("\n")
    .filter((l) => l.startsWith(`:${prefix}-`))
    .map((l) => l.slice(1).split(" ")[0] as string)
    .sort();
}

/** Lines of `iptables-save`/`ip6tables-save` output that belong to the node's policy (chains, rules, hooks). Pure. */
export function policyLines(save: string, bridge: string): string[] {
  const { prefix } = policyChains(bridge);
  const comment = hookComment(bridge);
  return save.split("\n").filter((l) => l.includes(`${prefix}-`) || l.includes(`"${comment}"`));
}
