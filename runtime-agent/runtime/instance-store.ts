// The agent's on-disk record of each container: one directory per instance holding the OCI bundle, the platform
// files, conmon's files and meta.json. It is what lets delete() clean up after a crash and a restarted agent re-adopt.
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { assertValidId } from "../protocol/names.ts";

/** What the agent persists about one instance (written before each step that creates host state). */
export const InstanceMeta = z.object({
  id: z.string(),
  app: z.string(),
  /** Absent in records written before the network policy existed: such an instance is a group of its own. */
  team: z.string().optional(),
  release: z.string(),
  processType: z.string(),
  image: z.string(),
  createdAt: z.string(),
  /** `preparing` until conmon reported the container created. */
  stage: z.enum(["preparing", "created"]),
  netns: z.string(),
  storageName: z.string(),
  cgroupPath: z.string(),
  rootfs: z.string().optional(),
  /** Set before CNI ADD so a half-done ADD is still torn down. */
  cniAttached: z.boolean().default(false),
  cniResult: z.record(z.string(), z.unknown()).optional(),
  ip: z.string().optional(),
  /** Set before the instance's network policy rules are removed, so no later rebuild (by any process) re-adds them. */
  networkRemoved: z.boolean().optional(),
  port: z.number().int().optional(),
  hostPort: z.number().int().optional(),
});
export type InstanceMeta = z.infer<typeof InstanceMeta>;

/** Paths under the agent's state dir. */
export class InstanceStore {
  constructor(private readonly stateDir: string) {}

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

  /** Creates the shared directories (root-only). */
  async init(): Promise<void> {
    for (const d of [this.instancesDir, this.exitDir, this.socketDir])
      await fs.mkdir(d, { recursive: true, mode: 0o700 });
  }

  /** Directory of instance `id`. */
  dir(id: string): string {
    return path.join(this.instancesDir, assertValidId(id, "instance id"));
  }
  /** A file inside the instance directory. */
  file(
    id: string,
    name: "meta.json" | "hosts" | "resolv.conf" | "container.log" | "conmon.log" | "pid" | "conmon.pid",
  ): string {
    return path.join(this.dir(id), name);
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

  /** Removes the instance directory and its exit file. */
  async remove(id: string): Promise<void> {
    await fs.rm(this.dir(id), { recursive: true, force: true });
    await fs.rm(this.exitFile(id), { force: true });
  }
}
