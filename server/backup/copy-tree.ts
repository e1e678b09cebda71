// Recursive copy for backups of directories that change while they are copied (git repositories, registry storage).
import fs from "node:fs/promises";
import path from "node:path";

/** Decides, by the path relative to the copied root (POSIX separators), whether an entry is left out. */
export type SkipEntry = (relPath: string, isDir: boolean) => boolean;

const vanished = (err: unknown) => (err as NodeJS.ErrnoException).code === "ENOENT";

/**
 * Copies `src` into `dst` (created 0700), files keep their mode. An entry that disappears between listing and copying
 * is skipped rather than failing the backup: the writers of these trees only remove what something else has replaced
 * (a packed object, a pruned manifest), and the callers check the copy's consistency afterwards.
 */
export async function copyTree(src: string, dst: string, skip: SkipEntry = () => false, rel = ""): Promise<void> {
  let entries: import("node:fs").Dirent[];
  try {
    entries = await fs.readdir(src, { withFileTypes: true });
  } catch (err) {
    if (vanished(err)) return;
    throw err;
  }
  await fs.mkdir(dst, { recursive: true, mode: 0o700 });
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    const from = path.join(src, e.name);
    const to = path.join(dst, e.name);
    if (e.isDirectory()) {
      if (!skip(r, true)) await copyTree(from, to, skip, r);
    } else if (e.isFile()) {
      if (!skip(r, false)) await copyFileIfPresent(from, to);
    }
    // Symlinks, sockets and fifos are never state of these trees (the registry and git write plain files).
  }
}

/** Copies one file keeping its mode; false when it vanished first. */
export async function copyFileIfPresent(from: string, to: string): Promise<boolean> {
  try {
    await fs.mkdir(path.dirname(to), { recursive: true, mode: 0o700 });
    await fs.copyFile(from, to);
    const st = await fs.stat(from).catch(() => null);
    if (st) await fs.chmod(to, st.mode & 0o777);
    return true;
  } catch (err) {
    if (vanished(err)) return false;
    throw err;
  }
}
