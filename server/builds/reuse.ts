// No-change pushes (same source tree as the last successful build, no build-time config) reuse that build's
// image instead of building again: a new release in well under a second instead of a full build. Only for
// Dockerfile builds; a Dockerfile whose FROM tag moved upstream is not rebuilt by a no-change push (push a change).
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Db } from "../db/client.ts";
import type { ObjectEnv } from "../git/endpoint.ts";

const run = promisify(execFile);

async function treeOf(repoDir: string, rev: string, objectEnv: ObjectEnv): Promise<string | null> {
  if (!/^[0-9a-f]{40}$/.test(rev)) return null;
  try {
    const { stdout } = await run("git", ["--git-dir", repoDir, "rev-parse", "--verify", "--quiet", `${rev}^{tree}`], {
      env: { ...process.env, ...objectEnv },
    });
    return stdout.trim() || null;
  } catch {
    return null;
  }
}

async function hasFile(repoDir: string, rev: string, file: string, objectEnv: ObjectEnv): Promise<boolean> {
  try {
    await run("git", ["--git-dir", repoDir, "cat-file", "-e", `${rev}:${file}`], { env: { ...process.env, ...objectEnv } });
    return true;
  } catch {
    return false;
  }
}

export interface ReusableImage {
  buildId: string;
  commit: string;
  imageRef: string;
  imageDigest: string;
  processTypes: Record<string, string>;
}

/** The image of the app's last successful build if `newRev` has the same tree and nothing else affects the build. */
export async function findReusableImage(db: Db, appId: string, repoDir: string, newRev: string, objectEnv: ObjectEnv): Promise<ReusableImage | null> {
  // Build-time config changes what a build produces, so with any of it we always rebuild.
  if ((await db.configVar.count({ where: { appId, buildTime: true } })) > 0) return null;
  const last = await db.build.findFirst({ where: { appId, status: "succeeded" }, orderBy: { createdAt: "desc" } });
  if (!last) return null;
  const release = await db.release.findFirst({ where: { appId, buildId: last.id }, orderBy: { version: "desc" } });
  if (!release) return null;
  const [a, b] = await Promise.all([treeOf(repoDir, last.commit, objectEnv), treeOf(repoDir, newRev, objectEnv)]);
  if (!a || a !== b) return null;
  // Stack builds also depend on the stack image, which can be rebuilt under an unchanged tree: always rebuild them.
  if (!(await hasFile(repoDir, newRev, "Dockerfile", objectEnv))) return null;
  return {
    buildId: last.id,
    commit: last.commit,
    imageRef: release.imageRef,
    imageDigest: release.imageDigest,
    processTypes: JSON.parse(release.processTypes) as Record<string, string>,
  };
}
