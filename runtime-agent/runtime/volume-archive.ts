// Volume backups on the node (volume.archive / volume.extract, docs/volumes.md "Backups"): GNU tar, run by the agent
// on the host with argv arrays over the volume's mounted filesystem, its stream travelling as an exec session.
//
// Consistency: the containers that mount the volume are frozen (runc pause: the cgroup freezer) while tar reads, so
// the archive is one point in time for the app, like a crash-consistent snapshot, and the app keeps its processes
// and connections; a restore freezes them too and kills them before they thaw, so no process that held the old
// files writes again; the control plane then replaces them.
//
// Tenant safety (tar runs as host root): the volume is its own ext4 filesystem, so a hard link inside it can only
// name a file of the same volume; archiving never follows symlinks (no --dereference) and stays on that filesystem
// (--one-file-system). Extracting goes into a fresh, empty directory on the volume; GNU tar strips leading `/`,
// skips members whose names contain `..`, and extracts a symlink whose target is absolute or climbs with `..` as a
// placeholder file first (made a link only at the end), so no later member can be written through it; nothing is
// ever resolved outside that directory. Only after tar succeeded does the new tree replace the old one (renames
// within the volume); a failed extract changes nothing.
import { type ChildProcess, spawn } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { childEnv } from "./exec.ts";
import type { ExecOutcome, ExecProcess } from "./exec-process.ts";
import { RuntimeError } from "./errors.ts";
import type { KeyedLock } from "./keyed-lock.ts";
import { isMountPoint } from "./mounts.ts";
import type { VolumeStore } from "./volumes.ts";

/** Name prefix of the staging directory of an extract at the volume's root (never archived, removed when left). */
export const RESTORE_STAGING_PREFIX = ".berth-restore-";

/** What freezes, thaws and kills the containers that mount a volume (the OCI backend's runc). */
export interface VolumeUsers {
  /** Running containers of the node that mount the volume. */
  running(volumeId: string): Promise<string[]>;
  freeze(ids: string[]): Promise<void>;
  thaw(ids: string[]): Promise<void>;
  kill(ids: string[]): Promise<void>;
}

/** tar arguments that write an archive of `dir` to stdout: numeric owners kept, symlinks as links, one filesystem. */
export function archiveArgs(dir: string): string[] {
  return [
    "--create",
    "--file=-",
    `--directory=${dir}`,
    "--numeric-owner",
    "--one-file-system",
    "--sparse",
    `--exclude=./${RESTORE_STAGING_PREFIX}*`,
    ".",
  ];
}

/**
 * tar arguments that extract stdin into the (fresh, empty) `dir`, owners and modes as archived. Not
 * --no-overwrite-dir: the only directory that exists is `dir` itself, and it must take the archived root's owner.
 */
export function extractArgs(dir: string): string[] {
  return ["--extract", "--file=-", `--directory=${dir}`, "--numeric-owner", "--same-owner", "--preserve-permissions"];
}

function exited(child: ChildProcess): Promise<number> {
  return new Promise((resolve) => {
    child.once("error", () => resolve(255));
    child.once("close", (code, signal) => resolve(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 255)));
  });
}

/** A host process as an exec session's process; `after` runs once it exited and may turn the outcome into an error. */
function hostProcess(file: string, args: string[], after: (exitCode: number) => Promise<ExecOutcome>): ExecProcess {
  const child = spawn(file, args, { env: childEnv(), stdio: ["pipe", "pipe", "pipe"] });
  child.stdin.on("error", () => undefined);
  const done = exited(child).then(after, (err: unknown) => ({ error: String(err) }));
  return {
    stdout: child.stdout,
    stderr: child.stderr,
    stdin: child.stdin,
    resize: () => undefined,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
    done,
  };
}

/** Starts `start` under the volume's lock and resolves with its process; the lock is held until the process ends. */
function underLock(locks: KeyedLock, id: string, start: () => Promise<ExecProcess>): Promise<ExecProcess> {
  return new Promise<ExecProcess>((resolve, reject) => {
    void locks
      .run(id, async () => {
        let proc: ExecProcess;
        try {
          proc = await start();
        } catch (err) {
          reject(err instanceof Error ? err : new Error(String(err)));
          return;
        }
        resolve(proc);
        await proc.done;
      })
      .catch(reject);
  });
}

