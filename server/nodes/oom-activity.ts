// Instances the kernel killed for memory go on their app's activity timeline ("web instance X was OOM killed"), so
// a team sees why its app restarted without reading logs. The app is the one the stored instance row belongs to, on
// the node that reported it: never the name an agent puts in its event (that is the agent's word, not a fact).
import type { InstanceEvent } from "../../runtime-agent/protocol/index.ts";
import { recordAudit } from "../audit/record.ts";
import type { Services } from "../context.ts";

/** The reason the agent reports for an instance the kernel killed for memory. */
export const OOM_REASON = "oom-killed";

/** Records an `instance.oom-killed` activity event for an OOM-killed instance of `nodeId`; other events are ignored. */
export async function recordOomActivity(s: Pick<Services, "db">, nodeId: string, e: InstanceEvent): Promise<void> {
  if (e.reason !== OOM_REASON) return;
  const row = await s.db.instance.findUnique({
    where: { id: e.instanceId },
    select: { nodeId: true, processType: true, memoryMb: true, app: { select: { name: true, teamId: true } } },
  });
  if (!row || row.nodeId !== nodeId) return;
  await recordAudit(s.db, null, {
    teamId: row.app.teamId,
    appName: row.app.name,
    action: "instance.oom-killed",
    target: e.instanceId,
    data: { processType: row.processType, memoryMb: row.memoryMb, restarts: e.restarts ?? 0 },
  });
}
