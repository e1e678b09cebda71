// Volumes in the scheduler: which process types mount volumes (they roll out stop-then-start, see plan.ts), which
// node they are pinned to, and the mounts an instance is created with. Pure.
import type { VolumeMount } from "../../runtime-agent/protocol/index.ts";

const MiB = 1024 * 1024;

/** A volume row as the scheduler reads it. */
export interface SchedVolume {
  id: string;
  appId: string;
  name: string;
  processType: string;
  mountPath: string;
  sizeMb: number;
  nodeId: string | null;
}

/** Volumes grouped by `appId/processType`. */
export function volumesByGroup(volumes: SchedVolume[]): Map<string, SchedVolume[]> {
  const by = new Map<string, SchedVolume[]>();
  for (const v of volumes) {
    const key = `${v.appId}/${v.processType}`;
    const list = by.get(key);
    if (list) list.push(v);
    else by.set(key, [v]);
  }
  for (const list of by.values()) list.sort((a, b) => a.id.localeCompare(b.id));
  return by;
}

/**
 * The node a group's volumes live on: the first one pinned (they are created pinned to the group's node once it has
 * one), or null when none is pinned yet (the first placement pins them).
 */
export function pinnedNode(volumes: SchedVolume[]): string | null {
  return volumes.find((v) => v.nodeId !== null)?.nodeId ?? null;
}

/** Why instances of a group with volumes pinned to `nodeId` cannot be placed now, or null if they may. */
export function pinnedNodeIssue(
  volumes: SchedVolume[],
  nodeId: string,
  node: { name: string; schedulable: boolean } | undefined,
): string | null {
  const names = volumes.map((v) => v.name).join(", ");
  if (!node) return `volume ${names} lives on a node that was removed`;
  if (!node.schedulable) return `volume ${names} lives on node ${node.name}, which cannot take instances now`;
  return null;
}

/** The mounts of a new instance of the group, as stored on its row (JSON) and sent to the agent; null for none. */
export function volumeMountsJson(volumes: SchedVolume[]): string | null {
  if (volumes.length === 0) return null;
  const mounts: VolumeMount[] = volumes.map((v) => ({ id: v.id, path: v.mountPath, sizeBytes: v.sizeMb * MiB }));
  return JSON.stringify(mounts);
}

/** Parses an instance row's stored mounts (written by volumeMountsJson); [] for none. */
export function parseVolumeMounts(json: string | null | undefined): VolumeMount[] {
  if (!json) return [];
  return JSON.parse(json) as VolumeMount[];
}
