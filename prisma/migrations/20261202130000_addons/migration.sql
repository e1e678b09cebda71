-- Managed services (add-ons, issue 15).
CREATE TABLE "Addon" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "plan" TEXT NOT NULL,
    "version" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "serviceAppId" TEXT NOT NULL,
    "configVar" TEXT NOT NULL,
    "state" TEXT NOT NULL DEFAULT 'provisioning',
    "failReason" TEXT NOT NULL DEFAULT '',
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "Addon_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE RESTRICT ON UPDATE CASCADE,
    CONSTRAINT "Addon_serviceAppId_fkey" FOREIGN KEY ("serviceAppId") REFERENCES "App" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "Addon_name_key" ON "Addon"("name");
CREATE UNIQUE INDEX "Addon_serviceAppId_key" ON "Addon"("serviceAppId");
CREATE INDEX "Addon_appId_idx" ON "Addon"("appId");
