// Backups of volumes (`volumes:backup`, `volumes:backups`, `volumes:restore`, docs/volumes.md "Backups"): the volume's
// node archives its files with tar (its instances frozen meanwhile) and streams the archive into the platform's data
// dir; a restore streams it back and the node replaces the files, after which the process type's instances are
// replaced. Every entry point authorizes the owning app first: another team's app, volume or backup is a 404;
// viewers may list, members and up back up, download and restore (a backup holds all of the data). One backup or
// restore at a time per volume (this control plane; the node holds the volume's lock as well).
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { type Readable, Writable } from "node:stream";
import type { Actor, Services } from "../context.ts";
import { errors } from "../errors.ts";
import { recordAudit } from "../audit/record.ts";
import { captureToFile, openBackupFile } from "../addons/backups/capture-file.ts";
import { execStream } from "../addons/backups/exec-stream.ts";
import { requireApp } from "../teams/access.ts";
import { kickScheduler } from "../scheduler/kick.ts";
import {
  ensureVolumeBackupDir,
  isVolumeBackupId,
  newVolumeBackupId,
  removeVolumeBackups,
  volumeBackupFile,
} from "./backup-store.ts";
import { VOLUME_NAME_PATTERN } from "../../shared/volumes.ts";

/** A backup or restore is stopped after this long. */
const OPERATION_TIMEOUT_MS = 60 * 60 * 1000;

/** A volume backup as clients see it. */
export interface VolumeBackupView {
  id: string;
  volume: string;
  /** capturing | completed | failed */
  state: string;
  sizeBytes: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

type BackupRow = {
  id: string;
  state: string;
  sizeBytes: bigint;
  error: string;
  createdAt: Date;
  finishedAt: Date | null;
};

function view(volume: string, b: BackupRow): VolumeBackupView {
  return {
    id: b.id,
    volume,
    state: b.state,
    sizeBytes: Number(b.sizeBytes),
    error: b.error || null,
    createdAt: b.createdAt.toISOString(),
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

/** Volumes with a backup or restore running now. */
const busy = new Set<string>();

type VolumeRow = { id: string; name: string; processType: string; nodeId: string | null };

async function authorizedVolume(
  s: Services,
  actor: Actor,
  appName: string,
  name: string,
  action: "app:read" | "app:config",
) {
  const { app } = await requireApp(s.db, actor, appName, action);
  const v = VOLUME_NAME_PATTERN.test(name)
    ? await s.db.volume.findUnique({ where: { appId_name: { appId: app.id, name } } })
    : null;
  if (!v) throw errors.notFound(`volume ${JSON.stringify(name)} of app '${app.name}'`);
  return { app, volume: v };
}

/** A backup of any volume of the app (ids are unique platform-wide; another app's is a 404). */
async function authorizedBackup(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
  action: "app:read" | "app:config",
) {
  const { app } = await requireApp(s.db, actor, appName, action);
  const b = isVolumeBackupId(id)
    ? await s.db.volumeBackup.findFirst({ where: { id, volume: { appId: app.id } }, include: { volume: true } })
    : null;
  if (!b) throw errors.notFound(`volume backup ${JSON.stringify(id)} of app '${app.name}'`);
  return { app, backup: b, volume: b.volume };
}

/** The volume's node, connected; a 409/503 otherwise (nothing changes). */
function nodeOf(s: Services, v: VolumeRow): string {
  if (!v.nodeId) throw errors.conflict(`volume ${v.name} has no data yet (no instance of ${v.processType} ran)`);
  if (!s.agents.isConnected(v.nodeId))
    throw errors.unavailable(`volume ${v.name}'s node is not connected; try again when it is`);
  return v.nodeId;
}

function reserve(v: VolumeRow): void {
  if (busy.has(v.id)) throw errors.conflict(`a backup or restore of ${v.name} is running; try again when it is done`);
  busy.add(v.id);
}

/** The volume's backups, newest first (viewer and above). */
export async function listVolumeBackups(
  s: Services,
  actor: Actor,
  appName: string,
  name: string,
): Promise<VolumeBackupView[]> {
  const { volume } = await authorizedVolume(s, actor, appName, name, "app:read");
  const rows = await s.db.volumeBackup.findMany({ where: { volumeId: volume.id }, orderBy: { createdAt: "desc" } });
  return rows.map((r) => view(volume.name, r));
}

/** One backup of one of the app's volumes (viewer and above). */
export async function volumeBackupInfo(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
): Promise<VolumeBackupView> {
  const { volume, backup } = await authorizedBackup(s, actor, appName, id, "app:read");
  return view(volume.name, backup);
}

/**
 * Starts a backup (member and above): answers with the backup in state `capturing`, which turns `completed` (or
 * `failed`, with the reason) in the background. 409 while another backup or restore of the volume runs.
 */
export async function captureVolumeBackup(
  s: Services,
  actor: Actor,
  appName: string,
  name: string,
): Promise<VolumeBackupView & { done: Promise<void> }> {
  const { app, volume } = await authorizedVolume(s, actor, appName, name, "app:config");
  const nodeId = nodeOf(s, volume);
  reserve(volume);
  try {
    const row = await s.db.volumeBackup.create({ data: { id: newVolumeBackupId(), volumeId: volume.id } });
    await recordAudit(s.db, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "volume.backup.capture",
      target: volume.name,
      data: { backup: row.id },
    });
    const done = runCapture(s, app.teamId, volume, nodeId, row.id).finally(() => busy.delete(volume.id));
    return { ...view(volume.name, row), done };
  } catch (err) {
    busy.delete(volume.id);
    throw err;
  }
}

/** Streams the node's archive into the backup's file (capture-file.ts); the row says how it went. Never throws. */
function runCapture(s: Services, teamId: string, v: VolumeRow, nodeId: string, id: string): Promise<void> {
  return captureToFile({
    file: volumeBackupFile(s.config.dataDir, teamId, v.id, id),
    ensureDir: () => ensureVolumeBackupDir(s.config.dataDir, teamId, v.id),
    run: (out) =>
      execStream(s.agents, {
        nodeId,
        volume: { direction: "archive", id: v.id, team: teamId },
        stdout: out,
        timeoutMs: OPERATION_TIMEOUT_MS,
      }),
    tool: "tar",
    noun: "volume backup",
    completed: (size) =>
      s.db.volumeBackup.update({
        where: { id },
        data: { state: "completed", sizeBytes: BigInt(size), finishedAt: new Date() },
      }),
    failed: (reason) =>
      s.db.volumeBackup.update({ where: { id }, data: { state: "failed", error: reason, finishedAt: new Date() } }),
    log: s.log.child({ component: "volume-backups", volume: v.id, backup: id }),
  });
}

/** What a download streams. */
export interface VolumeBackupDownload {
  fileName: string;
  sizeBytes: number;
  stream: Readable;
}

/** Opens a completed backup for download (member and above; audited): a tar archive. */
export async function downloadVolumeBackup(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
): Promise<VolumeBackupDownload> {
  const { app, volume, backup: b } = await authorizedBackup(s, actor, appName, id, "app:config");
  if (b.state !== "completed") throw errors.conflict(`backup ${id} is ${b.state}, not completed`);
  const file = volumeBackupFile(s.config.dataDir, app.teamId, volume.id, b.id);
  const opened = await openBackupFile(file, id);
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: app.name,
    action: "volume.backup.download",
    target: volume.name,
    data: { backup: b.id },
  });
  return {
    fileName: `${volume.name}-${b.id}.tar`,
    ...opened,
  };
}

