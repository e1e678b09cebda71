// The last check before a spec reaches runc: whatever produced it, a spec that asks for more than the platform
// grants is refused. The protocol cannot express these requests (unknown fields are errors), so this guards against
// a future change to the spec builder, not against input: privileged capabilities, host namespaces, host paths.
import { DEFAULT_CAPABILITIES } from "./capabilities.ts";
import { KERNEL_MOUNT_TYPES, MASKED_PATHS, READONLY_PATHS } from "./defaults.ts";
import type { OciSpec } from "./types.ts";

/** The only paths of the host a spec may name, all chosen by the agent. */
export interface AllowedHostPaths {
  rootfs: string;
  netnsPath: string;
  platformFiles: { hosts: string; resolvConf: string };
  /** Volume mount points in the agent's volume store and where each goes in the container (read-write). */
  volumes?: { source: string; destination: string }[];
  /** The instance's persisted user namespace, when the node uses them. */
  userNamespacePath?: string;
}

/** Kernel mounts that must be read-only inside the container (they reach host-wide kernel state). */
const READONLY_KERNEL_MOUNTS = new Set(["/sys", "/sys/fs/cgroup"]);

const NEW_NAMESPACES = ["pid", "ipc", "uts", "mount"] as const;

// Keys the builder writes. Anything else (hooks run on the host as root, linux.devices adds device nodes,
// process.apparmorProfile/selinuxLabel change confinement...) is refused rather than reviewed field by field.
const KEYS = {
  spec: new Set(["ociVersion", "process", "root", "hostname", "mounts", "linux"]),
  process: new Set([
    "terminal",
    "user",
    "args",
    "env",
    "cwd",
    "capabilities",
    "rlimits",
    "noNewPrivileges",
    "oomScoreAdj",
  ]),
  linux: new Set([
    "namespaces",
    "uidMappings",
    "gidMappings",
    "cgroupsPath",
    "resources",
    "sysctl",
    "seccomp",
    "maskedPaths",
    "readonlyPaths",
    "rootfsPropagation",
  ]),
  resources: new Set(["devices", "memory", "cpu", "pids", "unified"]),
} as const;

function assertKeys(what: keyof typeof KEYS, obj: object): void {
  for (const k of Object.keys(obj)) if (!KEYS[what].has(k)) refuse(`unexpected ${what} field ${k}`);
}

function refuse(reason: string): never {
  throw new Error(`refusing container spec: ${reason}`);
}

/** Throws unless `spec` stays inside the platform's sandbox (see docs/security.md); returns it for chaining. */
export function assertSafeSpec(spec: OciSpec, allowed: AllowedHostPaths): OciSpec {
  assertKeys("spec", spec);
  assertKeys("process", spec.process);
  assertKeys("linux", spec.linux);
  assertKeys("resources", spec.linux.resources);
  const unified = spec.linux.resources.unified;
  if (unified) {
    if (Object.keys(unified).join() !== "cpu.weight" || !/^[1-9][0-9]{0,4}$/.test(unified["cpu.weight"]))
      refuse("unified resources other than a cpu.weight");
  }
  const caps = spec.process.capabilities;
  for (const [name, set] of Object.entries(caps)) {
    for (const c of set as string[]) {
      if (!DEFAULT_CAPABILITIES.includes(c)) refuse(`capability ${c} (${name}) is not in the default set`);
    }
  }
  if (caps.inheritable.length > 0 || caps.ambient.length > 0) refuse("inheritable or ambient capabilities");
  if (spec.process.noNewPrivileges !== true) refuse("no_new_privs is off");
  if (!spec.linux.seccomp || spec.linux.seccomp.syscalls.length === 0) refuse("no seccomp profile");
  if (spec.root.path !== allowed.rootfs) refuse("root is not the instance's rootfs");

  const types = new Map<string, string | undefined>();
  for (const ns of spec.linux.namespaces) {
    if (types.has(ns.type)) refuse(`namespace ${ns.type} listed twice`);
    types.set(ns.type, ns.path);
  }
  for (const t of NEW_NAMESPACES) {
    if (!types.has(t)) refuse(`no ${t} namespace (it would be the host's)`);
    if (types.get(t) !== undefined) refuse(`${t} namespace joined by path`);
  }
  if (!types.has("network") || types.get("network") !== allowed.netnsPath)
    refuse("network namespace is not the instance's own");
  if (types.has("cgroup")) refuse("cgroup namespace is not used");
  if (allowed.userNamespacePath !== undefined) {
    if (types.get("user") !== allowed.userNamespacePath) refuse("user namespace is not the instance's own");
    const mapsRoot = (spec.linux.uidMappings ?? []).some((m) => m.hostID === 0);
    const mapsRootGroup = (spec.linux.gidMappings ?? []).some((m) => m.hostID === 0);
    if (mapsRoot || mapsRootGroup) refuse("user namespace maps host id 0");
    if (!spec.linux.uidMappings?.length || !spec.linux.gidMappings?.length) refuse("user namespace without mappings");
  } else if (types.has("user") || spec.linux.uidMappings || spec.linux.gidMappings) {
    refuse("user namespace not set up by the agent");
  }

  const platform = new Map([
    ["/etc/hosts", allowed.platformFiles.hosts],
    ["/etc/resolv.conf", allowed.platformFiles.resolvConf],
  ]);
  const volumes = new Map((allowed.volumes ?? []).map((v) => [v.destination, v.source]));
  for (const m of spec.mounts) {
    if (m.type === "bind" || m.options.includes("bind") || m.options.includes("rbind")) {
      if (volumes.has(m.destination)) {
        if (volumes.get(m.destination) !== m.source) refuse(`host path ${m.source} mounted at ${m.destination}`);
        if (!m.options.includes("nosuid") || !m.options.includes("nodev") || m.options.includes("rbind"))
          refuse(`volume at ${m.destination} without nosuid/nodev, or recursive`);
        continue;
      }
      if (platform.get(m.destination) !== m.source) refuse(`host path ${m.source} mounted at ${m.destination}`);
      if (!m.options.includes("ro")) refuse(`platform file ${m.destination} is writable`);
      continue;
    }
    if (!KERNEL_MOUNT_TYPES.has(m.type)) refuse(`mount type ${m.type} at ${m.destination}`);
    if (m.source.startsWith("/")) refuse(`kernel mount ${m.destination} names host path ${m.source}`);
    if (READONLY_KERNEL_MOUNTS.has(m.destination) && !m.options.includes("ro"))
      refuse(`${m.destination} is mounted writable`);
  }
  for (const k of Object.keys(spec.linux.sysctl)) {
    // Both are per network namespace; any other sysctl could reach host-wide kernel state.
    if (k !== "net.ipv4.ping_group_range" && k !== "net.ipv4.ip_unprivileged_port_start") refuse(`sysctl ${k}`);
  }
  for (const p of MASKED_PATHS) if (!spec.linux.maskedPaths.includes(p)) refuse(`${p} is not masked`);
  for (const p of READONLY_PATHS) if (!spec.linux.readonlyPaths.includes(p)) refuse(`${p} is not read-only`);
  const devices = spec.linux.resources.devices;
  if (devices.length !== 1 || devices[0]?.allow !== false || devices[0].access !== "rwm")
    refuse("device access is not denied");
  return spec;
}
