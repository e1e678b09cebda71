// Cordon (no new instances on a node) and drain (cordon, then move its instances elsewhere with rolling replacement).
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { requireNodeScope } from "./access.ts";

async function nodeFor(s: Services, actor: Actor, id: string) {
  const node = await s.db.node.findUnique({ where: { id } });
  if (!node) throw errors.notFound(`node '${id}'`);
  await requireNodeScope(s.db, actor, node.teamId, `node '${id}'`);
  return node;
}

/** Sets or clears the cordon of a node. */
export async function setCordon(s: Services, actor: Actor, id: string, cordoned: boolean) {
  const node = await nodeFor(s, actor, id);
  await s.db.node.update({ where: { id }, data: { cordoned } });
  await recordAudit(s.db, actor, {
    teamId: node.teamId,
    action: cordoned ? "node.cordon" : "node.uncordon",
    target: node.name,
  });
  kickScheduler(s);
  return { id, name: node.name, cordoned };
}

/** Cordons the node and replaces each of its instances on other nodes (old ones stop once replacements are healthy). */
export async function drainNode(s: Services, actor: Actor, id: string) {
  const node = await nodeFor(s, actor, id);
  await s.db.node.update({ where: { id }, data: { cordoned: true } });
  const moved = await s.db.instance.updateMany({
    where: { nodeId: id, desired: "running" },
    data: { desired: "replace" },
  });
  await recordAudit(s.db, actor, {
    teamId: node.teamId,
    action: "node.drain",
    target: node.name,
    data: { instances: moved.count },
  });
  kickScheduler(s);
  return { id, name: node.name, cordoned: true, moving: moved.count };
}
