// Backups of add-ons (`addons:backups*`, docs/addons.md "Backups"): capture (a consistent pg_dump / Redis snapshot run
// in the add-on's own container, streamed into the platform's data dir), list, download (streamed through the
// authorized API) and restore (the data replaced from a backup). Every entry point authorizes the owning app first:
// another team's app or add-on is a 404 and so is a backup of another add-on; viewers may list, only members and up
// capture, download and restore (a backup holds all of the data). One capture or restore at a time per add-on.
import { createReadStream } from "node:fs";
import fs from "node:fs/promises";
import { type Readable, Writable } from "node:stream";
import type { Actor, Services } from "../../context.ts";
import { errors } from "../../errors.ts";
import { recordAudit } from "../../audit/record.ts";
import { requireApp } from "../../teams/access.ts";
import { ADDON_NAME_PATTERN, isAddonKind, type AddonKind } from "../catalog.ts";
import { captureScript, REDIS_READY_SCRIPT, REDIS_SWAPPED_MARKER, restoreScript } from "./commands.ts";
import { captureToFile, openBackupFile } from "./capture-file.ts";
import { execStream } from "./exec-stream.ts";
import { pruneAddonBackups } from "./retention.ts";
import { backupFile, downloadName, ensureBackupDir, isBackupId, newBackupId } from "./store.ts";

/** A capture or restore is stopped after this long. */
const OPERATION_TIMEOUT_MS = 60 * 60 * 1000;
/** How long a restored Redis may take to come back. */
const REDIS_RESTART_TIMEOUT_MS = 120_000;

/** A backup as clients see it. */
export interface BackupView {
  id: string;
  addon: string;
  /** capturing | completed | failed */
  state: string;
  /** manual | scheduled */
  origin: string;
  sizeBytes: number;
  error: string | null;
  createdAt: string;
  finishedAt: string | null;
}

type BackupRow = {
  id: string;
  state: string;
  origin: string;
  sizeBytes: bigint;
  error: string;
  createdAt: Date;
  finishedAt: Date | null;
};

function view(addon: string, b: BackupRow): BackupView {
  return {
    id: b.id,
    addon,
    state: b.state,
    origin: b.origin,
    sizeBytes: Number(b.sizeBytes),
    error: b.error || null,
    createdAt: b.createdAt.toISOString(),
    finishedAt: b.finishedAt?.toISOString() ?? null,
  };
}

/** Add-ons with a capture or restore running now (this control plane). */
const busy = new Set<string>();

type AddonRow = { id: string; name: string; kind: string; state: string; serviceAppId: string; teamId: string };

async function authorized(
  s: Services,
  actor: Actor,
  appName: string,
  addonName: string,
  action: "app:read" | "app:config",
) {
  const { app } = await requireApp(s.db, actor, appName, action);
  const a = ADDON_NAME_PATTERN.test(addonName)
    ? await s.db.addon.findFirst({ where: { appId: app.id, name: addonName } })
    : null;
  if (!a) throw errors.notFound(`add-on ${JSON.stringify(addonName)} of app '${app.name}'`);
  return { app, addon: { ...a, teamId: app.teamId } satisfies AddonRow };
}

/** A backup of any add-on of the app (backup ids are unique platform-wide; another app's is a 404). */
async function authorizedBackup(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
  action: "app:read" | "app:config",
) {
  const { app } = await requireApp(s.db, actor, appName, action);
  const b = isBackupId(id)
    ? await s.db.addonBackup.findFirst({ where: { id, addon: { appId: app.id } }, include: { addon: true } })
    : null;
  if (!b) throw errors.notFound(`backup ${JSON.stringify(id)} of app '${app.name}'`);
  return { app, backup: b, addon: { ...b.addon, teamId: app.teamId } satisfies AddonRow };
}

function kindOf(a: AddonRow): AddonKind {
  if (!isAddonKind(a.kind)) throw new Error(`unknown add-on kind ${a.kind}`);
  return a.kind;
}

