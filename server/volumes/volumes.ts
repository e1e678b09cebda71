// Persistent volumes of an app: a named, sized filesystem mounted at a path into every instance of one process type.
// The row is the desired state; the node's agent creates the filesystem when the first instance that mounts it starts
// (the scheduler pins the type to that node, see scheduler/volume-placement.ts) and deletes it only when told to.
// Creating a volume replaces the type's running instances stop-then-start so the new ones mount it.
import crypto from "node:crypto";
import { Prisma } from "@prisma/client";
import { isValidMountPath } from "../../runtime-agent/protocol/index.ts";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import { parseVolumeMounts } from "../scheduler/volume-placement.ts";
import { forgetVolumeBackups } from "./backups.ts";
import { VOLUME_NAME_PATTERN } from "../../shared/volumes.ts";

/** Bounds of a volume's size (MiB) and how many volumes one process type may mount (the agent protocol's limit). */
export const VOLUME_LIMITS = { sizeMb: { min: 64, max: 1024 * 1024 }, perType: 4, perApp: 20 } as const;

/** Volume names: like process types (lowercase letter, then letters, digits, dashes; at most 30); one rule in shared/. */
export { VOLUME_NAME_PATTERN };

interface VolumeRow {
  id: string;
  name: string;
  processType: string;
  mountPath: string;
  sizeMb: number;
  nodeId: string | null;
  createdAt: Date;
}

/** A volume as clients see it. */
export interface VolumeView {
  name: string;
  processType: string;
  mountPath: string;
  sizeMb: number;
  /** Name of the node it lives on; null until its first instance is placed. */
  node: string | null;
  createdAt: string;
}

/** What `volumes:info` adds: usage as the node reports it (null when the node is not connected or has no volume yet). */
export interface VolumeInfo extends VolumeView {
  usedBytes: number | null;
  /** Instances that mount it now. */
  instances: string[];
}

async function view(s: Services, v: VolumeRow): Promise<VolumeView> {
  const node = v.nodeId ? await s.db.node.findUnique({ where: { id: v.nodeId }, select: { name: true } }) : null;
  return {
    name: v.name,
    processType: v.processType,
    mountPath: v.mountPath,
    sizeMb: v.sizeMb,
    node: node?.name ?? (v.nodeId ? "(removed)" : null),
    createdAt: v.createdAt.toISOString(),
  };
}

/** Instances of the app (not yet gone) whose stored mounts include the volume. */
async function instancesMounting(s: Services, appId: string, volumeId: string): Promise<string[]> {
  const rows = await s.db.instance.findMany({
    where: { appId, volumes: { not: null } },
    select: { id: true, volumes: true, desired: true, state: true },
  });
  return rows
    .filter((r) => parseVolumeMounts(r.volumes).some((m) => m.id === volumeId))
    .filter((r) => !(r.desired === "stopped" && ["stopped", "crashed", "failed", "pending"].includes(r.state)))
    .map((r) => r.id);
}

async function findVolume(s: Services, appId: string, appName: string, name: string) {
  const v = VOLUME_NAME_PATTERN.test(name)
    ? await s.db.volume.findUnique({ where: { appId_name: { appId, name } } })
    : null;
  if (!v) throw errors.notFound(`volume ${JSON.stringify(name)} of app '${appName}'`);
  return v;
}

/** The app's volumes, by name. */
export async function listVolumes(s: Services, actor: Actor, appName: string): Promise<VolumeView[]> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const rows = await s.db.volume.findMany({ where: { appId: app.id }, orderBy: { name: "asc" } });
  return Promise.all(rows.map((v) => view(s, v)));
}

/** One volume with its usage (asked from its node when connected) and the instances that mount it. */
export async function volumeInfo(s: Services, actor: Actor, appName: string, name: string): Promise<VolumeInfo> {
  const { app } = await requireApp(s.db, actor, appName, "app:read");
  const v = await findVolume(s, app.id, app.name, name);
  let usedBytes: number | null = null;
  const hub = s.agents;
  if (v.nodeId && hub.isConnected(v.nodeId)) {
    const usage = await hub.volumeList(v.nodeId).catch(() => []);
    usedBytes = usage.find((u) => u.id === v.id)?.usedBytes ?? null;
  }
  return { ...(await view(s, v)), usedBytes, instances: await instancesMounting(s, app.id, v.id) };
}

/** Input of createVolume (validated again here: the API schema is one caller). */
export interface CreateVolumeInput {
  name: string;
  processType: string;
  mountPath: string;
  sizeMb: number;
}

