// Sets or removes the config var an add-on gives its app (DATABASE_URL), with one new release rolled out, like
// `config:set` does. The actor was authorized by the add-on route; the value is never logged or audited (names only).
import type { Actor, Services } from "../context.ts";
import { recordAudit } from "../audit/record.ts";
import { createRelease } from "../releases/releases.ts";
import { kickScheduler } from "../scheduler/kick.ts";

type AuditActor = Pick<Actor, "userId" | "email" | "ip"> | null;

/** The app an add-on var goes to. */
export interface VarApp {
  id: string;
  name: string;
  teamId: string;
}

/**
 * Sets `key` to `value` (or removes it when `value` is null) on the app and, if the app has a release, creates the
 * next one with the new config and asks the scheduler to roll it out. Returns the new release's version, if any.
 */
export async function setAddonVar(
  s: Services,
  actor: AuditActor,
  app: VarApp,
  key: string,
  value: string | null,
  why: string,
): Promise<number | null> {
  await s.db.$transaction(async (tx) => {
    if (value === null) await tx.configVar.deleteMany({ where: { appId: app.id, key } });
    else
      await tx.configVar.upsert({
        where: { appId_key: { appId: app.id, key } },
        create: { appId: app.id, key, value },
        update: { value },
      });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "config.change",
      target: app.name,
      data: value === null ? { set: [], unset: [key], by: why } : { set: [key], unset: [], by: why },
    });
  });
  const current = await s.db.release.findFirst({ where: { appId: app.id }, orderBy: { version: "desc" } });
  if (!current) return null;
  const r = await createRelease(s.db, actor, {
    appId: app.id,
    teamId: app.teamId,
    appName: app.name,
    buildId: current.buildId,
    imageRef: current.imageRef,
    imageDigest: current.imageDigest,
    processTypes: JSON.parse(current.processTypes) as Record<string, string>,
    description: `${why}: ${value === null ? "unset" : "set"} ${key}`,
  });
  kickScheduler(s);
  return r.version;
}
