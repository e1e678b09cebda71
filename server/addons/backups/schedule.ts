// Scheduled add-on backups (BERTH_ADDON_BACKUP_INTERVAL minutes, default 1440 = daily; 0 = off) and retention
// (BERTH_ADDON_BACKUP_KEEP of each origin, manual and scheduled, per add-on). Like the platform backup
// (server/backup/schedule.ts): a failed run is logged and the add-on is tried again at the next check, and nothing
// here can stop the platform. The schedule checks every CHECK_MINUTES (or the interval, if shorter) which available
// add-ons have no scheduled backup newer than the interval, and captures those one after the other.
import type { Services } from "../../context.ts";
import { startCapture } from "./backups.ts";
import fs from "node:fs/promises";
import path from "node:path";
import { pruneAddonBackups } from "./retention.ts";
import { backupsRoot } from "./store.ts";

/** Largest gap between two checks. */
const CHECK_MINUTES = 30;

/** One pass: captures what is due, then prunes. Exported for tests. */
export async function runScheduledBackups(
  s: Services,
  now = new Date(),
): Promise<{ captured: number; failed: number }> {
  const { intervalMinutes, keep } = s.config.addonBackup;
  const log = s.log.child({ component: "addon-backups" });
  const due = new Date(now.getTime() - intervalMinutes * 60_000);
  const addons = await s.db.addon.findMany({
    where: { state: "available" },
    include: { app: { select: { teamId: true } } },
  });
  let captured = 0;
  let failed = 0;
  for (const a of addons) {
    try {
      const recent = await s.db.addonBackup.findFirst({
        where: { addonId: a.id, origin: "scheduled", state: "completed", createdAt: { gt: due } },
      });
      if (recent) continue;
      const inst = await s.db.instance.findFirst({
        where: { appId: a.serviceAppId, processType: "web", desired: "running", state: "running" },
        orderBy: { createdAt: "desc" },
      });
      if (!inst?.nodeId || !s.agents.isConnected(inst.nodeId)) throw new Error("its service is not running now");
      const row = await startCapture(s, { ...a, teamId: a.app.teamId }, "scheduled", {
        nodeId: inst.nodeId,
        instanceId: inst.id,
      });
      await row.done;
      const after = await s.db.addonBackup.findUnique({ where: { id: row.id } });
      if (after?.state !== "completed") throw new Error(after?.error || "the capture failed");
      captured++;
    } catch (err) {
      failed++;
      log.error({ err, addon: a.name }, "scheduled add-on backup failed; trying again at the next check");
    }
    await pruneAddonBackups(s, a.id, keep).catch((err: unknown) =>
      log.error({ err, addon: a.name }, "pruning add-on backups failed"),
    );
  }
  return { captured, failed };
}

/**
 * Deletes `*.partial` files that captures interrupted by a stop left in <data>/addon-backups/<team>/<add-on>/ (not
 * those of a capture started since this control plane runs).
 */
async function removePartials(s: Services): Promise<void> {
  const root = backupsRoot(s.config.dataDir);
  const live = new Set(
    (await s.db.addonBackup.findMany({ where: { state: "capturing" }, select: { id: true } })).map((b) => `${b.id}.`),
  );
  for (const team of await fs.readdir(root).catch(() => [] as string[]))
    for (const addon of await fs.readdir(path.join(root, team)).catch(() => [] as string[]))
      for (const f of await fs.readdir(path.join(root, team, addon)).catch(() => [] as string[]))
        if (f.endsWith(".partial") && ![...live].some((p) => f.startsWith(p)))
          await fs.rm(path.join(root, team, addon, f), { force: true });
}

/**
 * Marks captures that a stopped control plane left `capturing` as failed (their partial files go) and starts the
 * schedule (nothing when the interval is 0). Returns a function that stops it and waits for a running pass.
 */
export function startAddonBackupSchedule(s: Services): () => Promise<void> {
  const log = s.log.child({ component: "addon-backups" });
  let running: Promise<unknown> | null = s.db.addonBackup
    .updateMany({
      where: { state: "capturing" },
      data: { state: "failed", error: "interrupted by a control-plane restart", finishedAt: new Date() },
    })
    .then(() => removePartials(s))
    .catch((err: unknown) => log.error({ err }, "marking interrupted add-on backups failed"))
    .finally(() => (running = null));
  const { intervalMinutes } = s.config.addonBackup;
  if (intervalMinutes <= 0) return async () => void (await running);
  const pass = () => {
    if (running) return; // a slow pass is not stacked
    running = runScheduledBackups(s)
      .catch((err: unknown) => log.error({ err }, "scheduled add-on backups failed"))
      .finally(() => (running = null));
  };
  const timer = setInterval(pass, Math.min(intervalMinutes, CHECK_MINUTES) * 60_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
