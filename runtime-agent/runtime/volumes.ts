// Persistent volumes: one ext4 filesystem image per volume in the agent's volume store, loop-mounted on the node
// while instances use it and bind-mounted into each container at its mount path. The same machinery as the
// size-limited writable layer (writable-layer.ts), but the image outlives every container: it is created when the
// first instance that mounts it starts, and removed only by an explicit destroy.
//
// Layout (documented in docs/agent.md "Volumes", so the platform's own backup can copy it):
//   <state>/volumes/<volume id>/meta.json   {id, team, sizeBytes, createdAt}
//   <state>/volumes/<volume id>/disk.img    the ext4 image (sparse; with a journal: it holds data)
//   <state>/volumes/<volume id>/data/       its mount point while mounted (nodev, nosuid)
// The two directories above the mount point are 0711: with user namespaces runc resolves the bind source as the
// container's (unprivileged) root, which needs search permission; nothing there is listable or readable by others.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import type { VolumeUsage } from "../protocol/methods.ts";
import { assertValidVolumeId } from "../protocol/names.ts";
import type { VolumeOps } from "./backend.ts";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import type { KeyedLock } from "./keyed-lock.ts";
import { isMountPoint, type Mounter } from "./mounts.ts";

/** What the agent keeps about one volume. */
export const VolumeMeta = z.object({
  id: z.string(),
  /** Owning team: a volume is only ever mounted into that team's containers. */
  team: z.string(),
  sizeBytes: z.int(),
  createdAt: z.string(),
});
export type VolumeMeta = z.infer<typeof VolumeMeta>;

/** mkfs.ext4 arguments for a volume image: with a journal (the data must survive crashes), no reserved blocks. */
export function volumeMkfsArgs(image: string): string[] {
  return ["-q", "-F", "-m", "0", "-i", "16384", "-E", "lazy_itable_init=1,nodiscard", "--", image];
}

/** Volume images, mounts and metadata under `<stateDir>/volumes`. */
export class VolumeStore {
  constructor(
    private readonly stateDir: string,
    private readonly tools: { mkfsPath: string; mounter: Mounter },
  ) {}

  /** The directory holding every volume. */
  get root(): string {
    return path.join(this.stateDir, "volumes");
  }
  /** Directory of one volume. */
  dir(id: string): string {
    return path.join(this.root, assertValidVolumeId(id));
  }
  /** The volume's filesystem image. */
  image(id: string): string {
    return path.join(this.dir(id), "disk.img");
  }
  /** Where the volume's filesystem is mounted on the node. */
  mountPoint(id: string): string {
    return path.join(this.dir(id), "data");
  }

  /** Ids of every volume on the node. */
  async ids(): Promise<string[]> {
    const names = await fs.readdir(this.root).catch(() => [] as string[]);
    return names.filter((n) => /^vol-[a-z0-9]{8,40}$/.test(n)).sort();
  }