/** The add-on's running service instance and its node; a 409/503 when there is none now. */
async function runningService(s: Services, a: AddonRow): Promise<{ nodeId: string; instanceId: string }> {
  if (a.state !== "available") throw errors.conflict(`add-on ${a.name} is ${a.state}, not available`);
  const inst = await s.db.instance.findFirst({
    where: { appId: a.serviceAppId, processType: "web", desired: "running", state: "running" },
    orderBy: { createdAt: "desc" },
  });
  if (!inst?.nodeId) throw errors.unavailable(`add-on ${a.name} is not running right now; try again shortly`);
  if (!s.agents.isConnected(inst.nodeId))
    throw errors.unavailable(`add-on ${a.name}'s node is not connected; try again when it is`);
  return { nodeId: inst.nodeId, instanceId: inst.id };
}

/** The add-on's backups, newest first (viewer and above). */
export async function listBackups(
  s: Services,
  actor: Actor,
  appName: string,
  addonName: string,
): Promise<BackupView[]> {
  const { addon } = await authorized(s, actor, appName, addonName, "app:read");
  const rows = await s.db.addonBackup.findMany({ where: { addonId: addon.id }, orderBy: { createdAt: "desc" } });
  return rows.map((r) => view(addon.name, r));
}

/** One backup of one of the app's add-ons (viewer and above). */
export async function backupInfo(s: Services, actor: Actor, appName: string, id: string): Promise<BackupView> {
  const { addon, backup } = await authorizedBackup(s, actor, appName, id, "app:read");
  return view(addon.name, backup);
}

/**
 * Starts a capture (member and above): answers with the backup in state `capturing`, which turns `completed` (or
 * `failed`, with the reason) in the background. 409 while another capture or restore of the add-on runs.
 */
export async function captureBackup(
  s: Services,
  actor: Actor,
  appName: string,
  addonName: string,
): Promise<BackupView> {
  const { app, addon } = await authorized(s, actor, appName, addonName, "app:config");
  const target = await runningService(s, addon);
  const row = await startCapture(s, addon, "manual", target);
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: app.name,
    action: "addon.backup.capture",
    target: addon.name,
    data: { backup: row.id },
  });
  return view(addon.name, row);
}

/** Reserves the add-on, writes the row and runs the capture in the background (also the schedule's entry point). */
export async function startCapture(
  s: Services,
  addon: AddonRow,
  origin: "manual" | "scheduled",
  target: { nodeId: string; instanceId: string },
): Promise<BackupRow & { done: Promise<void> }> {
  if (busy.has(addon.id))
    throw errors.conflict(`a backup or restore of ${addon.name} is running; try again when it is done`);
  busy.add(addon.id);
  try {
    const row = await s.db.addonBackup.create({ data: { id: newBackupId(), addonId: addon.id, origin } });
    const done = runCapture(s, addon, row.id, target)
      .finally(() => busy.delete(addon.id))
      .then(() => pruneAddonBackups(s, addon.id, s.config.addonBackup.keep))
      .then(
        () => undefined,
        (err: unknown) => s.log.error({ err, addon: addon.name }, "pruning add-on backups failed"),
      );
    return { ...row, done };
  } catch (err) {
    busy.delete(addon.id);
    throw err;
  }
}

/** Streams the dump into the backup's file (capture-file.ts); the row says how it went. Never throws. */
function runCapture(s: Services, addon: AddonRow, id: string, target: { nodeId: string; instanceId: string }) {
  const kind = kindOf(addon);
  return captureToFile({
    file: backupFile(s.config.dataDir, addon.teamId, addon.name, kind, id),
    ensureDir: () => ensureBackupDir(s.config.dataDir, addon.teamId, addon.name),
    run: (out) =>
      execStream(s.agents, {
        ...target,
        command: ["/bin/sh", "-c", captureScript(kind)],
        stdout: out,
        timeoutMs: OPERATION_TIMEOUT_MS,
      }),
    tool: "the dump",
    noun: "add-on backup",
    completed: (size) =>
      s.db.addonBackup.update({
        where: { id },
        data: { state: "completed", sizeBytes: BigInt(size), finishedAt: new Date() },
      }),
    failed: (reason) =>
      s.db.addonBackup.update({ where: { id }, data: { state: "failed", error: reason, finishedAt: new Date() } }),
    log: s.log.child({ component: "addon-backups", addon: addon.name, backup: id }),
  });
}

/** What a download streams. */
export interface BackupDownload {
  fileName: string;
  sizeBytes: number;
  stream: Readable;
}

