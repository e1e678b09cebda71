// Fixed parts of every spec, copied from `runc spec` (runc 1.1) so they behave as every OCI runtime user expects.
import type { OciMount } from "./types.ts";

/**
 * runc's default masked paths, plus powercap (host energy counters: a known side channel), /proc/interrupts (host
 * per-device interrupt counters, another side channel) and /proc/kallsyms (kernel symbol addresses where the host's
 * kptr_restrict lets them through); hidden from the container.
 */
export const MASKED_PATHS: readonly string[] = Object.freeze([
  "/proc/acpi",
  "/proc/asound",
  "/proc/interrupts",
  "/proc/kallsyms",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
  "/sys/devices/virtual/powercap",
]);

/**
 * runc's default read-only paths. /proc itself stays writable because processes legitimately write their own
 * /proc/self files (oom_score_adj, attr, comm through /proc/self/task/...); everything below /proc that reaches the
 * kernel or the host (sys, sysrq-trigger, irq, bus, fs) is read-only, and /sys is mounted read-only as a whole.
 */
export const READONLY_PATHS: readonly string[] = Object.freeze([
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
]);

/** Kernel filesystems every container gets; none of them exposes a host path. */
export function kernelMounts(): OciMount[] {
  return [
    { destination: "/proc", type: "proc", source: "proc", options: ["nosuid", "noexec", "nodev"] },
    {
      destination: "/dev",
      type: "tmpfs",
      source: "tmpfs",
      options: ["nosuid", "strictatime", "mode=755", "size=65536k"],
    },
    {
      destination: "/dev/pts",
      type: "devpts",
      source: "devpts",
      options: ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"],
    },
    {
      destination: "/dev/shm",
      type: "tmpfs",
      source: "shm",
      options: ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"],
    },
    { destination: "/dev/mqueue", type: "mqueue", source: "mqueue", options: ["nosuid", "noexec", "nodev"] },
    { destination: "/sys", type: "sysfs", source: "sysfs", options: ["nosuid", "noexec", "nodev", "ro"] },
    {
      destination: "/sys/fs/cgroup",
      type: "cgroup",
      source: "cgroup",
      options: ["nosuid", "noexec", "nodev", "relatime", "ro"],
    },
  ];
}

/** Mount types allowed in a spec; anything else (notably `bind` of a host path) must be a platform file. */
export const KERNEL_MOUNT_TYPES: ReadonlySet<string> = new Set([
  "proc",
  "tmpfs",
  "devpts",
  "mqueue",
  "sysfs",
  "cgroup",
]);
