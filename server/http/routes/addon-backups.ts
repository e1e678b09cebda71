// Backups of add-ons (thin handlers over server/addons/backups): list and capture per add-on; info, download and
// restore by backup id under the owning app. docs/addons.md "Backups".
import { Readable } from "node:stream";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AddonBackupSchema, AddonPathParam, BackupPathParam, RestoreBody } from "../schemas/addon-backups.ts";
import { backupInfo, captureBackup, downloadBackup, listBackups, restoreBackup } from "../../addons/backups/backups.ts";

const T = ["Add-ons"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/addons/{addon}/backups",
  tags: T,
  summary: "Backups of an add-on, newest first",
  request: { params: AddonPathParam },
  responses: { 200: jsonResponse(z.array(AddonBackupSchema), "Backups") },
});
const capture = apiRoute({
  method: "post",
  path: "/apps/{app}/addons/{addon}/backups",
  tags: T,
  summary: "Capture a backup now (member and above); answers at once, state capturing, then completed or failed",
  request: { params: AddonPathParam },
  responses: { 202: jsonResponse(AddonBackupSchema, "Capturing") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}/addon-backups/{backup}",
  tags: T,
  summary: "One backup of one of the app's add-ons",
  request: { params: BackupPathParam },
  responses: { 200: jsonResponse(AddonBackupSchema, "Backup") },
});
const download = apiRoute({
  method: "get",
  path: "/apps/{app}/addon-backups/{backup}/download",
  tags: T,
  summary: "Download a completed backup (member and above): pg_dump custom format or a Redis RDB file",
  request: { params: BackupPathParam },
  responses: {
    200: {
      description: "The backup file",
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
});
const restore = apiRoute({
  method: "post",
  path: "/apps/{app}/addon-backups/{backup}/restore",
  tags: T,
  summary: "Replace the add-on's data with a backup (member and above; confirm with the app's name); waits until done",
  request: { params: BackupPathParam, body: jsonBody(RestoreBody) },
  responses: { 200: jsonResponse(AddonBackupSchema, "Restored") },
});

/** Routes under /api/v1 for add-on backups. */
export const addonBackupRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => {
    const { app, addon } = c.req.valid("param");
    return c.json(await listBackups(c.get("services"), requireActor(c), app, addon), 200);
  })
  .openapi(capture, async (c) => {
    const { app, addon } = c.req.valid("param");
    return c.json(await captureBackup(c.get("services"), requireActor(c), app, addon), 202);
  })
  .openapi(info, async (c) => {
    const { app, backup } = c.req.valid("param");
    return c.json(await backupInfo(c.get("services"), requireActor(c), app, backup), 200);
  })
  .openapi(download, async (c) => {
    const { app, backup } = c.req.valid("param");
    const d = await downloadBackup(c.get("services"), requireActor(c), app, backup);
    c.header("content-type", "application/octet-stream");
    c.header("content-disposition", `attachment; filename="${d.fileName}"`);
    c.header("content-length", String(d.sizeBytes));
    c.header("cache-control", "no-store");
    return c.body(Readable.toWeb(d.stream) as ReadableStream, 200);
  })
  .openapi(restore, async (c) => {
    const { app, backup } = c.req.valid("param");
    const body = c.req.valid("json");
    return c.json(await restoreBackup(c.get("services"), requireActor(c), app, backup, body.confirm), 200);
  });
