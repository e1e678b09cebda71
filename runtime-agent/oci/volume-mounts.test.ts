// Volumes in the OCI spec: bind mounts of the agent's own volume mount points at validated container paths, and
// assertSafeSpec refusing any other host path, a changed source, or a volume mount without nosuid/nodev.
import { describe, expect, it } from "vitest";
import { isValidMountPath, MountPath } from "../protocol/names.ts";
import { assertSafeSpec, type AllowedHostPaths } from "./assert-safe.ts";
import { buildSpec, type SpecInput } from "./spec.ts";

const MiB = 1024 * 1024;
const SOURCE = "/var/lib/berth/agent/volumes/vol-abcdefgh12/data";
const input: SpecInput = {
  id: "web-1",
  rootfs: "/run/berth/containers/web-1/rootfs",
  args: ["/bin/sh"],
  env: ["PATH=/bin"],
  cwd: "/",
  user: { uid: 1000, gid: 1000 },
  netnsPath: "/var/run/netns/berth-web-1",
  cgroupParent: "/berth",
  limits: { memoryBytes: 64 * MiB, cpuMillis: 100, pids: 64 },
  platformFiles: { hosts: "/run/berth/containers/web-1/hosts", resolvConf: "/run/berth/containers/web-1/resolv.conf" },
  volumes: [{ source: SOURCE, destination: "/data" }],
  arch: "x64",
};
const allowed: AllowedHostPaths = {
  rootfs: input.rootfs,
  netnsPath: input.netnsPath,
  platformFiles: input.platformFiles,
  volumes: input.volumes ?? [],
};

describe("volume mounts in the spec", () => {
  it("bind-mounts the volume read-write, nosuid, nodev, not recursive, after the platform files", () => {
    const spec = buildSpec(input);
    const last = spec.mounts.at(-1);
    expect(last).toEqual({
      destination: "/data",
      type: "bind",
      source: SOURCE,
      options: ["bind", "rw", "nosuid", "nodev", "rprivate"],
    });
    expect(spec.mounts.findIndex((m) => m.destination === "/etc/hosts")).toBeLessThan(spec.mounts.length - 1);
  });

  it("without volumes the mounts are as before", () => {
    const { volumes: _, ...plain } = input;
    expect(buildSpec(plain).mounts.some((m) => m.destination === "/data")).toBe(false);
  });

  it.each(["/proc/x", "/sys", "/dev/shm", "/etc", "/etc/hosts", "/", "data", "/a/../b", "/a//b", "/a b", "/a/./b"])(
    "refuses the mount path %s",
    (p) => {
      expect(isValidMountPath(p)).toBe(false);
      expect(MountPath.safeParse(p).success).toBe(false);
      expect(() => buildSpec({ ...input, volumes: [{ source: SOURCE, destination: p }] })).toThrow();
    },
  );

  it.each(["/data", "/var/lib/postgresql/data", "/etc/app", "/home/app/.cache"])("accepts the mount path %s", (p) => {
    expect(isValidMountPath(p)).toBe(true);
  });

  it("refuses two volumes at one path and a relative source", () => {
    expect(() =>
      buildSpec({
        ...input,
        volumes: [
          { source: SOURCE, destination: "/data" },
          { source: `${SOURCE}2`, destination: "/data" },
        ],
      }),
    ).toThrow(/two volumes/);
    expect(() => buildSpec({ ...input, volumes: [{ source: "../x", destination: "/data" }] })).toThrow();
  });

  it("assertSafeSpec refuses another source, a missing nosuid, and a bind the agent did not allow", () => {
    const spec = buildSpec(input);
    expect(() => assertSafeSpec(spec, allowed)).not.toThrow();
    const other = structuredClone(spec);
    (other.mounts.at(-1) as { source: string }).source = "/";
    expect(() => assertSafeSpec(other, allowed)).toThrow(/host path \/ mounted at \/data/);
    const suid = structuredClone(spec);
    (suid.mounts.at(-1) as { options: string[] }).options = ["bind", "rw", "nodev"];
    expect(() => assertSafeSpec(suid, allowed)).toThrow(/nosuid/);
    expect(() => assertSafeSpec(spec, { ...allowed, volumes: [] })).toThrow(/host path/);
  });
});
