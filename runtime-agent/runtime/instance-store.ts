// The agent's on-disk record of each container: one directory per instance holding the OCI bundle, the platform
// files, conmon's files and meta.json. It is what lets delete() clean up after a crash and a restarted agent re-adopt.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { assertValidId } from "../protocol/names.ts";
import { RuntimeError } from "./errors.ts";
import { mountPointsUnder } from "./mounts.ts";

/** What the agent persists about one instance (written before each step that creates host state). */
export const InstanceMeta = z.object({
  id: z.string(),
  /**
   * Owning team (absent in records written before issue 13: for the network policy such an instance is a group of
   * its own).
   */
  team: z.string().optional(),
  app: z.string(),
  release: z.string(),
  processType: z.string(),
  image: z.string(),
  createdAt: z.string(),
  /** `preparing` until conmon reported the container created. */
  stage: z.enum(["preparing", "created"]),
  netns: z.string(),
  storageName: z.string(),
  cgroupPath: z.string(),
  /** The rootfs runc uses: the size-limited overlay (or a bind of the image rootfs) in the run dir. */
  rootfs: z.string().optional(),
  /** buildah's mount of the image (records of agents before the overlay start path: a buildah container each). */
  imageRootfs: z.string().optional(),
  /** containers/storage id of the image whose layers are the rootfs's lower layers (the overlay start path). */
  imageId: z.string().optional(),
  /** Host ids of the instance's user namespace (absent: the node ran it without one). */
  idRange: z.strictObject({ hostId: z.int(), size: z.int() }).optional(),
  /** Set before the persisted user namespace is created, so teardown unmounts it. */
  userns: z.boolean().default(false),
  /** Set before the size-limited writable layer is created. */
  writableLayer: z.boolean().default(false),
  diskBytes: z.int().optional(),
  /** Set before CNI ADD so a half-done ADD is still torn down. */
  cniAttached: z.boolean().default(false),
  cniResult: z.record(z.string(), z.unknown()).optional(),
  ip: z.string().optional(),
  /** Set before the instance's network policy rules are removed, so no later rebuild (by any process) re-adds them. */
  networkRemoved: z.boolean().optional(),
  port: z.number().int().optional(),
  /** Ids of the persistent volumes bind-mounted into it (set before they are mounted): destroy refuses them. */
  volumes: z.array(z.string()).optional(),
  hostPort: z.number().int().optional(),
});
export type InstanceMeta = z.infer<typeof InstanceMeta>;

/** Paths under the agent's state dir (root only) and its run dir (what the container itself reaches). */
export class InstanceStore {
  private readonly runDir: string;
  private readonly peeked = new Map<string, { key: string; meta: InstanceMeta }>();

  constructor(
    private readonly stateDir: string,
    runDir?: string,
  ) {
    this.runDir = runDir ?? path.join(stateDir, "containers");
  }

  /** Directory holding every instance directory. */
  get instancesDir(): string {
    return path.join(this.stateDir, "instances");
  }
  /** conmon's --exit-dir, shared by all instances. */
  get exitDir(): string {
    return path.join(this.stateDir, "exits");
  }
  /** conmon's --socket-dir-path. */
  get socketDir(): string {
    return path.join(this.stateDir, "sockets");
  }

  /** Directory of the per-instance container directories (0711: searchable, not listable; see OciBackendConfig.runDir). */
  get containersDir(): string {
    return this.runDir;
  }

  /** Creates the shared directories (root-only, but for the run dir, which is searchable). */
  async init(): Promise<void> {
    for (const d of [this.instancesDir, this.exitDir, this.socketDir])
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
    await fs.mkdir(this.runDir, { recursive: true, mode: 0o711 });
    await fs.chmod(this.runDir, 0o711);
  }

  /** Directory of instance `id`. */
  dir(id: string): string {
    return path.join(this.instancesDir, assertValidId(id, "instance id"));
  }
  /** A file inside the instance directory. */
  file(
    id: string,
    name: "meta.json" | "container.log" | "conmon.log" | "pid" | "conmon.pid" | "userns" | "disk.img",
  ): string {
    return path.join(this.dir(id), name);
  }
  /** Mount point of the instance's writable-layer filesystem (holds the overlay's upper and work dirs). */
  layerDir(id: string): string {
    return path.join(this.dir(id), "layer");
  }
  /** The instance's directory in the run dir: rootfs mount point and the platform files. */
  containerDir(id: string): string {
    return path.join(this.runDir, assertValidId(id, "instance id"));
  }
  /** A platform file the container bind-mounts read-only. */
  platformFile(id: string, name: "hosts" | "resolv.conf"): string {
    return path.join(this.containerDir(id), name);
  }
  /** Mount point of the container's rootfs. */
  rootfsDir(id: string): string {
    return path.join(this.containerDir(id), "rootfs");
  }
  /** The OCI bundle directory (config.json). */
  bundle(id: string): string {
    return path.join(this.dir(id), "bundle");
  }
  /** conmon's --persist-dir (`exit`, `oom`). */
  persistDir(id: string): string {
    return path.join(this.dir(id), "persist");
  }
  /** File conmon writes the exit code into. */
  exitFile(id: string): string {
    return path.join(this.exitDir, assertValidId(id, "instance id"));
  }