  /** The volume's record, or null when it does not exist (or its record is unreadable). */
  async meta(id: string): Promise<VolumeMeta | null> {
    const text = await fs.readFile(path.join(this.dir(id), "meta.json"), "utf8").catch(() => null);
    if (text === null) return null;
    try {
      const parsed = VolumeMeta.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.id === id ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /**
   * Makes sure the volume exists for `team` and is mounted on the node; returns whether it was created now (its
   * root then belongs to host root, and the caller gives it to the container's user). A volume of another team is
   * refused: the control plane never sends that, and a tenant's data must never be mounted into another's container.
   */
  async ensure(id: string, team: string, sizeBytes: number): Promise<{ created: boolean }> {
    if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 16 * 1024 * 1024)
      throw new RuntimeError("invalid", "a volume must be at least 16 MiB");
    await fs.mkdir(this.root, { recursive: true, mode: 0o711 });
    await fs.chmod(this.root, 0o711);
    let created = false;
    let meta = await this.meta(id);
    if (!meta) {
      const dir = this.dir(id);
      // A directory without a readable record is a create that crashed half-way: start it again from nothing, but
      // never over a mounted filesystem.
      if (await isMountPoint(this.mountPoint(id)))
        throw new RuntimeError("failed", `volume ${id} is mounted but has no record; fix ${dir} by hand`);
      await fs.rm(dir, { recursive: true, force: true });
      await fs.mkdir(dir, { mode: 0o711 });
      await fs.chmod(dir, 0o711);
      const handle = await fs.open(this.image(id), "wx", 0o600);
      try {
        await handle.truncate(sizeBytes);
      } finally {
        await handle.close();
      }
      await run(this.tools.mkfsPath, volumeMkfsArgs(this.image(id)), { timeoutMs: 120_000 });
      meta = { id, team, sizeBytes, createdAt: new Date().toISOString() };
      // The record is written last: a volume with a record is complete.
      await writeJsonAtomic(path.join(dir, "meta.json"), meta);
      created = true;
    }
    if (meta.team !== team) throw new RuntimeError("invalid", `volume ${id} belongs to another team`);
    await this.mount(id);
    if (created) {
      // An empty volume: databases refuse to initialise a data directory holding mkfs's lost+found (fsck makes a new
      // one when it needs it).
      await fs.rm(path.join(this.mountPoint(id), "lost+found"), { recursive: true, force: true });
    }
    return { created };
  }

  /**
   * Gives the root of a mounted volume to the container's user (host ids: with a user namespace, the team's range
   * shifted). Only for a volume created now: later the app owns its files and may have changed them on purpose.
   */
  async giveTo(id: string, uid: number, gid: number): Promise<void> {
    const root = this.mountPoint(id);
    if (!(await isMountPoint(root))) throw new RuntimeError("failed", `volume ${id} is not mounted`);
    await fs.chown(root, uid, gid);
    await fs.chmod(root, 0o755);
  }

  /** Loop-mounts the volume at its mount point unless it is mounted already (after a reboot it is not). */
  async mount(id: string): Promise<void> {
    const target = this.mountPoint(id);
    if (await isMountPoint(target)) return;
    await fs.mkdir(target, { recursive: true, mode: 0o700 });
    // nodev/nosuid: nothing on a tenant's volume is a device or a trusted setuid binary. The journal replays here
    // after a crash or reboot.
    await this.tools.mounter.mount("ext4", this.image(id), target, ["loop", "nodev", "nosuid"]);
  }

  /** Unmounts the volume (the loop device is released with it); "not mounted" is fine. */
  async unmount(id: string): Promise<void> {
    await this.tools.mounter.unmount(this.mountPoint(id));
  }

  /** Unmounts and deletes the volume with its data; returns false when it did not exist. */
  async destroy(id: string): Promise<boolean> {
    const dir = this.dir(id);
    const exists = await fs.stat(dir).then(
      () => true,
      () => false,
    );
    if (!exists) return false;
    await this.unmount(id);
    if (await isMountPoint(this.mountPoint(id))) throw new RuntimeError("failed", `volume ${id} is still mounted`);
    await fs.rm(dir, { recursive: true, force: true });
    return true;
  }

  /** Size limit and bytes used of a volume (used: from statfs of its mounted filesystem, else the image's blocks). */
  async usage(id: string): Promise<{ sizeBytes: number; usedBytes: number; mounted: boolean }> {
    const meta = await this.meta(id);
    const sizeBytes = meta?.sizeBytes ?? 0;
    const mounted = await isMountPoint(this.mountPoint(id));
    if (mounted) {
      const st = await fs.statfs(this.mountPoint(id));
      return { sizeBytes, usedBytes: Math.max(0, (st.blocks - st.bfree) * st.bsize), mounted };
    }
    const st = await fs.stat(this.image(id)).catch(() => null);
    return { sizeBytes, usedBytes: st ? st.blocks * 512 : 0, mounted };
  }
}

/** Writes JSON atomically: temp file (0600), fsync, rename. */
export async function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await fs.open(tmp, "w", 0o600);
  try {
    await handle.writeFile(JSON.stringify(value, null, 2));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fs.rename(tmp, file);
}

/**
 * The node's volumes as the agent serves them: listed with their usage; destroyed only when no instance record of the
 * node (`records`) names the volume, one create/destroy at a time per volume (`locks`).
 */
export function nodeVolumeOps(
  volumes: () => VolumeStore,
  locks: KeyedLock,
  records: () => Promise<{ id: string; volumes?: string[] | undefined }[]>,
): VolumeOps {
  return {
    list: async (): Promise<VolumeUsage[]> => {
      const ids = await volumes().ids();
      return Promise.all(ids.map(async (id) => ({ id, ...(await volumes().usage(id)) })));
    },
    destroy: (id: string): Promise<boolean> =>
      locks.run(id, async () => {
        volumes().dir(id); // validates the id before anything else
        const users = (await records()).filter((m) => m.volumes?.includes(id));
        if (users.length > 0)
          throw new RuntimeError("conflict", `volume ${id} is mounted by ${users.map((m) => m.id).join(", ")}`);
        return volumes().destroy(id);
      }),
  };
}
