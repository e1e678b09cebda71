-- Backups of add-ons (issue 15).
CREATE TABLE "AddonBackup" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "addonId" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'capturing',
    "origin" TEXT NOT NULL,
    "sizeBytes" BIGINT NOT NULL DEFAULT 0,
    "error" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    CONSTRAINT "AddonBackup_addonId_fkey" FOREIGN KEY ("addonId") REFERENCES "Addon" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "AddonBackup_addonId_createdAt_idx" ON "AddonBackup"("addonId", "createdAt");
