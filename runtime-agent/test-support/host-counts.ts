// Counts of host resources an instance can leak (veths, ifb devices of the bandwidth limit, netns, IPAM leases, mounts,
// loop devices of writable layers, cgroups, NAT rules, conmon processes, storage containers), taken before and after a
// test to prove teardown returns them all. Every count is scoped to one backend (its bridge, name prefix, CNI network,
// subnet, state and storage), so other jobs on the host do not move them.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { cgroupMounts } from "../runtime/cgroups.ts";
import { run } from "../runtime/exec.ts";
import { networkPolicyLines } from "../runtime/network-policy-applier.ts";
import type { OciBackend } from "../runtime/oci-backend.ts";

export interface HostCounts {
  veths: number;
  ifbs: number;
  bridgePorts: number;
  netns: number;
  leases: number;
  mounts: number;
  loopDevices: number;
  cgroups: number;
  cniNatRules: number;
  /** Lines of iptables-save/ip6tables-save in the node's policy chains, plus the hooks into them. */
  networkPolicyRules: number;
  conmons: number;
  storageContainers: number;
  runcContainers: number;
}

async function lines(file: string, args: string[]): Promise<string[]> {
  const { stdout } = await run(file, args).catch(() => ({ stdout: "" }));
  return stdout.split("\n").filter(Boolean);
}

async function conmonCount(stateDir: string): Promise<number> {
  let n = 0;
  for (const pid of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "");
    if (cmd.split("\0")[0]?.endsWith("conmon") && cmd.includes(stateDir)) n++;
  }
  return n;
}

async function cgroupCount(parent: string): Promise<number> {
  let n = 0;
  for (const m of await cgroupMounts()) {
    const entries = await fs.readdir(path.join(m.mountPoint, parent), { withFileTypes: true }).catch(() => []);
    n += entries.filter((e) => e.isDirectory()).length;
  }
  return n;
}

/** The ifb device name the CNI bandwidth plugin (1.1) gives a container: "bwp" + sha512(network + id), 15 chars. */
export function bandwidthIfbName(networkName: string, containerId: string): string {
  return `bwp${crypto
    .createHash("sha512")
    .update(networkName + containerId)
    .digest("hex")}`.slice(0, 15);
}

/**
 * Takes the counts for one backend (its bridge, prefixes, state and storage roots). `ids`: containers the test made
 * (or will make), whose ifb devices are looked for besides those of the containers the backend knows.
 */
export async function hostCounts(backend: OciBackend, scratchRoot: string, ids: string[] = []): Promise<HostCounts> {
  const { config } = backend;
  const leaseDir = path.join(config.cni.dataDir, config.cni.networkName);
  const leases = (await fs.readdir(leaseDir).catch(() => [] as string[])).filter(
    (f) => f !== "lock" && !f.startsWith("last_reserved_ip"),
  );
  const mountinfo = await fs.readFile("/proc/self/mountinfo", "utf8");
  const netnsMounts = `/run/netns/${config.namePrefix}`;
  const ifbNames = new Set(
    [...ids, ...(await backend.store.ids())].map((id) => bandwidthIfbName(config.cni.networkName, id)),
  );
  // NAT rules of this network: those naming it or its subnet, and every rule of a CNI-DN/SN chain they mention.
  const subnet = config.cni.subnet.split("/")[0]!.replace(/\.0$/, ".");
  const nat = (await lines("/usr/sbin/iptables-save", ["-t", "nat"])).filter((l) => /CNI-(DN|SN)-/.test(l));
  const chains = new Set(
    nat
      .filter((l) => l.includes(`name: \\"${config.cni.networkName}\\"`) || l.includes(subnet))
      .flatMap((l) => l.match(/CNI-(?:DN|SN)-[0-9a-f]+/g) ?? []),
  );
  return {
    // Host ends of this backend's veths: ports of its bridge, or peers of its named namespaces.
    veths: (await lines(config.ipPath, ["-o", "link", "show", "type", "veth"])).filter(
      (l) => l.includes(` master ${config.cni.bridge} `) || l.includes(`link-netns ${config.namePrefix}`),
    ).length,
    ifbs: (await lines(config.ipPath, ["-o", "link", "show", "type", "ifb"])).filter((l) =>
      ifbNames.has(/^\d+: ([^:@]+)/.exec(l)?.[1] ?? ""),
    ).length,
    bridgePorts: (await lines(config.ipPath, ["-o", "link", "show", "master", config.cni.bridge])).length,
    netns: (await backend.netns.list(config.namePrefix)).length,
    leases: leases.length,
    mounts: mountinfo.split("\n").filter((l) => l.includes(scratchRoot) || l.includes(netnsMounts)).length,
    loopDevices: (await lines("/usr/sbin/losetup", ["--list", "--noheadings", "--output", "BACK-FILE"])).filter((l) =>
      l.includes(scratchRoot),
    ).length,
    cgroups: await cgroupCount(config.cgroupParent),
    cniNatRules: nat.filter((l) => [...chains].some((c) => l.includes(c))).length,
    networkPolicyRules: (await networkPolicyLines(config.cni.bridge)).length,
    conmons: await conmonCount(config.stateDir),
    storageContainers: (await backend.buildah.containers()).length,
    runcContainers: (await backend.runc.list()).length,
  };
}
