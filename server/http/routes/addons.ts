// Managed services (add-ons) of an app (thin handlers over server/addons).
import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { ApiEnv } from "../env.ts";
import { requireActor } from "../env.ts";
import { apiRoute, jsonBody, jsonResponse } from "../route.ts";
import { AppParam } from "../schemas.ts";
import { AddonLiveFields } from "../schemas/addons-info.ts";
import { addonInfo, createAddon, destroyAddon, listAddons } from "../../addons/addons.ts";
import { attachAddon, detachAddon, listAttachments } from "../../addons/attachments.ts";

const AddonSchema = z
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
const AddonInfoSchema = AddonSchema.extend({
  memoryMb: z.int(),
  sizeMb: z.int().openapi({ description: "Size of its volume (MiB)" }),
  usedBytes: z.int().nullable().openapi({ description: "Bytes used on its volume (null: not known now)" }),
  node: z.string().nullable(),
  running: z.boolean(),
  ...AddonLiveFields,
}).openapi("AddonInfo");
// Kind and plan are checked against the allowlist by server/addons (after authorization, so another team gets 404).
const CreateBody = z
  .object({
    kind: z.string().min(1).max(30),
    plan: z.string().min(1).max(30).optional(),
  })
  .strict()
  .openapi("CreateAddon");
const AddonParam = AppParam.extend({
  addon: z
    .string()
    .min(1)
    .max(30)
    .openapi({ param: { name: "addon", in: "path" } }),
});

const AttachmentSchema = z
  .object({
    addon: z.string(),
    kind: z.string(),
    owner: z.string().openapi({ description: "The app that owns (and destroys) the add-on" }),
    configVar: z.string().openapi({ description: "The config var this app gets" }),
    createdAt: z.string(),
  })
  .openapi("AddonAttachment");
// The add-on and var names are checked by server/addons (after authorization).
const AttachBody = z
  .object({
    addon: z.string().min(1).max(30),
    as: z.string().min(1).max(64).optional(),
  })
  .strict()
  .openapi("AttachAddon");

const T = ["Add-ons"];
const attachments = apiRoute({
  method: "get",
  path: "/apps/{app}/attachments",
  tags: T,
  summary: "Add-ons of other apps of the team attached to this app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(AttachmentSchema), "Attachments") },
});
const attach = apiRoute({
  method: "post",
  path: "/apps/{app}/attachments",
  tags: T,
  summary: "Attach an add-on of the same team to this app under its own config var (member and above; one release)",
  request: { params: AppParam, body: jsonBody(AttachBody) },
  responses: { 201: jsonResponse(AttachmentSchema, "Attached") },
});
const detach = apiRoute({
  method: "delete",
  path: "/apps/{app}/attachments/{addon}",
  tags: T,
  summary: "Detach an add-on from this app: its config var goes in one release (member and above)",
  request: { params: AddonParam },
  responses: { 204: { description: "Detached" } },
});
const list = apiRoute({
  method: "get",
  path: "/apps/{app}/addons",
  tags: T,
  summary: "Managed services of an app",
  request: { params: AppParam },
  responses: { 200: jsonResponse(z.array(AddonSchema), "Add-ons") },
});
const create = apiRoute({
  method: "post",
  path: "/apps/{app}/addons",
  tags: T,
  summary: "Provision an add-on (member and above); answers at once, state provisioning, then available or failed",
  request: { params: AppParam, body: jsonBody(CreateBody) },
  responses: { 202: jsonResponse(AddonSchema, "Provisioning") },
});
const info = apiRoute({
  method: "get",
  path: "/apps/{app}/addons/{addon}",
  tags: T,
  summary: "One add-on: plan, pinned version, state, size, current connections and data size",
  request: { params: AddonParam },
  responses: { 200: jsonResponse(AddonInfoSchema, "Add-on") },
});
const destroy = apiRoute({
  method: "delete",
  path: "/apps/{app}/addons/{addon}",
  tags: T,
  summary: "Destroy an add-on and its data (member and above): service, volume and config var (one release)",
  request: { params: AddonParam },
  responses: { 204: { description: "Destroyed" } },
});

/** Routes under /api/v1 for add-ons. */
export const addonRoutes = new OpenAPIHono<ApiEnv>()
  .openapi(list, async (c) =>
    c.json(await listAddons(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(create, async (c) =>
    c.json(await createAddon(c.get("services"), requireActor(c), c.req.valid("param").app, c.req.valid("json")), 202),
  )
  .openapi(info, async (c) => {
    const { app, addon } = c.req.valid("param");
    return c.json(await addonInfo(c.get("services"), requireActor(c), app, addon), 200);
  })
  .openapi(destroy, async (c) => {
    const { app, addon } = c.req.valid("param");
    await destroyAddon(c.get("services"), requireActor(c), app, addon);
    return c.body(null, 204);
  })
  .openapi(attachments, async (c) =>
    c.json(await listAttachments(c.get("services"), requireActor(c), c.req.valid("param").app), 200),
  )
  .openapi(attach, async (c) => {
    const body = c.req.valid("json");
    return c.json(
      await attachAddon(c.get("services"), requireActor(c), c.req.valid("param").app, body.addon, body.as),
      201,
    );
  })
  .openapi(detach, async (c) => {
    const { app, addon } = c.req.valid("param");
    await detachAddon(c.get("services"), requireActor(c), app, addon);
    return c.body(null, 204);
  });
