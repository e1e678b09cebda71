// Rollback: a new release with an earlier release's image, process types and config, rolled out like any other.
// The app's config vars are set back to that release's too, so the next change builds on what runs.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { can } from "../teams/roles.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { toReleaseView } from "./releases.ts";

/** Rolls back to `version`, or to the release before the one deployed now when omitted. */
export async function rollback(s: Services, actor: Actor, appName: string, version?: number) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:deploy");
  let source;
  if (version !== undefined) {
    source = await s.db.release.findUnique({ where: { appId_version: { appId: app.id, version } } });
    if (!source) throw errors.notFound(`release v${version} of ${app.name}`);
  } else {
    const current = await s.db.release.findFirst({ where: { appId: app.id, status: "deployed" }, orderBy: { version: "desc" } });
    if (!current) throw errors.conflict(`${app.name} has no deployed release to roll back from`);
    source = await s.db.release.findFirst({
      where: { appId: app.id, version: { lt: current.version }, status: { in: ["deployed", "superseded"] } },
      orderBy: { version: "desc" },
    });
    if (!source) throw errors.conflict(`${app.name} has no earlier release that ran`);
  }
  const from = source;
  const config = JSON.parse(from.config) as Record<string, string>;
  const release = await s.db.$transaction(async (tx) => {
    const last = await tx.release.findFirst({ where: { appId: app.id }, orderBy: { version: "desc" }, select: { version: true } });
    // Config vars become exactly the snapshot; a var's build-time flag stays as it was.
    const buildTime = new Set(
      (await tx.configVar.findMany({ where: { appId: app.id, buildTime: true }, select: { key: true } })).map((v) => v.key),
    );
    await tx.configVar.deleteMany({ where: { appId: app.id } });
    for (const [key, value] of Object.entries(config)) {
      await tx.configVar.create({ data: { appId: app.id, key, value, buildTime: buildTime.has(key) } });
    }
    const r = await tx.release.create({
      data: {
        appId: app.id,
        version: (last?.version ?? 0) + 1,
        buildId: from.buildId,
        imageRef: from.imageRef,
        imageDigest: from.imageDigest,
        config: from.config,
        processTypes: from.processTypes,
        description: `Rollback to v${from.version}`,
        createdById: actor.userId,
      },
    });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "release.rollback",
      target: `v${r.version}`,
      data: { to: `v${from.version}` },
    });
    return r;
  });
  kickScheduler(s);
  return toReleaseView(release, actor.email, can(role, "config:reveal"));
}
