// The container's writable layer with a size limit: a sparse ext4 image of `diskBytes` (no journal: the layer dies
// with the container, so crash consistency buys nothing) loop-mounted per instance, holding the upper and work dirs of
// an overlay whose lower layer is the image's rootfs (buildah's mount). Writes past the size fail with ENOSPC inside
// the container only; the host's filesystem and other instances are not touched. Why not project quotas: they need
// the storage on XFS (or ext4 with the quota feature) mounted with prjquota, which a plain node does not have; why not
// tmpfs: it would charge the layer to memory.
import fs from "node:fs/promises";
import { RuntimeError } from "./errors.ts";
import { run } from "./exec.ts";
import { assertMountOptionPath, type Mounter } from "./mounts.ts";

export interface WritableLayerPaths {
  /** The sparse filesystem image (under the instance's state directory). */
  image: string;
  /** Where the image is mounted; holds `upper/` and `work/`. */
  layerDir: string;
  /** Mount point of the overlay the container uses as its root. */
  rootfs: string;
}

export interface WritableLayerOptions {
  sizeBytes: number;
  /** Host ids of container root: the owner of the rootfs's top directory. */
  rootUid: number;
  rootGid: number;
}

/** mkfs.ext4 arguments for a disposable layer image. Pure. */
export function mkfsArgs(image: string): string[] {
  return [
    "-q",
    "-F",
    // No journal (disposable), no reserved blocks (the whole size is the app's), one inode per 8 KiB (small files).
    "-O",
    "^has_journal",
    "-m",
    "0",
    "-i",
    "8192",
    // A fresh sparse file already reads as zeros: skip inode table zeroing and discards.
    "-E",
    "lazy_itable_init=1,nodiscard",
    "--",
    image,
  ];
}

/** Creates image, filesystem, loop mount and overlay; `lower` is the image rootfs. Undo with removeWritableLayer. */
export async function createWritableLayer(
  tools: { mkfsPath: string; mounter: Mounter },
  paths: WritableLayerPaths,
  lower: string,
  opts: WritableLayerOptions,
): Promise<void> {
  const options = [lower, paths.layerDir, paths.rootfs].map(assertMountOptionPath);
  if (!Number.isSafeInteger(opts.sizeBytes) || opts.sizeBytes < 16 * 1024 * 1024)
    throw new RuntimeError("invalid", "disk limit must be at least 16 MiB");
  const handle = await fs.open(paths.image, "wx", 0o600);
  try {
    await handle.truncate(opts.sizeBytes);
  } finally {
    await handle.close();
  }
  await run(tools.mkfsPath, mkfsArgs(paths.image), { timeoutMs: 60_000 });
  await fs.mkdir(paths.layerDir, { recursive: true, mode: 0o700 });
  // noinit_itable: see mkfsArgs; nodev/nosuid: nothing in a writable layer is a device or a trusted setuid binary.
  await tools.mounter.mount("ext4", paths.image, paths.layerDir, ["loop", "nodev", "nosuid", "noinit_itable"]);
  const upper = `${paths.layerDir}/upper`;
  const work = `${paths.layerDir}/work`;
  await fs.mkdir(upper, { mode: 0o755 });
  await fs.mkdir(work, { mode: 0o700 });
  // The overlay's top directory is the upper dir: give it the lower root's mode, owned by container root (in a user
  // namespace an unmapped owner would make `/` read-only even for container root).
  const lowerRoot = await fs.stat(lower);
  await fs.chown(upper, opts.rootUid, opts.rootGid);
  await fs.chmod(upper, lowerRoot.mode & 0o1777);
  await fs.mkdir(paths.rootfs, { recursive: true, mode: 0o755 });
  await tools.mounter.mount("overlay", "overlay", paths.rootfs, [
    `lowerdir=${options[0]}`,
    `upperdir=${assertMountOptionPath(upper)}`,
    `workdir=${assertMountOptionPath(work)}`,
  ]);
}

/** Unmounts the overlay and the loop-mounted image (the loop device is released with it); missing parts are fine. */
export async function removeWritableLayer(mounter: Mounter, paths: WritableLayerPaths): Promise<void> {
  await mounter.unmount(paths.rootfs);
  await mounter.unmount(paths.layerDir);
  await fs.rm(paths.image, { force: true });
}
