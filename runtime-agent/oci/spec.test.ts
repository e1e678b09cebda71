import { describe, expect, it } from "vitest";
import { DEFAULT_CAPABILITIES, DOCKER_DEFAULT_CAPABILITIES } from "./capabilities.ts";
import { KERNEL_MOUNT_TYPES, MASKED_PATHS, READONLY_PATHS } from "./defaults.ts";
import { mergeEnv } from "./env.ts";
import { NAMESPACE_CLONE_FLAGS } from "./seccomp.ts";
import { buildSpec, cpuResources, cpuWeight, pingGroupRange, type SpecInput } from "./spec.ts";

const MiB = 1024 * 1024;
const USERNS = {
  path: "/var/lib/berth/agent/runtime/instances/web-1-abc/userns",
  uidMappings: [{ containerID: 0, hostID: 1_000_000, size: 65_536 }],
  gidMappings: [{ containerID: 0, hostID: 1_000_000, size: 65_536 }],
};

function input(over: Partial<SpecInput> = {}): SpecInput {
  return {
    id: "web-1-abc",
    rootfs: "/var/lib/berth/storage/overlay/abc/merged",
    args: ["/bin/sh", "-c", "exec httpd -f -p $PORT"],
    env: mergeEnv(["PATH=/bin", "LANG=C.UTF-8"], { NODE_ENV: "production" }, 5000),
    cwd: "/app",
    user: { uid: 1000, gid: 1000 },
    netnsPath: "/var/run/netns/berth-web-1-abc",
    cgroupParent: "/berth",
    limits: { memoryBytes: 256 * MiB, cpuMillis: 500, pids: 512 },
    platformFiles: {
      hosts: "/var/lib/berth/agent/instances/web-1-abc/hosts",
      resolvConf: "/var/lib/berth/agent/instances/web-1-abc/resolv.conf",
    },
    arch: "x64",
    ...over,
  };
}

