-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "memoryMb" INTEGER;
ALTER TABLE "Instance" ADD COLUMN "cpu" REAL;

-- Existing instances keep the limits they run with (the formation's today), so the upgrade changes no spec.
UPDATE "Instance" SET
  "memoryMb" = (SELECT "memoryMb" FROM "Formation" f WHERE f."appId" = "Instance"."appId" AND f."type" = "Instance"."processType"),
  "cpu" = (SELECT "cpu" FROM "Formation" f WHERE f."appId" = "Instance"."appId" AND f."type" = "Instance"."processType");
