// One isolated runtime environment per root-tier test file: its own temp dir (state, runc root, storage, leases),
// a random bridge and 10.88.x.0/24 subnet, unique netns/cgroup names. destroy() removes all of it, even after
// failures, and restores the sysctls the CNI bridge plugin flips.
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { silentLogger } from "../log.ts";
import type { ContainerConfigInput } from "../runtime/backend.ts";
import { cgroupMounts } from "../runtime/cgroups.ts";
import { run } from "../runtime/exec.ts";
import { OciBackend } from "../runtime/oci-backend.ts";
import { gatewayOf } from "../runtime/network-policy.ts";
import { removeNetworkPolicy } from "../runtime/network-policy-applier.ts";
import { ensureBusyboxImage } from "./busybox-image.ts";
import { hostportChainsExist, removeHostportChains } from "./iptables-cleanup.ts";
import { unmountUnder } from "./mounts.ts";

const IP = "/usr/sbin/ip";
const IP_FORWARD = "/proc/sys/net/ipv4/ip_forward";
const MiB = 1024 * 1024;

/** The team of the env's default container config (a cuid-shaped id, as the control plane's). */
export const TEST_TEAM = "cl0team0000000000000000001";

export interface RootEnvOptions {
  /** Masquerade container traffic leaving the node (default off: tests reach only their own addresses). */
  ipMasq?: boolean;
  /** Nameservers of the containers; "gateway" = the bridge address (a test's own resolver can listen there). */
  dns?: "gateway" | string[];
}

export interface RootEnv {
  tmp: string;
  backend: OciBackend;
  image: string;
  subnetPrefix: string;
  /** The bridge's address: ports are published there (the node reaches it, nothing outside does). */
  gateway: string;
  /** A container config with test defaults. */
  container(id: string, over?: Partial<ContainerConfigInput>): ContainerConfigInput;
  destroy(): Promise<string[]>;
}

async function pickSubnet(): Promise<number> {
  const { stdout } = await run(IP, ["-o", "-4", "addr"]);
  const { stdout: routes } = await run(IP, ["-o", "-4", "route"]);
  for (let i = 0; i < 50; i++) {
    const x = 1 + crypto.randomInt(254);
    if (!stdout.includes(`10.88.${x}.`) && !routes.includes(`10.88.${x}.`)) return x;
  }
  throw new Error("no free 10.88.x.0/24 subnet");
}

/** Creates the environment and builds (or reuses) the busybox image. */
export async function createRootEnv(opts: RootEnvOptions = {}): Promise<RootEnv> {
  const tag = crypto.randomBytes(3).toString("hex");
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), "berth-rt-"));
  const x = await pickSubnet();
  const gateway = gatewayOf(`10.88.${x}.0/24`);
  const ipForward = (await fs.readFile(IP_FORWARD, "utf8")).trim();
  const chainsExisted = await hostportChainsExist();
  const netnsMounted = async () =>
    (await fs.readFile("/proc/self/mountinfo", "utf8")).includes(" /run/netns /run/netns ");
  const netnsMountedBefore = await netnsMounted();
  const netnsDirBefore = await fs.access("/run/netns").then(
    () => true,
    () => false,
  );
  const backend = await OciBackend.open(
    {
      stateDir: path.join(tmp, "state"),
      runcRoot: path.join(tmp, "runc"),
      storage: { root: path.join(tmp, "storage"), runRoot: path.join(tmp, "run") },
      cni: {
        networkName: `berth-test-${tag}`,
        bridge: `bt${tag}`,
        subnet: `10.88.${x}.0/24`,
        dataDir: path.join(tmp, "cni"),
        ipMasq: opts.ipMasq ?? false,
        // Published on the bridge gateway, as in single-machine mode (127.0.0.1 would need route_localnet).
        hostIp: gateway,
      },
      namePrefix: `bt${tag}-`,
      cgroupParent: `/berth-test-${tag}`,
      dns: opts.dns === "gateway" ? [gateway] : (opts.dns ?? ["10.88.0.53"]),
    },
    silentLogger(),
  );
  const destroy = async (): Promise<string[]> => {
    const problems: string[] = [];
    const attempt = async (what: string, fn: () => Promise<unknown>) => {
      await fn().catch((err: unknown) => problems.push(`${what}: ${err instanceof Error ? err.message : String(err)}`));
    };
    await attempt("close", () => backend.close());
    for (const id of await backend.store.ids()) await attempt(`delete ${id}`, () => backend.delete(id));
    for (const name of await backend.netns.list(backend.config.namePrefix))
      await attempt(`netns ${name}`, () => backend.netns.delete(name));
    // The node's network policy chains and hooks (kept while instances ran): nothing of it may stay.
    await attempt("network policy", () => removeNetworkPolicy(backend.config.cni.bridge));
    await attempt("bridge", async () => {
      const { stdout } = await run(IP, ["-o", "link", "show"]);
      if (stdout.includes(` ${backend.config.cni.bridge}:`))
        await run(IP, ["link", "delete", backend.config.cni.bridge]);
    });
    if (!chainsExisted) await attempt("portmap chains", removeHostportChains);
    // `ip netns add` turns /run/netns into a shared bind mount of itself; undo that if we caused it and nobody uses it.
    await attempt("netns dir mount", async () => {
      if (!netnsMountedBefore && (await netnsMounted()) && (await fs.readdir("/run/netns")).length === 0) {
        await run("/usr/bin/umount", ["/run/netns"]);
      }
      if (!netnsDirBefore) await fs.rmdir("/run/netns").catch(() => undefined); // fails (fine) when in use
    });
    await attempt("ip_forward", async () => {
      if ((await fs.readFile(IP_FORWARD, "utf8")).trim() !== ipForward) await fs.writeFile(IP_FORWARD, ipForward);
    });
    await attempt("cgroup parent", async () => {
      for (const m of await cgroupMounts()) {
        await fs.rmdir(path.join(m.mountPoint, backend.config.cgroupParent)).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== "ENOENT") throw err;
        });
      }
    });
    const buildah = [...backend.buildah.globalArgs()];
    await attempt("buildah rm", () => run("/usr/bin/buildah", [...buildah, "rm", "--all"]));
    await attempt("buildah rmi", () => run("/usr/bin/buildah", [...buildah, "rmi", "--all", "--force"]));
    await attempt("mounts", () => unmountUnder(tmp));
    await attempt("temp dir", () => fs.rm(tmp, { recursive: true, force: true }));
    return problems;
  };

  let image: string;
  try {
    image = await ensureBusyboxImage(backend.buildah);
  } catch (err) {
    await destroy();
    throw err;
  }
  return {
    tmp,
    backend,
    image,
    subnetPrefix: `10.88.${x}.`,
    gateway,
    destroy,
    container: (id, over = {}) => ({
      id,
      app: "test",
      team: TEST_TEAM,
      release: "v1",
      processType: "web",
      image,
      command: ["/bin/sh", "-c", "trap 'exit 0' TERM; while :; do sleep 0.1; done"],
      limits: { memoryBytes: 64 * MiB, cpuMillis: 500, pids: 64 },
      ...over,
    }),
  };
}
