// No-change pushes (same source tree as the last successful build, no build-time config) reuse that build's
// image instead of building again: a new release in well under a second instead of a full build. Only for
// Dockerfile builds; a Dockerfile whose FROM tag moved upstream is not rebuilt by a no-change push (push a change).
import type { Db } from "../db/client.ts";
import type { ObjectEnv } from "../git/endpoint.ts";
import { isRegularFile, rootEntries, treeOf } from "../git/objects.ts";

export interface ReusableImage {
  buildId: string;
  commit: string;
  imageRef: string;
  imageDigest: string;
  processTypes: Record<string, string>;
}

/** The image of the app's last successful build if `newRev` has the same tree and nothing else affects the build. */
export async function findReusableImage(
  db: Db,
  appId: string,
  repoDir: string,
  newRev: string,
  objectEnv: ObjectEnv,
): Promise<ReusableImage | null> {
  // Build-time config changes what a build produces, so with any of it we always rebuild.
  if ((await db.configVar.count({ where: { appId, buildTime: true } })) > 0) return null;
  const last = await db.build.findFirst({ where: { appId, status: "succeeded" }, orderBy: { createdAt: "desc" } });
  if (!last) return null;
  const release = await db.release.findFirst({ where: { appId, buildId: last.id }, orderBy: { version: "desc" } });
  if (!release) return null;
  const [a, b] = await Promise.all([treeOf(repoDir, last.commit, objectEnv), treeOf(repoDir, newRev, objectEnv)]);
  if (!a || a !== b) return null;
  // Stack builds also depend on the stack image, which can be rebuilt under an unchanged tree: always rebuild them.
  if (!isRegularFile((await rootEntries(repoDir, newRev, objectEnv)).get("Dockerfile"))) return null;
  return {
    buildId: last.id,
    commit: last.commit,
    imageRef: release.imageRef,
    imageDigest: release.imageDigest,
    processTypes: JSON.parse(release.processTypes) as Record<string, string>,
  };
}
