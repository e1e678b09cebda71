-- Add-ons attached to other apps of their team (issue 15).
CREATE TABLE "AddonAttachment" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "addonId" TEXT NOT NULL,
    "appId" TEXT NOT NULL,
    "configVar" TEXT NOT NULL,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "AddonAttachment_addonId_fkey" FOREIGN KEY ("addonId") REFERENCES "Addon" ("id") ON DELETE CASCADE ON UPDATE CASCADE,
    CONSTRAINT "AddonAttachment_appId_fkey" FOREIGN KEY ("appId") REFERENCES "App" ("id") ON DELETE RESTRICT ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "AddonAttachment_addonId_appId_key" ON "AddonAttachment"("addonId", "appId");
CREATE UNIQUE INDEX "AddonAttachment_appId_configVar_key" ON "AddonAttachment"("appId", "configVar");
