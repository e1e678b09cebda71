// Berth's default seccomp profile: a deny-list. Everything is allowed except syscalls that load kernel code,
// change host-global state, create namespaces, or are large kernel attack surface a web app does not need.
// Why a deny-list and not Docker's allow-list: it is short enough to review, and the container already runs
// without CAP_SYS_ADMIN/CAP_SYS_MODULE/... so most listed calls would fail anyway; the profile closes the calls
// that need no capability at all (unshare(CLONE_NEWUSER), bpf, userfaultfd, io_uring, keyctl, perf_event_open).
import type { OciSeccomp, OciSeccompRule } from "./types.ts";

const EPERM = 1;
const ENOSYS = 38;

/** Syscalls that fail with EPERM in every container. */
export const DENIED_SYSCALLS: readonly string[] = Object.freeze([
  // kernel code and machine state
  "init_module",
  "finit_module",
  "delete_module",
  "create_module",
  "query_module",
  "get_kernel_syms",
  "kexec_load",
  "kexec_file_load",
  "reboot",
  "swapon",
  "swapoff",
  "acct",
  "syslog",
  "vhangup",
  "iopl",
  "ioperm",
  "uselib",
  "_sysctl",
  "sysfs",
  "ustat",
  "vm86",
  "vm86old",
  "nfsservctl",
  "quotactl",
  "quotactl_fd",
  // clocks are host-global
  "settimeofday",
  "stime",
  "clock_settime",
  "clock_settime64",
  "clock_adjtime",
  "clock_adjtime64",
  "adjtimex",
  // mounts and namespaces
  "mount",
  "umount",
  "umount2",
  "pivot_root",
  "mount_setattr",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "unshare",
  "setns",
  // kernel attack surface reachable without capabilities
  "bpf",
  "perf_event_open",
  "userfaultfd",
  "lookup_dcookie",
  "keyctl",
  "add_key",
  "request_key",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  // handles and cross-process inspection
  "open_by_handle_at",
  "name_to_handle_at",
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "kcmp",
  "fanotify_init",
  "move_pages",
  "migrate_pages",
]);

/** clone(2) flags that create namespaces; clone with any of them fails with EPERM. */
export const NAMESPACE_CLONE_FLAGS: Readonly<Record<string, number>> = Object.freeze({
  CLONE_NEWNS: 0x00020000,
  CLONE_NEWCGROUP: 0x02000000,
  CLONE_NEWUTS: 0x04000000,
  CLONE_NEWIPC: 0x08000000,
  CLONE_NEWUSER: 0x10000000,
  CLONE_NEWPID: 0x20000000,
  CLONE_NEWNET: 0x40000000,
});

/** libseccomp architectures for a Node `process.arch` value (the native ABI plus its compat ABIs). */
export function seccompArchitectures(arch: string): string[] {
  switch (arch) {
    case "x64":
      return ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"];
    case "arm64":
      return ["SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"];
    default:
      throw new Error(`unsupported architecture for the seccomp profile: ${arch}`);
  }
}

/** Builds the default profile (default allow, deny-list with EPERM, clone3 -> ENOSYS so libc falls back to clone). */
export function defaultSeccompProfile(arch: string): OciSeccomp {
  const cloneRules: OciSeccompRule[] = Object.values(NAMESPACE_CLONE_FLAGS).map((flag) => ({
    names: ["clone"],
    action: "SCMP_ACT_ERRNO",
    errnoRet: EPERM,
    // OCI MASKED_EQ: (arg & value) == valueTwo. One rule per flag because rules OR, args within a rule AND.
    args: [{ index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ" }],
  }));
  return {
    defaultAction: "SCMP_ACT_ALLOW",
    architectures: seccompArchitectures(arch),
    syscalls: [
      { names: [...DENIED_SYSCALLS], action: "SCMP_ACT_ERRNO", errnoRet: EPERM },
      { names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: ENOSYS },
      ...cloneRules,
    ],
  };
}
