// Request and response schemas of the volume backup routes (server/http/routes/volume-backups.ts).
import { z } from "@hono/zod-openapi";
import type { VolumeBackup } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { AppParam } from "./apps.ts";

export const VolumeBackupSchema = z
  .object({
    id: z.string().openapi({ example: "vb-0123456789abcdef" }),
    volume: z.string(),
    state: z.string().openapi({ description: "capturing | completed | failed" }),
    sizeBytes: z.int(),
    error: z.string().nullable().openapi({ description: "Why it failed" }),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("VolumeBackup");

// Shapes are checked again by server/volumes/backups.ts (after authorization, so another team gets 404 either way).
export const VolumeBackupPathParam = AppParam.extend({
  backup: z
    .string()
    .min(1)
    .max(40)
    .openapi({ param: { name: "backup", in: "path" }, example: "vb-0123456789abcdef" }),
});

export const RestoreVolumeBody = z
  .object({ confirm: z.string().min(1).max(100).openapi({ description: "The app's name, to confirm" }) })
  .strict()
  .openapi("RestoreVolumeBackup");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<VolumeBackup, typeof VolumeBackupSchema>>];
