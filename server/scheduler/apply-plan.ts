// Applying one app's rollout plan (plan.ts, pure) to the database: instances to stop, release statuses to change,
// and new instances to start (start-instances.ts). Every decision is also told: to the app's log as a `decision`,
// to the app's live `events` channel, and to the audit log for deployed and failed releases.
import { recordAudit } from "../audit/record.ts";
import type { SpecLimits } from "./instance-spec.ts";
import { type Desired, type PlanInstance, planApp } from "./plan.ts";
import { ROUTE_WAIT_MS } from "./drain.ts";
import type { InstanceLimits, InstanceRow, ReleaseOutcome, SchedulerCore } from "./scheduler-core.ts";
import type { Snapshot, SnapshotApp } from "./snapshot.ts";
import { startInstances } from "./start-instances.ts";

/** Plans `app` (whose instances, one-offs aside, are `mine`) and applies the plan; true when it changed anything. */
export async function applyAppPlan(
  core: SchedulerCore,
  snap: Snapshot,
  app: SnapshotApp,
  mine: InstanceRow[],
  now: number,
): Promise<boolean> {
  const db = core.s.db;
  const { nodes, volumes, lostNodes, capacity, requestsOfInstance } = snap;
  let changed = false;
  if (await replaceChangedLimits(core, app, mine, snap.limitsOf)) changed = true;
  const plan = planApp(
    {
      releases: app.releases.map((r) => ({
        id: r.id,
        version: r.version,
        status: r.status,
        processTypes: Object.keys(JSON.parse(r.processTypes) as Record<string, string>),
        createdAt: r.createdAt.getTime(),
      })),
      formation: new Map(app.formation.map((f) => [f.type, f.quantity])),
      instances: mine.map((i): PlanInstance => ({
        id: i.id,
        releaseId: i.releaseId,
        processType: i.processType,
        desired: i.desired as Desired,
        state: i.state,
        restarts: i.restarts,
        exitCode: i.exitCode,
        reason: i.reason,
        createdAt: i.createdAt.getTime(),
        lost: i.nodeId === null || lostNodes.has(i.nodeId),
      })),
      now,
      placementIssue: core.state.placementIssues.get(app.id),
      rolloutBatch: app.rolloutBatch,
      noRoom: core.state.noRoom.get(app.id),
      stopFirst: new Set(app.formation.map((f) => f.type).filter((t) => volumes.has(`${app.id}/${t}`))),
    },
    core.opts.plan,
  );
  if (plan.makeRoom?.length) {
    const room = new Set(plan.makeRoom);
    const types = [...new Set(mine.filter((i) => room.has(i.id)).map((i) => i.processType))].sort();
    core.note(
      app.name,
      `no new ${types.join(", ")} instance fits beside the old ones: stopping ${plan.makeRoom.join(", ")} first to make room`,
    );
  }
  for (const note of plan.notes ?? []) core.emit("decision", app.name, note);

  if (plan.stop.length) {
    changed = true;
    await db.instance.updateMany({ where: { id: { in: plan.stop } }, data: { desired: "stopped" } });
    // Held in the desired state until the router no longer sends them requests (drain starts at the end of the
    // pass, see startDrains); a router that keeps failing holds them at most ROUTE_WAIT_MS.
    for (const id of plan.stop) {
      core.state.drainUntil.set(id, now + ROUTE_WAIT_MS + core.opts.drainMs);
      core.state.routing.add(id);
    }
    core.s.log.info({ app: app.name, instances: plan.stop }, "stopping instances");
    const stopping = new Set(plan.stop);
    // Their room is free for this pass's placements (the next pass does not count them either): a rollout short
    // of room places a new instance in the pass that stops an old one.
    for (const i of mine) {
      const c = i.nodeId && i.desired !== "stopped" && stopping.has(i.id) ? capacity.get(i.nodeId) : undefined;
      if (!c) continue;
      const r = requestsOfInstance(i);
      c.allocated.memoryMb -= r.memoryMb;
      c.allocated.cpu -= r.cpu;
    }
    const lost = mine.filter((i) => stopping.has(i.id) && i.nodeId !== null && lostNodes.has(i.nodeId));
    const nodeNames = new Map(nodes.map((n) => [n.id, n.name]));
    for (const i of lost)
      core.emit("decision", app.name, `${i.id} lost with node ${nodeNames.get(i.nodeId ?? "") ?? "?"}: rescheduling`);
    const rest = plan.stop.filter((id) => !lost.some((i) => i.id === id));
    if (rest.length) core.emit("decision", app.name, `stopping ${rest.join(", ")}`);
    core.s.hub.publish(app.id, "events", { kind: "instance", stopping: plan.stop });
  }

  for (const st of plan.statuses) {
    changed = true;
    const r = app.releases.find((x) => x.id === st.releaseId);
    await db.release.update({
      where: { id: st.releaseId },
      data: { status: st.status, ...(st.reason ? { failReason: st.reason } : {}) },
    });
    if (!r) continue;
    const outcome: ReleaseOutcome = { appName: app.name, version: r.version, ...st };
    core.s.log.info({ app: app.name, release: `v${r.version}`, status: st.status, reason: st.reason }, "release");
    core.emit("decision", app.name, `v${r.version} ${st.status}${st.reason ? `: ${st.reason}` : ""}`);
    if (st.status === "deployed" || st.status === "failed") {
      await recordAudit(db, null, {
        teamId: app.teamId,
        appName: app.name,
        action: `release.${st.status}`,
        target: `v${r.version}`,
        data: st.reason ? { reason: st.reason } : {},
      });
    }
    core.s.hub.publish(app.id, "events", {
      kind: "release",
      version: r.version,
      status: st.status,
      reason: st.reason,
    });
    core.emit("release", outcome);
  }

  if (await startInstances(core, snap, app, plan.start)) changed = true;
  return changed;
}

/**
 * `limits:set` changed a type's limits: its running instances of the deployed release are replaced rolling (like
 * `ps:restart`, honouring the rollout batch) rather than recreated in place by their agents all at once. Marks them
 * `replace` in the database and in `mine` (so this pass plans with it); true when it marked any.
 */
async function replaceChangedLimits(
  core: SchedulerCore,
  app: { id: string; name: string; releases: { id: string; status: string }[] },
  mine: (InstanceLimits & { id: string; releaseId: string; desired: string })[],
  limitsOf: (appId: string, type: string) => SpecLimits,
): Promise<boolean> {
  const deployed = app.releases.find((r) => r.status === "deployed")?.id;
  if (!deployed || app.releases.some((r) => r.status === "pending" || r.status === "deploying")) return false;
  const stale = mine.filter((i) => {
    if (i.desired !== "running" || i.releaseId !== deployed || i.memoryMb === null || i.cpu === null) return false;
    const want = limitsOf(app.id, i.processType);
    return (
      want.memoryMb !== i.memoryMb ||
      want.cpu !== i.cpu ||
      (i.diskMb !== null && want.diskMb !== i.diskMb) ||
      (i.bandwidthMbit !== null && want.bandwidthMbit !== i.bandwidthMbit)
    );
  });
  if (stale.length === 0) return false;
  await core.s.db.instance.updateMany({
    where: { id: { in: stale.map((i) => i.id) }, desired: "running" },
    data: { desired: "replace" },
  });
  for (const i of stale) i.desired = "replace";
  const types = [...new Set(stale.map((i) => i.processType))].sort().join(", ");
  core.emit("decision", app.name, `limits of ${types} changed: replacing ${stale.length} instance(s) rolling`);
  return true;
}
