// Schemas of an app's persistent volumes.
import { z } from "@hono/zod-openapi";
import type { Volume, VolumeInfo } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { VOLUME_LIMITS } from "../../volumes/volumes.ts";
import { AppParam } from "./apps.ts";

export const VolumeSchema = z
  .object({
    name: z.string(),
    processType: z.string().openapi({ description: "Every instance of this process type mounts the volume" }),
    mountPath: z.string().openapi({ description: "Where it is mounted inside the container" }),
    sizeMb: z.int().openapi({ description: "Size limit (MiB): writes past it fail with ENOSPC inside the container" }),
    node: z.string().nullable().openapi({ description: "The node it lives on; null until its first instance starts" }),
    createdAt: z.string(),
  })
  .openapi("Volume");
export const VolumeInfoSchema = VolumeSchema.extend({
  usedBytes: z.int().nullable().openapi({ description: "Bytes used, as its node reports them (null: not known now)" }),
  instances: z.array(z.string()).openapi({ description: "Instances that mount it" }),
}).openapi("VolumeInfo");
// Name, type and path are checked by server/volumes (after authorization); here only sizes are bounded.
export const CreateVolumeBody = z
  .object({
    name: z.string().min(1).max(30),
    processType: z.string().min(1).max(30).default("web"),
    mountPath: z.string().min(2).max(200),
    sizeMb: z.int().min(VOLUME_LIMITS.sizeMb.min).max(VOLUME_LIMITS.sizeMb.max),
  })
  .strict()
  .openapi("CreateVolume");
export const VolumeParam = AppParam.extend({
  volume: z
    .string()
    .min(1)
    .max(30)
    .openapi({ param: { name: "volume", in: "path" } }),
});

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [Wire<Describes<Volume, typeof VolumeSchema>>, Wire<Describes<VolumeInfo, typeof VolumeInfoSchema>>];
