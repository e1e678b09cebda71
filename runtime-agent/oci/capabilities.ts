// Capabilities a container process gets. Docker's default set is 14; Berth keeps 12 of them.
// Dropped from Docker's list: CAP_MKNOD (no device nodes are needed; the device cgroup denies them anyway) and
// CAP_NET_RAW (raw sockets allow ARP/IP spoofing on the bridge; `ping` keeps working through the
// net.ipv4.ping_group_range sysctl the spec sets instead).

/** The capability set of every container process (bounding = effective = permitted; no inheritable/ambient). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FSETID",
  "CAP_FOWNER",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_KILL",
  "CAP_AUDIT_WRITE",
]);

/** Docker's 14 default capabilities, for tests asserting Berth's set is a subset. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  ...DEFAULT_CAPABILITIES,
  "CAP_MKNOD",
  "CAP_NET_RAW",
]);
