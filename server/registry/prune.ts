// Keeps the registry bounded: after a new release, manifests used only by releases older than the newest N
// are deleted through the registry API. Their blobs are reclaimed by `garbage-collect`, which runs at the
// next registry start (the distribution registry must not collect while it accepts pushes).
import type { Services } from "../context.ts";
import type { RegistryInfo } from "../service-types.ts";

/** Deletes the manifests of an app's releases beyond the newest `keep`; returns the digests deleted. */
export async function pruneReleaseImages(
  s: Services,
  appId: string,
  appName: string,
  registry: RegistryInfo,
  keep: number,
): Promise<string[]> {
  const releases = await s.db.release.findMany({
    where: { appId, imageRef: appName },
    orderBy: { version: "desc" },
    select: { version: true, imageDigest: true, status: true },
  });
  // The release that serves (and one still rolling out) keeps its image whatever its age: nodes may need to pull it.
  // keep = 0 means everything goes (the app is being destroyed).
  const live = keep > 0 ? releases.filter((r) => ["deployed", "deploying", "pending"].includes(r.status)) : [];
  const kept = new Set([...releases.slice(0, keep), ...live].map((r) => r.imageDigest));
  const old = [...new Set(releases.slice(keep).map((r) => r.imageDigest))].filter((d) => d && !kept.has(d));
  const auth = `Basic ${Buffer.from(`${registry.username}:${registry.password}`).toString("base64")}`;
  const deleted: string[] = [];
  for (const digest of old) {
    const res = await fetch(`http://${registry.host}/v2/${appName}/manifests/${digest}`, {
      method: "DELETE",
      headers: { authorization: auth },
    });
    // 404: already gone (an earlier prune); anything else is logged and retried after the next release.
    if (res.status === 202 || res.status === 404) deleted.push(digest);
    else s.log.warn({ app: appName, digest, status: res.status }, "could not delete an old release image");
  }
  return deleted;
}