async function checkedMount(store: VolumeStore, id: string, team: string): Promise<string> {
  const meta = await store.meta(id);
  if (!meta) throw new RuntimeError("not_found", `volume ${id} is not on this node`);
  if (meta.team !== team) throw new RuntimeError("invalid", `volume ${id} belongs to another team`);
  await store.mount(id);
  const root = store.mountPoint(id);
  if (!(await isMountPoint(root))) throw new RuntimeError("failed", `volume ${id} is not mounted`);
  return root;
}

/** Streams an archive of the volume on stdout, its running containers frozen until tar is done. */
export function archiveVolume(
  deps: { store: VolumeStore; locks: KeyedLock; users: VolumeUsers; tarPath: string },
  id: string,
  team: string,
): Promise<ExecProcess> {
  return underLock(deps.locks, id, async () => {
    const root = await checkedMount(deps.store, id, team);
    const frozen = await deps.users.running(id);
    await deps.users.freeze(frozen);
    try {
      return hostProcess(deps.tarPath, archiveArgs(root), async (exitCode) => {
        await deps.users.thaw(frozen).catch(() => undefined);
        return { exitCode };
      });
    } catch (err) {
      await deps.users.thaw(frozen).catch(() => undefined);
      throw err;
    }
  });
}

/** Moves the extracted tree from `staging` to the volume's root, replacing what was there. */
async function swapIn(root: string, staging: string): Promise<void> {
  const name = path.basename(staging);
  for (const entry of await fs.readdir(root)) {
    if (entry !== name) await fs.rm(path.join(root, entry), { recursive: true, force: true });
  }
  for (const entry of await fs.readdir(staging)) await fs.rename(path.join(staging, entry), path.join(root, entry));
  // The archive's `.` member gave the staging directory the volume root's owner and mode.
  const st = await fs.lstat(staging);
  await fs.chown(root, st.uid, st.gid);
  await fs.chmod(root, st.mode & 0o7777);
  await fs.rmdir(staging);
}

/**
 * Extracts stdin into a fresh directory of the volume and, when tar succeeded, replaces the volume's files with it.
 * The running containers that mount the volume are frozen meanwhile and killed before they thaw.
 */
export function extractVolume(
  deps: { store: VolumeStore; locks: KeyedLock; users: VolumeUsers; tarPath: string },
  id: string,
  team: string,
): Promise<ExecProcess> {
  return underLock(deps.locks, id, async () => {
    const root = await checkedMount(deps.store, id, team);
    for (const entry of await fs.readdir(root)) {
      if (entry.startsWith(RESTORE_STAGING_PREFIX))
        await fs.rm(path.join(root, entry), { recursive: true, force: true });
    }
    const staging = path.join(root, `${RESTORE_STAGING_PREFIX}${crypto.randomBytes(6).toString("hex")}`);
    await fs.mkdir(staging, { mode: 0o700 });
    const frozen = await deps.users.running(id);
    await deps.users.freeze(frozen);
    const release = async (kill: boolean) => {
      if (kill) await deps.users.kill(frozen).catch(() => undefined);
      await deps.users.thaw(frozen).catch(() => undefined);
    };
    try {
      return hostProcess(deps.tarPath, extractArgs(staging), async (exitCode): Promise<ExecOutcome> => {
        // A failed extract left the old files alone: the containers just thaw.
        if (exitCode !== 0) {
          await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
          await release(false);
          return { exitCode };
        }
        try {
          await swapIn(root, staging);
          return { exitCode: 0 };
        } catch (err) {
          await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
          return { error: `replacing the volume's files failed: ${err instanceof Error ? err.message : String(err)}` };
        } finally {
          await release(true);
        }
      });
    } catch (err) {
      await fs.rm(staging, { recursive: true, force: true }).catch(() => undefined);
      await release(false);
      throw err;
    }
  });
}
