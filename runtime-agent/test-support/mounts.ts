// Lazy-unmounts every mount under a test's temp dir (overlay rootfs, buildah run dirs), deepest first, so the dir can
// be removed even after a test failed half way.
import fs from "node:fs/promises";
import { run } from "../runtime/exec.ts";

/** Unmounts (lazily) every mount point below `dir`; errors of single mounts are ignored. */
export async function unmountUnder(dir: string): Promise<void> {
  const mountinfo = await fs.readFile("/proc/self/mountinfo", "utf8");
  const mine = mountinfo
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith(dir));
  for (const p of mine.reverse()) await run("/usr/bin/umount", ["-l", p]).catch(() => undefined);
}
