// The isolated build network: build steps that need the internet (the npm download step of stack builds), and the
// host-side processes that fetch what a tenant names (`buildah bud`, skopeo for deploy --image: in a namespace of
// their own on this network, build-netns.ts), run on a CNI bridge of their own, with NAT for outbound traffic, and iptables rules that keep them away from the host
// itself (loopback services, the control plane, the registry, the router, published ports) and from private
// networks (other apps' containers, the LAN), except DNS to the resolver the build container uses.
// Names and subnet derive from the data dir (like server/nodes/local-agent.ts), so platforms with different data
// dirs never share a bridge or rules. Set up when the first build needs it, removed when the last one is done.
// Every command is an execFile argv array.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runTool } from "../process/run.ts";
import { createBuildNamespace, inNamespace, removeBuildNamespace, removeLeftoverNamespaces } from "./build-netns.ts";

export const CNI_PLUGIN_DIR = "/usr/lib/cni";

/** Destinations a build never reaches (besides the host's own addresses, refused on INPUT). */
export const BLOCKED_RANGES = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
];

export interface BuildNetwork {
  tag: string;
  /** CNI network name (buildah --network). */
  name: string;
  bridge: string;
  subnet: string;
  /** filter chain for traffic forwarded from/to the bridge. */
  forwardChain: string;
  /** filter chain for traffic from the bridge to the host itself. */
  inputChain: string;
  cniDir: string;
  ipamDir: string;
  /** containers.conf pointing buildah at the CNI config dir (CONTAINERS_CONF). */
  containersConf: string;
}

export interface Resolver {
  ip: string;
  /** One of the host's own addresses (allowed on INPUT) rather than another host (allowed on FORWARD). */
  local: boolean;
}

/** The build network of a builder dir (`<dataDir>/builder`). Pure. */
export function buildNetworkFor(builderDir: string): BuildNetwork {
  const dataDir = path.dirname(path.resolve(builderDir));
  const h = crypto.createHash("sha256").update(dataDir).digest();
  const tag = h.toString("hex").slice(0, 6);
  const cniDir = path.join(builderDir, "cni");
  return {
    tag,
    name: `berth-build-${tag}`,
    bridge: `bbuild${tag}`,
    // 10.189-10.248: apart from the local agent's app subnets (10.89-10.188), below 10.255.
    subnet: `10.${189 + (h[2]! % 60)}.${h[3]!}.0/24`,
    forwardChain: `BERTH-BUILD-${tag}`,
    inputChain: `BERTH-BUILD-IN-${tag}`,
    cniDir,
    ipamDir: path.join(builderDir, "cni-ipam"),
    containersConf: path.join(cniDir, "containers.conf"),
  };
}

/** The CNI conflist of the build network: a bridge with host-local IPAM and masquerading. Pure. */
export function cniConflist(net: BuildNetwork, mtu?: number): Record<string, unknown> {
  return {
    cniVersion: "0.4.0",
    name: net.name,
    plugins: [
      {
        type: "bridge",
        bridge: net.bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: false,
        ...(mtu ? { mtu } : {}),
        ipam: {
          type: "host-local",
          ranges: [[{ subnet: net.subnet }]],
          routes: [{ dst: "0.0.0.0/0" }],
          dataDir: net.ipamDir,
        },
      },
    ],
  };
}

/** containers.conf for buildah: the CNI backend with our config dir (buildah 1.28 `run` ignores --cni-config-dir). */
export function containersConfText(net: BuildNetwork): string {
  return [
    "[network]",
    'network_backend = "cni"',
    `cni_plugin_dirs = [${JSON.stringify(CNI_PLUGIN_DIR)}]`,
    `network_config_dir = ${JSON.stringify(net.cniDir)}`,
    "",
  ].join("\n");
}

/** The jumps into the build chains (without the -I/-D operation): `[chain, ...match and target]`. Pure. */
export function jumpRules(net: BuildNetwork): string[][] {
  return [
    ["INPUT", "-i", net.bridge, "-j", net.inputChain],
    ["FORWARD", "-i", net.bridge, "-j", net.forwardChain],
    ["FORWARD", "-o", net.bridge, "-j", net.forwardChain],
  ];
}

/**
 * iptables argv lists (after `iptables`) that create the chains and insert the jumps; the chains must not exist
 * yet (run the teardown first). Interface matches, not source addresses, so a spoofed source does not escape. Pure.
 */
