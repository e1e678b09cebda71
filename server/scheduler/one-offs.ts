// One-off instances (`berth run`): not part of any formation, placed on their own, and living until their command
// exits. Their commands are kept in memory only (SchedulerState.oneOffs), so one whose command was lost with a
// control-plane restart is stopped instead of started without it.
import type { Requests } from "../formation/requests.ts";
import { place } from "./placement.ts";
import type { InstanceRow, SchedulerCore } from "./scheduler-core.ts";
import type { NodeRoom } from "./snapshot.ts";

/** Puts new one-off instances on a node, or fails them when none fits; one-offs whose command is lost stop. */
export async function placeOneOffs(
  core: SchedulerCore,
  instances: InstanceRow[],
  capacity: NodeRoom[],
  appById: Map<string, { name: string; teamId: string }>,
  requestsOf: (appId: string, type: string) => Requests,
  requestsOfInstance: (i: InstanceRow) => Requests,
): Promise<boolean> {
  let changed = false;
  for (const i of instances.filter((x) => x.desired === "oneoff")) {
    if (!core.state.oneOffs.has(i.id)) {
      await core.s.db.instance.update({ where: { id: i.id }, data: { desired: "stopped" } });
      changed = true;
      continue;
    }
    if (i.nodeId) continue;
    const app = appById.get(i.appId);
    // `berth run --type T` fixed T's limits and requests on the row; otherwise the web type's requests count.
    const l = i.memoryMb !== null ? requestsOfInstance(i) : requestsOf(i.appId, "web");
    const eligible = capacity.filter((c) => c.teamId === null || c.teamId === app?.teamId);
    const placed = place(eligible, {
      group: `${i.appId}/run`,
      image: i.releaseId,
      count: 1,
      memoryMb: l.memoryMb,
      cpu: l.cpu,
    });
    changed = true;
    if (placed.nodes[0]) {
      await core.s.db.instance.update({ where: { id: i.id }, data: { nodeId: placed.nodes[0] } });
    } else {
      const reason = placed.ok ? "no node" : placed.reason;
      await core.s.db.instance.update({
        where: { id: i.id },
        data: { state: "failed", reason: "no-node", desired: "stopped" },
      });
      core.s.log.warn({ app: app?.name, instance: i.id, reason }, "cannot place a one-off");
    }
  }
  return changed;
}
