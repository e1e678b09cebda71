// Retention of add-on backups: the newest BERTH_ADDON_BACKUP_KEEP of each origin (manual, scheduled) per add-on.
import fs from "node:fs/promises";
import type { Services } from "../../context.ts";
import { backupFile } from "./store.ts";

/** Deletes the oldest backups (file and row) of each origin past `keep`; a capture in flight is never touched. */
export async function pruneAddonBackups(s: Services, addonId: string, keep: number): Promise<number> {
  const a = await s.db.addon.findUnique({ where: { id: addonId }, include: { app: { select: { teamId: true } } } });
  if (!a) return 0;
  let pruned = 0;
  for (const origin of ["manual", "scheduled"]) {
    const old = await s.db.addonBackup.findMany({
      where: { addonId, origin, state: { not: "capturing" } },
      orderBy: { createdAt: "desc" },
      skip: keep,
    });
    for (const b of old) {
      await fs.rm(backupFile(s.config.dataDir, a.app.teamId, a.name, a.kind, b.id), { force: true });
      await s.db.addonBackup.delete({ where: { id: b.id } });
      pruned++;
    }
  }
  return pruned;
}
