// The agent drives runc, CNI and cgroups, which need root: refuse to start otherwise, with one clear line.

/** The one-line message printed when the agent is not root. */
export const NEEDS_ROOT =
  "berth-agent: needs root (it runs containers with runc, CNI and cgroups); run it as root, e.g. `sudo -E node --import tsx runtime-agent/main.ts --control-plane=URL`";

/** True when the process runs as uid 0. */
export function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}
