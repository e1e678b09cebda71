-- Requests (what placement counts) beside the limits (what the cgroup enforces). Null = the default for the limits:
-- memory request = the memory limit, CPU request = 0.1 core (or the CPU limit if smaller). Existing rows stay null, so
-- they get the defaults; no running instance changes (requests are not part of an instance's spec).

-- AlterTable
ALTER TABLE "Formation" ADD COLUMN "memoryRequestMb" INTEGER;
ALTER TABLE "Formation" ADD COLUMN "cpuRequest" REAL;

-- AlterTable
ALTER TABLE "Instance" ADD COLUMN "memoryRequestMb" INTEGER;
ALTER TABLE "Instance" ADD COLUMN "cpuRequest" REAL;