  /** Creates the instance directory; fails with EEXIST if it is already there. */
  async createDir(id: string): Promise<void> {
    await fs.mkdir(this.dir(id), { mode: 0o700 });
    await fs.mkdir(this.bundle(id), { mode: 0o700 });
    await fs.mkdir(this.persistDir(id), { mode: 0o700 });
    // Root only at first; with a user namespace the backend opens it to the container's root group (see
    // openContainerDir) so user-namespaced runc can reach the rootfs and platform files, and nobody else can.
    const leftover = await mountPointsUnder(this.containerDir(id));
    if (leftover.length > 0) throw new RuntimeError("conflict", `${id}: still mounted: ${leftover.join(", ")}`);
    await fs.rm(this.containerDir(id), { recursive: true, force: true });
    await fs.mkdir(this.containerDir(id), { mode: 0o700 });
  }

  /**
   * Lets the host group `gid` (container root's group in its user namespace) traverse the instance's run-dir entry:
   * root:gid, mode 0710. Other host users can neither list nor enter it.
   */
  async openContainerDir(id: string, gid: number): Promise<void> {
    await fs.chown(this.containerDir(id), 0, gid);
    await fs.chmod(this.containerDir(id), 0o710);
  }

  /** Writes meta.json atomically (write + rename). */
  async writeMeta(meta: InstanceMeta): Promise<void> {
    const file = this.file(meta.id, "meta.json");
    const tmp = `${file}.tmp`;
    await fs.writeFile(tmp, JSON.stringify(meta, null, 2), { mode: 0o600 });
    await fs.rename(tmp, file);
  }

  /** Reads meta.json, or null when the instance is unknown or its record unreadable. */
  async readMeta(id: string): Promise<InstanceMeta | null> {
    const text = await fs.readFile(this.file(id, "meta.json"), "utf8").catch(() => null);
    if (text === null) return null;
    try {
      const parsed = InstanceMeta.safeParse(JSON.parse(text));
      return parsed.success && parsed.data.id === id ? parsed.data : null;
    } catch {
      return null;
    }
  }

  /**
   * meta.json for reading only (never mutate the result): the parsed record is kept while the file's inode, size and
   * mtime stay the same (writeMeta replaces it by rename), so the agent's per-tick listing does not parse every
   * record again. Writers use readMeta.
   */
  async peekMeta(id: string): Promise<Readonly<InstanceMeta> | null> {
    const file = this.file(id, "meta.json");
    const st = await fs.stat(file).catch(() => null);
    if (!st) {
      this.peeked.delete(id);
      return null;
    }
    const key = `${st.ino}:${st.size}:${st.mtimeMs}`;
    const cached = this.peeked.get(id);
    if (cached?.key === key) return cached.meta;
    const meta = await this.readMeta(id);
    if (this.peeked.size > 10_000) this.peeked.clear();
    if (meta) this.peeked.set(id, { key, meta });
    return meta;
  }

  /** Ids with an instance directory. */
  async ids(): Promise<string[]> {
    const names = await fs.readdir(this.instancesDir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(n)).sort();
  }

  /** Exit code conmon recorded, or undefined while the container has not exited. */
  async exitCode(id: string): Promise<number | undefined> {
    const text = await fs.readFile(this.exitFile(id), "utf8").catch(() => null);
    const n = Number(text?.trim());
    return text !== null && text.trim() !== "" && Number.isInteger(n) ? n : undefined;
  }

  /** True when conmon saw the kernel OOM killer hit the container. */
  async oomKilled(id: string): Promise<boolean> {
    return fs.access(path.join(this.persistDir(id), "oom")).then(
      () => true,
      () => false,
    );
  }

  /** Names of the per-instance directories in the run dir. */
  async containerDirIds(): Promise<string[]> {
    const names = await fs.readdir(this.runDir).catch(() => [] as string[]);
    return names.filter((n) => /^[a-z0-9][a-z0-9-]{0,62}$/.test(n)).sort();
  }

  /**
   * Removes the instance's run-dir entry, instance directory and exit file. Refuses while anything is still mounted
   * below them: a recursive delete would otherwise walk into the container's filesystem.
   */
  async remove(id: string): Promise<void> {
    const mounted = [...(await mountPointsUnder(this.dir(id))), ...(await mountPointsUnder(this.containerDir(id)))];
    if (mounted.length > 0)
      throw new RuntimeError("failed", `not removing ${id}: still mounted: ${mounted.join(", ")}`);
    await fs.rm(this.containerDir(id), { recursive: true, force: true });
    await fs.rm(this.dir(id), { recursive: true, force: true });
    await fs.rm(this.exitFile(id), { force: true });
  }
}
