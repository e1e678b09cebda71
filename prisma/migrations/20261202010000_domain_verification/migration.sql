-- Custom domains need a DNS proof of ownership (issue 12): per-claim token, verification time, pending-claim expiry.
-- A name is no longer unique across claims; it is unique among verified domains (verifiedHostname).
-- RedefineTables
PRAGMA defer_foreign_keys=ON;
PRAGMA foreign_keys=OFF;
CREATE TABLE "new_Domain" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "hostname" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "verificationToken" TEXT NOT NULL,
    "verifiedAt" DATETIME,
    "verifiedHostname" TEXT,
    "expiresAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Domain_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE CASCADE ON UPDATE CASCADE
);
-- Domains added before ownership proofs existed stay verified (they are routed and serve today; unrouting them on
-- upgrade would take sites down). Each gets a token anyway, so it can be shown like any other.
INSERT INTO "new_Domain" ("appId", "createdAt", "hostname", "id", "verificationToken", "verifiedAt", "verifiedHostname", "expiresAt")
SELECT "appId", "createdAt", "hostname", "id", 'berth-verify-' || lower(hex(randomblob(16))), "createdAt", "hostname", NULL FROM "Domain";
DROP TABLE "Domain";
ALTER TABLE "new_Domain" RENAME TO "Domain";
CREATE UNIQUE INDEX "Domain_verifiedHostname_key" ON "Domain"("verifiedHostname");
CREATE INDEX "Domain_hostname_idx" ON "Domain"("hostname");
CREATE UNIQUE INDEX "Domain_appId_hostname_key" ON "Domain"("appId", "hostname");
PRAGMA foreign_keys=ON;
PRAGMA defer_foreign_keys=OFF;

