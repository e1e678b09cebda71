// Reading builds: history per app and one build with its stored output.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { requireApp } from "../teams/access.ts";

type BuildRow = {
  id: string;
  status: string;
  sourceRef: string;
  commit: string;
  imageRef: string;
  error: string;
  createdAt: Date;
  finishedAt: Date | null;
};

function toView(b: BuildRow) {
  return {
    id: b.id,
    status: b.status,
    ref: b.sourceRef,
    commit: b.commit,
    image: b.imageRef || null,
    error: b.error || null,
    createdAt: b.createdAt.toISOString(),
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

/** Builds of an app, newest first (without output). */
export async function listBuilds(s: Services, actor: Actor, appName: string, limit = 50) {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.build.findMany({ where: { appId: app.id }, orderBy: { createdAt: "desc" }, take: limit });
  return rows.map(toView);
}

/** One build with its output. */
export async function getBuild(s: Services, actor: Actor, appName: string, id: string) {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const b = await s.db.build.findFirst({ where: { id, appId: app.id } });
  if (!b) throw errors.notFound("build");
  return { ...toView(b), output: b.output };
}
