// Publishing a release: every new release (a build, a reused image, `deploy --image`, a rollback) goes through here,
// so each one is created the same way (createRelease: version, config snapshot, formation, audit), old release images
// are pruned the same way, and the scheduler is asked to roll it out.
import type { Actor, Services } from "../context.ts";
import { pruneReleaseImages } from "../registry/prune.ts";
import type { RegistryInfo } from "../service-types.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { createRelease, type NewRelease } from "./releases.ts";

/**
 * Creates the next release of an app and asks the scheduler for a pass. With `registry`, release images beyond the
 * kept ones are pruned after the new release exists (the release never waits on a failed prune: it is logged).
 */
export async function publishRelease(
  s: Services,
  actor: Pick<Actor, "userId" | "email" | "ip"> | null,
  r: NewRelease,
  registry?: RegistryInfo,
) {
  const release = await createRelease(s.db, actor, r);
  kickScheduler(s);
  if (registry) {
    await pruneReleaseImages(s, r.appId, r.appName, registry, s.config.keepReleases).catch((err: unknown) =>
      s.log.warn({ err, app: r.appName }, "pruning old release images failed"),
    );
  }
  return release;
}
