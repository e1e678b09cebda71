// What the backend reads back about a container: its info from the record + runc + conmon's files, and the waits
// around start and stop.
import fs from "node:fs/promises";
import type { ContainerInfo } from "./backend.ts";
import { readSmallFile } from "./cgroups.ts";
import type { InstanceStore } from "./instance-store.ts";
import type { Runc, RuncState } from "./runc.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * `runc start` returns before runc init has exec'd the user process. A signal in that window hits runc init (a Go
 * program), which dies with status 2 instead of running the process's handler, so wait until the exec happened.
 */
export async function waitForExec(pid: number): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (Date.now() < deadline) {
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).split("\0");
    if (!(argv[1] === "init" && (argv[0] ?? "").endsWith("runc"))) return;
    await sleep(5);
  }
}

/** Waits for conmon's exit file; every 0.5 s also asks runc, in case conmon itself is gone (killed by hand). */
export async function waitForExit(store: InstanceStore, runc: Runc, id: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 1; ; i++) {
    if ((await store.exitCode(id)) !== undefined) return true;
    if (i % 10 === 0 && ((await runc.state(id))?.status ?? "stopped") === "stopped") return true;
    if (Date.now() >= deadline) return false;
    await sleep(Math.min(50, Math.max(1, deadline - Date.now())));
  }
}

/**
 * The container's info, or null without a record. `known`: runc's state of it read from runc's files (what list()
 * passes: no runc process per instance); undefined = ask runc.
 */
export async function containerInfo(
  store: InstanceStore,
  runc: Runc,
  id: string,
  known?: RuncState,
): Promise<ContainerInfo | null> {
  const meta = await store.peekMeta(id);
  if (!meta) return null;
  const state = meta.stage === "created" ? (known ?? (await runc.state(id))) : null;
  const exitCode = await store.exitCode(id);
  const status =
    !state || state.status === "stopped"
      ? "stopped"
      : state.status === "running" || state.status === "paused"
        ? "running"
        : "created";
  return {
    id,
    app: meta.app,
    release: meta.release,
    processType: meta.processType,
    status,
    ...(status === "running" && state ? { pid: state.pid } : {}),
    ...(meta.ip ? { ip: meta.ip } : {}),
    ...(meta.hostPort !== undefined ? { hostPort: meta.hostPort } : {}),
    ...(status === "stopped" && exitCode !== undefined ? { exitCode } : {}),
    ...((await store.oomKilled(id)) ? { oomKilled: true } : {}),
    logPath: store.file(id, "container.log"),
    createdAt: meta.createdAt,
  };
}

/**
 * Host pid of the container's init while it runs, without asking runc: conmon's pid file, trusted only while that
 * process is in the instance's cgroup (after an exit the pid may belong to anything else).
 */
export async function livePid(store: InstanceStore, id: string, cgroupPath: string): Promise<number | null> {
  // Blocking reads of small files: this runs per instance in every stats pass (see readSmallFile).
  const pid = Number((readSmallFile(store.file(id, "pid")) ?? "").trim());
  if (!Number.isInteger(pid) || pid <= 1) return null;
  const cgroups = readSmallFile(`/proc/${pid}/cgroup`) ?? "";
  return cgroups.split("\n").some((l) => l.endsWith(`:${cgroupPath}`)) ? pid : null;
}
