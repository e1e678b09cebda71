// Request and response schemas of the add-on backup routes (server/http/routes/addon-backups.ts).
import { z } from "@hono/zod-openapi";
import { AppParam } from "../schemas.ts";

export const AddonBackupSchema = z
  .object({
    id: z.string().openapi({ example: "bk-0123456789abcdef" }),
    addon: z.string(),
    state: z.string().openapi({ description: "capturing | completed | failed" }),
    origin: z.string().openapi({ description: "manual | scheduled" }),
    sizeBytes: z.int(),
    error: z.string().nullable().openapi({ description: "Why it failed" }),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("AddonBackup");

// Shapes are checked again by server/addons/backups (after authorization, so another team gets 404 either way).
export const AddonPathParam = AppParam.extend({
  addon: z
    .string()
    .min(1)
    .max(30)
    .openapi({ param: { name: "addon", in: "path" } }),
});
export const BackupPathParam = AppParam.extend({
  backup: z
    .string()
    .min(1)
    .max(40)
    .openapi({ param: { name: "backup", in: "path" }, example: "bk-0123456789abcdef" }),
});

export const RestoreBody = z
  .object({ confirm: z.string().min(1).max(100).openapi({ description: "The app's name, to confirm" }) })
  .strict()
  .openapi("RestoreAddonBackup");
