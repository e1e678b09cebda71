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
  await new Promise<void>((resolve, reject) => {
    const git = spawn("git", ["archive", "--format=tar", rev], { env: env as NodeJS.ProcessEnv, stdio: ["ignore", "pipe", "pipe"] });
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

/** Lists symlinks whose target resolves outside `root` (absolute targets or `..` escapes). */
export async function findEscapingSymlinks(root: string): Promise<string[]> {
  const bad: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isSymbolicLink()) {
        const target = await fs.readlink(full);
        const resolved = path.resolve(path.dirname(full), target);
        if (path.isAbsolute(target) || (resolved !== root && !resolved.startsWith(`${root}${path.sep}`))) {
          bad.push(path.relative(root, full));
        }
      } else if (entry.isDirectory()) {
        await walk(full);
      }
    }
  };
  await walk(root);
  return bad;
}
