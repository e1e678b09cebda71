// Where an app's rollout stands, for clients that follow one (`berth ps:scale --wait`, `config:set --wait`,
// `rollback --wait`, `ps:restart --wait`): the release it is about, per process type how many of its instances run,
// start or are being replaced, the instances that fail by the rollout's own rules (plan.ts), the scheduler's
// placement problem, and whether everything has settled. A snapshot of the database and the scheduler; clients poll.
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { requireApp } from "../teams/access.ts";
import { instanceFailure } from "./plan.ts";

/** One process type of the release, counted from its instances. */
export interface ProcessProgress {
  type: string;
  /** The formation's quantity. */
  quantity: number;
  /** Wanted running and healthy (web: the health check passed). */
  running: number;
  /** Wanted running, not healthy yet (pending, starting, crashed and restarting). */
  starting: number;
  /** Being replaced (rolling restart, changed limits): running until their replacements are healthy. */
  replacing: number;
}

/** The rollout status of one app (`GET /apps/{app}/rollout`). */
export interface RolloutStatus {
  /** The release this is about: the one asked for, else the one rolling out, else the deployed one; null if none. */
  release: { version: number; status: string; failReason: string | null } | null;
  /** The deployed (serving) release, or null. */
  deployed: number | null;
  processes: ProcessProgress[];
  /** Instances of other releases still wanted (the release is replacing them, or they bridge an aborted rollout). */
  old: number;
  /** Instances told to stop that have not stopped yet (draining, shutting down). */
  stopping: number;
  /** The release's instances that count as failed: failed to start, crash loop, not healthy in time. */
  failing: { instance: string; processType: string; reason: string }[];
  /** Why the scheduler could not place some instances, or null. */
  placementIssue: string | null;
  /** True if some node the app may run on (its team's or a shared one) can take new instances. */
  nodeReady: boolean;
  /** The release is deployed and every process type runs its quantity, none starting, replaced or of older releases. */
  settled: boolean;
}

const LIVE = ["pending", "deploying", "deployed"];
const FINISHED = new Set(["stopped", "crashed", "failed"]);

/** The rollout status of `appName` (viewer and up), about release `version` when given. */
export async function rolloutStatus(
  s: Services,
  actor: Actor,
  appName: string,
  version?: number,
): Promise<RolloutStatus> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const [live, formation, instances] = await Promise.all([
    s.db.release.findMany({ where: { appId: app.id, status: { in: LIVE } }, orderBy: { version: "desc" } }),
    s.db.formation.findMany({ where: { appId: app.id } }),
    s.db.instance.findMany({ where: { appId: app.id, desired: { not: "oneoff" } } }),
  ]);
  const deployed = live.find((r) => r.status === "deployed") ?? null;
  let release = live.find((r) => r.status !== "deployed" && r.version > (deployed?.version ?? 0)) ?? deployed;
  if (version !== undefined) {
    release = await s.db.release.findUnique({ where: { appId_version: { appId: app.id, version } } });
    if (!release) throw errors.notFound(`release v${version} of ${app.name}`);
  }
  const plan = s.scheduler.opts.plan;
  const now = Date.now();
  const mine = release ? instances.filter((i) => i.releaseId === release.id) : [];
  const types = release ? Object.keys(JSON.parse(release.processTypes) as Record<string, string>).sort() : [];
  const processes = types.map((type): ProcessProgress => {
    const of = mine.filter((i) => i.processType === type);
    return {
      type,
      quantity: formation.find((f) => f.type === type)?.quantity ?? 0,
      running: of.filter((i) => i.desired === "running" && i.state === "running").length,
      starting: of.filter((i) => i.desired === "running" && i.state !== "running").length,
      replacing: of.filter((i) => i.desired === "replace").length,
    };
  });
  const old = instances.filter(
    (i) => i.releaseId !== release?.id && (i.desired === "running" || i.desired === "replace"),
  ).length;
  const failing = mine
    .filter((i) => i.desired === "running")
    .map((i) => ({
      instance: i.id,
      processType: i.processType,
      reason: instanceFailure({ ...i, createdAt: i.createdAt.getTime() }, now, plan),
    }))
    .filter((f): f is { instance: string; processType: string; reason: string } => f.reason !== null);
  return {
    release: release
      ? { version: release.version, status: release.status, failReason: release.failReason || null }
      : null,
    deployed: deployed?.version ?? null,
    processes,
    old,
    stopping: instances.filter((i) => i.desired === "stopped" && !FINISHED.has(i.state)).length,
    failing,
    placementIssue: s.scheduler.placementIssue(app.id) ?? null,
    // Only nodes this app may run on: what other teams' nodes do is none of this team's business.
    nodeReady: await s.scheduler.hasReadyNode(app.teamId),
    settled:
      release?.status === "deployed" &&
      old === 0 &&
      processes.every((p) => p.running === p.quantity && p.starting === 0 && p.replacing === 0),
  };
}
