// The container's rootfs: an overlay whose lower layers are the image's unpacked layers (image-store.ts, idmapped for
// the team under a user namespace: idmapped-layers.ts) and whose upper and work dirs are the instance's writable layer.
// With a size limit that layer is a sparse ext4 image of `diskBytes` (no journal: the layer dies with the container,
// so crash consistency buys nothing) loop-mounted per instance; without one, a plain directory in the agent's state
// dir. Writes past the size fail with ENOSPC inside
// the container only; the host's filesystem and other instances are not touched. Why not project quotas: they need
// the storage on XFS (or ext4 with the quota feature) mounted with prjquota, which a plain node does not have; why not
// tmpfs: it would charge the layer to memory.
import fs from "node:fs/promises";
import { RuntimeError } from "./errors.ts";
import { type LayerImagePool, mkfsFormatter } from "./layer-image-pool.ts";
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
  /** Size limit; null = no limit (upper and work dirs in a plain directory, no filesystem image). */
  sizeBytes: number | null;
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

/** overlay's mount data is one page: the lowerdir list must leave room for the other options. */
const MAX_LOWERDIR_CHARS = 3_500;

/**
 * Creates the writable layer: image, filesystem and loop mount when size-limited, then its upper and work dirs, the
 * upper one with `rootMode` (the image root's mode) and owned by container root. Undo with removeWritableLayer.
 */
export async function createWritableLayer(
  tools: { mkfsPath: string; mounter: Mounter; pool?: LayerImagePool; onStep?: (step: string, ms: number) => void },
  paths: WritableLayerPaths,
  opts: WritableLayerOptions & { rootMode: number },
): Promise<void> {
  assertMountOptionPath(paths.layerDir);
  await fs.mkdir(paths.layerDir, { recursive: true, mode: 0o700 });
  if (opts.sizeBytes !== null) {
    if (!Number.isSafeInteger(opts.sizeBytes) || opts.sizeBytes < 16 * 1024 * 1024)
      throw new RuntimeError("invalid", "disk limit must be at least 16 MiB");
    let t = performance.now();
    // A pooled image is formatted exactly as here (layer-image-pool.ts); without one ready, format it now.
    if (!(await tools.pool?.take(opts.sizeBytes, paths.image)))
      await mkfsFormatter(tools.mkfsPath, mkfsArgs)(paths.image, opts.sizeBytes);
    tools.onStep?.("layer image", performance.now() - t);
    t = performance.now();
    // noinit_itable: see mkfsArgs; nodev/nosuid: nothing in a writable layer is a device or a trusted setuid binary.
    await tools.mounter.mount("ext4", paths.image, paths.layerDir, ["loop", "nodev", "nosuid", "noinit_itable"]);
    tools.onStep?.("layer loop mount", performance.now() - t);
  }
  const upper = `${paths.layerDir}/upper`;
  await fs.mkdir(upper, { mode: 0o755 });
  await fs.mkdir(`${paths.layerDir}/work`, { mode: 0o700 });
  // The overlay's top directory is the upper dir: give it the image root's mode, owned by container root (in a user
  // namespace an unmapped owner would make `/` read-only even for container root).
  await fs.chown(upper, opts.rootUid, opts.rootGid);
  await fs.chmod(upper, opts.rootMode & 0o1777);
}

/** overlay's lowerdir list as one mount option. Pure; throws when it cannot be one (bad path, too long). */
export function lowerdirOption(lowers: readonly string[]): string {
  lowers.forEach(assertMountOptionPath);
  const lowerdir = lowers.join(":");
  if (lowers.length === 0 || lowerdir.length > MAX_LOWERDIR_CHARS)
    throw new RuntimeError("invalid", `image has ${lowers.length} layers: too many (or none) for one overlay mount`);
  return `lowerdir=${lowerdir}`;
}

/** Mounts the rootfs overlay: `lowers` (the image's layer directories, topmost first) under the writable layer. */
export async function mountRootfs(
  mounter: Mounter,
  paths: WritableLayerPaths,
  lowers: readonly string[],
): Promise<void> {
  const options = [
    lowerdirOption(lowers),
    `upperdir=${assertMountOptionPath(`${paths.layerDir}/upper`)}`,
    `workdir=${assertMountOptionPath(`${paths.layerDir}/work`)}`,
  ];
  await fs.mkdir(paths.rootfs, { recursive: true, mode: 0o755 });
  await mounter.mount("overlay", "overlay", assertMountOptionPath(paths.rootfs), options);
}

/**
 * Unmounts the overlay and the loop-mounted image (the loop device is released with it); missing parts are fine. The
 * layer directory itself goes with the instance's state directory.
 */
export async function removeWritableLayer(mounter: Mounter, paths: WritableLayerPaths): Promise<void> {
  await mounter.unmount(paths.rootfs);
  await mounter.unmount(paths.layerDir);
  await fs.rm(paths.image, { force: true });
}
