// buildSpec: the OCI runtime spec (config.json) of one instance, as a pure function of its inputs.
// Every security-relevant choice is made here, in one place, and asserted by spec.test.ts.
import { ID_PATTERN, isValidMountPath } from "../protocol/names.ts";
import { assertSafeSpec } from "./assert-safe.ts";
import { DEFAULT_CAPABILITIES } from "./capabilities.ts";
import { kernelMounts, MASKED_PATHS, READONLY_PATHS } from "./defaults.ts";
import { defaultSeccompProfile } from "./seccomp.ts";
import type { OciIdMapping, OciMount, OciNamespace, OciSpec } from "./types.ts";

/** CFS period used for CPU quotas (100 ms, the kernel default). */
export const CPU_PERIOD_US = 100_000;

/** Everything that varies between instances; validated again here because this is the sink. */
export interface SpecInput {
  id: string;
  /** Absolute path of the prepared rootfs (the overlay mount point). */
  rootfs: string;
  args: string[];
  /** Final environment as `KEY=value` entries (see mergeEnv). */
  env: string[];
  cwd: string;
  user: { uid: number; gid: number; additionalGids?: number[] };
  /** Path of the instance's named network namespace (e.g. /var/run/netns/berth-ID). */
  netnsPath: string;
  /** cgroup parent such as `/berth`; the instance's cgroup is `<parent>/<id>`. */
  cgroupParent: string;
  /** cpuRequestMillis: the CPU request, what the instance's share of contended CPU follows (default: cpuMillis). */
  limits: { memoryBytes: number; cpuMillis: number; cpuRequestMillis?: number | undefined; pids: number };
  /** The host's cgroup version (default 1: v1 or hybrid): where the CPU request's weight goes. */
  cgroupVersion?: 1 | 2;
  /** Files the platform writes per instance and bind-mounts read-only: the only host paths in the spec. */
  platformFiles: { hosts: string; resolvConf: string };
  /**
   * Persistent volumes: `source` is the volume's mount point on the node (in the agent's volume store, never a path
   * from the control plane), `destination` the validated path inside the container. Bind-mounted read-write.
   */
  volumes?: { source: string; destination: string }[];
  /**
   * Present when the node runs containers in user namespaces: `path` is the instance's persisted user namespace (it
   * owns the network namespace at netnsPath, so sysfs and the per-netns sysctls work), the mappings are the ones
   * written into it (runc 1.1 needs them in the spec too, to know the host ids of container root).
   */
  userNamespace?: { path: string; uidMappings: OciIdMapping[]; gidMappings: OciIdMapping[] };
  /** Node `process.arch` value selecting the seccomp architectures. */
  arch: string;
  /** RLIMIT_NOFILE (soft = hard; default 1024 as runc's). Must not exceed the agent's own hard limit. */
  nofile?: number;
}

const ABSOLUTE_PATH = /^\/(?:[^/\0]+\/?)*$/;

function assertPath(what: string, p: string): void {
  if (!ABSOLUTE_PATH.test(p) || p.split("/").some((c) => c === ".." || c === ".")) {
    throw new Error(`${what} must be a normalised absolute path: ${JSON.stringify(p)}`);
  }
}

function assertCount(what: string, n: number, min: number): void {
  if (!Number.isSafeInteger(n) || n < min) throw new Error(`${what} must be an integer >= ${min}`);
}

