-- Backups of volumes (issue 15).
CREATE TABLE "VolumeBackup" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "volumeId" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'capturing',
    "sizeBytes" BIGINT NOT NULL DEFAULT 0,
    "error" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finishedAt" DATETIME,
    CONSTRAINT "VolumeBackup_volumeId_fkey" FOREIGN KEY ("volumeId") REFERENCES "Volume" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE INDEX "VolumeBackup_volumeId_createdAt_idx" ON "VolumeBackup"("volumeId", "createdAt");
