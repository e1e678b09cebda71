-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Node" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "address" TEXT NOT NULL DEFAULT '',
    "cpus" INTEGER NOT NULL DEFAULT 0,
    "memoryMb" INTEGER NOT NULL DEFAULT 0,
    "diskMb" INTEGER NOT NULL DEFAULT 0,
    "kernel" TEXT NOT NULL DEFAULT '',
    "cgroup" TEXT NOT NULL DEFAULT '',
    "version" TEXT NOT NULL DEFAULT '',
    "state" TEXT NOT NULL DEFAULT 'down',
    "teamId" TEXT,
    "cordoned" BOOLEAN NOT NULL DEFAULT false,
    "lastSeenAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO "new_Node" ("address", "cgroup", "cpus", "createdAt", "diskMb", "id", "kernel", "lastSeenAt", "memoryMb", "name", "state", "teamId", "version") SELECT "address", "cgroup", "cpus", "createdAt", "diskMb", "id", "kernel", "lastSeenAt", "memoryMb", "name", "state", "teamId", "version" FROM "Node";
DROP TABLE "Node";
ALTER TABLE "new_Node" RENAME TO "Node";
CREATE UNIQUE INDEX "Node_name_key" ON "Node"("name");
CREATE TABLE "new_Instance" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "appId" TEXT NOT NULL,
    "releaseId" TEXT NOT NULL,
    "nodeId" TEXT,
    "processType" TEXT NOT NULL,
    "desired" TEXT NOT NULL DEFAULT 'running',
    "state" TEXT NOT NULL DEFAULT 'pending',
    "hostPort" INTEGER,
    "exitCode" INTEGER,
    "reason" TEXT NOT NULL DEFAULT '',
    "restarts" INTEGER NOT NULL DEFAULT 0,
    "startedAt" DATETIME,
    "updatedAt" DATETIME NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Instance_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Instance_releaseId_fkey" FOREIGN KEY ("releaseId") REFERENCES "Release" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "Instance_nodeId_fkey" FOREIGN KEY ("nodeId") REFERENCES "Node" ("id") ON DELETE SET NULL ON UPDATE CASCADE
);
INSERT INTO "new_Instance" ("appId", "createdAt", "exitCode", "hostPort", "id", "nodeId", "processType", "reason", "releaseId", "restarts", "startedAt", "state", "updatedAt") SELECT "appId", "createdAt", "exitCode", "hostPort", "id", "nodeId", "processType", "reason", "releaseId", "restarts", "startedAt", "state", "updatedAt" FROM "Instance";
DROP TABLE "Instance";
ALTER TABLE "new_Instance" RENAME TO "Instance";
CREATE INDEX "Instance_appId_idx" ON "Instance"("appId");
CREATE INDEX "Instance_nodeId_idx" ON "Instance"("nodeId");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

