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
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "observedAddress" TEXT NOT NULL DEFAULT '',
    "reportedAddress" TEXT NOT NULL DEFAULT '',
    "addressOverride" TEXT,
    "local" BOOLEAN NOT NULL DEFAULT false,
    "unroutable" TEXT
);
INSERT INTO "new_Node" ("address", "cgroup", "cordoned", "cpus", "createdAt", "diskMb", "id", "kernel", "lastSeenAt", "memoryMb", "name", "state", "teamId", "version") SELECT "address", "cgroup", "cordoned", "cpus", "createdAt", "diskMb", "id", "kernel", "lastSeenAt", "memoryMb", "name", "state", "teamId", "version" FROM "Node";
DROP TABLE "Node";
ALTER TABLE "new_Node" RENAME TO "Node";
CREATE UNIQUE INDEX "Node_name_key" ON "Node"("name");
CREATE TABLE "new_NodeJoinToken" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "teamId" TEXT,
    "name" TEXT NOT NULL DEFAULT '',
    "tokenHash" TEXT NOT NULL,
    "createdById" TEXT NOT NULL,
    "expiresAt" DATETIME,
    "revokedAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "local" BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT "NodeJoinToken_teamId_fkey" FOREIGN KEY ("teamId") REFERENCES "Team" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_NodeJoinToken" ("createdAt", "createdById", "expiresAt", "id", "name", "revokedAt", "teamId", "tokenHash") SELECT "createdAt", "createdById", "expiresAt", "id", "name", "revokedAt", "teamId", "tokenHash" FROM "NodeJoinToken";
DROP TABLE "NodeJoinToken";
ALTER TABLE "new_NodeJoinToken" RENAME TO "NodeJoinToken";
CREATE UNIQUE INDEX "NodeJoinToken_tokenHash_key" ON "NodeJoinToken"("tokenHash");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;


-- The old address was the agent's own claim: kept only as information. Until its agent registers again (it does at
-- once after the control plane restarts) a node has no address the control plane saw, so nothing is routed to it.
UPDATE "Node" SET "reportedAddress" = "address", "address" = '', "unroutable" = 'waiting for the agent to register again';
