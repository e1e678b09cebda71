// Free space of the data dir's filesystem. Work that needs room and is easy to refuse up front (a git push: objects,
// a build, an image) is refused with a clear message while the free space is under BERTH_MIN_FREE_MB, instead of
// failing half-way with ENOSPC from git or buildah. Running apps and reads are never refused.
import fs from "node:fs/promises";

/** Bytes available to this process on the filesystem holding `dir`. */
export async function freeBytes(dir: string): Promise<number> {
  const st = await fs.statfs(dir);
  return st.bavail * st.bsize;
}

/** A sentence for the user when less than `minFree` bytes are free under `dir`, else null. */
export async function lowSpaceProblem(dir: string, minFree: number, what: string): Promise<string | null> {
  const free = await freeBytes(dir);
  if (free >= minFree) return null;
  const mb = (n: number) => `${Math.floor(n / (1024 * 1024))} MB`;
  return `${what} refused: the platform's disk is almost full (${mb(free)} free, ${mb(minFree)} needed); try again once an operator has freed space`;
}