describe("buildSpec", () => {
  it("matches the snapshot", () => {
    expect(buildSpec(input())).toMatchSnapshot();
  });

  it("is pure: same input, equal output, input untouched", () => {
    const i = input();
    const before = JSON.stringify(i);
    expect(buildSpec(i)).toEqual(buildSpec(i));
    expect(JSON.stringify(i)).toBe(before);
  });

  const variants: [string, Partial<SpecInput>][] = [
    ["default", {}],
    ["root user", { user: { uid: 0, gid: 0 } }],
    ["tiny limits", { limits: { memoryBytes: 4 * MiB, cpuMillis: 10, pids: 1 } }],
    ["big limits", { limits: { memoryBytes: 64 * 1024 * MiB, cpuMillis: 16_000, pids: 65_536 } }],
    ["arm64", { arch: "arm64" }],
    ["user namespace", { userNamespace: USERNS }],
    ["user namespace, root user", { userNamespace: USERNS, user: { uid: 0, gid: 0, additionalGids: [10] } }],
  ];

  describe.each(variants)("property checks (%s)", (_name, over) => {
    const i = input(over);
    const spec = buildSpec(i);

    it("grants root the documented minimal set, a non-root user none, never anything beyond it", () => {
      const { capabilities } = spec.process;
      for (const set of [capabilities.bounding, capabilities.effective, capabilities.permitted]) {
        expect(set).not.toContain("CAP_SYS_ADMIN");
        for (const c of set) expect(DEFAULT_CAPABILITIES).toContain(c);
      }
      expect(capabilities.bounding).toEqual(DEFAULT_CAPABILITIES);
      const expected = i.user.uid === 0 ? DEFAULT_CAPABILITIES : [];
      expect(capabilities.effective).toEqual(expected);
      expect(capabilities.permitted).toEqual(expected);
      expect(capabilities.inheritable).toEqual([]);
      expect(capabilities.ambient).toEqual([]);
      expect(spec.process.noNewPrivileges).toBe(true);
    });

    it("has its own pid, ipc, uts, mount and network namespaces (network = the named netns)", () => {
      const types = spec.linux.namespaces.map((n) => n.type);
      for (const t of ["pid", "ipc", "uts", "mount", "network"]) expect(types).toContain(t);
      for (const n of spec.linux.namespaces) {
        if (n.type === "network") expect(n.path).toBe(i.netnsPath);
        // The instance's own user namespace, made by the agent together with the netns it owns.
        else if (n.type === "user") expect(n.path).toBe(i.userNamespace?.path);
        else expect(n.path).toBeUndefined(); // joining any other existing namespace would share it with the host
      }
      expect(types.includes("user")).toBe(Boolean(i.userNamespace));
      if (i.userNamespace) {
        expect(spec.linux.uidMappings).toEqual(i.userNamespace.uidMappings);
        expect(spec.linux.gidMappings).toEqual(i.userNamespace.gidMappings);
        for (const m of [...spec.linux.uidMappings!, ...spec.linux.gidMappings!]) expect(m.hostID).toBeGreaterThan(0);
      } else {
        expect(spec.linux.uidMappings).toBeUndefined();
      }
      // ping without CAP_NET_RAW: a group range the kernel accepts in this namespace's ids.
      expect(spec.linux.sysctl["net.ipv4.ping_group_range"]).toBe(i.userNamespace ? "0 65535" : "0 2147483647");
    });

    it("applies the limits exactly", () => {
      const r = spec.linux.resources;
      expect(r.memory.limit).toBe(i.limits.memoryBytes);
      expect(r.memory.swap).toBe(i.limits.memoryBytes);
      expect(r.pids.limit).toBe(i.limits.pids);
      expect(r.cpu.period).toBe(100_000);
      expect(r.cpu.quota).toBe(Math.max(1000, i.limits.cpuMillis * 100));
      expect(r.cpu.shares).toBe(Math.max(2, Math.round(i.limits.cpuMillis * 1.024)));
      expect(r.devices).toEqual([{ allow: false, access: "rwm" }]);
      expect(spec.linux.cgroupsPath).toBe(`/berth/${i.id}`);
    });

    it("bind-mounts no host path except the platform's hosts and resolv.conf files", () => {
      const binds = spec.mounts.filter((m) => !KERNEL_MOUNT_TYPES.has(m.type));
      expect(binds.map((m) => [m.destination, m.source])).toEqual([
        ["/etc/hosts", i.platformFiles.hosts],
        ["/etc/resolv.conf", i.platformFiles.resolvConf],
      ]);
      for (const b of binds) expect(b.options).toContain("ro");
      for (const m of spec.mounts) expect(m.options).not.toContain("rw");
      expect(spec.mounts.find((m) => m.destination === "/sys")?.options).toContain("ro");
      expect(spec.mounts.find((m) => m.destination === "/sys/fs/cgroup")?.options).toContain("ro");
    });

    it("masks and write-protects runc's default paths, sets hostname, seccomp and identity", () => {
      for (const p of MASKED_PATHS) expect(spec.linux.maskedPaths).toContain(p);
      for (const p of READONLY_PATHS) expect(spec.linux.readonlyPaths).toContain(p);
      expect(spec.hostname).toBe(i.id);
      expect(spec.process.user.uid).toBe(i.user.uid);
      expect(spec.process.env).toEqual(i.env);
      expect(spec.process.terminal).toBe(false);
      const denied = spec.linux.seccomp.syscalls
        .filter((s) => s.action === "SCMP_ACT_ERRNO" && !s.args)
        .flatMap((s) => s.names);
      for (const s of ["unshare", "setns", "mount", "bpf", "keyctl", "kexec_load", "init_module", "userfaultfd"]) {
        expect(denied).toContain(s);
      }
      const cloneFlags = spec.linux.seccomp.syscalls
        .filter((s) => s.names.includes("clone"))
        .map((s) => s.args?.[0]?.value);
      expect(cloneFlags.sort()).toEqual(Object.values(NAMESPACE_CLONE_FLAGS).sort());
    });
  });

  it.each<[string, Partial<SpecInput>]>([
    ["a bad id", { id: "../x" }],
    ["a relative rootfs", { rootfs: "rootfs" }],
    ["a rootfs with ..", { rootfs: "/var/lib/../../etc" }],
    ["a netns path with NUL", { netnsPath: "/var/run/netns/x\0" }],
    ["empty args", { args: [] }],
    ["a bad env entry", { env: ["1BAD=x"] }],
    ["an env entry without =", { env: ["NOVALUE"] }],
    ["a negative uid", { user: { uid: -1, gid: 0 } }],
    ["a fractional pids limit", { limits: { memoryBytes: 64 * MiB, cpuMillis: 100, pids: 1.5 } }],
    ["a tiny memory limit", { limits: { memoryBytes: 1024, cpuMillis: 100, pids: 10 } }],
    ["an unknown arch", { arch: "mips" }],
    [
      "a user namespace mapping host root",
      { userNamespace: { ...USERNS, uidMappings: [{ containerID: 0, hostID: 0, size: 65_536 }] } },
    ],
    ["a user namespace without gid mappings", { userNamespace: { ...USERNS, gidMappings: [] } }],
    ["a relative user namespace path", { userNamespace: { ...USERNS, path: "userns" } }],
    ["a uid outside the user namespace", { userNamespace: USERNS, user: { uid: 70_000, gid: 0 } }],
    ["a gid outside the user namespace", { userNamespace: USERNS, user: { uid: 0, gid: 0, additionalGids: [65_536] } }],
  ])("rejects %s", (_name, over) => {
    expect(() => buildSpec(input(over))).toThrow();
  });
});

