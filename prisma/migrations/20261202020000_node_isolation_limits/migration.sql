-- AlterTable
ALTER TABLE "Node" ADD COLUMN "userns" BOOLEAN;

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "bandwidthMbit" INTEGER;
ALTER TABLE "Instance" ADD COLUMN "diskMb" INTEGER;

-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Formation" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "appId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "quantity" INTEGER NOT NULL DEFAULT 0,
    "memoryMb" INTEGER NOT NULL DEFAULT 512,
    "cpu" REAL NOT NULL DEFAULT 1,
    "diskMb" INTEGER NOT NULL DEFAULT 1024,
    "bandwidthMbit" INTEGER NOT NULL DEFAULT 100,
    CONSTRAINT "Formation_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
INSERT INTO "new_Formation" ("appId", "cpu", "id", "memoryMb", "quantity", "type") SELECT "appId", "cpu", "id", "memoryMb", "quantity", "type" FROM "Formation";
DROP TABLE "Formation";
ALTER TABLE "new_Formation" RENAME TO "Formation";
CREATE UNIQUE INDEX "Formation_appId_type_key" ON "Formation"("appId", "type");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;


-- Existing instances keep the limits of their formation (the defaults above), like the earlier instance_limits
-- migration did for memory and CPU.
UPDATE "Instance" SET
  "diskMb" = (SELECT "diskMb" FROM "Formation" f WHERE f."appId" = "Instance"."appId" AND f."type" = "Instance"."processType"),
  "bandwidthMbit" = (SELECT "bandwidthMbit" FROM "Formation" f WHERE f."appId" = "Instance"."appId" AND f."type" = "Instance"."processType");
