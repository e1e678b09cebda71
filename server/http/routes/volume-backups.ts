// Backups of volumes (thin handlers over server/volumes/backups.ts): list and capture per volume; info, download and
// restore by backup id under the owning app. docs/volumes.md "Backups".
import { Readable } from "node:stream";
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { VolumeParam } from "../schemas/volumes.ts";
import { RestoreVolumeBody, VolumeBackupPathParam, VolumeBackupSchema } from "../schemas/volume-backups.ts";
import {
  captureVolumeBackup,
  downloadVolumeBackup,
  listVolumeBackups,
  restoreVolumeBackup,
  volumeBackupInfo,
} from "../../volumes/backups.ts";

const T = ["Volumes"];
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/volumes/{volume}/backups",
  tags: T,
  summary: "Backups of a volume, newest first",
  request: { params: VolumeParam },
  responses: { 200: jsonResponse(z.array(VolumeBackupSchema), "Backups") },
});
const capture = apiRoute({
  method: "post",
  path: "/apps/{app}/volumes/{volume}/backups",
  tags: T,
  summary: "Back the volume up now (member and above); answers at once, state capturing, then completed or failed",
  request: { params: VolumeParam },
  responses: { 202: jsonResponse(VolumeBackupSchema, "Capturing") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}/volume-backups/{backup}",
  tags: T,
  summary: "One backup of one of the app's volumes",
  request: { params: VolumeBackupPathParam },
  responses: { 200: jsonResponse(VolumeBackupSchema, "Backup") },
});
const download = apiRoute({
  method: "get",
  path: "/apps/{app}/volume-backups/{backup}/download",
  tags: T,
  summary: "Download a completed volume backup (member and above): a tar archive with numeric owners",
  request: { params: VolumeBackupPathParam },
  responses: {
    200: {
      description: "The archive",
      content: { "application/x-tar": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
});
const restore = apiRoute({
  method: "post",
  path: "/apps/{app}/volume-backups/{backup}/restore",
  tags: T,
  summary:
    "Replace the volume's files with a backup (member and above; confirm with the app's name); its instances are " +
    "stopped meanwhile and started again; waits until done",
  request: { params: VolumeBackupPathParam, body: jsonBody(RestoreVolumeBody) },
  responses: { 200: jsonResponse(VolumeBackupSchema, "Restored") },
});

/** Routes under /api/v1 for volume backups. */
export const volumeBackupRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) => {
    const { app, volume } = c.req.valid("param");
    return c.json(await listVolumeBackups(c.get("services"), requireActor(c), app, volume), 200);
  })
  .openapi(capture, async (c) => {
    const { app, volume } = c.req.valid("param");
    const { done: _done, ...b } = await captureVolumeBackup(c.get("services"), requireActor(c), app, volume);
    return c.json(b, 202);
  })
  .openapi(info, async (c) => {
    const { app, backup } = c.req.valid("param");
    return c.json(await volumeBackupInfo(c.get("services"), requireActor(c), app, backup), 200);
  })
  .openapi(download, async (c) => {
    const { app, backup } = c.req.valid("param");
    const d = await downloadVolumeBackup(c.get("services"), requireActor(c), app, backup);
    c.header("content-type", "application/x-tar");
    c.header("content-disposition", `attachment; filename="${d.fileName}"`);
    c.header("content-length", String(d.sizeBytes));
    c.header("cache-control", "no-store");
    return c.body(Readable.toWeb(d.stream) as ReadableStream, 200);
  })
  .openapi(restore, async (c) => {
    const { app, backup } = c.req.valid("param");
    const { confirm } = c.req.valid("json");
    return c.json(await restoreVolumeBackup(c.get("services"), requireActor(c), app, backup, confirm), 200);
  });