/** Opens a completed backup for download (member and above; audited). */
export async function downloadBackup(s: Services, actor: Actor, appName: string, id: string): Promise<BackupDownload> {
  const { app, addon, backup: b } = await authorizedBackup(s, actor, appName, id, "app:config");
  if (b.state !== "completed") throw errors.conflict(`backup ${id} is ${b.state}, not completed`);
  const file = backupFile(s.config.dataDir, addon.teamId, addon.name, kindOf(addon), b.id);
  const opened = await openBackupFile(file, id);
  await recordAudit(s.db, actor, {
    teamId: app.teamId,
    appName: app.name,
    action: "addon.backup.download",
    target: addon.name,
    data: { backup: b.id },
  });
  return {
    fileName: downloadName(addon.name, addon.kind, b.id),
    ...opened,
  };
}

/**
 * Replaces the add-on's data with a completed backup (member and above; `confirm` must be the app's name). Waits
 * until it is done: PostgreSQL in one transaction; Redis restarted on the backup (restoreScript). Audited.
 */
export async function restoreBackup(
  s: Services,
  actor: Actor,
  appName: string,
  id: string,
  confirm: string,
): Promise<BackupView> {
  const { app, addon, backup: b } = await authorizedBackup(s, actor, appName, id, "app:config");
  if (confirm !== app.name)
    throw errors.validation(`restoring replaces the data of ${addon.name}; confirm with the app's name (${app.name})`);
  if (b.state !== "completed") throw errors.conflict(`backup ${id} is ${b.state}, not completed`);
  const kind = kindOf(addon);
  const file = backupFile(s.config.dataDir, addon.teamId, addon.name, kind, b.id);
  await fs.access(file).catch(() => {
    throw errors.notFound(`the file of backup ${id}`);
  });
  const target = await runningService(s, addon);
  if (busy.has(addon.id))
    throw errors.conflict(`a backup or restore of ${addon.name} is running; try again when it is done`);
  busy.add(addon.id);
  try {
    await recordAudit(s.db, actor, {
      teamId: app.teamId,
      appName: app.name,
      action: "addon.backup.restore",
      target: addon.name,
      data: { backup: b.id },
    });
    const stdout: Buffer[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (stdout.length < 64) stdout.push(chunk);
        cb();
      },
    });
    let result: { exitCode: number; stderr: string } | null = null;
    let failure: unknown = null;
    try {
      result = await execStream(s.agents, {
        ...target,
        command: ["/bin/sh", "-c", restoreScript(kind)],
        stdin: createReadStream(file),
        stdout: sink,
        timeoutMs: OPERATION_TIMEOUT_MS,
      });
    } catch (err) {
      failure = err;
    }
    if (kind === "redis" && Buffer.concat(stdout).toString("utf8").includes(REDIS_SWAPPED_MARKER)) {
      // The server stopped on purpose (which may end the exec session with it); wait for it to come back on the backup.
      await waitRedisBack(s, addon);
    } else if (failure || result?.exitCode !== 0) {
      const why =
        failure instanceof Error ? failure.message : `exit ${result?.exitCode}: ${result?.stderr || "no message"}`;
      s.log.warn({ addon: addon.name, backup: b.id, why }, "add-on restore failed");
      throw errors.unavailable(`restoring ${addon.name} from ${b.id} failed: ${why.slice(0, 400)}`);
    }
    s.log.info({ addon: addon.name, backup: b.id }, "add-on restored from a backup");
    return view(addon.name, b);
  } finally {
    busy.delete(addon.id);
  }
}

/** Waits until the restarted Redis service answers with AOF on again (it runs on the restored data then). */
async function waitRedisBack(s: Services, addon: AddonRow): Promise<void> {
  const deadline = Date.now() + REDIS_RESTART_TIMEOUT_MS;
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    const target = await runningService(s, addon).catch(() => null);
    if (target) {
      const out: Buffer[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _enc, cb) {
          out.push(chunk);
          cb();
        },
      });
      const r = await execStream(s.agents, {
        ...target,
        command: ["/bin/sh", "-c", REDIS_READY_SCRIPT],
        stdout: sink,
        timeoutMs: 10_000,
      }).catch(() => null);
      if (r?.exitCode === 0 && Buffer.concat(out).toString("utf8").trim() === "yes") return;
    }
    if (Date.now() > deadline) throw errors.unavailable(`${addon.name} did not come back after the restore in time`);
  }
}
