// Exports a pushed commit into a build directory and checks it cannot reach outside itself through symlinks.
import { spawn } from "node:child_process";
import fs from "node:fs/promises";
import path from "node:path";
import type { ObjectEnv } from "../git/endpoint.ts";

/** Writes the tree of `rev` from `repoDir` into `dest` with `git archive | tar -x` (no shell). */
export async function exportCommit(repoDir: string, rev: string, dest: string, objectEnv: ObjectEnv): Promise<void> {
  if (!/^[0-9a-f]{40}$/.test(rev)) throw new Error("invalid revision");
  await fs.mkdir(dest, { recursive: true });
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", GIT_DIR: repoDir, ...objectEnv };
  // Not runTool: git's output is streamed straight into tar (the tree can be larger than any buffer we would keep).
  await new Promise<void>((resolve, reject) => {
    const git = spawn("git", ["archive", "--format=tar", rev], {
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tar = spawn("tar", ["-x", "--no-same-owner", "-C", dest], { stdio: ["pipe", "ignore", "pipe"] });
    let err = "";
    git.stderr.on("data", (d: Buffer) => (err += d.toString()));
    tar.stderr.on("data", (d: Buffer) => (err += d.toString()));
    git.stdout.pipe(tar.stdin);
    let pending = 2;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${name} failed: ${err.trim().slice(0, 500)}`));
      else if (--pending === 0) resolve();
    };
    git.on("close", done("git archive"));
    tar.on("close", done("tar"));
    git.on("error", reject);
    tar.on("error", reject);
  });
}

/** Most links followed while resolving one path, as the kernel's own limit (ELOOP). */
const MAX_LINKS = 40;

/**
 * Where the symlink at `link` (a path relative to `root`) leads, resolved the way the kernel would: component by
 * component with lstat/readlink inside `root`, following chained links. Returns "escapes" when any step leaves the
 * tree (an absolute target, a `..` above the root, through other links or not) or the chain is longer than the
 * kernel allows, and "inside" otherwise (a dangling link that stays inside is fine). Never follows a link on the
 * host: every path it touches is made of components already checked to be real directories inside the tree.
 */
export async function resolveInside(root: string, link: string): Promise<"inside" | "escapes"> {
  let followed = 0;
  // The resolved directory so far (components under root, none a symlink) and the parts still to walk.
  const cur = link.split("/").filter(Boolean);
  cur.pop();
  let todo: string[] = [];
  let target = await fs.readlink(path.join(root, link));
  for (;;) {
    followed++;
    if (followed > MAX_LINKS || path.isAbsolute(target)) return "escapes";
    todo = [...target.split("/").filter(Boolean), ...todo];
    let dangling = false;
    let next: string | null = null;
    while (todo.length > 0) {
      const part = todo.shift() as string;
      if (part === ".") continue;
      if (part === "..") {
        if (cur.length === 0) return "escapes";
        cur.pop();
        continue;
      }
      cur.push(part);
      if (dangling) continue; // below a missing component: no link can follow, only `..` can still climb out
      let st: import("node:fs").Stats;
      try {
        st = await fs.lstat(path.join(root, ...cur));
      } catch {
        dangling = true;
        continue;
      }
      if (st.isSymbolicLink()) {
        next = await fs.readlink(path.join(root, ...cur));
        cur.pop();
        break;
      }
      // A file with more components after it cannot be walked into (ENOTDIR); only `..` matter from here.
      if (!st.isDirectory()) dangling = true;
    }
    if (next === null) return "inside";
    target = next;
  }
}

/** Lists the symlinks of the tree at `root` that lead outside it (directly, or through a chain of links). */
export async function findEscapingSymlinks(root: string): Promise<string[]> {
  const bad: string[] = [];
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await fs.readdir(path.join(root, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isSymbolicLink()) {
        if ((await resolveInside(root, child)) === "escapes") bad.push(child);
      } else if (entry.isDirectory()) {
        await walk(child);
      }
    }
  };
  await walk("");
  return bad;
}
