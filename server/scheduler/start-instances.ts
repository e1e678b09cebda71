// Starting the new instances a plan asks for: placement (placement.ts, pure) on the nodes the app's team may use,
// volumes pinning a type to one node, and the rows written for the agents to run. What cannot be placed is said once
// per new reason and remembered (placementIssues, noRoom) so the next plan rolls out in batches that fit.
import { newInstanceId } from "./instance-spec.ts";
import { place } from "./placement.ts";
import type { StartRequest } from "./plan.ts";
import type { SchedulerCore } from "./scheduler-core.ts";
import type { Snapshot, SnapshotApp } from "./snapshot.ts";
import { pinnedNode, pinnedNodeIssue, volumeMountsJson } from "./volume-placement.ts";

/** Places and creates the instances of `starts` for `app`; true when it created any. */
export async function startInstances(
  core: SchedulerCore,
  snap: Snapshot,
  app: SnapshotApp,
  starts: StartRequest[],
): Promise<boolean> {
  const db = core.s.db;
  const { nodes, volumes, capacity, limitsOf, requestsOf } = snap;
  let changed = false;
  const previousIssue = core.state.placementIssues.get(app.id);
  core.state.placementIssues.delete(app.id);
  const previousNoRoom = core.state.noRoom.get(app.id);
  const noRoom = new Map<string, number>();
  for (const req of starts) {
    const release = app.releases.find((r) => r.id === req.releaseId);
    if (!release) continue;
    const l = limitsOf(app.id, req.processType);
    const r = requestsOf(app.id, req.processType);
    let eligible = [...capacity.values()].filter((c) => c.teamId === null || c.teamId === app.teamId);
    const request = {
      group: `${app.id}/${req.processType}`,
      image: `${release.imageRef}@${release.imageDigest}`,
      count: req.count,
      memoryMb: r.memoryMb,
      cpu: r.cpu,
    };
    // A type with volumes runs only on its volumes' node; the first placement chooses (and pins) that node.
    const vols = volumes.get(request.group) ?? [];
    const pin = vols.length ? pinnedNode(vols) : null;
    if (pin !== null) {
      const node = eligible.find((c) => c.id === pin);
      const name = nodes.find((n) => n.id === pin)?.name ?? pin;
      const issue = pinnedNodeIssue(vols, pin, node && { name, schedulable: node.schedulable });
      if (issue) {
        if (previousIssue !== issue) core.emit("decision", app.name, `cannot place ${req.processType}: ${issue}`);
        core.state.placementIssues.set(app.id, issue);
        continue;
      }
      eligible = eligible.filter((c) => c.id === pin);
    }
    let placed = place(eligible, { ...request, count: vols.length && pin === null ? 1 : request.count });
    const chosen = vols.length && pin === null ? placed.nodes[0] : undefined;
    if (chosen !== undefined) {
      await db.volume.updateMany({
        where: { id: { in: vols.map((v) => v.id) }, nodeId: null },
        data: { nodeId: chosen },
      });
      for (const v of vols) v.nodeId = chosen;
      const rest = place(
        eligible.filter((c) => c.id === chosen),
        { ...request, count: request.count - 1 },
      );
      placed = { ...rest, nodes: [chosen, ...rest.nodes] };
    }
    if (!placed.ok) {
      // Said once per new reason, not at every resync.
      if (previousIssue !== placed.reason) {
        core.emit(
          "decision",
          app.name,
          `cannot place ${req.count - placed.nodes.length} ${req.processType} instance(s): ${placed.reason}`,
        );
      }
      core.state.placementIssues.set(app.id, placed.reason);
      core.s.log.warn({ app: app.name, type: req.processType, reason: placed.reason }, "cannot place instances");
      if (placed.noRoom) {
        noRoom.set(req.processType, placed.nodes.length);
        const rollingOut = release.status === "pending" || release.status === "deploying";
        if (rollingOut && !previousNoRoom?.has(req.processType)) {
          core.note(
            app.name,
            `room for ${placed.nodes.length} of ${req.count} new ${req.processType} instance(s) beside the old ones: ` +
              `v${release.version} rolls out in batches that fit (one old instance stops per new healthy one)`,
          );
        }
      }
    }
    if (placed.nodes.length === 0) continue;
    changed = true;
    const rows = placed.nodes.map((nodeId) => ({
      id: newInstanceId(app.name, req.processType),
      appId: app.id,
      releaseId: release.id,
      nodeId,
      processType: req.processType,
      // Fixed for the instance's life: a changed setting applies to instances started from now on.
      healthCheckPath: req.processType === "web" ? app.healthCheckPath : null,
      memoryMb: l.memoryMb,
      cpu: l.cpu,
      diskMb: l.diskMb,
      bandwidthMbit: l.bandwidthMbit,
      memoryRequestMb: r.memoryMb,
      cpuRequest: r.cpu,
      volumes: volumeMountsJson(vols),
    }));
    await db.instance.createMany({ data: rows });
    core.s.log.info(
      { app: app.name, release: `v${release.version}`, type: req.processType, nodes: placed.nodes },
      "placed instances",
    );
    const names = placed.nodes.map((id) => nodes.find((n) => n.id === id)?.name ?? id);
    core.emit(
      "decision",
      app.name,
      `starting ${rows.map((r) => r.id).join(", ")} (v${release.version}) on ${names.join(", ")}`,
    );
    core.s.hub.publish(app.id, "events", { kind: "instance", placed: rows.map((r) => r.id) });
  }
  if (noRoom.size) core.state.noRoom.set(app.id, noRoom);
  else core.state.noRoom.delete(app.id);
  return changed;
}