function validate(input: SpecInput): void {
  if (!ID_PATTERN.test(input.id)) throw new Error(`invalid instance id ${JSON.stringify(input.id)}`);
  for (const [what, p] of [
    ["rootfs", input.rootfs],
    ["cwd", input.cwd],
    ["netnsPath", input.netnsPath],
    ["cgroupParent", input.cgroupParent],
    ["hosts file", input.platformFiles.hosts],
    ["resolv.conf file", input.platformFiles.resolvConf],
  ] as const) {
    assertPath(what, p);
  }
  for (const v of input.volumes ?? []) {
    assertPath("volume source", v.source);
    if (!isValidMountPath(v.destination)) throw new Error(`invalid volume mount path ${JSON.stringify(v.destination)}`);
  }
  if (new Set((input.volumes ?? []).map((v) => v.destination)).size !== (input.volumes ?? []).length)
    throw new Error("two volumes at one mount path");
  if (input.args.length === 0 || input.args.some((a) => a.includes("\0")))
    throw new Error("args must be non-empty, without NUL");
  for (const e of input.env) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*=/.test(e) || e.includes("\0"))
      throw new Error("env entries must be KEY=value without NUL");
  }
  assertCount("uid", input.user.uid, 0);
  assertCount("gid", input.user.gid, 0);
  for (const g of input.user.additionalGids ?? []) assertCount("additional gid", g, 0);
  if (input.userNamespace) {
    assertPath("user namespace path", input.userNamespace.path);
    for (const [what, maps] of [
      ["uid", input.userNamespace.uidMappings],
      ["gid", input.userNamespace.gidMappings],
    ] as const) {
      if (maps.length === 0) throw new Error(`user namespace needs ${what} mappings`);
      for (const m of maps) {
        assertCount(`${what} mapping containerID`, m.containerID, 0);
        // Host id 0 would make container root real root: never.
        assertCount(`${what} mapping hostID`, m.hostID, 1);
        assertCount(`${what} mapping size`, m.size, 1);
      }
    }
    const mapped = (id: number, maps: OciIdMapping[]) =>
      maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
    if (!mapped(input.user.uid, input.userNamespace.uidMappings))
      throw new Error(`uid ${input.user.uid} is not mapped in the container's user namespace`);
    for (const g of [input.user.gid, ...(input.user.additionalGids ?? [])]) {
      if (!mapped(g, input.userNamespace.gidMappings))
        throw new Error(`gid ${g} is not mapped in the container's user namespace`);
    }
  }
  assertCount("memory limit", input.limits.memoryBytes, 4 * 1024 * 1024);
  assertCount("cpu millis", input.limits.cpuMillis, 10);
  if (input.limits.cpuRequestMillis !== undefined) assertCount("cpu request millis", input.limits.cpuRequestMillis, 1);
  assertCount("pids limit", input.limits.pids, 1);
}

/**
 * CPU resources. The limit (millicores) is a CFS quota per 100 ms period. The request sets the instance's share of
 * contended CPU, proportional to it: on cgroup v1 cpu.shares = request × 1024 / 1000 (1024 per core, v1's default),
 * at least 2; on cgroup v2 cpu.weight = request / 10 (100 per core, v2's default), 1..10000, written as is (runc's
 * shares -> weight conversion would give 39 for one core). Without a request, the limit stands in for it.
 */
export function cpuResources(
  cpuMillis: number,
  requestMillis = cpuMillis,
): { shares: number; quota: number; period: number } {
  return {
    shares: Math.min(262_144, Math.max(2, Math.round((requestMillis * 1024) / 1000))),
    quota: Math.max(1000, Math.round((cpuMillis * CPU_PERIOD_US) / 1000)),
    period: CPU_PERIOD_US,
  };
}

/** cgroup v2 cpu.weight of a CPU request in millicores (see cpuResources). Pure. */
export function cpuWeight(requestMillis: number): number {
  return Math.min(10_000, Math.max(1, Math.round(requestMillis / 10)));
}

/** A volume's bind mount: writable, but nothing on it is a device or a trusted setuid binary. */
function volumeMount(destination: string, source: string): OciMount {
  return { destination, type: "bind", source, options: ["bind", "rw", "nosuid", "nodev", "rprivate"] };
}

function platformFileMount(destination: string, source: string): OciMount {
  return { destination, type: "bind", source, options: ["bind", "ro", "nosuid", "nodev", "noexec", "rprivate"] };
}

/**
 * `ping_group_range` for the instance's network namespace: every group may ping (no CAP_NET_RAW needed). In a user
 * namespace the kernel reads the range in that namespace's ids and refuses unmapped ones, so it is the mapped range.
 */
export function pingGroupRange(gidMappings?: OciIdMapping[]): string {
  if (!gidMappings?.length) return "0 2147483647";
  const first = Math.min(...gidMappings.map((m) => m.containerID));
  const last = Math.max(...gidMappings.map((m) => m.containerID + m.size - 1));
  return `${first} ${Math.min(last, 2147483647)}`;
}

