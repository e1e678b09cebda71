// Network namespaces on the isolated build network, for host-side processes that fetch what a tenant names:
// `buildah bud` itself (a Dockerfile's `ADD <url>` and `FROM` pulls are fetched by buildah on the host, not in a
// build container) and skopeo's pull of `berth deploy --image`. Such a process runs with `nsenter --net=<netns>`:
// its loopback is the namespace's own (empty), its only interface is a veth on the build bridge, and the build
// network's iptables rules (build-network.ts) refuse the host's addresses and private networks while NAT lets it
// reach the internet. Only the network namespace changes: mounts (cgroups for the build steps' limits, the stores)
// and the filesystem, /etc/resolv.conf included, stay the host's.
// One namespace per use, removed with it; what a crash leaves is removed when the build network is set up next.
// Every command is an argv array run by server/process/run.ts.
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { runTool, ToolError } from "../process/run.ts";
import type { BuildNetwork } from "./build-network.ts";

/** Where `ip netns add` puts its namespaces. */
export const NETNS_DIR = "/var/run/netns";
const CNI_PLUGIN_DIR = "/usr/lib/cni";

/** A namespace attached to the build network. */
export interface BuildNamespace {
  name: string;
  /** The bind-mounted namespace file (`nsenter --net=<path>`). */
  path: string;
}

/** Prefix of the namespaces of one build network (their names say which data dir they belong to). Pure. */
export function namespacePrefix(net: BuildNetwork): string {
  return `bb${net.tag}-`;
}

/**
 * `[command, argv]` that runs `cmd args...` in the network namespace at `nsPath`. nsenter only calls setns(2) and
 * then execs the command (no fork without a PID namespace), so the process keeps its pid and gets our signals. Pure.
 */
export function inNamespace(nsPath: string, cmd: string, args: string[]): [string, string[]] {
  return ["nsenter", [`--net=${nsPath}`, "--", cmd, ...args]];
}

async function run(cmd: string, args: string[]): Promise<void> {
  await runTool(cmd, args, { timeoutMs: 30_000 });
}

/** Runs one CNI plugin the way the CNI spec describes (env + config on stdin); returns its stdout. */
async function cniExec(
  command: "ADD" | "DEL",
  conf: Record<string, unknown>,
  id: string,
  nsPath: string,
): Promise<string> {
  const type = String(conf.type);
  if (!/^[a-z][a-z0-9-]*$/.test(type)) throw new Error(`invalid CNI plugin type ${type}`);
  // The plugin's whole environment: CNI_* and a PATH (it runs iptables), nothing of ours.
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
    CNI_COMMAND: command,
    CNI_CONTAINERID: id,
    CNI_NETNS: nsPath,
    CNI_IFNAME: "eth0",
    CNI_PATH: CNI_PLUGIN_DIR,
  };
  try {
    return await runTool(path.join(CNI_PLUGIN_DIR, type), [], {
      env: env as NodeJS.ProcessEnv,
      input: JSON.stringify(conf),
      timeoutMs: 30_000,
      killGraceMs: 1000,
    });
  } catch (err) {
    // A CNI plugin reports its error as JSON on stdout; stderr may add to it.
    if (!(err instanceof ToolError) || err.code === null) throw err;
    const out = `${err.stdout}${err.stderr}`.trim().slice(0, 300);
    throw new Error(`CNI ${type} ${command} exited with code ${err.code}: ${out}`, { cause: err });
  }
}

/** The bridge plugin's config of the build network, from the conflist that setUpBuildNetwork wrote. */
async function bridgeConf(net: BuildNetwork): Promise<Record<string, unknown>> {
  const list = JSON.parse(await fs.readFile(path.join(net.cniDir, `${net.name}.conflist`), "utf8")) as {
    cniVersion: string;
    name: string;
    plugins: Record<string, unknown>[];
  };
  const plugin = list.plugins[0];
  if (!plugin) throw new Error(`the build network's CNI config has no plugin`);
  return { cniVersion: list.cniVersion, name: list.name, ...plugin };
}

/** Detaches a namespace from the build network (IPAM lease, NAT rules, veth) and deletes it; errors ignored. */
export async function removeBuildNamespace(net: BuildNetwork, name: string): Promise<void> {
  const nsPath = path.join(NETNS_DIR, name);
  const conf = await bridgeConf(net).catch(() => null);
  if (conf) await cniExec("DEL", conf, name, nsPath).catch(() => undefined);
  await run("ip", ["netns", "del", name]).catch(() => undefined);
}

/**
 * Creates a namespace on the build network: loopback up, IPv6 off, eth0 on the build bridge with an address from
 * its IPAM, default route via the bridge and masquerading (the bridge plugin). The network must be set up.
 */
export async function createBuildNamespace(net: BuildNetwork): Promise<BuildNamespace> {
  const name = `${namespacePrefix(net)}${randomBytes(4).toString("hex")}`;
  const nsPath = path.join(NETNS_DIR, name);
  await run("ip", ["netns", "add", name]);
  try {
    await run("ip", ["-n", name, "link", "set", "lo", "up"]);
    // The build bridge has no IPv6 network (and ip6tables drops it there); no link-local addresses either.
    await run("nsenter", [
      `--net=${nsPath}`,
      "--",
      "sysctl",
      "-q",
      "-w",
      "net.ipv6.conf.all.disable_ipv6=1",
      "net.ipv6.conf.default.disable_ipv6=1",
    ]).catch(() => undefined); // a kernel without IPv6 has nothing to turn off
    await cniExec("ADD", await bridgeConf(net), name, nsPath);
    return { name, path: nsPath };
  } catch (err) {
    await removeBuildNamespace(net, name);
    const msg = err instanceof Error ? err.message : String(err);
    throw new Error(`attaching a namespace to the build network failed: ${msg}`, { cause: err });
  }
}

/** Removes the namespaces of `net` that a crashed process left (call only while none of them is in use). */
export async function removeLeftoverNamespaces(net: BuildNetwork): Promise<void> {
  const prefix = namespacePrefix(net);
  const names = await fs.readdir(NETNS_DIR).catch(() => [] as string[]);
  for (const name of names) if (name.startsWith(prefix)) await removeBuildNamespace(net, name);
}
