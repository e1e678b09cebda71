// Releases: immutable vN = image + config snapshot + process types + who/why. Never updated after creation
// except for their rollout status.
import type { Prisma } from "@prisma/client";
import type { Actor, Services } from "../context.ts";
import type { Db } from "../db/client.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { can } from "../teams/roles.ts";

export interface NewRelease {
  appId: string;
  teamId: string;
  appName: string;
  buildId?: string | null;
  /** Image reference: repository path in the platform registry, or a full external reference. */
  imageRef: string;
  imageDigest: string;
  processTypes: Record<string, string>;
  description: string;
  /** A config snapshot (JSON) to release instead of the app's current config vars (a rollback's). */
  config?: string;
  /** The audit entry for the new release; by default `release.create` with its description and image. */
  audit?: { action: string; data: Record<string, unknown> };
  /** Done in the release's transaction before it is created (a rollback sets the config vars back). */
  prepare?: (tx: Prisma.TransactionClient) => Promise<void>;
}

type ReleaseRow = {
  version: number;
  imageRef: string;
  imageDigest: string;
  config: string;
  processTypes: string;
  description: string;
  status: string;
  failReason: string;
  createdById: string | null;
  createdAt: Date;
  buildId: string | null;
};

/** Public view of a release; config values are included only when `revealConfig` (see the role matrix). */
export function toReleaseView(r: ReleaseRow, createdBy: string | null, revealConfig: boolean) {
  const config = JSON.parse(r.config) as Record<string, string>;
  return {
    version: r.version,
    name: `v${r.version}`,
    image: r.imageDigest ? `${r.imageRef}@${r.imageDigest}` : r.imageRef,
    processTypes: JSON.parse(r.processTypes) as Record<string, string>,
    configKeys: Object.keys(config).sort(),
    ...(revealConfig ? { config } : {}),
    description: r.description,
    status: r.status,
    failReason: r.failReason || null,
    buildId: r.buildId,
    createdBy,
    createdAt: r.createdAt.toISOString(),
  };
}

/** Creates the next release of an app with a snapshot of its current config; versions are dense (v1, v2, ...). */
export async function createRelease(db: Db, actor: Pick<Actor, "userId" | "email" | "ip"> | null, r: NewRelease) {
  return db.$transaction(async (tx) => {
    await r.prepare?.(tx);
    const vars =
      r.config === undefined ? await tx.configVar.findMany({ where: { appId: r.appId }, orderBy: { key: "asc" } }) : [];
    const last = await tx.release.findFirst({
      where: { appId: r.appId },
      orderBy: { version: "desc" },
      select: { version: true },
    });
    const release = await tx.release.create({
      data: {
        appId: r.appId,
        version: (last?.version ?? 0) + 1,
        buildId: r.buildId ?? null,
        imageRef: r.imageRef,
        imageDigest: r.imageDigest,
        config: r.config ?? JSON.stringify(Object.fromEntries(vars.map((v) => [v.key, v.value]))),
        processTypes: JSON.stringify(r.processTypes),
        description: r.description,
        createdById: actor?.userId ?? null,
      },
    });
    // Process types new to the app get a formation entry: web=1 (set at app creation), others 0, like Heroku.
    for (const type of Object.keys(r.processTypes)) {
      await tx.formation.upsert({
        where: { appId_type: { appId: r.appId, type } },
        create: { appId: r.appId, type, quantity: type === "web" ? 1 : 0 },
        update: {},
      });
    }
    await recordAudit(tx, actor, {
      teamId: r.teamId,
      appName: r.appName,
      action: r.audit?.action ?? "release.create",
      target: `v${release.version}`,
      data: r.audit?.data ?? { description: r.description, image: r.imageRef },
    });
    return release;
  });
}

async function creatorEmails(db: Db, ids: (string | null)[]) {
  const unique = [...new Set(ids.filter((x): x is string => x !== null))];
  const users = await db.user.findMany({ where: { id: { in: unique } }, select: { id: true, email: true } });
  return new Map(users.map((u) => [u.id, u.email]));
}

/** Releases of an app, newest first. */
export async function listReleases(s: Services, actor: Actor, appName: string, limit = 50) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.release.findMany({ where: { appId: app.id }, orderBy: { version: "desc" }, take: limit });
  const emails = await creatorEmails(
    s.db,
    rows.map((r) => r.createdById),
  );
  const reveal = can(role, "config:reveal");
  return rows.map((r) => toReleaseView(r, r.createdById ? (emails.get(r.createdById) ?? null) : null, reveal));
}

/** One release by version. */
export async function getRelease(s: Services, actor: Actor, appName: string, version: number) {
  const { app, role } = await requireApp(s.db, actor, appName, "app:read");
  const r = await s.db.release.findUnique({ where: { appId_version: { appId: app.id, version } } });
  if (!r) throw errors.notFound(`release v${version}`);
  const emails = await creatorEmails(s.db, [r.createdById]);
  return toReleaseView(r, r.createdById ? (emails.get(r.createdById) ?? null) : null, can(role, "config:reveal"));
}
