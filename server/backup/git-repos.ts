// The git part of a backup: every app repository under <dataDir>/git, copied while pushes may run. Git writes
// objects before it moves a ref to them, so copying the refs first and the objects second gives a copy in which every
// ref resolves. `git gc` could still swap packs under the copy; a connectivity check catches that and the repository
// is copied again.
import fs from "node:fs/promises";
import path from "node:path";
import { runTool } from "../process/run.ts";
import { copyFileIfPresent, copyTree } from "./copy-tree.ts";

const REPO = /^[a-z0-9][a-z0-9-]*\.git$/;
const ATTEMPTS = 3;

/** Not state: lock files, push quarantines (objects of a push still being checked), temporary packs. */
function transient(rel: string): boolean {
  const base = rel.split("/").at(-1) ?? "";
  return base.endsWith(".lock") || /^(incoming-|tmp_objdir)/.test(base) || /^tmp_(pack|idx)_/.test(base);
}

/** Copies one repository: refs first, then objects, then the rest. */
async function copyRepo(src: string, dst: string): Promise<void> {
  await fs.rm(dst, { recursive: true, force: true });
  for (const f of ["HEAD", "config", "packed-refs"]) await copyFileIfPresent(path.join(src, f), path.join(dst, f));
  await copyTree(path.join(src, "refs"), path.join(dst, "refs"), transient);
  await copyTree(path.join(src, "objects"), path.join(dst, "objects"), transient);
  await copyTree(
    src,
    dst,
    (rel) => transient(rel) || ["HEAD", "config", "packed-refs", "refs", "objects"].includes(rel),
  );
}

/** Whether every ref of the copy reaches all its objects. */
async function connected(repo: string): Promise<boolean> {
  try {
    // No time limit (as before): a large repository takes as long as it takes, and a backup is not interactive.
    await runTool("git", ["--git-dir", repo, "fsck", "--connectivity-only", "--no-dangling", "--no-progress"], {
      timeoutMs: 0,
      maxOutputBytes: 16 * 1024 * 1024,
    });
    return true;
  } catch {
    return false;
  }
}

/** Copies every app repository of `srcRoot` into `dstRoot`; resolves to the repository names copied. */
export async function copyGitRepos(srcRoot: string, dstRoot: string): Promise<string[]> {
  const names = (await fs.readdir(srcRoot).catch(() => [] as string[])).filter((n) => REPO.test(n)).sort();
  const copied: string[] = [];
  for (const name of names) {
    const src = path.join(srcRoot, name);
    const dst = path.join(dstRoot, name);
    let ok = false;
    for (let i = 0; i < ATTEMPTS && !ok; i++) {
      // Deleted (app destroyed) since the listing: nothing to keep.
      if (
        !(await fs.stat(path.join(src, "HEAD")).then(
          () => true,
          () => false,
        ))
      )
        break;
      await copyRepo(src, dst);
      ok = await connected(dst);
    }
    if (ok) copied.push(name);
    else if (
      await fs.stat(path.join(src, "HEAD")).then(
        () => true,
        () => false,
      )
    ) {
      throw new Error(`git repository ${name} changed under every copy attempt (git gc?); run the backup again`);
    } else await fs.rm(dst, { recursive: true, force: true });
  }
  return copied;
}
