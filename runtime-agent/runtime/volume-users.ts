// The containers of this node that mount a volume, as volume archives see them (volume-archive.ts): found from the
// instance records, frozen with `runc pause` while tar reads or writes, thawed or killed afterwards.
import type { VolumeOps } from "./backend.ts";
import type { InstanceStore } from "./instance-store.ts";
import type { KeyedLock } from "./keyed-lock.ts";
import type { Runc } from "./runc.ts";
import { archiveVolume, extractVolume, type VolumeUsers } from "./volume-archive.ts";
import { nodeVolumeOps, type VolumeStore } from "./volumes.ts";

/** The backend parts volume operations use; a getter, since the backend builds them after its field initializers. */
export interface VolumeParts {
  instances: InstanceStore;
  runc: Runc;
  volumes: VolumeStore;
  tarPath: string;
}

/**
 * The node's volumes (`RuntimeBackend.volumes`): listed with their usage, destroyed only when no container of the
 * node mounts them, archived and extracted by tar with the containers that mount them frozen.
 */
export function backendVolumeOps(parts: () => VolumeParts, locks: KeyedLock): VolumeOps {
  const records = async () => {
    const { instances } = parts();
    return (await Promise.all((await instances.ids()).map((i) => instances.readMeta(i)))).flatMap((m) =>
      m ? [m] : [],
    );
  };
  const deps = () => {
    const p = parts();
    return { store: p.volumes, locks, users: runcVolumeUsers(p.instances, p.runc), tarPath: p.tarPath };
  };
  return {
    ...nodeVolumeOps(() => parts().volumes, locks, records),
    archive: (id, team) => archiveVolume(deps(), id, team),
    extract: (id, team) => extractVolume(deps(), id, team),
  };
}

export function runcVolumeUsers(store: InstanceStore, runc: Runc): VolumeUsers {
  return {
    running: async (volumeId) => {
      const metas = await Promise.all((await store.ids()).map((i) => store.readMeta(i)));
      const mounting = metas.flatMap((m) => (m?.volumes?.includes(volumeId) ? [m.id] : []));
      const states = await Promise.all(mounting.map((i) => runc.state(i)));
      return mounting.filter((_, n) => states[n]?.status === "running");
    },
    freeze: async (ids) => {
      const done: string[] = [];
      try {
        for (const i of ids) {
          await runc.pause(i);
          done.push(i);
        }
      } catch (err) {
        // All or none: a container left paused would stall its app with nothing to thaw it.
        for (const i of done) await runc.resume(i).catch(() => undefined);
        throw err;
      }
    },
    thaw: async (ids) => {
      for (const i of ids) await runc.resume(i).catch(() => undefined);
    },
    kill: async (ids) => {
      for (const i of ids) await runc.kill(i, "KILL", true).catch(() => undefined);
    },
  };
}
