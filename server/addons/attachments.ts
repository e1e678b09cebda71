// Attaching an add-on to another app of its team (`addons:attach`): that app gets the add-on's URL under its own
// config var name (one release); `addons:detach` removes it (one release). An add-on of another team is a 404, as is
// an app the caller cannot change. The node policy already lets instances of one team reach each other, so the
// attached app's instances connect like the owner's (docs/addons.md).
import { kickScheduler } from "../scheduler/kick.ts";
import { Prisma } from "@prisma/client";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { RESERVED_KEYS } from "../config-vars/config-vars.ts";
import { setAddonVar } from "./app-var.ts";
import { ADDON_NAME_PATTERN, kindSpec } from "./catalog.ts";
import { serviceAddress, serviceUrl } from "./provision.ts";

/** Config var names an attachment may use: upper-case env names (the URL is a secret-looking `_URL` var). */
export const ATTACH_VAR_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** An attachment as clients see it. */
export interface AttachmentView {
  addon: string;
  kind: string;
  /** The app that owns (and destroys) the add-on. */
  owner: string;
  configVar: string;
  createdAt: string;
}

/** The add-on `name` if it belongs to `teamId`, else a 404 that says nothing about other teams' add-ons. */
async function teamAddon(s: Services, teamId: string, name: string) {
  const a = ADDON_NAME_PATTERN.test(name)
    ? await s.db.addon.findUnique({ where: { name }, include: { serviceApp: true, app: true } })
    : null;
  if (!a || a.serviceApp.teamId !== teamId) throw errors.notFound(`add-on ${JSON.stringify(name)}`);
  return a;
}

/** Add-ons of other apps attached to this app (viewer and above). */
export async function listAttachments(s: Services, actor: Actor, appName: string): Promise<AttachmentView[]> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.addonAttachment.findMany({
    where: { appId: app.id },
    include: { addon: { include: { app: { select: { name: true } } } } },
    orderBy: { configVar: "asc" },
  });
  return rows.map((r) => ({
    addon: r.addon.name,
    kind: r.addon.kind,
    owner: r.addon.app.name,
    configVar: r.configVar,
    createdAt: r.createdAt.toISOString(),
  }));
}

/**
 * Attaches add-on `addonName` (of the same team) to the app as `as` (default: the kind's var), member and above on
 * the app. Refused (409) while the add-on is not available, for its own app, when already attached, or when the app
 * has that var already.
 */
export async function attachAddon(
  s: Services,
  actor: Actor,
  appName: string,
  addonName: string,
  as?: string,
): Promise<AttachmentView> {
  const { app } = await requireApp(s.db, actor, appName, "app:config");
  const a = await teamAddon(s, app.teamId, addonName);
  const configVar = as ?? kindSpec(a.kind).configVar;
  if (!ATTACH_VAR_PATTERN.test(configVar) || RESERVED_KEYS.has(configVar) || configVar.startsWith("BERTH_"))
    throw errors.validation("the config var must be an upper-case name like DATABASE_URL (A-Z, 0-9, _), not BERTH_*");
  if (a.appId === app.id) throw errors.conflict(`${a.name} belongs to ${app.name} already`);
  if (a.state !== "available") throw errors.conflict(`${a.name} is ${a.state}; attach it once it is available`);
  const addr = await serviceAddress(s, a.serviceAppId);
  if (!addr) throw errors.unavailable(`${a.name} is not running right now; try again`);
  let row;
  try {
    row = await s.db.$transaction(async (tx) => {
      if (await tx.configVar.findUnique({ where: { appId_key: { appId: app.id, key: configVar } } }))
        throw errors.conflict(`${app.name} already has ${configVar} set; pick another name with --as`);
      const r = await tx.addonAttachment.create({ data: { addonId: a.id, appId: app.id, configVar } });
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "addon.attach",
        target: a.name,
        data: { addon: a.name, owner: a.app.name, configVar },
      });
      return r;
    });
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
      throw errors.conflict(`${a.name} is attached to ${app.name} already, or ${configVar} is taken`);
    throw err;
  }
  kickScheduler(s); // the add-on's nodes get the new ingress rule (the app may connect) at once
  await setAddonVar(s, actor, app, configVar, await serviceUrl(s, a, addr), `Add-on ${a.name} attached`);
  return { addon: a.name, kind: a.kind, owner: a.app.name, configVar, createdAt: row.createdAt.toISOString() };
}

/** Detaches add-on `addonName` from the app (member and above): its var goes in one release. */
export async function detachAddon(s: Services, actor: Actor, appName: string, addonName: string): Promise<void> {
  const { app } = await requireApp(s.db, actor, appName, "app:config");
  const a = await teamAddon(s, app.teamId, addonName);
  const row = await s.db.addonAttachment.findUnique({ where: { addonId_appId: { addonId: a.id, appId: app.id } } });
  if (!row) {
    if (a.appId === app.id) throw errors.conflict(`${a.name} belongs to ${app.name}; destroy it with addons:destroy`);
    throw errors.notFound(`attachment of ${a.name} to ${app.name}`);
  }
  await s.db.$transaction(async (tx) => {
    await tx.addonAttachment.delete({ where: { id: row.id } });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "addon.detach",
      target: a.name,
      data: { addon: a.name, owner: a.app.name, configVar: row.configVar },
    });
  });
  kickScheduler(s); // the add-on's nodes refuse this app from now on (no restart of the add-on)
  await setAddonVar(s, actor, app, row.configVar, null, `Add-on ${a.name} detached`);
}
