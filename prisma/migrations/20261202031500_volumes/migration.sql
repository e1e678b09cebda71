-- Persistent volumes (issue 15).
CREATE TABLE "Volume" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "appId" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "processType" TEXT NOT NULL,
    "mountPath" TEXT NOT NULL,
    "sizeMb" INTEGER NOT NULL,
    "nodeId" TEXT,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Volume_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Volume_appId_name_key" ON "Volume"("appId", "name");
CREATE UNIQUE INDEX "Volume_appId_processType_mountPath_key" ON "Volume"("appId", "processType", "mountPath");

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "volumes" TEXT;