describe("pingGroupRange", () => {
  it("covers every group on the host, or exactly the mapped ids in a user namespace", () => {
    expect(pingGroupRange()).toBe("0 2147483647");
    expect(pingGroupRange([{ containerID: 0, hostID: 1_000_000, size: 65_536 }])).toBe("0 65535");
  });
});

it("keeps Berth's capability set a strict subset of Docker's default set", () => {
  for (const c of DEFAULT_CAPABILITIES) expect(DOCKER_DEFAULT_CAPABILITIES).toContain(c);
  expect(DEFAULT_CAPABILITIES.length).toBeLessThan(DOCKER_DEFAULT_CAPABILITIES.length);
  for (const dropped of ["CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_RAW", "CAP_MKNOD", "CAP_SYS_CHROOT"])
    expect(DEFAULT_CAPABILITIES).not.toContain(dropped);
});

describe("cpuResources", () => {
  it.each([
    [1000, { shares: 1024, quota: 100_000, period: 100_000 }],
    [250, { shares: 256, quota: 25_000, period: 100_000 }],
    [10, { shares: 10, quota: 1_000, period: 100_000 }],
    [2500, { shares: 2560, quota: 250_000, period: 100_000 }],
  ])("%d millicores", (millis, expected) => {
    expect(cpuResources(millis)).toEqual(expected);
  });
  it("takes the share from the request, the quota from the limit", () => {
    expect(cpuResources(1000, 100)).toEqual({ shares: 102, quota: 100_000, period: 100_000 });
    expect(cpuResources(1000, 1)).toMatchObject({ shares: 2 });
    expect(cpuResources(256_000, 256_000)).toMatchObject({ shares: 262_144 });
  });

  it.each([
    [1000, 100],
    [100, 10],
    [10, 1],
    [1, 1],
    [2500, 250],
    [256_000, 10_000],
  ])("cgroup v2: %d millicores requested -> cpu.weight %d", (millis, weight) => {
    expect(cpuWeight(millis)).toBe(weight);
  });

  it("puts the request's weight into cpu.weight on cgroup v2 hosts, shares on v1", () => {
    const limits = { memoryBytes: 64 * MiB, cpuMillis: 1000, cpuRequestMillis: 250, pids: 64 };
    const v1 = buildSpec(input({ limits })).linux.resources;
    expect(v1.cpu).toEqual({ shares: 256, quota: 100_000, period: 100_000 });
    expect(v1.unified).toBeUndefined();
    const v2 = buildSpec(input({ limits, cgroupVersion: 2 })).linux.resources;
    expect(v2.cpu).toEqual({ quota: 100_000, period: 100_000 });
    expect(v2.unified).toEqual({ "cpu.weight": "25" });
    // Without a request the limit stands in for it.
    expect(buildSpec(input({ cgroupVersion: 2 })).linux.resources.unified).toEqual({ "cpu.weight": "50" });
  });
});

describe("mergeEnv", () => {
  it("layers default PATH, image env, instance env and PORT (platform wins on PORT)", () => {
    expect(mergeEnv(["PATH=/bin", "A=1", "B=2", "bad-key=x", "=x", "NOEQ"], { B: "3", PORT: "1" }, 5000)).toEqual([
      "PATH=/bin",
      "A=1",
      "B=3",
      "PORT=5000",
    ]);
  });

  it("keeps values verbatim (they only ever travel in the env array)", () => {
    expect(mergeEnv([], { X: "$(rm -rf /); `id` 'q' \"d\"\nline" })).toContain("X=$(rm -rf /); `id` 'q' \"d\"\nline");
  });

  it("rejects invalid instance keys", () => {
    expect(() => mergeEnv([], { "A-B": "x" })).toThrow();
  });
});