/**
 * Creates a volume for a process type (admin and above). The type's running instances are replaced stop-then-start
 * so the new ones mount it; if other volumes of the type live on a node already, this one lives there too.
 */
export async function createVolume(
  s: Services,
  actor: Actor,
  appName: string,
  input: CreateVolumeInput,
): Promise<VolumeView> {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  if (!VOLUME_NAME_PATTERN.test(input.name) || input.name.endsWith("-"))
    throw errors.validation("volume name must start with a lowercase letter, then letters, digits, dashes (<= 30)");
  if (!/^[a-z][a-z0-9_-]{0,29}$/.test(input.processType)) throw errors.validation("invalid process type");
  if (!isValidMountPath(input.mountPath)) {
    throw errors.validation(
      "mount path must be an absolute path like /data (letters, digits, . _ -), not /etc or below /proc, /sys, /dev",
    );
  }
  const { min, max } = VOLUME_LIMITS.sizeMb;
  if (!Number.isInteger(input.sizeMb) || input.sizeMb < min || input.sizeMb > max)
    throw errors.validation(`size must be a whole number of MiB from ${min} to ${max}`);
  try {
    const row = await s.db.$transaction(async (tx) => {
      const siblings = await tx.volume.findMany({ where: { appId: app.id } });
      if (siblings.length >= VOLUME_LIMITS.perApp)
        throw errors.validation(`an app can have at most ${VOLUME_LIMITS.perApp} volumes`);
      const ofType = siblings.filter((v) => v.processType === input.processType);
      if (ofType.length >= VOLUME_LIMITS.perType)
        throw errors.validation(`a process type can mount at most ${VOLUME_LIMITS.perType} volumes`);
      if (siblings.some((v) => v.name === input.name))
        throw errors.conflict(`${app.name} already has a volume named ${input.name}`);
      if (ofType.some((v) => v.mountPath === input.mountPath))
        throw errors.conflict(`${input.processType} already mounts a volume at ${input.mountPath}`);
      const v = await tx.volume.create({
        data: {
          id: `vol-${crypto.randomBytes(12).toString("hex")}`,
          appId: app.id,
          name: input.name,
          processType: input.processType,
          mountPath: input.mountPath,
          sizeMb: input.sizeMb,
          nodeId: ofType.find((x) => x.nodeId !== null)?.nodeId ?? null,
        },
      });
      // Running instances of the type do not mount it: replace them (the scheduler stops them first).
      await tx.instance.updateMany({
        where: { appId: app.id, processType: input.processType, desired: "running" },
        data: { desired: "replace" },
      });
      await recordAudit(tx, actor, {
        teamId: app.teamId,
        appName: app.name,
        action: "volume.create",
        target: input.name,
        data: { ...input },
      });
      return v;
    });
    kickScheduler(s);
    return view(s, row);
  } catch (err) {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002")
      throw errors.conflict(`${app.name} already has a volume named ${input.name} or one at ${input.mountPath}`);
    throw err;
  }
}

/**
 * Destroys a volume and its data (admin and above). Refused (409) while an instance mounts it: scale its process
 * type to 0 first, so no running program loses its files under it. The node deletes the filesystem; a node that is
 * not connected makes this a 503 (nothing changes), a removed node leaves nothing to delete.
 */
export async function destroyVolume(s: Services, actor: Actor, appName: string, name: string): Promise<void> {
  const { app } = await requireApp(s.db, actor, appName, "app:update");
  const v = await findVolume(s, app.id, app.name, name);
  const users = await instancesMounting(s, app.id, v.id);
  if (users.length > 0) {
    throw errors.conflict(
      `volume ${name} is mounted by ${users.join(", ")}; scale ${v.processType} to 0 first (ps:scale ${v.processType}=0)`,
    );
  }
  if (v.nodeId && (await s.db.node.findUnique({ where: { id: v.nodeId }, select: { id: true } }))) {
    const hub = s.agents;
    if (!hub.isConnected(v.nodeId))
      throw errors.unavailable(`volume ${name} lives on a node that is not connected; try again when it is`);
    await hub.volumeDestroy(v.nodeId, v.id);
  }
  await s.db.$transaction(async (tx) => {
    await tx.volume.delete({ where: { id: v.id } });
    await recordAudit(tx, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "volume.destroy",
      target: name,
      data: { name, processType: v.processType, mountPath: v.mountPath },
    });
  });
  // Its backups go with it (the rows by cascade); a backup outliving the volume could not be restored anywhere.
  await forgetVolumeBackups(s, app.teamId, v.id);
  kickScheduler(s);
}
