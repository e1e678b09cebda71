// The end of a stopped instance: it leaves the router first, keeps running for the drain period so in-flight
// requests finish, and its row is deleted once its node confirms it stopped (or can never confirm it).
import { inBatches } from "../db/batches.ts";
import type { SchedulerCore } from "./scheduler-core.ts";

const FINISHED = new Set(["stopped", "crashed", "failed"]);
/** Longest a stopped instance waits for the router to drop it before its drain starts anyway. */
export const ROUTE_WAIT_MS = 30_000;
/** A stopped instance the node never confirmed is forgotten after this long. */
const FORGET_AFTER_MS = 5 * 60_000;

/** Instances stopped since the last router update are out of the routes now: their drain period starts. */
export function startDrains(core: SchedulerCore): void {
  const { routing, drainUntil } = core.state;
  if (routing.size === 0) return;
  const until = Date.now() + core.opts.drainMs;
  for (const id of routing) drainUntil.set(id, Math.min(until, drainUntil.get(id) ?? until));
  routing.clear();
  setTimeout(() => core.kick(), core.opts.drainMs + 50).unref();
}

/** Deletes stopped instances the node confirmed (or that can never be confirmed). */
export async function forgetStopped(
  core: SchedulerCore,
  instances: { id: string; desired: string; state: string; nodeId: string | null; updatedAt: Date }[],
  lostNodes: Set<string>,
  connected: Set<string>,
  now: number,
): Promise<void> {
  const { drainUntil } = core.state;
  const gone = instances.filter(
    (i) =>
      i.desired === "stopped" &&
      (drainUntil.get(i.id) ?? 0) <= now &&
      (i.nodeId === null ||
        lostNodes.has(i.nodeId) ||
        (FINISHED.has(i.state) && connected.has(i.nodeId)) ||
        i.state === "pending" ||
        now - i.updatedAt.getTime() > FORGET_AFTER_MS),
  );
  if (gone.length === 0) return;
  // A node lost or a big scale-down can leave thousands to forget at once.
  for (const batch of inBatches(gone)) {
    await core.s.db.instance.deleteMany({ where: { id: { in: batch.map((i) => i.id) }, desired: "stopped" } });
  }
  for (const i of gone) drainUntil.delete(i.id);
}
