// App config vars (the app's environment). Every change that applies to a released app creates a new
// release with the same image and the new config snapshot, like Heroku's config:set.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { can, type Role } from "../teams/roles.ts";
import { publishRelease } from "../releases/publish.ts";

/** Keys whose values are masked for viewers (tokens, passwords, keys, connection strings). */
export const SECRET_KEY = /(SECRET|PASSW|TOKEN|KEY|PRIVATE|CREDENTIAL|AUTH|DSN|SALT|CERT|_URL$)/i;
/** Keys the platform sets itself at run time; users cannot override them. */
export const RESERVED_KEYS = new Set(["PORT", "BERTH_APP", "BERTH_RELEASE", "BERTH_PROCESS_TYPE", "BERTH_INSTANCE"]);
export const MAX_VARS = 200;
const MASK = "••••••••";

export interface ConfigChange {
  set: Record<string, string>;
  unset: string[];
  /** Keys (set now or existing) to pass to builds as build arguments. */
  buildTime: string[];
  /** Keys to stop passing to builds. */
  runtimeOnly: string[];
}

function view(vars: { key: string; value: string; buildTime: boolean }[], role: Role) {
  const reveal = can(role, "config:reveal");
  return vars.map((v) => ({
    key: v.key,
    value: reveal || !SECRET_KEY.test(v.key) ? v.value : MASK,
    masked: !reveal && SECRET_KEY.test(v.key),
    buildTime: v.buildTime,
  }));
}

/** The app's config vars; secret-looking values are masked for roles without config:reveal. */
export async function listConfig(s: Services, actor: Actor, appName: string) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:read");
  const vars = await s.db.configVar.findMany({ where: { appId: app.id }, orderBy: { key: "asc" } });
  return view(vars, role);
}

/** Applies one change (set/unset/build-time flags) atomically; returns the new config and the release it made. */
export async function changeConfig(s: Services, actor: Actor, appName: string, change: ConfigChange) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:config");
  // `key in change.set` would also find Object.prototype's members (constructor, toString): own keys only.
  const setKeys = new Set(Object.keys(change.set));
  const keys = [...setKeys, ...change.unset, ...change.buildTime, ...change.runtimeOnly];
  if (keys.length === 0) throw errors.validation("nothing to change");
  const reserved = keys.filter((k) => RESERVED_KEYS.has(k));
  if (reserved.length)
    throw errors.validation(`${reserved.join(", ")} is set by the platform and cannot be configured`);
  const both = change.unset.filter((k) => setKeys.has(k));
  if (both.length) throw errors.validation(`${both.join(", ")} is both set and unset`);

  const result = await s.db.$transaction(async (tx) => {
    for (const [key, value] of Object.entries(change.set)) {
      await tx.configVar.upsert({
        where: { appId_key: { appId: app.id, key } },
        create: { appId: app.id, key, value, buildTime: change.buildTime.includes(key) },
        update: { value, ...(change.buildTime.includes(key) ? { buildTime: true } : {}) },
      });
    }
    if (change.unset.length) await tx.configVar.deleteMany({ where: { appId: app.id, key: { in: change.unset } } });
    for (const key of change.buildTime.filter((k) => !setKeys.has(k))) {
      const n = await tx.configVar.updateMany({ where: { appId: app.id, key }, data: { buildTime: true } });
      if (n.count === 0) throw errors.notFound(`config var ${key}`);
    }
    if (change.runtimeOnly.length) {
      await tx.configVar.updateMany({
        where: { appId: app.id, key: { in: change.runtimeOnly } },
        data: { buildTime: false },
      });
    }
    const count = await tx.configVar.count({ where: { appId: app.id } });
    if (count > MAX_VARS) throw errors.validation(`an app can have at most ${MAX_VARS} config vars`);
    // Only names are audited: values may be secrets.
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "config.change",
      target: app.name,
      data: {
        set: Object.keys(change.set),
        unset: change.unset,
        buildTime: change.buildTime,
        runtimeOnly: change.runtimeOnly,
      },
    });
    return tx.configVar.findMany({ where: { appId: app.id }, orderBy: { key: "asc" } });
  });

  const current = await s.db.release.findFirst({ where: { appId: app.id }, orderBy: { version: "desc" } });
  let release: number | null = null;
  if (current) {
    const described = [
      ...Object.keys(change.set).map((k) => `set ${k}`),
      ...change.unset.map((k) => `unset ${k}`),
    ].join(", ");
    const r = await publishRelease(s, actor, {
      appId: app.id,
      teamId: app.teamId,
      appName: app.name,
      buildId: current.buildId,
      imageRef: current.imageRef,
      imageDigest: current.imageDigest,
      processTypes: JSON.parse(current.processTypes) as Record<string, string>,
      description: described ? `Config: ${described}` : "Config: build-time flags",
    });
    release = r.version;
  }
  return { config: view(result, role), release };
}
