import { describe, expect, it } from "vitest";
import { assertSafeSpec, type AllowedHostPaths } from "./assert-safe.ts";
import { buildSpec, type SpecInput } from "./spec.ts";
import type { OciSpec } from "./types.ts";

const MiB = 1024 * 1024;
const userns = {
  path: "/var/lib/berth-agent/runtime/instances/web-1/userns",
  uidMappings: [{ containerID: 0, hostID: 1_000_000, size: 65_536 }],
  gidMappings: [{ containerID: 0, hostID: 1_000_000, size: 65_536 }],
};
const input: SpecInput = {
  id: "web-1",
  rootfs: "/run/berth/containers/web-1/rootfs",
  args: ["/bin/sh"],
  env: ["PATH=/bin"],
  cwd: "/",
  user: { uid: 0, gid: 0 },
  netnsPath: "/var/run/netns/berth-web-1",
  cgroupParent: "/berth",
  limits: { memoryBytes: 64 * MiB, cpuMillis: 100, pids: 64 },
  platformFiles: { hosts: "/run/berth/containers/web-1/hosts", resolvConf: "/run/berth/containers/web-1/resolv.conf" },
  userNamespace: userns,
  arch: "x64",
};
const allowed: AllowedHostPaths = {
  rootfs: input.rootfs,
  netnsPath: input.netnsPath,
  platformFiles: input.platformFiles,
  userNamespacePath: userns.path,
};

/** A fresh spec from the real builder, changed by `tamper`. */
function tampered(tamper: (s: OciSpec) => void): OciSpec {
  const spec = structuredClone(buildSpec(input));
  tamper(spec);
  return spec;
}

describe("assertSafeSpec", () => {
  it("accepts what buildSpec builds, with and without a user namespace", () => {
    expect(() => assertSafeSpec(buildSpec(input), allowed)).not.toThrow();
    const plain = { ...input, userNamespace: undefined };
    const { userNamespacePath: _, ...withoutUserns } = allowed;
    expect(() => assertSafeSpec(buildSpec(plain), withoutUserns)).not.toThrow();
  });

  it.each<[string, (s: OciSpec) => void]>([
    ["CAP_SYS_ADMIN", (s) => s.process.capabilities.effective.push("CAP_SYS_ADMIN")],
    ["a dropped Docker capability", (s) => s.process.capabilities.bounding.push("CAP_NET_RAW")],
    ["ambient capabilities", (s) => s.process.capabilities.ambient.push("CAP_CHOWN")],
    ["no_new_privs off", (s) => ((s.process as { noNewPrivileges: boolean }).noNewPrivileges = false)],
    ["no seccomp rules", (s) => (s.linux.seccomp.syscalls = [])],
    ["the host's pid namespace", (s) => (s.linux.namespaces = s.linux.namespaces.filter((n) => n.type !== "pid"))],
    [
      "the host's network namespace",
      (s) =>
        (s.linux.namespaces = s.linux.namespaces.map((n) =>
          n.type === "network" ? { ...n, path: "/proc/1/ns/net" } : n,
        )),
    ],
    [
      "a mount namespace joined by path",
      (s) => (s.linux.namespaces.find((n) => n.type === "mount")!.path = "/proc/1/ns/mnt"),
    ],
    ["a second network namespace entry", (s) => s.linux.namespaces.push({ type: "network" })],
    ["another user namespace", (s) => (s.linux.namespaces.find((n) => n.type === "user")!.path = "/proc/1/ns/user")],
    ["a mapping of host root", (s) => (s.linux.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }])],
    [
      "a host bind mount",
      (s) => s.mounts.push({ destination: "/host", type: "bind", source: "/", options: ["rbind"] }),
    ],
    [
      "a platform file mounted writable",
      (s) => (s.mounts.find((m) => m.destination === "/etc/hosts")!.options = ["bind", "rw"]),
    ],
    [
      "a platform file from another path",
      (s) => (s.mounts.find((m) => m.destination === "/etc/resolv.conf")!.source = "/etc/shadow"),
    ],
    ["sysfs writable", (s) => (s.mounts.find((m) => m.destination === "/sys")!.options = ["nosuid"])],
    ["a kernel mount naming a host path", (s) => (s.mounts.find((m) => m.destination === "/proc")!.source = "/proc")],
    ["an unknown mount type", (s) => s.mounts.push({ destination: "/x", type: "nfs", source: "srv:/x", options: [] })],
    ["an unmasked /proc/kcore", (s) => (s.linux.maskedPaths = s.linux.maskedPaths.filter((p) => p !== "/proc/kcore"))],
    ["a writable /proc/sys", (s) => (s.linux.readonlyPaths = s.linux.readonlyPaths.filter((p) => p !== "/proc/sys"))],
    ["device access", (s) => (s.linux.resources.devices = [{ allow: true, access: "rwm" }])],
    ["a host-wide sysctl", (s) => (s.linux.sysctl["kernel.domainname"] = "x")],
    ["hooks", (s) => ((s as unknown as Record<string, unknown>).hooks = { prestart: [{ path: "/bin/sh" }] })],
    ["extra device nodes", (s) => ((s.linux as unknown as Record<string, unknown>).devices = [{ path: "/dev/sda" }])],
    ["another rootfs", (s) => (s.root.path = "/")],
  ])("refuses %s", (_name, tamper) => {
    expect(() => assertSafeSpec(tampered(tamper), allowed)).toThrow(/refusing container spec/);
  });

  it("accepts a cgroup v2 cpu.weight and refuses any other unified resource", () => {
    expect(() => assertSafeSpec(buildSpec({ ...input, cgroupVersion: 2 }), allowed)).not.toThrow();
    const other = tampered((s) => {
      (s.linux.resources as Record<string, unknown>).unified = { "cpu.weight": "10", "memory.high": "max" };
    });
    expect(() => assertSafeSpec(other, allowed)).toThrow(/unified/);
    const bad = tampered((s) => {
      s.linux.resources.unified = { "cpu.weight": "0" };
    });
    expect(() => assertSafeSpec(bad, allowed)).toThrow(/unified/);
  });

  it("refuses a user namespace the agent did not set up", () => {
    const { userNamespacePath: _, ...withoutUserns } = allowed;
    expect(() => assertSafeSpec(buildSpec(input), withoutUserns)).toThrow(/user namespace not set up/);
  });
});