/**
 * Builds the OCI runtime spec of one instance. Pure: same input, same output; throws on invalid input, and checks its
 * own result with assertSafeSpec (no capability beyond the default set, no host namespace, no host path).
 */
export function buildSpec(input: SpecInput): OciSpec {
  validate(input);
  const caps = [...DEFAULT_CAPABILITIES];
  // A non-root image user needs no capability; the bounding set still caps anything it could exec.
  const active = input.user.uid === 0 ? caps : [];
  const nofile = input.nofile ?? 1024;
  const namespaces: OciNamespace[] = [
    { type: "pid" },
    { type: "ipc" },
    { type: "uts" },
    { type: "mount" },
    { type: "network", path: input.netnsPath },
  ];
  // runc joins the user namespace first whatever the order here; the new pid/ipc/uts/mount namespaces are then created
  // inside it, and the network namespace it owns is joined.
  if (input.userNamespace) namespaces.unshift({ type: "user", path: input.userNamespace.path });
  const spec: OciSpec = {
    ociVersion: "1.0.2-dev",
    process: {
      terminal: false,
      user: {
        uid: input.user.uid,
        gid: input.user.gid,
        ...(input.user.additionalGids?.length ? { additionalGids: [...input.user.additionalGids] } : {}),
      },
      args: [...input.args],
      env: [...input.env],
      cwd: input.cwd,
      capabilities: { bounding: caps, effective: [...active], permitted: [...active], inheritable: [], ambient: [] },
      rlimits: [{ type: "RLIMIT_NOFILE", hard: nofile, soft: nofile }],
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.id,
    mounts: [
      ...kernelMounts(),
      platformFileMount("/etc/hosts", input.platformFiles.hosts),
      platformFileMount("/etc/resolv.conf", input.platformFiles.resolvConf),
      ...(input.volumes ?? []).map((v) => volumeMount(v.destination, v.source)),
    ],
    linux: {
      namespaces,
      cgroupsPath: `${input.cgroupParent.replace(/\/$/, "")}/${input.id}`,
      resources: {
        // Deny every device; runc still creates and allows its fixed safe set (null, zero, full, random, urandom, tty, ptmx).
        devices: [{ allow: false, access: "rwm" }],
        // swap == limit: memory+swap capped at the limit, i.e. no swap; the OOM killer stays on.
        memory: { limit: input.limits.memoryBytes, swap: input.limits.memoryBytes, disableOOMKiller: false },
        cpu: cpuResources(input.limits.cpuMillis, input.limits.cpuRequestMillis),
        pids: { limit: input.limits.pids },
      },
      sysctl: {
        // Both are per network namespace: ping without CAP_NET_RAW, low ports without CAP_NET_BIND_SERVICE for non-root.
        "net.ipv4.ping_group_range": pingGroupRange(input.userNamespace?.gidMappings),
        "net.ipv4.ip_unprivileged_port_start": "0",
      },
      seccomp: defaultSeccompProfile(input.arch),
      maskedPaths: [...MASKED_PATHS],
      readonlyPaths: [...READONLY_PATHS],
      rootfsPropagation: "rprivate",
    },
  };
  if (input.userNamespace) {
    spec.linux.uidMappings = input.userNamespace.uidMappings.map((m) => ({ ...m }));
    spec.linux.gidMappings = input.userNamespace.gidMappings.map((m) => ({ ...m }));
  }
  if (input.cgroupVersion === 2) {
    delete spec.linux.resources.cpu.shares;
    spec.linux.resources.unified = {
      "cpu.weight": String(cpuWeight(input.limits.cpuRequestMillis ?? input.limits.cpuMillis)),
    };
  }
  assertSafeSpec(spec, {
    rootfs: input.rootfs,
    netnsPath: input.netnsPath,
    platformFiles: input.platformFiles,
    volumes: input.volumes ?? [],
    ...(input.userNamespace ? { userNamespacePath: input.userNamespace.path } : {}),
  });
  return spec;
}
