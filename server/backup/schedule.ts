// Scheduled backups inside the control plane (BERTH_BACKUP_INTERVAL minutes, 0 = off): one archive per interval into
// BERTH_BACKUP_DIR, the newest BERTH_BACKUP_KEEP kept. A failed run is logged and retried at the next interval; it
// never stops the platform (a full backup disk must not take the apps down).
import path from "node:path";
import type { Logger } from "../logger.ts";
import { archiveName, createBackup, pruneBackups } from "./archive.ts";

/** What the schedule needs from the configuration. */
export interface BackupSchedule {
  dataDir: string;
  dir: string;
  intervalMinutes: number;
  keep: number;
}

/** Starts the schedule (nothing when the interval is 0); returns a function that stops it (and waits for a run). */
export function startBackupSchedule(opts: BackupSchedule, log: Logger): () => Promise<void> {
  if (opts.intervalMinutes <= 0) return () => Promise.resolve();
  let running: Promise<void> | null = null;
  const run = async () => {
    const file = path.join(opts.dir, archiveName(new Date()));
    try {
      const m = await createBackup(opts.dataDir, file);
      const pruned = await pruneBackups(opts.dir, opts.keep);
      log.info(
        { file, apps: m.apps.length, repos: m.gitRepos.length, pruned: pruned.length },
        "scheduled backup written",
      );
    } catch (err) {
      log.error({ err, file }, "scheduled backup failed; retrying at the next interval");
    }
  };
  const timer = setInterval(() => {
    // A slow backup (large registry) is not stacked: the next one starts after it finished.
    if (running) return;
    running = run().finally(() => (running = null));
  }, opts.intervalMinutes * 60_000);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
