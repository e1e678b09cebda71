// Rollback: a new release with an earlier release's image, process types and config, published like any other
// (publish.ts).
// The app's config vars are set back to that release's too, so the next change builds on what runs.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { requireApp } from "../teams/access.ts";
import { can } from "../teams/roles.ts";
import { publishRelease } from "./publish.ts";
import { toReleaseView } from "./releases.ts";

/** Rolls back to `version`, or to the release before the one deployed now when omitted. */
export async function rollback(s: Services, actor: Actor, appName: string, version?: number) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:deploy");
  let source;
  if (version !== undefined) {
    source = await s.db.release.findUnique({ where: { appId_version: { appId: app.id, version } } });
    if (!source) throw errors.notFound(`release v${version} of ${app.name}`);
  } else {
    const current = await s.db.release.findFirst({
      where: { appId: app.id, status: "deployed" },
      orderBy: { version: "desc" },
    });
    if (!current) throw errors.conflict(`${app.name} has no deployed release to roll back from`);
    source = await s.db.release.findFirst({
      where: { appId: app.id, version: { lt: current.version }, status: { in: ["deployed", "superseded"] } },
      orderBy: { version: "desc" },
    });
    if (!source) throw errors.conflict(`${app.name} has no earlier release that ran`);
  }
  const from = source;
  const config = JSON.parse(from.config) as Record<string, string>;
  const release = await publishRelease(s, actor, {
    appId: app.id,
    teamId: app.teamId,
    appName: app.name,
    buildId: from.buildId,
    imageRef: from.imageRef,
    imageDigest: from.imageDigest,
    processTypes: JSON.parse(from.processTypes) as Record<string, string>,
    description: `Rollback to v${from.version}`,
    config: from.config,
    audit: { action: "release.rollback", data: { to: `v${from.version}` } },
    // Config vars become exactly the snapshot; a var's build-time flag stays as it was.
    prepare: async (tx) => {
      const buildTime = new Set(
        (await tx.configVar.findMany({ where: { appId: app.id, buildTime: true }, select: { key: true } })).map(
          (v) => v.key,
        ),
      );
      await tx.configVar.deleteMany({ where: { appId: app.id } });
      for (const [key, value] of Object.entries(config)) {
        await tx.configVar.create({ data: { appId: app.id, key, value, buildTime: buildTime.has(key) } });
      }
    },
  });
  return toReleaseView(release, actor.email, can(role, "config:reveal"));
}