export function iptablesSetupArgs(net: BuildNetwork, resolvers: Resolver[], hostNetworks: string[] = []): string[][] {
  const fwd = net.forwardChain;
  const inp = net.inputChain;
  const dns = (chain: string, ip: string) =>
    ["udp", "tcp"].map((p) => ["-w", "-A", chain, "-d", ip, "-p", p, "--dport", "53", "-j", "ACCEPT"]);
  const blocked = [...BLOCKED_RANGES, ...hostNetworks.filter((n) => n !== net.subnet)];
  return [
    ["-w", "-N", fwd],
    ["-w", "-A", fwd, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    // New connections into build containers (other apps, the LAN, other builds) are refused.
    ["-w", "-A", fwd, "-o", net.bridge, "-j", "REJECT"],
    ...resolvers.filter((r) => !r.local).flatMap((r) => dns(fwd, r.ip)),
    ...blocked.map((range) => ["-w", "-A", fwd, "-d", range, "-j", "REJECT"]),
    ["-w", "-A", fwd, "-j", "ACCEPT"],
    ["-w", "-N", inp],
    ["-w", "-A", inp, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "ACCEPT"],
    ...resolvers.filter((r) => r.local).flatMap((r) => dns(inp, r.ip)),
    ["-w", "-A", inp, "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"],
    ["-w", "-A", inp, "-j", "REJECT"],
    ...jumpRules(net).map(([chain, ...rule]) => ["-w", "-I", chain!, "1", ...rule]),
  ];
}

/** ip6tables argv lists: the bridge has no IPv6 network, so IPv6 (link-local) from builds is dropped. Pure. */
export function ip6tablesRules(net: BuildNetwork): string[][] {
  return ["INPUT", "FORWARD"].map((chain) => [chain, "-i", net.bridge, "-j", "DROP"]);
}

/** The nameservers of a resolv.conf a build container gets (buildah drops loopback ones). Pure. */
export function parseResolvers(resolvConf: string, localAddresses: string[]): Resolver[] {
  const out: Resolver[] = [];
  for (const line of resolvConf.split("\n")) {
    const m = /^\s*nameserver\s+(\d{1,3}(?:\.\d{1,3}){3})\s*$/.exec(line);
    if (!m || m[1]!.startsWith("127.")) continue;
    if (!out.some((r) => r.ip === m[1])) out.push({ ip: m[1]!, local: localAddresses.includes(m[1]!) });
  }
  return out;
}

async function run(cmd: string, args: string[]): Promise<void> {
  await runTool(cmd, args, { timeoutMs: 30_000 });
}

async function runOut(cmd: string, args: string[]): Promise<string> {
  return runTool(cmd, args, { timeoutMs: 30_000 });
}

/** Deletes a rule until it is gone (it may have been inserted more than once by a crashed run). */
async function deleteAll(cmd: string, chain: string, rule: string[]): Promise<void> {
  for (let i = 0; i < 20; i++) {
    if (
      !(await run(cmd, ["-w", "-D", chain, ...rule]).then(
        () => true,
        () => false,
      ))
    )
      return;
  }
}

/** Removes the rules, chains and bridge of a build network; idempotent, errors ignored. */
export async function tearDownBuildNetwork(net: BuildNetwork): Promise<void> {
  for (const [chain, ...rule] of jumpRules(net)) await deleteAll("iptables", chain!, rule);
  for (const chain of [net.forwardChain, net.inputChain]) {
    await run("iptables", ["-w", "-F", chain]).catch(() => undefined);
    await run("iptables", ["-w", "-X", chain]).catch(() => undefined);
  }
  for (const [chain, ...rule] of ip6tablesRules(net)) await deleteAll("ip6tables", chain!, rule);
  await run("ip", ["link", "del", "dev", net.bridge]).catch(() => undefined);
}

/** The host's directly connected IPv4 networks (the LAN), from `ip -4 route`. */
async function hostNetworks(): Promise<string[]> {
  const out = await runOut("ip", ["-j", "-4", "route", "show", "scope", "link"]).catch(() => "[]");
  const routes = JSON.parse(out || "[]") as { dst?: string }[];
  return routes.map((r) => r.dst ?? "").filter((d) => /^\d+\.\d+\.\d+\.\d+\/\d+$/.test(d));
}

/** The MTU of the interface of the default route (the bridge must not be larger). */
async function uplinkMtu(): Promise<number | undefined> {
  const out = await runOut("ip", ["-j", "-4", "route", "show", "default"]).catch(() => "[]");
  const dev = (JSON.parse(out || "[]") as { dev?: string }[])[0]?.dev;
  if (!dev || !/^[\w.-]+$/.test(dev)) return undefined;
  const mtu = Number((await fs.readFile(`/sys/class/net/${dev}/mtu`, "utf8").catch(() => "")).trim());
  return Number.isInteger(mtu) && mtu >= 576 && mtu < 1500 ? mtu : undefined;
}

/** Writes the CNI and containers.conf files and installs the rules (after removing any left from a crash). */
export async function setUpBuildNetwork(net: BuildNetwork): Promise<void> {
  await fs.mkdir(net.cniDir, { recursive: true, mode: 0o700 });
  await fs.mkdir(net.ipamDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(
    path.join(net.cniDir, `${net.name}.conflist`),
    JSON.stringify(cniConflist(net, await uplinkMtu())),
  );
  await fs.writeFile(net.containersConf, containersConfText(net));
  // Namespaces a crashed process left (build-netns.ts): their IPAM leases and NAT rules go with them.
  await removeLeftoverNamespaces(net);
  await tearDownBuildNetwork(net);
  const local = Object.values(os.networkInterfaces())
    .flat()
    .map((a) => a?.address ?? "");
  const resolvers = parseResolvers(await fs.readFile("/etc/resolv.conf", "utf8").catch(() => ""), local);
  try {
    for (const args of iptablesSetupArgs(net, resolvers, await hostNetworks())) await run("iptables", args);
    for (const [chain, ...rule] of ip6tablesRules(net)) await run("ip6tables", ["-w", "-I", chain!, "1", ...rule]);
  } catch (err) {
    await tearDownBuildNetwork(net);
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`setting up the build network failed: ${msg}`);
  }
}

/** A build's use of the network: buildah options and environment; `release` when the step is done. */
export interface BuildNetworkLease {
  args: string[];
  env: NodeJS.ProcessEnv;
  release(): Promise<void>;
}

const users = new Map<string, { count: number; queue: Promise<unknown> }>();

function serial<T>(key: string, fn: (s: { count: number }) => Promise<T>): Promise<T> {
  let s = users.get(key);
  if (!s) users.set(key, (s = { count: 0, queue: Promise.resolve() }));
  const entry = s;
  const p = entry.queue.then(() => fn(entry));
  entry.queue = p.catch(() => undefined);
  return p;
}

/**
 * Takes the build network of a builder directory (`<dataDir>/builder`, shared by every app store under it): the
 * first user sets it up, the last release removes it, so nothing stays behind when no build runs (and so after the
 * control plane stops).
 */
export async function acquireBuildNetwork(builderDir: string): Promise<BuildNetworkLease> {
  const net = buildNetworkFor(builderDir);
  await serial(net.tag, async (s) => {
    if (s.count === 0) await setUpBuildNetwork(net);
    s.count++;
  });
  let released = false;
  return {
    args: ["--network", net.name],
    env: { ...process.env, CONTAINERS_CONF: net.containersConf },
    release: async () => {
      if (released) return;
      released = true;
      await serial(net.tag, async (s) => {
        s.count--;
        if (s.count === 0) await tearDownBuildNetwork(net);
      });
    },
  };
}

/** A network namespace on the build network for a host-side process that fetches what a tenant names. */
export interface BuildNamespaceLease {
  /** The namespace file (`nsenter --net=`). */
  path: string;
  /** `[command, argv]` running `cmd args...` in the namespace. */
  wrap(cmd: string, args: string[]): [string, string[]];
  /** Set when the host has no resolver the namespace can reach (only loopback ones): names will not resolve. */
  warning?: string;
  /** Deletes the namespace and releases the build network. */
  release(): Promise<void>;
}

/**
 * Takes the build network (acquireBuildNetwork) and attaches a new network namespace to it, for `buildah bud` and
 * skopeo pulls of tenant-chosen references: inside, 127.0.0.1 is not the host's loopback, and the host's other
 * addresses, link-local and private networks are refused by the build network's rules (build-netns.ts).
 */
export async function acquireBuildNamespace(builderDir: string): Promise<BuildNamespaceLease> {
  const net = buildNetworkFor(builderDir);
  const lease = await acquireBuildNetwork(builderDir);
  let ns;
  try {
    ns = await createBuildNamespace(net);
  } catch (err) {
    await lease.release();
    throw err;
  }
  const resolvers = parseResolvers(await fs.readFile("/etc/resolv.conf", "utf8").catch(() => ""), []);
  const name = ns.name;
  let released = false;
  return {
    path: ns.path,
    wrap: (cmd, args) => inNamespace(ns.path, cmd, args),
    ...(resolvers.length === 0
      ? {
          warning:
            "the host's /etc/resolv.conf names no resolver outside loopback, which builds cannot reach: registry names will not resolve",
        }
      : {}),
    release: async () => {
      if (released) return;
      released = true;
      await removeBuildNamespace(net, name);
      await lease.release();
    },
  };
}
