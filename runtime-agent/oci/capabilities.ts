// Capabilities a container process gets: the smallest set that still lets common images start as root, prepare their
// files and switch to their own user. Docker's default set has 14; Berth keeps 6. Each kept one, and why:
//   CAP_CHOWN        entrypoints `chown` their data and cache directories to the app user before dropping to it.
//   CAP_DAC_OVERRIDE a root entrypoint writes into directories owned by the app user (e.g. `mkdir /home/app/.cache`,
//                    `cp` config into a 0700 dir). Only files of the container itself are reachable: with a user
//                    namespace the capability covers only ids mapped into it, and without one the container sees no
//                    host path but the two read-only platform files.
//   CAP_FOWNER       `chmod`/`touch -m`/`utime` of files the process does not own, which the same entrypoints do
//                    after a chown (and tar/cp -p when unpacking as root).
//   CAP_SETUID       switching to the image's own user (su-exec, gosu, setpriv, `su`, nginx/postgres-style
//   CAP_SETGID       privilege drop). no_new_privs still stops setuid binaries and file capabilities from raising.
//   CAP_KILL         a root supervisor (tini, s6, a shell) signalling its children that run as another user; only
//                    processes in the container's own pid namespace are visible.
// Dropped from Docker's list and why nothing common misses them:
//   CAP_NET_BIND_SERVICE  ports below 1024 need no capability: the spec sets net.ipv4.ip_unprivileged_port_start=0
//                         in the instance's own network namespace, and ports above 1024 never need one.
//   CAP_NET_RAW           raw sockets allow ARP/IP spoofing on the bridge; ping works through ping_group_range.
//   CAP_MKNOD             no device nodes are needed; the device cgroup denies them anyway.
//   CAP_SETFCAP           writing file capabilities; with no_new_privs they would not be honoured anyway.
//   CAP_SETPCAP           changing capability sets/bounding of other processes or itself beyond dropping.
//   CAP_FSETID            keeping setuid/setgid bits across writes and chown; no_new_privs makes them inert.
//   CAP_SYS_CHROOT        chroot(2) into arbitrary trees (a classic step in escapes combined with other bugs).
//   CAP_AUDIT_WRITE       writing to the host's audit log; inside a user namespace the kernel refuses it anyway and
//                         PAM/sudo treat the refusal as "no audit".
// A process whose image user is not root gets none of them in its effective and permitted sets (the bounding set
// stays), as it needs none to run and no_new_privs prevents regaining them.

/** The capability set of a container process running as root (bounding = effective = permitted). */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  "CAP_CHOWN",
  "CAP_DAC_OVERRIDE",
  "CAP_FOWNER",
  "CAP_SETGID",
  "CAP_SETUID",
  "CAP_KILL",
]);

/** Docker's 14 default capabilities, for tests asserting Berth's set is a strict subset. */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  ...DEFAULT_CAPABILITIES,
  "CAP_FSETID",
  "CAP_SETFCAP",
  "CAP_SETPCAP",
  "CAP_NET_BIND_SERVICE",
  "CAP_SYS_CHROOT",
  "CAP_AUDIT_WRITE",
  "CAP_MKNOD",
  "CAP_NET_RAW",
]);

/** Bit numbers (linux/capability.h) of the capabilities above, for reading /proc/PID/status masks. */
export const CAPABILITY_BITS: Readonly<Record<string, number>> = Object.freeze({
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_SYS_ADMIN: 21,
  CAP_MKNOD: 27,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
});

/** The /proc/PID/status mask (CapEff, CapBnd...) of a capability list. */
export function capabilityMask(caps: readonly string[]): bigint {
  return caps.reduce((m, c) => {
    const bit = CAPABILITY_BITS[c];
    if (bit === undefined) throw new Error(`unknown capability ${c}`);
    return m | (1n << BigInt(bit));
  }, 0n);
}
