// Reads small files (passwd, group) from an image rootfs without following symlinks: an image could otherwise
// point /etc/passwd at a host file such as /etc/shadow.
import { constants } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";

/** Returns the text of `rootfs/<rel>` or "" when it is missing, a symlink at any level, or larger than 1 MiB. */
export async function readRootfsFile(rootfs: string, rel: string): Promise<string> {
  const parts = rel.split("/").filter(Boolean);
  if (parts.some((p) => p === ".." || p === ".")) throw new Error(`invalid rootfs path ${rel}`);
  let current = rootfs;
  for (const part of parts.slice(0, -1)) {
    current = path.join(current, part);
    const st = await fs.lstat(current).catch(() => null);
    if (!st || !st.isDirectory()) return "";
  }
  const file = path.join(rootfs, ...parts);
  const handle = await fs
    .open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK)
    .catch(() => null);
  if (!handle) return "";
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > 1024 * 1024) return "";
    return await handle.readFile("utf8");
  } finally {
    await handle.close();
  }
}
