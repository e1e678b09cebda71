// The user namespace of one instance, created by the agent before the container together with the network namespace
// it owns. Why not let runc create it: runc 1.1 joins an existing network namespace (which CNI must set up before the
// container exists) *before* it creates a new user namespace, so that netns would belong to the host's user namespace
// and container root could neither mount a fresh sysfs nor set the per-netns sysctls the spec carries. Created here,
// the pair is: user namespace U with the team's mapping, network namespace N owned by U. U is persisted as a bind
// mount of its nsfs file (runc joins it by path, the spec also carries the mapping, which runc 1.1 needs to know the
// host ids of container root) and N as a named netns (`ip netns attach`), where CNI configures it as before.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import { RuntimeError } from "./errors.ts";
import { childEnv, run } from "./exec.ts";
import type { IdRange } from "./id-ranges.ts";
import type { Mounter } from "./mounts.ts";
import { netnsPath } from "./netns.ts";

export interface UsernsTools {
  unsharePath: string;
  ipPath: string;
  mounter: Mounter;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The uid_map/gid_map line for a range: container 0..size-1 -> host hostId..hostId+size-1. */
export function idMapLine(range: IdRange): string {
  if (!Number.isSafeInteger(range.hostId) || range.hostId < 1 || !Number.isSafeInteger(range.size) || range.size < 1)
    throw new RuntimeError("invalid", "invalid id range");
  return `0 ${range.hostId} ${range.size}\n`;
}

/**
 * Creates user namespace + owned network namespace for one instance: the user namespace is bind-mounted at
 * `usernsFile`, the network namespace becomes the named netns `netnsName`. Returns the netns path. A netns left
 * under that name by an earlier attempt is replaced (it might belong to another user namespace).
 */
export async function createUsernsAndNetns(
  tools: UsernsTools,
  netnsName: string,
  usernsFile: string,
  range: IdRange,
): Promise<string> {
  const mapLine = idMapLine(range);
  const target = netnsPath(netnsName);
  if (
    await fs.access(target).then(
      () => true,
      () => false,
    )
  ) {
    await run(tools.ipPath, ["netns", "delete", netnsName], { timeoutMs: 15_000 });
  }
  // A holder process in the new namespaces: `unshare` execs `cat`, which waits on its stdin until we close it.
  const holder = spawn(tools.unsharePath, ["--user", "--net", "--", "/bin/cat"], {
    stdio: ["pipe", "ignore", "pipe"],
    env: childEnv(),
  });
  let stderr = "";
  holder.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const exited = new Promise<void>((resolve) => holder.once("close", () => resolve()));
  holder.once("error", () => undefined);
  try {
    const pid = holder.pid;
    if (pid === undefined) throw new RuntimeError("failed", `cannot run ${tools.unsharePath}`);
    const own = await fs.readlink("/proc/self/ns/user");
    const deadline = Date.now() + 10_000;
    for (;;) {
      const ns = await fs.readlink(`/proc/${pid}/ns/user`).catch(() => null);
      if (ns === null) throw new RuntimeError("failed", `unshare exited: ${stderr.trim() || "no output"}`);
      if (ns !== own) break;
      if (Date.now() > deadline) throw new RuntimeError("timeout", "unshare did not create a user namespace");
      await sleep(1);
    }
    // Written by root of the parent namespace: no setgroups restriction applies, and host id 0 is never mapped.
    await fs.writeFile(`/proc/${pid}/uid_map`, mapLine);
    await fs.writeFile(`/proc/${pid}/gid_map`, mapLine);
    await fs.writeFile(usernsFile, "", { mode: 0o444 });
    // Independent of each other (both only need the holder): side by side, one process start less on the start path.
    const [userns, netns] = await Promise.allSettled([
      tools.mounter.bind(`/proc/${pid}/ns/user`, usernsFile),
      run(tools.ipPath, ["netns", "attach", netnsName, String(pid)], { timeoutMs: 15_000 }),
    ]);
    if (userns.status === "rejected") throw userns.reason;
    if (netns.status === "rejected") throw netns.reason;
    return target;
  } finally {
    holder.stdin?.end();
    const killer = setTimeout(() => holder.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  }
}

/** Releases the persisted user namespace (the netns is deleted with `ip netns delete`); a missing one is fine. */
export async function removeUserns(mounter: Mounter, usernsFile: string): Promise<void> {
  await mounter.unmount(usernsFile);
  await fs.rm(usernsFile, { force: true });
}