/**
 * Replaces the volume's files with a completed backup (member and above; `confirm` must be the app's name). The node
 * freezes the instances that mount it, extracts, swaps the files in and kills those instances; they are then
 * replaced (started again on the restored files). Waits until done. Audited.
 */
export async function restoreVolumeBackup(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
  confirm: string,
): Promise<VolumeBackupView> {
  const { app, volume, backup: b } = await authorizedBackup(s, actor, appName, id, "app:config");
  if (confirm !== app.name)
    throw errors.validation(
      `restoring replaces the files of volume ${volume.name}; confirm with the app's name (${app.name})`,
    );
  if (b.state !== "completed") throw errors.conflict(`backup ${id} is ${b.state}, not completed`);
  const file = volumeBackupFile(s.config.dataDir, app.teamId, volume.id, b.id);
  await fs.access(file).catch(() => {
    throw errors.notFound(`the file of backup ${id}`);
  });
  const nodeId = nodeOf(s, volume);
  reserve(volume);
  try {
    await recordAudit(s.db, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "volume.backup.restore",
      target: volume.name,
      data: { backup: b.id },
    });
    let failure: string | null = null;
    try {
      const r = await execStream(s.agents, {
        nodeId,
        volume: { direction: "extract", id: volume.id, team: app.teamId },
        stdin: createReadStream(file),
        stdout: new Writable({ write: (_c, _e, cb) => cb() }),
        timeoutMs: OPERATION_TIMEOUT_MS,
      });
      if (r.exitCode !== 0) failure = `tar exited with ${r.exitCode}: ${r.stderr || "no message"}`;
    } catch (err) {
      failure = err instanceof Error ? err.message : String(err);
    }
    if (failure) {
      s.log.warn({ volume: volume.id, backup: b.id, why: failure }, "volume restore failed");
      throw errors.unavailable(`restoring ${volume.name} from ${b.id} failed: ${failure.slice(0, 400)}`);
    }
    // The node killed the instances that held the old files; start the type again on the restored ones.
    await s.db.instance.updateMany({
      where: { appId: volume.appId, processType: volume.processType, desired: "running" },
      data: { desired: "replace" },
    });
    kickScheduler(s);
    s.log.info({ volume: volume.id, backup: b.id }, "volume restored from a backup");
    return view(volume.name, b);
  } finally {
    busy.delete(volume.id);
  }
}

/** Deletes the archives of a destroyed volume (its rows go with it by cascade). */
export async function forgetVolumeBackups(s: Services, teamId: string, volumeId: string): Promise<void> {
  await removeVolumeBackups(s.config.dataDir, teamId, volumeId).catch((err: unknown) =>
    s.log.warn({ err, volume: volumeId }, "removing a destroyed volume's backups failed"),
  );
}
