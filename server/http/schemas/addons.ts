// Schemas of an app's managed services (add-ons) and their attachments to other apps.
import { z } from "@hono/zod-openapi";
import type { Addon, AddonAttachment, AddonInfo } from "../../../shared/api-types.ts";
import type { Describes, Wire } from "./wire-check.ts";
import { AppParam } from "./apps.ts";
import { AddonLiveFields } from "./addons-info.ts";

export const AddonSchema = z
  .object({
    name: z.string(),
    kind: z.string().openapi({ description: "postgres" }),
    plan: z.string(),
    version: z.string().openapi({ description: "Pinned major version" }),
    state: z.string().openapi({ description: "provisioning | available | failed | deprovisioning" }),
    configVar: z.string().openapi({ description: "The config var it sets on the app (DATABASE_URL)" }),
    failReason: z.string().nullable(),
    createdAt: z.string(),
    attachedTo: z.array(z.string()).openapi({ description: "Other apps of the team it is attached to" }),
  })
  .openapi("Addon");
export const AddonInfoSchema = AddonSchema.extend({
  memoryMb: z.int(),
  sizeMb: z.int().openapi({ description: "Size of its volume (MiB)" }),
  usedBytes: z.int().nullable().openapi({ description: "Bytes used on its volume (null: not known now)" }),
  node: z.string().nullable(),
  running: z.boolean(),
  ...AddonLiveFields,
}).openapi("AddonInfo");
// Kind and plan are checked against the allowlist by server/addons (after authorization, so another team gets 404).
export const CreateAddonBody = z
  .object({
    kind: z.string().min(1).max(30),
    plan: z.string().min(1).max(30).optional(),
  })
  .strict()
  .openapi("CreateAddon");
export const AddonParam = AppParam.extend({
  addon: z
    .string()
    .min(1)
    .max(30)
    .openapi({ param: { name: "addon", in: "path" } }),
});

export const AttachmentSchema = z
  .object({
    addon: z.string(),
    kind: z.string(),
    owner: z.string().openapi({ description: "The app that owns (and destroys) the add-on" }),
    configVar: z.string().openapi({ description: "The config var this app gets" }),
    createdAt: z.string(),
  })
  .openapi("AddonAttachment");
// The add-on and var names are checked by server/addons (after authorization).
export const AttachAddonBody = z
  .object({
    addon: z.string().min(1).max(30),
    as: z.string().min(1).max(64).optional(),
  })
  .strict()
  .openapi("AttachAddon");

// What the clients see (shared/api-types.ts) is what these schemas send.
type _Wire = [
  Wire<Describes<Addon, typeof AddonSchema>>,
  Wire<Describes<AddonInfo, typeof AddonInfoSchema>>,
  Wire<Describes<AddonAttachment, typeof AttachmentSchema>>,
];
