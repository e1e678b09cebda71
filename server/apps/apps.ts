// Apps: owned by a team; names are global (they become host names and git repo paths).
import type { Services, Actor } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp, requireTeam } from "../teams/access.ts";
import { formationView } from "../formation/formation.ts";
import { appUrls } from "./urls.ts";
import { removeRepo } from "../git/repos.ts";
import { builderDirOf, discardAppStore } from "../builds/builder-stores.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { type AppLiveStatus, appStatuses } from "./status.ts";
import { pruneReleaseImages } from "../registry/prune.ts";
import { forgetApp } from "../logs/ingest.ts";

type AppRow = {
  id: string;
  name: string;
  maintenance: boolean;
  createdAt: Date;
  updatedAt: Date;
  team: { name: string };
};

/** Public view of an app, with its web and git URLs. */
export function toAppView(
  s: Services,
  app: AppRow,
  extra?: { currentRelease?: number | null; live?: AppLiveStatus | undefined },
) {
  return {
    id: app.id,
    name: app.name,
    team: app.team.name,
    maintenance: app.maintenance,
    ...appUrls(s.config, app.name),
    currentRelease: extra?.currentRelease ?? null,
    status: extra?.live?.status ?? "idle",
    instances: extra?.live?.instances ?? { running: 0, total: 0 },
    createdAt: app.createdAt.toISOString(),
    updatedAt: app.updatedAt.toISOString(),
  };
}

/** Apps of every team the actor belongs to, or of one team. */
export async function listApps(s: Services, actor: Actor, teamName?: string) {
  const teamFilter = teamName ? { teamId: (await requireTeam(s.db, actor, teamName, "app:read")).team.id } : {};
  const rows = await s.db.app.findMany({
    // Add-ons' hidden service apps are not the team's apps to list (server/addons).
    where: { ...teamFilter, team: { memberships: { some: { userId: actor.userId } } }, addonService: { is: null } },
    include: { team: true, releases: { orderBy: { version: "desc" }, take: 1, select: { version: true } } },
    orderBy: { name: "asc" },
  });
  const live = await appStatuses(
    s.db,
    rows.map((a) => a.id),
  );
  return rows.map((a) => toAppView(s, a, { currentRelease: a.releases[0]?.version ?? null, live: live.get(a.id) }));
}

/** Creates an app in a team (admin or owner) with the Heroku-like default formation web=1. */
export async function createApp(s: Services, actor: Actor, name: string, teamName: string) {
  const { team } = await requireTeam(s.db, actor, teamName, "app:create");
  const app = await s.db.$transaction(async (tx) => {
    if (await tx.app.findUnique({ where: { name } })) throw errors.conflict(`app name '${name}' is taken`);
    const a = await tx.app.create({ data: { name, teamId: team.id }, include: { team: true } });
    await tx.formation.create({ data: { appId: a.id, type: "web", quantity: 1 } });
    await recordAudit(tx, actor, { teamId: team.id, appName: name, action: "app.create", target: name });
    return a;
  });
  return toAppView(s, app);
}

/** One app with its formation. */
export async function getApp(s: Services, actor: Actor, name: string) {
  const { app, role } = await requireApp(s.db, actor, name, "app:read");
  const [release, formation, live] = await Promise.all([
    s.db.release.findFirst({ where: { appId: app.id }, orderBy: { version: "desc" }, select: { version: true } }),
    s.db.formation.findMany({ where: { appId: app.id }, orderBy: { type: "asc" } }),
    appStatuses(s.db, [app.id]),
  ]);
  return {
    ...toAppView(s, app, { currentRelease: release?.version ?? null, live: live.get(app.id) }),
    role,
    formation: formation.map(formationView),
  };
}

/** Updates app settings: maintenance mode (member+ is not enough; admins manage apps) or owning team. */
export async function updateApp(
  s: Services,
  actor: Actor,
  name: string,
  patch: { maintenance?: boolean | undefined; team?: string | undefined },
) {
  const { app } = await requireApp(s.db, actor, name, "app:update");
  let teamId = app.teamId;
  if (patch.team !== undefined && patch.team !== app.team.name) {
    // Transfer: the actor must be allowed to create apps in the destination team too.
    teamId = (await requireTeam(s.db, actor, patch.team, "app:create")).team.id;
    // Its add-ons' service apps would stay in the old team (the node policy keeps teams apart): refused for now.
    if (
      (await s.db.addon.count({ where: { appId: app.id } })) +
        (await s.db.addonAttachment.count({ where: { appId: app.id } })) >
      0
    )
      throw errors.conflict(`${name} has add-ons; destroy or detach them before moving the app to another team`);
  }
  const updated = await s.db.app.update({
    where: { id: app.id },
    data: { ...(patch.maintenance !== undefined ? { maintenance: patch.maintenance } : {}), teamId },
    include: { team: true },
  });
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: name,
    action: "app.update",
    target: name,
    data: patch,
  });
  if (teamId !== app.teamId) {
    // Members of the old team only may be streaming it: their subscriptions are re-checked now.
    s.access.emit("appTeamChanged", app.id);
    await recordAudit(s.db, actor, {
      teamId,
      appName: name,
      action: "app.transfer",
      target: name,
      data: { from: app.team.name },
    });
  }
  kickScheduler(s);
  return toAppView(s, updated);
}

/** Destroys an app and everything it owns in the database. */
export async function destroyApp(s: Services, actor: Actor, name: string) {
  const { app } = await requireApp(s.db, actor, name, "app:delete");
  // An add-on's data lives on a node too: destroying the app must not orphan its database (docs/addons.md).
  const addons = await s.db.addon.findMany({ where: { appId: app.id }, select: { name: true } });
  if (addons.length > 0) {
    throw errors.conflict(
      `${name} has add-ons (${addons.map((a) => a.name).join(", ")}); destroy them first with addons:destroy`,
    );
  }
  if ((await s.db.addonAttachment.count({ where: { appId: app.id } })) > 0)
    throw errors.conflict(`${name} has add-ons of other apps attached; detach them first with addons:detach`);
  // A volume's data lives on a node, not in the database: it is never deleted as a side effect (docs/volumes.md).
  const volumes = await s.db.volume.findMany({ where: { appId: app.id }, select: { name: true } });
  if (volumes.length > 0) {
    throw errors.conflict(
      `${name} has volumes (${volumes.map((v) => v.name).join(", ")}); destroy them first with volumes:destroy`,
    );
  }
  // Its images go from the registry first (the release rows that name them go with the app).
  const registry = (() => {
    try {
      return s.registry();
    } catch {
      return undefined;
    }
  })();
  if (registry) {
    await pruneReleaseImages(s, app.id, app.name, registry, 0).catch((err: unknown) =>
      s.log.warn({ err, app: name }, "removing the app's images failed"),
    );
  }
  await s.db.app.delete({ where: { id: app.id } });
  forgetApp(s, name);
  // Its live subscriptions end now; they are bound to this id, so a new app with the name never reaches them.
  s.access.emit("appDestroyed", app.id);
  await s.logs.store
    .remove(name)
    .catch((err: unknown) => s.log.warn({ err, app: name }, "removing the app's logs failed"));
  await removeRepo(s.config.dataDir, name);
  // Its local images, layer cache and npm cache (now, or after a build of it that is still running; never fails).
  await discardAppStore(builderDirOf(s.config.dataDir), app.id, s.log);
  await recordAudit(s.db, actor, { teamId: app.teamId, appName: name, action: "app.destroy", target: name });
  // Its instances went with it (cascade): the next pass stops them on their nodes and drops its routes.
  kickScheduler(s);
}
